/* The CNN-Transformer forward pass, wired from worker/engine/kernels.h in the order
 * of MnistNet.forward in weights/model.py. */
#include "model.h"
#include "err.h"
#include "kernels.h"
#include "kernels_int8.h"
#include "model_impl.h"
#include "sft.h"

#include <cblas.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void *model_take(struct model *m, size_t bytes)
{
	size_t r = (bytes + 63) & ~(size_t)63;
	if (m->mem_used + r > m->mem_len) {
		m->mem_used = m->mem_len + 1;
		return m->mem;
	}
	void *p = m->mem + m->mem_used;
	m->mem_used += r;
	return p;
}

/* n floats off m->mem. */
static float *take(struct model *m, size_t n)
{
	return model_take(m, n * sizeof(float));
}

static size_t floats_needed(size_t b)
{
	size_t params = 9 * C1 + C1 + 9 * C1 * C2 + C2 + C2 * D + D + TOK * D + HID * D + HID +
			MODEL_CLASSES * HID + MODEL_CLASSES +
			LAYERS * (3 * D * D + 3 * D + D * D + D + 2 * D * FF + FF + D + 4 * D);
	size_t scratch = (IMG + 2) * (IMG + 2) + 16 * 16 * C1 +
			 b * TOK * (C2 + D + 3 * D + D + D + FF) +
			 kern_attention_scratch(TOK, D, HEADS) + b * (D + HID);
	/* Slack for rounding every slice; a multiple of 16 for aligned_alloc. */
	return (params + scratch + 64 * 16 + 15) & ~(size_t)15;
}

/* Read a PyTorch [n][k] weight and its bias into a packed linear layer. */
static int load_linear(struct model *m, const struct sft *f, const char *name, int k, int n,
		       struct linear *l, float *tmp, char *err)
{
	char wn[128], bn[128];
	snprintf(wn, sizeof wn, "%s.weight", name);
	snprintf(bn, sizeof bn, "%s.bias", name);
	size_t ws[2] = {(size_t)n, (size_t)k}, bs[1] = {(size_t)n};
	l->k = k;
	l->n = n;
	l->wp = take(m, (size_t)k * n);
	l->b = take(m, (size_t)n);
	int rc = sft_copy_f32(f, wn, ws, 2, tmp, err);
	if (rc == 0)
		rc = sft_copy_f32(f, bn, bs, 1, l->b, err);
	if (rc == 0)
		kern_pack_linear(tmp, n, k, l->wp);
	return rc;
}

int model_load_conv(struct model *m, const struct sft *f, const char *name, int cin, int cout,
		    float **w, float **b, float *tmp, char *err)
{
	char wn[128], bn[128];
	snprintf(wn, sizeof wn, "%s.weight", name);
	snprintf(bn, sizeof bn, "%s.bias", name);
	size_t ws[4] = {(size_t)cout, (size_t)cin, 3, 3}, bs[1] = {(size_t)cout};
	*w = take(m, (size_t)9 * cin * cout);
	*b = take(m, (size_t)cout);
	int rc = sft_copy_f32(f, wn, ws, 4, tmp, err);
	if (rc == 0)
		rc = sft_copy_f32(f, bn, bs, 1, *b, err);
	if (rc == 0)
		kern_pack_conv3x3(tmp, cout, cin, *w);
	return rc;
}

int model_load_vec(struct model *m, const struct sft *f, const char *name, int n, float **out,
		   char *err)
{
	size_t s[1] = {(size_t)n};
	*out = take(m, (size_t)n);
	return sft_copy_f32(f, name, s, 1, *out, err);
}

static int load_layer(struct model *m, const struct sft *f, int i, float *tmp, char *err)
{
	struct layer *l = &m->layers[i];
	char p[96], n[128];
	snprintf(p, sizeof p, "transformer.layers.%d.", i);
	/* in_proj has no ".weight" suffix pair, so read it by hand. */
	size_t ws[2] = {3 * D, D}, bs[1] = {3 * D};
	l->in.k = D;
	l->in.n = 3 * D;
	l->in.wp = take(m, (size_t)3 * D * D);
	l->in.b = take(m, 3 * D);
	snprintf(n, sizeof n, "%sself_attn.in_proj_weight", p);
	int rc = sft_copy_f32(f, n, ws, 2, tmp, err);
	if (rc < 0)
		return rc;
	kern_pack_linear(tmp, 3 * D, D, l->in.wp);
	snprintf(n, sizeof n, "%sself_attn.in_proj_bias", p);
	if ((rc = sft_copy_f32(f, n, bs, 1, l->in.b, err)) < 0)
		return rc;
	snprintf(n, sizeof n, "%sself_attn.out_proj", p);
	if ((rc = load_linear(m, f, n, D, D, &l->out, tmp, err)) < 0)
		return rc;
	snprintf(n, sizeof n, "%slinear1", p);
	if ((rc = load_linear(m, f, n, D, FF, &l->ff1, tmp, err)) < 0)
		return rc;
	snprintf(n, sizeof n, "%slinear2", p);
	if ((rc = load_linear(m, f, n, FF, D, &l->ff2, tmp, err)) < 0)
		return rc;
	const char *norms[4] = {"norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias"};
	float **dst[4] = {&l->n1g, &l->n1b, &l->n2g, &l->n2b};
	for (int k = 0; k < 4 && rc == 0; k++) {
		snprintf(n, sizeof n, "%s%s", p, norms[k]);
		rc = model_load_vec(m, f, n, D, dst[k], err);
	}
	return rc;
}

static int load_params(struct model *m, const struct sft *f, float *tmp, char *err)
{
	int rc = model_load_conv(m, f, "conv1", 1, C1, &m->conv1_w, &m->conv1_b, tmp, err);
	if (rc == 0)
		rc = model_load_conv(m, f, "conv2", C1, C2, &m->conv2_w, &m->conv2_b, tmp, err);
	if (rc == 0)
		rc = load_linear(m, f, "proj", C2, D, &m->proj, tmp, err);
	if (rc == 0) {
		size_t s[3] = {1, TOK, D};
		m->pos = take(m, TOK * D);
		rc = sft_copy_f32(f, "pos_embed", s, 3, m->pos, err);
	}
	for (int i = 0; i < LAYERS && rc == 0; i++)
		rc = load_layer(m, f, i, tmp, err);
	if (rc == 0)
		rc = load_linear(m, f, "fc1", D, HID, &m->fc1, tmp, err);
	if (rc == 0)
		rc = load_linear(m, f, "fc2", HID, MODEL_CLASSES, &m->fc2, tmp, err);
	return rc;
}

static void alloc_scratch(struct model *m)
{
	size_t b = (size_t)m->max_batch;
	m->img = take(m, (IMG + 2) * (IMG + 2));
	m->pool1 = take(m, 16 * 16 * C1);
	m->tok = take(m, b * TOK * C2);
	m->x = take(m, b * TOK * D);
	m->qkv = take(m, b * TOK * 3 * D);
	m->att = take(m, b * TOK * D);
	m->tmp = take(m, b * TOK * D);
	m->hid = take(m, b * TOK * FF);
	m->scores = take(m, kern_attention_scratch(TOK, D, HEADS));
	m->pooled = take(m, b * D);
	m->h1 = take(m, b * HID);
}

const char *model_precision_name(enum model_precision p)
{
	switch (p) {
	case MODEL_INT8: return "int8";
	case MODEL_AUTO: return "auto";
	default: return "fp32";
	}
}

int model_precision_parse(const char *s, enum model_precision *p)
{
	static const enum model_precision all[] = {MODEL_FP32, MODEL_INT8, MODEL_AUTO};
	for (size_t i = 0; s && i < sizeof all / sizeof all[0]; i++)
		if (strcmp(s, model_precision_name(all[i])) == 0) {
			*p = all[i];
			return 0;
		}
	return -1;
}

int model_int8_path(const char *path, char *buf, size_t len)
{
	static const char ext[] = ".safetensors";
	size_t n = strlen(path), e = sizeof ext - 1;
	if (n >= e && strcmp(path + n - e, ext) == 0)
		n -= e;
	int w = snprintf(buf, len, "%.*s-int8%s", (int)n, path, ext);
	return w < 0 || (size_t)w >= len ? -1 : 0;
}

/* Open the file the precision asks for: *f, and *prec MODEL_FP32 or
 * MODEL_INT8. See model.h for the rules. */
static int open_weights(const char *path, enum model_precision want, struct sft **f,
			enum model_precision *prec, char *err)
{
	char q[4096];
	int rc = sft_open(path, f, err);
	if (rc < 0)
		return rc;
	int is_int8 = sft_has(*f, "conv2.weight_q");
	*prec = is_int8 ? MODEL_INT8 : MODEL_FP32;
	if (want == MODEL_FP32 && is_int8)
		return err_set(
		    err, ERR_INVALID,
		    "%s: int8 weights (weights/quantize.py); fp32 needs the float32 file", path);
	if (want == MODEL_FP32 || is_int8)
		return 0;
	if (model_int8_path(path, q, sizeof q) < 0)
		return err_set(err, ERR_INVALID, "%s: path too long", path);
	/* auto: int8 only where it is faster, and only if the file is there. */
	if (want == MODEL_AUTO && (!kern_q_cpu_has_vnni() || access(q, F_OK) != 0))
		return 0;
	sft_close(*f);
	*f = NULL;
	if ((rc = sft_open(q, f, err)) < 0)
		return rc;
	if (!sft_has(*f, "conv2.weight_q"))
		return err_set(err, ERR_INVALID, "%s: no int8 tensors (conv2.weight_q)", q);
	*prec = MODEL_INT8;
	return 0;
}

/* m->version from the SHA-256 of the file f holds. */
static int fingerprint(struct model *m, const struct sft *f, char *err)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	size_t len;
	const unsigned char *bytes = sft_bytes(f, &len);

	if (!EVP_Digest(bytes, len, md, &mdlen, EVP_sha256(), NULL) ||
	    mdlen * 2 < MODEL_VERSION_LEN)
		return err_set(err, ERR_INTERNAL, "%s: cannot compute its SHA-256", sft_path(f));
	for (int i = 0; i < MODEL_VERSION_LEN; i++)
		m->version[i] = "0123456789abcdef"[md[i / 2] >> (i % 2 ? 0 : 4) & 15];
	m->version[MODEL_VERSION_LEN] = '\0';
	return 0;
}

int model_open(const char *path, const struct model_opts *o, struct model **out, char *err)
{
	*out = NULL;
	if (o->max_batch < 1 || o->max_batch > MAX_BATCH)
		return err_set(err, ERR_INVALID, "max_batch %d outside 1..%d", o->max_batch,
			       MAX_BATCH);
	kern_init();
	openblas_set_num_threads(1);
	struct sft *f = NULL;
	float *tmp = NULL;
	struct model *m = calloc(1, sizeof *m);
	if (!m)
		return err_set(err, ERR_NOMEM, "model: out of memory");
	m->max_batch = o->max_batch;
	int rc = open_weights(path, o->precision, &f, &m->precision, err);
	if (rc == 0)
		rc = fingerprint(m, f, err);
	if (rc < 0)
		goto fail;
	size_t b = (size_t)o->max_batch;
	m->mem_len = floats_needed(b) * sizeof(float);
	if (m->precision == MODEL_INT8)
		m->mem_len += model_int8_bytes(b);
	m->mem_len = (m->mem_len + 63) & ~(size_t)63; /* aligned_alloc wants a multiple */
	m->mem = aligned_alloc(64, m->mem_len);
	tmp = malloc((size_t)3 * D * D * sizeof *tmp); /* largest PyTorch tensor */
	if (!m->mem || !tmp) {
		rc = err_set(err, ERR_NOMEM, "model: out of memory");
		goto fail;
	}
	memset(m->mem, 0, m->mem_len);
	if (m->precision == MODEL_INT8)
		rc = model_int8_load(m, f, tmp, err);
	else
		rc = load_params(m, f, tmp, err);
	if (rc < 0)
		goto fail;
	alloc_scratch(m);
	if (m->mem_used > m->mem_len) { /* a bug in the sizes, not bad input */
		rc = err_set(err, ERR_INTERNAL, "model: scratch layout overflow");
		goto fail;
	}
	sft_close(f);
	free(tmp);
	*out = m;
	return 0;
fail:
	sft_close(f);
	free(tmp);
	model_free(m);
	return rc;
}

int model_load(const char *path, int max_batch, struct model **out, char *err)
{
	struct model_opts o = {.max_batch = max_batch, .precision = MODEL_FP32};
	return model_open(path, &o, out, err);
}

enum model_precision model_precision(const struct model *m)
{
	return m->precision;
}

const char *model_version(const struct model *m)
{
	return m->version;
}

void model_free(struct model *m)
{
	if (!m)
		return;
	free(m->mem);
	free(m);
}

/* restrict parameters and a constant inner count let GCC vectorise it at -O2. */
void model_add_pos(float *restrict x, const float *restrict pos)
{
	for (int j = 0; j < TOK * D; j += 16) /* TOK * D is a multiple of 16 */
		for (int u = 0; u < 16; u++)
			x[j + u] += pos[j + u];
}

void model_conv1(struct model *m, const float *pixels)
{
	/* Only interiors are ever written: the borders stay as model_open zeroed them. */
	for (int y = 0; y < IMG; y++)
		for (int x = 0; x < IMG; x++)
			m->img[(y + 1) * (IMG + 2) + x + 1] =
			    (pixels[y * IMG + x] - PIX_MEAN) / PIX_STD;
	kern_conv3x3_relu_pool(m->img, IMG, IMG, 1, m->conv1_w, m->conv1_b, C1, m->pool1, 1);
}

static void linear(const struct linear *l, const float *x, int rows, int relu, float *y)
{
	kern_linear(x, rows, l->k, l->wp, l->b, l->n, relu, y);
}

/* One post-norm TransformerEncoderLayer over nb sequences of TOK tokens. */
static void encoder_layer(struct model *m, const struct layer *l, int nb)
{
	int rows = nb * TOK;
	linear(&l->in, m->x, rows, 0, m->qkv);
	for (int i = 0; i < nb; i++)
		kern_attention(m->qkv + (size_t)i * TOK * 3 * D, TOK, D, HEADS, m->scores,
			       m->att + (size_t)i * TOK * D);
	linear(&l->out, m->att, rows, 0, m->tmp);
	kern_add_layernorm(m->x, m->tmp, rows, D, l->n1g, l->n1b, LN_EPS);
	linear(&l->ff1, m->x, rows, 1, m->hid);
	linear(&l->ff2, m->hid, rows, 0, m->tmp);
	kern_add_layernorm(m->x, m->tmp, rows, D, l->n2g, l->n2b, LN_EPS);
}

static void forward_chunk(struct model *m, const float *pixels, int nb, float *logits)
{
	if (m->precision == MODEL_INT8) {
		model_int8_forward(m, pixels, nb, logits);
		return;
	}
	/* conv1, relu, pool, conv2, relu, pool: each image into its 49 x 64 tokens. */
	for (int i = 0; i < nb; i++) {
		model_conv1(m, pixels + (size_t)i * MODEL_PIXELS);
		kern_conv3x3_relu_pool(m->pool1, 14, 14, C1, m->conv2_w, m->conv2_b, C2,
				       m->tok + (size_t)i * TOK * C2, 0);
	}
	linear(&m->proj, m->tok, nb * TOK, 0, m->x);
	for (int i = 0; i < nb; i++)
		model_add_pos(m->x + (size_t)i * TOK * D, m->pos);
	for (int k = 0; k < LAYERS; k++)
		encoder_layer(m, &m->layers[k], nb);
	for (int i = 0; i < nb; i++)
		kern_meanpool(m->x + (size_t)i * TOK * D, TOK, D, m->pooled + (size_t)i * D);
	linear(&m->fc1, m->pooled, nb, 1, m->h1);
	linear(&m->fc2, m->h1, nb, 0, logits);
}

void model_forward(struct model *m, const float *pixels, int batch, float *logits)
{
	for (int done = 0; done < batch;) {
		int nb = batch - done < m->max_batch ? batch - done : m->max_batch;
		forward_chunk(m, pixels + (size_t)done * MODEL_PIXELS, nb,
			      logits + (size_t)done * MODEL_CLASSES);
		done += nb;
	}
}

int model_softmax(const float *logits, float *probs)
{
	int best = 0;
	for (int i = 0; i < MODEL_CLASSES; i++) {
		probs[i] = logits[i];
		if (logits[i] > logits[best])
			best = i;
	}
	kern_softmax(probs, MODEL_CLASSES);
	return best;
}
