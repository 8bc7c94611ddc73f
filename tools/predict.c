/*
 * mnist-predict: the worker's pipeline (img_to_mnist, model_forward,
 * model_softmax) on image files, offline.
 *
 *   mnist-predict [--weights PATH] [--precision P] [--dump OUT.f32] FILE...
 *   mnist-predict --bench N FILE...
 *
 * Prints "FILE DIGIT CONFIDENCE" per readable image; a bad file prints
 * "FILE: message (code)" on stderr, code being the protocol's name for the
 * error (invalid_image, unsupported_type, too_large, ...); the others are
 * still answered, and the exit
 * status is 1. --dump writes the normalised 28x28 inputs (N x 784 float32,
 * zeros for failed files) for tests and debugging. --bench N times
 * img_to_mnist() (decode + normalise, no model) N times per file and prints
 * the median and the minimum, for make bench. --precision fp32|int8|auto
 * (default $MNIST_PRECISION, else auto) picks the engine as model_open()
 * says (worker/engine/model.h).
 */
#include "config.h"
#include "err.h"
#include "file.h"
#include "image.h"
#include "model.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_FILE (256u << 20) /* far above any upload limit */

/* One file through the pipeline; prints its line. */
static int predict(struct model *m, const char *path, float *px, char *err)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	float logits[MODEL_CLASSES], probs[MODEL_CLASSES];
	int rc, digit;

	rc = file_read(path, MAX_FILE, &buf, &len, err);
	if (rc < 0)
		return rc;
	rc = img_to_mnist(buf, len, NULL, px, err);
	free(buf);
	if (rc < 0)
		return rc;
	model_forward(m, px, 1, logits);
	digit = model_softmax(logits, probs);
	printf("%s %d %.4f\n", path, digit, probs[digit]);
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Median and minimum time of img_to_mnist() over reps runs. */
static int bench(const char *path, int reps, char *err)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	float px[MODEL_PIXELS];
	double *t;
	int rc, i;

	rc = file_read(path, MAX_FILE, &buf, &len, err);
	if (rc < 0)
		return rc;
	t = malloc((size_t)reps * sizeof *t);
	if (!t) {
		free(buf);
		return err_set(err, ERR_NOMEM, "out of memory");
	}
	for (i = 0; i < reps && rc == 0; i++) {
		struct timespec a, b;
		clock_gettime(CLOCK_MONOTONIC, &a);
		rc = img_to_mnist(buf, len, NULL, px, err);
		clock_gettime(CLOCK_MONOTONIC, &b);
		t[i] = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
	}
	if (rc == 0) {
		qsort(t, (size_t)reps, sizeof *t, cmp_double);
		printf("%s %zu bytes: decode+normalise median %.3f ms, min %.3f ms (%d runs)\n",
		       path, len, t[reps / 2], t[0], reps);
	}
	free(t);
	free(buf);
	return rc;
}

static void usage(void)
{
	fprintf(stderr, "usage: mnist-predict [--weights PATH] [--precision fp32|int8|auto] "
			"[--dump OUT.f32] FILE...\n"
			"       mnist-predict --bench N FILE...\n");
}

struct opts {
	const char *weights, *dump;
	long reps;
	enum model_precision precision;
	int first; /* index of the first FILE */
};

/* 0, or 2 (usage) when the arguments are wrong. */
static int parse_opts(int argc, char **argv, struct opts *o)
{
	int i;
	o->weights = "weights/model.safetensors", o->dump = NULL, o->reps = 0;
	if (model_precision_parse(config_env("MNIST_PRECISION", "auto"), &o->precision) < 0)
		return 2;
	for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		} else if (strcmp(argv[i], "--weights") == 0 && i + 1 < argc) {
			o->weights = argv[++i];
		} else if (strcmp(argv[i], "--precision") == 0 && i + 1 < argc) {
			if (model_precision_parse(argv[++i], &o->precision) < 0)
				return 2;
		} else if (strcmp(argv[i], "--dump") == 0 && i + 1 < argc) {
			o->dump = argv[++i];
		} else if (strcmp(argv[i], "--bench") == 0 && i + 1 < argc) {
			char *end;
			o->reps = strtol(argv[++i], &end, 10);
			if (*end || o->reps < 1 || o->reps > 100000)
				return 2;
		} else {
			return 2;
		}
	}
	o->first = i;
	return i < argc ? 0 : 2;
}

static int run_bench(const struct opts *o, int argc, char **argv)
{
	char err[ERR_MAX];
	int i, status = 0;
	for (i = o->first; i < argc; i++) {
		int rc = bench(argv[i], (int)o->reps, err);
		if (rc < 0) {
			fprintf(stderr, "%s: %s (%s)\n", argv[i], err, err_code_name(rc));
			status = 1;
		}
	}
	return status;
}

/* Every file through the pipeline; 1 if any failed. */
static int run_predict(struct model *m, FILE *df, int first, int argc, char **argv)
{
	char err[ERR_MAX];
	float px[MODEL_PIXELS];
	int i, status = 0;
	for (i = first; i < argc; i++) {
		int rc = predict(m, argv[i], px, err);
		if (rc < 0) {
			fprintf(stderr, "%s: %s (%s)\n", argv[i], err, err_code_name(rc));
			memset(px, 0, sizeof px);
			status = 1;
		}
		if (df && fwrite(px, sizeof px, 1, df) != 1)
			status = 1;
	}
	return status;
}

int main(int argc, char **argv)
{
	struct opts o;
	char err[ERR_MAX];
	struct model *m = NULL;
	FILE *df = NULL;
	int status;

	if (parse_opts(argc, argv, &o) != 0) {
		usage();
		return 2;
	}
	if (o.reps > 0)
		return run_bench(&o, argc, argv);
	struct model_opts mo = {.max_batch = 1, .precision = o.precision};
	if (model_open(o.weights, &mo, &m, err) < 0) {
		fprintf(stderr, "mnist-predict: %s\n", err);
		return 1;
	}
	if (o.dump && !(df = fopen(o.dump, "wb"))) {
		fprintf(stderr, "mnist-predict: %s: %s\n", o.dump, strerror(errno));
		model_free(m);
		return 1;
	}
	status = run_predict(m, df, o.first, argc, argv);
	if (df && fclose(df) != 0)
		status = 1;
	fflush(stdout);
	model_free(m);
	return status;
}
