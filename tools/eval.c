/*
 * mnist-eval: accuracy of the C engine on the TEST split, overall and per
 * digit, from the raw pixels that `make data` writes (no image decoding).
 *
 *   mnist-eval [--weights PATH] [--data DIR] [--batch N] [--isa ISA] [--precision P]
 *   mnist-eval [--weights PATH] --batch N --raw IN.f32 --out OUT.f32 [--isa ISA]
 *              [--precision P]
 *
 * The first form prints "accuracy A% (right/total)", one line per digit, and
 * "throughput: N images/s (batch B, 1 thread)": the TEST split through
 * model_forward() in batches of B (default 32), wall clock.
 * The second form is for tests: it reads N x 784 float32 pixels from IN,
 * runs them through model_forward() in batches of N and writes N x 10
 * float32 logits to OUT. --isa generic|avx2|avx512 forces a kernel variant
 * (at most what the CPU has), so tests can check each one end to end.
 * --precision fp32|int8|auto (default $MNIST_PRECISION, else auto: int8 on
 * a CPU with VNNI) picks the engine (worker/engine/model.h); with int8,
 * --weights may name the float32 file (its -int8 sibling is read) or the
 * int8 file itself.
 */
#include "config.h"
#include "err.h"
#include "file.h"
#include "kernels.h"
#include "kernels_int8.h"
#include "model.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct opts {
	const char *weights, *data, *raw, *out, *isa;
	int batch;
	enum model_precision precision;
};

#define MAX_FILE ((size_t)1 << 30) /* far above the TEST split (31 MB) */

/* Read a whole file whose size is a multiple of unit; caller frees *buf. */
static int read_records(const char *path, size_t unit, void **buf, size_t *count, char *err)
{
	char msg[ERR_MAX];
	uint8_t *b;
	size_t len;
	int rc = file_read(path, MAX_FILE, &b, &len, msg);

	if (rc < 0)
		return err_set(err, rc, "%s: %s", path, msg);
	if (len == 0 || len % unit != 0) {
		free(b);
		return err_set(err, ERR_INVALID, "%s: %zu bytes is not a positive multiple of %zu",
			       path, len, unit);
	}
	*buf = b;
	*count = len / unit;
	return 0;
}

static int write_file(const char *path, const void *buf, size_t len, char *err)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return err_set(err, ERR_IO, "%s: %s", path, strerror(errno));
	size_t n = fwrite(buf, 1, len, f);
	if (fclose(f) != 0 || n != len)
		return err_set(err, ERR_IO, "%s: write failed", path);
	return 0;
}

static int run_raw(struct model *m, const struct opts *o, char *err)
{
	void *pix = NULL;
	size_t n = 0;
	int rc = read_records(o->raw, MODEL_PIXELS * sizeof(float), &pix, &n, err);
	if (rc < 0)
		return rc;
	float *logits = calloc(n, MODEL_CLASSES * sizeof(float));
	if (!logits) {
		free(pix);
		return err_set(err, ERR_NOMEM, "out of memory");
	}
	/* One call per batch, so the test exercises exactly batch-sized forwards. */
	for (size_t i = 0; i < n; i += (size_t)o->batch) {
		size_t nb = n - i < (size_t)o->batch ? n - i : (size_t)o->batch;
		model_forward(m, (const float *)pix + i * MODEL_PIXELS, (int)nb,
			      logits + i * MODEL_CLASSES);
	}
	rc = write_file(o->out, logits, n * MODEL_CLASSES * sizeof(float), err);
	free(logits);
	free(pix);
	return rc;
}

static void report(const unsigned char *labels, const int *pred, size_t n)
{
	size_t right = 0, total[10] = {0}, ok[10] = {0};
	for (size_t i = 0; i < n; i++) {
		total[labels[i] % 10]++;
		if (pred[i] == labels[i]) {
			right++;
			ok[labels[i]]++;
		}
	}
	printf("accuracy %.2f%% (%zu/%zu)\n", 100.0 * (double)right / (double)n, right, n);
	for (int d = 0; d < 10; d++)
		printf("digit %d: %.2f%% (%zu/%zu)\n", d,
		       total[d] ? 100.0 * (double)ok[d] / (double)total[d] : 0.0, ok[d], total[d]);
}

static int run_eval(struct model *m, const struct opts *o, char *err)
{
	char ip[4096], lp[4096];
	snprintf(ip, sizeof ip, "%s/test.images", o->data);
	snprintf(lp, sizeof lp, "%s/test.labels", o->data);
	void *pix = NULL, *lab = NULL;
	float *logits = NULL;
	int *pred = NULL;
	size_t n = 0, nl = 0;
	int rc = read_records(ip, MODEL_PIXELS * sizeof(float), &pix, &n, err);
	if (rc == 0)
		rc = read_records(lp, 1, &lab, &nl, err);
	if (rc == 0 && n != nl)
		rc = err_set(err, ERR_INVALID, "%zu images but %zu labels in %s", n, nl, o->data);
	if (rc < 0)
		goto out;
	logits = calloc(n, MODEL_CLASSES * sizeof(float));
	pred = calloc(n, sizeof *pred);
	if (!logits || !pred) {
		rc = err_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	model_forward(m, pix, (int)n, logits);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
	for (size_t i = 0; i < n; i++) {
		float probs[MODEL_CLASSES];
		pred[i] = model_softmax(logits + i * MODEL_CLASSES, probs);
	}
	printf("weights %s, %s engine (%s kernels), %zu TEST images from %s\n", o->weights,
	       model_precision_name(model_precision(m)),
	       model_precision(m) == MODEL_INT8 ? kern_q_isa_name(kern_q_isa())
						: kern_isa_name(kern_init()),
	       n, o->data);
	report(lab, pred, n);
	printf("throughput: %.0f images/s (batch %d, 1 thread)\n", (double)n / secs, o->batch);
out:
	free(pred);
	free(logits);
	free(lab);
	free(pix);
	return rc;
}

static int usage(void)
{
	fprintf(stderr, "usage: mnist-eval [--weights PATH] [--data DIR] [--batch N] [--isa ISA]\n"
			"       mnist-eval [--weights PATH] --batch N --raw IN.f32 --out OUT.f32 "
			"[--isa ISA]\n"
			"ISA: generic, avx2 or avx512 (default: the best this CPU has)\n"
			"--precision fp32, int8 or auto (default $MNIST_PRECISION, else auto)\n");
	return 2;
}

static int parse(int argc, char **argv, struct opts *o)
{
	o->weights = CONFIG_DEFAULT_WEIGHTS;
	o->data = "build/data";
	o->batch = 32;
	if (model_precision_parse(config_env("MNIST_PRECISION", "auto"), &o->precision) < 0)
		return -1;
	for (int i = 1; i < argc; i += 2) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		unsigned long b;
		if (!v)
			return -1;
		if (strcmp(a, "--weights") == 0)
			o->weights = v;
		else if (strcmp(a, "--data") == 0)
			o->data = v;
		else if (strcmp(a, "--raw") == 0)
			o->raw = v;
		else if (strcmp(a, "--out") == 0)
			o->out = v;
		else if (strcmp(a, "--isa") == 0)
			o->isa = v;
		else if (strcmp(a, "--precision") == 0 &&
			 model_precision_parse(v, &o->precision) == 0)
			continue;
		else if (strcmp(a, "--batch") == 0 && config_parse_ulong(v, 1, 4096, &b) == 0)
			o->batch = (int)b;
		else
			return -1;
	}
	if (o->isa && strcmp(o->isa, "generic") != 0 && strcmp(o->isa, "avx2") != 0 &&
	    strcmp(o->isa, "avx512") != 0)
		return -1;
	return !o->raw == !o->out ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct opts o = {0};
	char err[ERR_MAX];
	struct model *m = NULL;
	if (parse(argc, argv, &o) < 0)
		return usage();
	struct model_opts mo = {.max_batch = o.batch, .precision = o.precision};
	int rc = model_open(o.weights, &mo, &m, err);
	if (rc == 0 && o.isa)
		kern_use(strcmp(o.isa, "avx512") == 0 ? KERN_AVX512
			 : strcmp(o.isa, "avx2") == 0 ? KERN_AVX2
						      : KERN_GENERIC);
	if (rc == 0)
		rc = o.raw ? run_raw(m, &o, err) : run_eval(m, &o, err);
	model_free(m);
	if (rc < 0) {
		fprintf(stderr, "mnist-eval: %s\n", err);
		return 1;
	}
	return 0;
}
