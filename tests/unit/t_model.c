/* Unit tests for worker/engine/model.c and model_int8.c: load errors on
 * crafted weight files, which file each precision reads, and that a forward
 * pass does not depend on how the batch is cut (fp32 and int8). Numerical
 * agreement with PyTorch is tests/python/test_parity.py's job, with the
 * int8 reference tests/python/test_int8.py's. */
#include "err.h"
#include "file.h"
#include "kernels_int8.h"
#include "model.h"
#include "tap.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct spec {
	const char *name;
	int ndim;
	size_t shape[4];
};

#define L(i, n, ...)                                                                               \
	{                                                                                          \
		"transformer.layers." #i "." n, __VA_ARGS__                                        \
	}
#define LAYER(i)                                                                                   \
	L(i, "self_attn.in_proj_weight", 2, {384, 128}), L(i, "self_attn.in_proj_bias", 1, {384}), \
	    L(i, "self_attn.out_proj.weight", 2, {128, 128}),                                      \
	    L(i, "self_attn.out_proj.bias", 1, {128}), L(i, "linear1.weight", 2, {256, 128}),      \
	    L(i, "linear1.bias", 1, {256}), L(i, "linear2.weight", 2, {128, 256}),                 \
	    L(i, "linear2.bias", 1, {128}), L(i, "norm1.weight", 1, {128}),                        \
	    L(i, "norm1.bias", 1, {128}), L(i, "norm2.weight", 1, {128}),                          \
	    L(i, "norm2.bias", 1, {128})

static const struct spec specs[] = {
    {"pos_embed", 3, {1, 49, 128}},
    {"conv1.weight", 4, {32, 1, 3, 3}},
    {"conv1.bias", 1, {32}},
    {"conv2.weight", 4, {64, 32, 3, 3}},
    {"conv2.bias", 1, {64}},
    {"proj.weight", 2, {128, 64}},
    {"proj.bias", 1, {128}},
    LAYER(0),
    LAYER(1),
    {"fc1.weight", 2, {64, 128}},
    {"fc1.bias", 1, {64}},
    {"fc2.weight", 2, {10, 64}},
    {"fc2.bias", 1, {10}},
};
#define NSPECS (sizeof specs / sizeof specs[0])

static char path[128];

struct buf {
	char s[16384];
	size_t len;
};

static void put(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (b->len < sizeof b->s) {
		int n = vsnprintf(b->s + b->len, sizeof b->s - b->len, fmt, ap);
		b->len += n > 0 ? (size_t)n : 0;
	}
	va_end(ap);
}

/* Write a weight file of all specs with small pseudo-random values; leave
 * out tensor `omit`, give tensor `bad` its last dim + 1, tensor `i32` dtype
 * I32 (each may be NULL). */
static void write_weights(const char *omit, const char *bad, const char *i32)
{
	static struct buf h;
	size_t off = 0;
	h.len = 0;
	put(&h, "{\"__metadata__\":{\"format\":\"pt\"}");
	for (size_t i = 0; i < NSPECS; i++) {
		const struct spec *s = &specs[i];
		if (omit && strcmp(s->name, omit) == 0)
			continue;
		const char *dt = i32 && strcmp(s->name, i32) == 0 ? "I32" : "F32";
		put(&h, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[", s->name, dt);
		size_t n = 1;
		for (int d = 0; d < s->ndim; d++) {
			size_t dim = s->shape[d];
			if (bad && strcmp(s->name, bad) == 0 && d == s->ndim - 1)
				dim++;
			n *= dim;
			put(&h, "%s%zu", d ? "," : "", dim);
		}
		put(&h, "],\"data_offsets\":[%zu,%zu]}", off, off + 4 * n);
		off += 4 * n;
	}
	put(&h, "}");
	FILE *f = fopen(path, "wb");
	if (!f)
		return;
	unsigned long long len = h.len; /* little-endian host */
	fwrite(&len, 8, 1, f);
	fwrite(h.s, 1, h.len, f);
	unsigned r = 12345;
	for (size_t i = 0; i < off / 4; i++) {
		r = r * 1103515245u + 12345u;
		float v = ((float)(r >> 9) / (float)(1u << 23) - 0.5f) * 0.2f;
		fwrite(&v, 4, 1, f);
	}
	fclose(f);
}

static void load_fails(const char *name, const char *want)
{
	struct model *m = (struct model *)1;
	char err[ERR_MAX] = "";
	int rc = model_load(path, 4, &m, err);
	CHECK(rc < 0 && m == NULL && strstr(err, want), "%s: \"%s\"", name, err);
}

static void test_errors(void)
{
	write_weights("fc2.bias", NULL, NULL);
	load_fails("missing tensor", "'fc2.bias' is missing");
	write_weights(NULL, "conv2.weight", NULL);
	load_fails("wrong shape", "'conv2.weight': shape [64,32,3,4], expected [64,32,3,3]");
	write_weights(NULL, "transformer.layers.1.norm2.bias", NULL);
	load_fails("wrong shape deep", "'transformer.layers.1.norm2.bias': shape [129]");
	write_weights(NULL, NULL, "transformer.layers.0.self_attn.in_proj_weight");
	load_fails("wrong dtype", "'transformer.layers.0.self_attn.in_proj_weight': dtype I32");
	struct model *m = NULL;
	char err[ERR_MAX];
	write_weights(NULL, NULL, NULL);
	int rc = model_load(path, 0, &m, err);
	CHECK(rc < 0 && !m, "max_batch 0 refused: %s", err);
	rc = model_load("/nonexistent/w.safetensors", 1, &m, err);
	CHECK(rc == ERR_IO && !m && strstr(err, "/nonexistent/w.safetensors"), "missing file: %s",
	      err);
}

/* The first 12 hex digits of sha256sum's answer for path, or "" */
static void sha256sum12(const char *file, char *out)
{
	char cmd[512];
	FILE *p;

	out[0] = '\0';
	snprintf(cmd, sizeof cmd, "sha256sum '%s'", file);
	if ((p = popen(cmd, "r")) != NULL) {
		if (fread(out, 1, MODEL_VERSION_LEN, p) != MODEL_VERSION_LEN)
			out[0] = '\0';
		else
			out[MODEL_VERSION_LEN] = '\0';
		pclose(p);
	}
}

/* model_version(): sha256sum's first 12 hex digits of the file loaded, and
 * a new one when the same path is loaded again after it changed. */
static void test_version(void)
{
	struct model *m = NULL;
	char err[ERR_MAX], want[MODEL_VERSION_LEN + 1];
	write_weights(NULL, NULL, NULL);
	sha256sum12(path, want);
	int rc = model_load(path, 1, &m, err);
	CHECK(rc == 0 && want[0] && !strcmp(model_version(m), want),
	      "version is the file's SHA-256, 12 hex: %s (sha256sum %s)",
	      m ? model_version(m) : "-", want);
	model_free(m);
	FILE *f = fopen(path, "r+b");
	if (f) { /* flip a bit of the last weight: still a valid file */
		fseek(f, -1, SEEK_END);
		int c = fgetc(f);
		fseek(f, -1, SEEK_END);
		fputc(c ^ 1, f);
		fclose(f);
	}
	char again[MODEL_VERSION_LEN + 1];
	sha256sum12(path, again);
	m = NULL;
	rc = model_load(path, 1, &m, err);
	CHECK(rc == 0 && strcmp(again, want) && !strcmp(model_version(m), again),
	      "reloaded after a change: the new version %s", m ? model_version(m) : "-");
	model_free(m);
}

static void test_batching(void)
{
	enum { N = 11 };
	struct model *m1 = NULL, *m4 = NULL;
	char err[ERR_MAX];
	write_weights(NULL, NULL, NULL);
	int rc = model_load(path, 1, &m1, err);
	CHECK(rc == 0, "load max_batch 1 (%s)", rc ? err : "ok");
	rc = model_load(path, 4, &m4, err);
	CHECK(rc == 0, "load max_batch 4 (%s)", rc ? err : "ok");
	if (!m1 || !m4)
		goto out;
	static float pix[N * MODEL_PIXELS], a[N * 10], b[N * 10], c[N * 10];
	for (size_t i = 0; i < sizeof pix / sizeof pix[0]; i++)
		pix[i] = (float)((i * 7919) % 1000) / 1000.0f;
	for (int i = 0; i < N; i++)
		model_forward(m1, pix + i * MODEL_PIXELS, 1, a + i * 10);
	model_forward(m4, pix, N, b); /* chunks of 4, 4, 3 */
	model_forward(m1, pix, N, c); /* chunks of 1 */
	double e = 0, mag = 0;
	int finite = 1;
	for (int i = 0; i < N * 10; i++) {
		e = fmax(e, fabs(a[i] - b[i]));
		e = fmax(e, fabs(a[i] - c[i]));
		mag = fmax(mag, fabs(a[i]));
		finite &= isfinite(a[i]) && isfinite(b[i]);
	}
	CHECK(finite && mag > 0, "logits finite and non-zero (max %g)", mag);
	CHECK(e <= 1e-5, "batch of 11 in chunks of 4 and of 1 == one by one (max diff %g)", e);
	float probs[10];
	int arg = model_softmax(a, probs), best = 0;
	double sum = 0;
	for (int i = 0; i < 10; i++) {
		sum += probs[i];
		best = a[i] > a[best] ? i : best;
	}
	CHECK(arg == best && fabs(sum - 1.0) < 1e-5, "softmax sums to 1, argmax %d", arg);
out:
	model_free(m1);
	model_free(m4);
}

static char dir[64], qpath[160];

static int write_file(const char *p, const void *buf, size_t len)
{
	FILE *f = fopen(p, "wb");
	if (!f)
		return -1;
	size_t n = fwrite(buf, 1, len, f);
	return fclose(f) == 0 && n == len ? 0 : -1;
}

/* Where a tensor's data starts in a safetensors file written by
 * weights/quantize.py (compact JSON header), or 0. */
static size_t data_at(const uint8_t *b, size_t len, const char *name)
{
	char key[160];
	snprintf(key, sizeof key, "\"%s\":{", name);
	unsigned long long hl;
	memcpy(&hl, b, 8);
	if (len < 8 || hl > len - 8)
		return 0;
	char *h = strndup((const char *)b + 8, (size_t)hl), *k = h ? strstr(h, key) : NULL;
	char *o = k ? strstr(k, "\"data_offsets\":[") : NULL;
	size_t at = o ? 8 + (size_t)hl + strtoull(o + 16, NULL, 10) : 0;
	free(h);
	return at;
}

static struct model *open_as(const char *p, enum model_precision prec, int batch, char *err)
{
	struct model *m = NULL;
	struct model_opts o = {.max_batch = batch, .precision = prec};
	return model_open(p, &o, &m, err) == 0 ? m : NULL;
}

static void test_int8_files(const uint8_t *shipped, size_t len)
{
	char err[ERR_MAX] = "", buf[64];
	CHECK(model_int8_path("a/b.safetensors", buf, sizeof buf) == 0 &&
		  strcmp(buf, "a/b-int8.safetensors") == 0,
	      "int8 sibling of a/b.safetensors: %s", buf);
	CHECK(model_int8_path("w", buf, sizeof buf) == 0 && strcmp(buf, "w-int8.safetensors") == 0,
	      "int8 sibling of w: %s", buf);
	CHECK(model_int8_path("a/b.safetensors", buf, 8) < 0, "int8 sibling too long: -1");
	write_weights(NULL, NULL, NULL);
	unlink(qpath);
	struct model *m = open_as(path, MODEL_INT8, 2, err);
	CHECK(!m && strstr(err, "w-int8.safetensors"), "int8 without its file: \"%s\"", err);
	m = open_as(path, MODEL_AUTO, 2, err);
	CHECK(m && model_precision(m) == MODEL_FP32, "auto without an int8 file: fp32");
	model_free(m);
	if (write_file(qpath, shipped, len) < 0) {
		CHECK(0, "write %s", qpath);
		return;
	}
	m = open_as(path, MODEL_INT8, 2, err);
	CHECK(m && model_precision(m) == MODEL_INT8, "int8 reads the sibling (%s)", m ? "ok" : err);
	model_free(m);
	m = open_as(path, MODEL_AUTO, 2, err);
	enum model_precision want = kern_q_cpu_has_vnni() ? MODEL_INT8 : MODEL_FP32;
	CHECK(m && model_precision(m) == want, "auto with an int8 file: %s (VNNI: %d)",
	      m ? model_precision_name(model_precision(m)) : err, kern_q_cpu_has_vnni());
	model_free(m);
	m = open_as(qpath, MODEL_FP32, 2, err);
	CHECK(!m && strstr(err, "int8 weights"), "fp32 refuses an int8 file: \"%s\"", err);
	m = open_as(qpath, MODEL_AUTO, 2, err);
	CHECK(m && model_precision(m) == MODEL_INT8, "auto given the int8 file: int8");
	model_free(m);
	/* A scale of 0 would make an infinite 1 / scale: refused at load. */
	uint8_t *bad = malloc(len);
	size_t at = data_at(shipped, len, "transformer.layers.1.linear2.input_scale");
	if (bad && at && at + 4 <= len) {
		memcpy(bad, shipped, len);
		memset(bad + at, 0, 4);
		write_file(qpath, bad, len);
		m = open_as(qpath, MODEL_INT8, 2, err);
		CHECK(!m && strstr(err, "linear2.input_scale': not positive"),
		      "zero input scale refused: \"%s\"", err);
		at = data_at(shipped, len, "fc1.weight_scale");
		memcpy(bad, shipped, len);
		memset(bad + at + 4 * 5, 0xff, 4); /* NaN */
		write_file(qpath, bad, len);
		m = open_as(qpath, MODEL_INT8, 2, err);
		CHECK(!m && strstr(err, "fc1.weight_scale': scale 5 is not positive"),
		      "NaN weight scale refused: \"%s\"", err);
	} else {
		CHECK(0, "find linear2.input_scale in the int8 file");
	}
	free(bad);
	unlink(qpath);
}

/* int8: a batch in chunks of 4 and of 1 gives the same logits, bit for bit. */
static void test_int8_batching(const uint8_t *shipped, size_t len)
{
	enum { N = 11 };
	char err[ERR_MAX] = "";
	if (write_file(qpath, shipped, len) < 0)
		return;
	struct model *m1 = open_as(qpath, MODEL_INT8, 1, err),
		     *m4 = open_as(qpath, MODEL_INT8, 4, err);
	CHECK(m1 && m4, "int8 load max_batch 1 and 4 (%s)", m1 && m4 ? "ok" : err);
	if (m1 && m4) {
		static float pix[N * MODEL_PIXELS], a[N * 10], b[N * 10];
		for (size_t i = 0; i < sizeof pix / sizeof pix[0]; i++)
			pix[i] = (float)((i * 7919) % 1000) / 1000.0f;
		model_forward(m4, pix, N, a);
		for (int i = 0; i < N; i++)
			model_forward(m1, pix + i * MODEL_PIXELS, 1, b + i * 10);
		int finite = 1, distinct = 0;
		for (int i = 0; i < N * 10; i++) {
			finite &= isfinite(a[i]);
			distinct += i >= 10 && a[i] != a[i - 10];
		}
		CHECK(finite && distinct > 0 && memcmp(a, b, sizeof a) == 0,
		      "int8: batch of 11 in chunks of 4 == one by one, bit for bit");
	}
	model_free(m1);
	model_free(m4);
	unlink(qpath);
}

int main(void)
{
	snprintf(dir, sizeof dir, "/tmp/mnist-t-model.XXXXXX");
	if (!mkdtemp(dir)) {
		CHECK(0, "mkdtemp");
		return tap_done();
	}
	snprintf(path, sizeof path, "%s/w.safetensors", dir);
	snprintf(qpath, sizeof qpath, "%s/w-int8.safetensors", dir);
	test_errors();
	test_version();
	test_batching();
	uint8_t *shipped = NULL;
	size_t len = 0;
	char err[ERR_MAX];
	if (file_read("weights/model-int8.safetensors", 16u << 20, &shipped, &len, err) < 0) {
		CHECK(0, "read weights/model-int8.safetensors: %s", err);
	} else {
		test_int8_files(shipped, len);
		test_int8_batching(shipped, len);
	}
	free(shipped);
	unlink(path);
	rmdir(dir);
	return tap_done();
}
