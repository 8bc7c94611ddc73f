/* The int8 model: loading the file weights/quantize.py writes, and the
 * forward pass wired like model.c's (and like weights/quantize.py's
 * Net.forward, its reference), conv2 and every linear layer through
 * kernels_int8.h, the rest through kernels.h in float32. */
#include "err.h"
#include "kernels.h"
#include "kernels_int8.h"
#include "model_impl.h"
#include "sft.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

size_t model_int8_bytes(size_t b)
{
	size_t w = 9 * C1 * C2 + C2 * D + LAYERS * (3 * D * D + D * D + 2 * D * FF) + HID * D +
		   MODEL_CLASSES * HID;
	size_t outs = C2 + D + LAYERS * (3 * D + D + FF + D) + HID + MODEL_CLASSES;
	size_t scratch = 16 * 16 * C1 + b * TOK * (C2 + D + FF) + b * HID +
			 kern_q_attention_scratch(TOK, D, HEADS);
	/* acc0, scale, off per output; 64 bytes of rounding per slice. */
	return w + 3 * 4 * outs + scratch + 64 * 64;
}

static int positive(float v)
{
	return isfinite(v) && v > 0.0f;
}

/* One int8 layer: WNAME_q (I8, shape[0..ndim), shape[0] outputs), WNAME_scale,
 * the input scale SNAME and the bias BNAME. The epilogue holds the raw
 * weight scales and bias until finish(). */
static int load_q(struct model *m, const struct sft *f, const char *wname, const char *bname,
		  const char *sname, int zp, const size_t *shape, int ndim, struct qlinear *l,
		  int8_t *tmp, char *err)
{
	char qn[160], sn[160];
	int n = (int)shape[0], k = 1;
	for (int i = 1; i < ndim; i++)
		k *= (int)shape[i];
	size_t ns[1] = {(size_t)n}, one[1] = {1};
	snprintf(qn, sizeof qn, "%s_q", wname);
	snprintf(sn, sizeof sn, "%s_scale", wname);
	l->n = n;
	l->k = k;
	l->in_zp = zp;
	l->wp = model_take(m, (size_t)n * k);
	l->acc0 = model_take(m, (size_t)n * sizeof(int32_t));
	l->scale = model_take(m, (size_t)n * sizeof(float));
	l->off = model_take(m, (size_t)n * sizeof(float));
	int rc = sft_copy(f, qn, "I8", shape, ndim, tmp, err);
	if (rc == 0)
		rc = sft_copy_f32(f, sn, ns, 1, l->scale, err);
	if (rc == 0)
		rc = sft_copy_f32(f, sname, one, 1, &l->in_scale, err);
	if (rc == 0)
		rc = sft_copy_f32(f, bname, ns, 1, l->off, err);
	if (rc < 0)
		return rc;
	for (int j = 0; j < n; j++)
		if (!positive(l->scale[j]))
			return err_set(err, ERR_INVALID,
				       "%s: tensor '%s': scale %d is not positive", sft_path(f), sn,
				       j);
	if (!positive(l->in_scale))
		return err_set(err, ERR_INVALID, "%s: tensor '%s': not positive", sft_path(f),
			       sname);
	l->in_inv = 1.0f / l->in_scale;
	for (int j = 0; j < n; j++) {
		int32_t s = 0;
		for (int e = 0; e < k; e++)
			s += tmp[(size_t)j * k + e];
		l->acc0[j] = -zp * s;
	}
	if (ndim == 4)
		kern_q_pack_conv3x3(tmp, n, (int)shape[1], l->wp);
	else
		kern_q_pack_linear(tmp, n, k, l->wp);
	return 0;
}

/* The epilogue: float output, or (next) the u8 codes of next's input. The
 * float32 operations and their order are Net._epilogue's in quantize.py. */
static void finish(struct qlinear *l, const struct qlinear *next)
{
	for (int j = 0; j < l->n; j++) {
		l->scale[j] = l->in_scale * l->scale[j];
		if (next) {
			l->scale[j] = l->scale[j] * next->in_inv;
			l->off[j] = l->off[j] * next->in_inv + (float)next->in_zp;
		}
	}
}

static int load_qlayer(struct model *m, const struct sft *f, int i, int8_t *tmp, char *err)
{
	struct layer *l = &m->layers[i];
	char p[64], w[4][128], b[4][128], s[4][128];
	const char *names[4] = {"self_attn.in_proj", "self_attn.out_proj", "linear1", "linear2"};
	struct qlinear *q[4] = {&l->qin, &l->qout, &l->qff1, &l->qff2};
	size_t shapes[4][2] = {{3 * D, D}, {D, D}, {FF, D}, {D, FF}};
	int zp[4] = {128, 128, 128, 0}, rc = 0;
	snprintf(p, sizeof p, "transformer.layers.%d.", i);
	for (int j = 0; j < 4 && rc == 0; j++) {
		/* in_proj's tensors are in_proj_weight / in_proj_bias. */
		const char *sep = j == 0 ? "_" : ".";
		snprintf(w[j], sizeof w[j], "%s%s%sweight", p, names[j], sep);
		snprintf(b[j], sizeof b[j], "%s%s%sbias", p, names[j], sep);
		snprintf(s[j], sizeof s[j], "%s%s%sinput_scale", p, names[j], sep);
		rc = load_q(m, f, w[j], b[j], s[j], zp[j], shapes[j], 2, q[j], tmp, err);
	}
	const char *norms[4] = {"norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias"};
	float **dst[4] = {&l->n1g, &l->n1b, &l->n2g, &l->n2b};
	for (int k = 0; k < 4 && rc == 0; k++) {
		char n[128];
		snprintf(n, sizeof n, "%s%s", p, norms[k]);
		rc = model_load_vec(m, f, n, D, dst[k], err);
	}
	return rc;
}

int model_int8_load(struct model *m, const struct sft *f, void *tmp, char *err)
{
	size_t conv2[4] = {C2, C1, 3, 3}, proj[2] = {D, C2}, fc1[2] = {HID, D},
	       fc2[2] = {MODEL_CLASSES, HID}, pos[3] = {1, TOK, D};
	int rc = model_load_conv(m, f, "conv1", 1, C1, &m->conv1_w, &m->conv1_b, tmp, err);
	if (rc == 0)
		rc = load_q(m, f, "conv2.weight", "conv2.bias", "conv2.input_scale", 0, conv2, 4,
			    &m->qconv2, tmp, err);
	if (rc == 0)
		rc = load_q(m, f, "proj.weight", "proj.bias", "proj.input_scale", 0, proj, 2,
			    &m->qproj, tmp, err);
	if (rc == 0) {
		m->pos = model_take(m, (size_t)TOK * D * sizeof(float));
		rc = sft_copy_f32(f, "pos_embed", pos, 3, m->pos, err);
	}
	for (int i = 0; i < LAYERS && rc == 0; i++)
		rc = load_qlayer(m, f, i, tmp, err);
	if (rc == 0)
		rc = load_q(m, f, "fc1.weight", "fc1.bias", "fc1.input_scale", 128, fc1, 2,
			    &m->qfc1, tmp, err);
	if (rc == 0)
		rc = load_q(m, f, "fc2.weight", "fc2.bias", "fc2.input_scale", 0, fc2, 2, &m->qfc2,
			    tmp, err);
	if (rc < 0)
		return rc;
	/* conv2's codes are proj's input, linear1's linear2's, fc1's fc2's. */
	finish(&m->qconv2, &m->qproj);
	finish(&m->qproj, NULL);
	for (int i = 0; i < LAYERS; i++) {
		struct layer *l = &m->layers[i];
		finish(&l->qin, NULL);
		finish(&l->qout, NULL);
		finish(&l->qff1, &l->qff2);
		finish(&l->qff2, NULL);
	}
	finish(&m->qfc1, &m->qfc2);
	finish(&m->qfc2, NULL);
	size_t b = (size_t)m->max_batch;
	m->pool1q = model_take(m, 16 * 16 * C1);
	m->tokq = model_take(m, b * TOK * C2);
	m->xq = model_take(m, b * TOK * D);
	m->hq = model_take(m, b * TOK * FF);
	m->h1q = model_take(m, b * HID);
	m->qscores = model_take(m, kern_q_attention_scratch(TOK, D, HEADS));
	return 0;
}

/* rows of u8 codes x through l into floats y or codes yq. */
static void qlinear(const struct qlinear *l, const uint8_t *x, int rows, float *y, uint8_t *yq)
{
	struct kern_q_epi e = {l->acc0, l->scale, l->off, 0};
	kern_q_linear(x, rows, l->k, l->wp, l->n, &e, y, yq);
}

/* rows of floats x, quantised as l's input, through l into floats y. */
static void qlinear_f(struct model *m, const struct qlinear *l, const float *x, int rows, float *y)
{
	kern_q_quantize(x, (size_t)rows * l->k, l->in_inv, l->in_zp, m->xq);
	qlinear(l, m->xq, rows, y, NULL);
}

static void encoder_layer(struct model *m, const struct layer *l, int nb)
{
	int rows = nb * TOK;
	qlinear_f(m, &l->qin, m->x, rows, m->qkv);
	for (int i = 0; i < nb; i++)
		kern_q_attention(m->qkv + (size_t)i * TOK * 3 * D, TOK, D, HEADS, m->qscores,
				 m->att + (size_t)i * TOK * D);
	qlinear_f(m, &l->qout, m->att, rows, m->tmp);
	kern_add_layernorm(m->x, m->tmp, rows, D, l->n1g, l->n1b, LN_EPS);
	kern_q_quantize(m->x, (size_t)rows * D, l->qff1.in_inv, l->qff1.in_zp, m->xq);
	qlinear(&l->qff1, m->xq, rows, NULL, m->hq);
	qlinear(&l->qff2, m->hq, rows, m->tmp, NULL);
	kern_add_layernorm(m->x, m->tmp, rows, D, l->n2g, l->n2b, LN_EPS);
}

void model_int8_forward(struct model *m, const float *pixels, int nb, float *logits)
{
	const struct qlinear *c2 = &m->qconv2;
	struct kern_q_epi e2 = {c2->acc0, c2->scale, c2->off, 0};
	for (int i = 0; i < nb; i++) {
		model_conv1(m, pixels + (size_t)i * MODEL_PIXELS);
		/* The zero border quantises to code 0: conv2's padding (zero point 0). */
		kern_q_quantize(m->pool1, 16 * 16 * C1, c2->in_inv, c2->in_zp, m->pool1q);
		kern_q_conv3x3_pool(m->pool1q, 14, 14, C1, c2->wp, C2, &e2,
				    m->tokq + (size_t)i * TOK * C2, 0);
	}
	qlinear(&m->qproj, m->tokq, nb * TOK, m->x, NULL);
	for (int i = 0; i < nb; i++)
		model_add_pos(m->x + (size_t)i * TOK * D, m->pos);
	for (int k = 0; k < LAYERS; k++)
		encoder_layer(m, &m->layers[k], nb);
	for (int i = 0; i < nb; i++)
		kern_meanpool(m->x + (size_t)i * TOK * D, TOK, D, m->pooled + (size_t)i * D);
	kern_q_quantize(m->pooled, (size_t)nb * D, m->qfc1.in_inv, m->qfc1.in_zp, m->xq);
	qlinear(&m->qfc1, m->xq, nb, NULL, m->h1q);
	qlinear(&m->qfc2, m->h1q, nb, logits, NULL);
}
