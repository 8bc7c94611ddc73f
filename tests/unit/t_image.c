/*
 * Unit tests of the image module: magic bytes, limits, every PNG colour type / bit depth /
 * interlace and every JPEG colour space encoded in memory (libpng/libjpeg as encoders) against the
 * same shape given as plain gray, transparency of both polarities, blank
 * and tiny images, truncations and bit flips of valid files (no crash, no
 * leak under ASan, one error code), and the normaliser's pure steps.
 */
#include "err.h"
#include "image.h"
#include "decode.h"
#include "norm.h"
#include "tap.h"
#include "t_image_shape.h"

#include <math.h>
#include <stdio.h>

#include <jpeglib.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>

/* Reference: the shape as dark ink on white, normalised from plain gray. */
static void reference(float *out)
{
	static uint8_t g[W * H];
	char err[ERR_MAX];
	for (int y = 0; y < H; y++)
		for (int x = 0; x < W; x++)
			g[y * W + x] = ink(x, y) ? 0 : 255;
	img_gray_to_mnist(g, W, H, NULL, out, err);
}

/* Mean absolute difference: tolerant of a one-pixel shift of an edge. */
static double mean_diff(const float *a, const float *b)
{
	double s = 0;
	for (int i = 0; i < 784; i++)
		s += fabs(a[i] - b[i]);
	return s / 784;
}

/* ---- in-memory PNG encoder --------------------------------------------- */

static void mem_write(png_structp png, png_bytep d, size_t n)
{
	struct mem *m = png_get_io_ptr(png);
	if (m->n + n > m->cap) {
		m->cap = (m->n + n) * 2;
		m->p = realloc(m->p, m->cap);
		if (!m->p)
			abort();
	}
	memcpy(m->p + m->n, d, n);
	m->n += n;
}

static void mem_flush(png_structp png)
{
	(void)png;
}

/* Sample value of the shape at (x, y) for a colour type and bit depth. mode:
 * 0 dark ink on opaque white, 1 dark ink on transparent, 2 light ink on
 * transparent. */
static void put_sample(uint8_t *row, int x, int type, int depth, int mode, int is_ink)
{
	int maxv = (1 << depth) - 1;
	int v = (mode == 2) ? (is_ink ? maxv : 0) : (is_ink ? 0 : maxv);
	int a = (mode == 0 || is_ink) ? maxv : 0;
	int ch = type == 0 ? 1 : type == 2 ? 3 : type == 3 ? 1 : type == 4 ? 2 : 4;
	if (type == 3)
		v = is_ink ? 1 : 0; /* palette index */
	if (depth < 8) {
		int per = 8 / depth, shift = 8 - depth * (x % per + 1);
		row[x / per] |= (uint8_t)(v << shift);
		return;
	}
	for (int c = 0; c < ch; c++) {
		int s = (c == ch - 1 && (type == 4 || type == 6)) ? a : v;
		if (depth == 16) {
			row[(x * ch + c) * 2] = (uint8_t)(s >> 8);
			row[(x * ch + c) * 2 + 1] = (uint8_t)s;
		} else {
			row[x * ch + c] = (uint8_t)s;
		}
	}
}

static struct mem encode_png(int type, int depth, int interlace, int mode)
{
	struct mem m = {0};
	png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	png_infop info = png_create_info_struct(png);
	uint8_t row[W * 8];
	png_set_write_fn(png, &m, mem_write, mem_flush);
	png_set_IHDR(png, info, W, H, depth, type,
		     interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, 0, 0);
	if (type == 3) {
		png_color pal[2] = {{255, 255, 255}, {0, 0, 0}};
		png_byte trns[2] = {mode == 0 ? 255 : 0, 255};
		if (mode == 2)
			pal[0] = (png_color){0, 0, 0}, pal[1] = (png_color){255, 255, 255};
		png_set_PLTE(png, info, pal, 2);
		if (mode != 0)
			png_set_tRNS(png, info, trns, 2, NULL);
	}
	png_write_info(png, info);
	int passes = png_set_interlace_handling(png);
	for (int p = 0; p < passes; p++)
		for (int y = 0; y < H; y++) {
			memset(row, 0, sizeof row);
			for (int x = 0; x < W; x++)
				put_sample(row, x, type, depth, mode, ink(x, y));
			png_write_row(png, row);
		}
	png_write_end(png, info);
	png_destroy_write_struct(&png, &info);
	return m;
}

static void test_png_variants(const float *ref)
{
	static const int types[] = {0, 2, 3, 4, 6};
	static const int depths[] = {1, 2, 4, 8, 16};
	float out[784];
	char err[ERR_MAX];
	for (size_t t = 0; t < 5; t++)
		for (size_t d = 0; d < 5; d++)
			for (int il = 0; il < 2; il++)
				for (int mode = 0; mode < 3; mode++) {
					int type = types[t], depth = depths[d];
					if (depth < 8 && type != 0 && type != 3)
						continue;
					if (depth == 16 && type == 3)
						continue;
					if (mode && (type == 0 || type == 2))
						continue; /* no alpha channel to test */
					struct mem m = encode_png(type, depth, il, mode);
					int rc = img_to_mnist(m.p, m.n, NULL, out, err);
					CHECK(rc == 0 && max_diff(out, ref) < 0.02,
					      "PNG type %d depth %d interlace %d mode %d (rc %d, "
					      "diff %.3f)",
					      type, depth, il, mode, rc, max_diff(out, ref));
					free(m.p);
				}
}

/* Truncate a valid file at many lengths and flip bits: one error code, no
 * crash, nothing leaked (ASan build). */
static void test_damage(const uint8_t *p, size_t n, const char *what)
{
	float out[784];
	char err[ERR_MAX];
	int bad = 0, ok_flips = 0;
	uint8_t *c = malloc(n);
	for (size_t len = 1; len < n; len += 1 + len / 16) {
		int rc = img_to_mnist(p, len, NULL, out, err);
		if (rc != ERR_INVALID && rc != ERR_UNSUPPORTED)
			bad++;
	}
	CHECK(bad == 0, "%s truncated at every length: ERR_INVALID (%d wrong)", what, bad);
	srand(7);
	for (int i = 0; i < 300; i++) {
		memcpy(c, p, n);
		c[(size_t)rand() % n] ^= (uint8_t)(1 << (rand() % 8));
		int rc = img_to_mnist(c, n, NULL, out, err);
		ok_flips +=
		    rc == 0 || rc == ERR_INVALID || rc == ERR_UNSUPPORTED || rc == ERR_TOO_LARGE;
	}
	CHECK(ok_flips == 300, "%s with flipped bits: defined results", what);
	free(c);
}

/* ---- in-memory JPEG encoder -------------------------------------------- */

static struct mem encode_jpeg(J_COLOR_SPACE in, J_COLOR_SPACE store, int progressive, int ww,
			      int hh, int adobe_invert)
{
	struct jpeg_compress_struct ci;
	struct jpeg_error_mgr jerr;
	unsigned char *buf = NULL;
	unsigned long len = 0;
	int comps = in == JCS_GRAYSCALE ? 1 : in == JCS_CMYK ? 4 : 3;
	uint8_t *row = malloc((size_t)ww * comps);
	ci.err = jpeg_std_error(&jerr);
	jpeg_create_compress(&ci);
	jpeg_mem_dest(&ci, &buf, &len);
	ci.image_width = ww, ci.image_height = hh;
	ci.input_components = comps, ci.in_color_space = in;
	jpeg_set_defaults(&ci);
	jpeg_set_colorspace(&ci, store);
	jpeg_set_quality(&ci, 95, TRUE);
	if (progressive)
		jpeg_simple_progression(&ci);
	jpeg_start_compress(&ci, TRUE);
	for (int y = 0; y < hh; y++) {
		for (int x = 0; x < ww; x++) {
			int k = ink(x * W / ww, y * H / hh);
			for (int c = 0; c < comps; c++) {
				int v = k ? 0 : 255;
				if (in == JCS_CMYK) /* ink only in K */
					v = c < 3 ? 0 : (k ? 255 : 0);
				if (in == JCS_CMYK && adobe_invert)
					v = 255 - v;
				row[x * comps + c] = (uint8_t)v;
			}
		}
		JSAMPROW r = row;
		jpeg_write_scanlines(&ci, &r, 1);
	}
	jpeg_finish_compress(&ci);
	jpeg_destroy_compress(&ci);
	free(row);
	struct mem m = {buf, len, len};
	return m;
}

/* Stray bytes between markers (some cameras write them): a benign warning,
 * the pixels are intact and the image decodes the same. */
static void test_extraneous(const uint8_t *p, size_t n, const float *want)
{
	uint8_t *c = malloc(n + 3);
	float out[784];
	char err[ERR_MAX];
	size_t seg = 4 + ((size_t)p[4] << 8 | p[5]); /* SOI, then APP0 (JFIF) */
	memcpy(c, p, seg);
	memcpy(c + seg, "\x12\x34\x56", 3);
	memcpy(c + seg + 3, p + seg, n - seg);
	int rc = img_to_mnist(c, n + 3, NULL, out, err);
	CHECK(p[2] == 0xff && p[3] == 0xe0 && rc == 0 && max_diff(out, want) == 0,
	      "JPEG with stray bytes between markers decodes (rc %d %s)", rc, rc ? err : "");
	free(c);
}

static void test_jpeg_variants(const float *ref)
{
	struct {
		J_COLOR_SPACE in, store;
		const char *name;
	} v[] = {{JCS_GRAYSCALE, JCS_GRAYSCALE, "gray"},
		 {JCS_RGB, JCS_YCbCr, "YCbCr"},
		 {JCS_RGB, JCS_RGB, "RGB"},
		 {JCS_CMYK, JCS_CMYK, "CMYK"},
		 {JCS_CMYK, JCS_YCCK, "YCCK"}};
	float out[784];
	char err[ERR_MAX];
	for (size_t i = 0; i < 5; i++)
		for (int prog = 0; prog < 2; prog++) {
			/* libjpeg writes an Adobe marker for CMYK/YCCK, so readers
			 * expect inverted values, as Photoshop stores them. */
			struct mem m = encode_jpeg(v[i].in, v[i].store, prog, W, H, 1);
			int rc = img_to_mnist(m.p, m.n, NULL, out, err);
			CHECK(rc == 0 && mean_diff(out, ref) < 0.03,
			      "JPEG %s progressive %d (rc %d, mean diff %.3f)", v[i].name, prog, rc,
			      mean_diff(out, ref));
			if (i == 1 && prog == 1)
				test_damage(m.p, m.n, "JPEG");
			if (i == 1 && prog == 0)
				test_extraneous(m.p, m.n, out);
			free(m.p);
		}
	/* Large photo: decoded through DCT scaling, still the same shape. */
	struct mem m = encode_jpeg(JCS_RGB, JCS_YCbCr, 0, 2000, 2400, 0);
	int rc = img_to_mnist(m.p, m.n, NULL, out, err);
	CHECK(rc == 0 && mean_diff(out, ref) < 0.05, "JPEG 2000x2400 scaled decode (diff %.3f)",
	      mean_diff(out, ref));
	struct img_intake in;
	struct img_limits lim;
	img_limits_default(&lim);
	img_intake_init(&in, &lim);
	rc = img_decode_jpeg(m.p, m.n, &in, err);
	CHECK(rc == 0 && in.w == 250 && in.h == 300, "DCT scaling 2000x2400 -> %zux%zu", in.w,
	      in.h);
	img_intake_free(&in);
	lim.max_pixels = 1000000;
	img_intake_init(&in, &lim);
	rc = img_decode_jpeg(m.p, m.n, &in, err);
	CHECK(rc == ERR_TOO_LARGE && in.plane == NULL, "JPEG above max_pixels: ERR_TOO_LARGE (%s)",
	      err);
	img_intake_free(&in);
	free(m.p);
}

/* ---- formats, limits and special images ------------------------------------ */

static void test_detect(void)
{
	static const uint8_t png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0};
	static const uint8_t jpg[] = {0xff, 0xd8, 0xff, 0xe0};
	float out[784];
	char err[ERR_MAX];
	CHECK(img_detect(png, sizeof png) == IMG_PNG, "detect PNG");
	CHECK(img_detect(jpg, sizeof jpg) == IMG_JPEG, "detect JPEG");
	CHECK(img_detect(jpg, 2) == IMG_UNKNOWN, "2 bytes are not JPEG");
	CHECK(img_detect((const uint8_t *)"GIF89a", 6) == IMG_UNKNOWN, "GIF is unknown");
	CHECK(img_to_mnist(png, 0, NULL, out, err) == ERR_INVALID, "zero bytes: ERR_INVALID");
	CHECK(img_to_mnist((const uint8_t *)"GIF89a....", 10, NULL, out, err) == ERR_UNSUPPORTED &&
		  strstr(err, "GIF"),
	      "GIF: ERR_UNSUPPORTED naming GIF (%s)", err);
	struct img_limits lim;
	img_limits_default(&lim);
	CHECK(lim.max_width == 20000 && lim.max_height == 20000 && lim.max_pixels == 40000000,
	      "default limits");
	CHECK(img_check_limits(20000, 2000, &lim, err) == 0, "20000x2000 within limits");
	CHECK(img_check_limits(20001, 10, &lim, err) == ERR_TOO_LARGE, "width limit");
	CHECK(img_check_limits(10, 20001, &lim, err) == ERR_TOO_LARGE, "height limit");
	CHECK(img_check_limits(8000, 6000, &lim, err) == ERR_TOO_LARGE, "48 MP above 40 MP");
}

static uint32_t crc32_png(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffu;
	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
	}
	return c ^ 0xffffffffu;
}

static void test_limits_png(void)
{
	struct mem m = encode_png(0, 8, 0, 0);
	float out[784];
	char err[ERR_MAX];
	struct img_limits lim = {30, 1000, 1000000, 0};
	CHECK(img_to_mnist(m.p, m.n, &lim, out, err) == ERR_TOO_LARGE, "PNG wider than limit (%s)",
	      err);
	/* IHDR rewritten to claim 100000 x 100000 (CRC fixed): refused before
	 * any pixel buffer exists. */
	uint8_t *p = m.p;
	p[16] = 0, p[17] = 1, p[18] = 0x86, p[19] = 0xa0;
	p[20] = 0, p[21] = 1, p[22] = 0x86, p[23] = 0xa0;
	uint32_t crc = crc32_png(p + 12, 17);
	p[29] = (uint8_t)(crc >> 24), p[30] = (uint8_t)(crc >> 16), p[31] = (uint8_t)(crc >> 8),
	p[32] = (uint8_t)crc;
	int rc = img_to_mnist(m.p, m.n, NULL, out, err);
	CHECK(rc == ERR_TOO_LARGE, "PNG claiming 100000x100000: ERR_TOO_LARGE (%s)", err);
	p[29] ^= 1;
	rc = img_to_mnist(m.p, m.n, NULL, out, err);
	CHECK(rc == ERR_INVALID, "PNG with broken IHDR CRC: ERR_INVALID (%s)", err);
	free(m.p);
}

static void test_blank_and_tiny(void)
{
	static uint8_t g[100 * 100];
	float out[784];
	char err[ERR_MAX];
	const int levels[] = {0, 128, 255};
	for (int i = 0; i < 3; i++) {
		memset(g, levels[i], sizeof g);
		int rc = img_gray_to_mnist(g, 100, 100, NULL, out, err);
		double s = 0;
		for (int k = 0; k < 784; k++)
			s += out[k];
		CHECK(rc == 0 && s == 0, "uniform %d: blank output", levels[i]);
	}
	/* faint noise only: still blank */
	srand(3);
	for (int k = 0; k < 100 * 100; k++)
		g[k] = (uint8_t)(200 + rand() % 6);
	int rc = img_gray_to_mnist(g, 100, 100, NULL, out, err);
	double s = 0;
	for (int k = 0; k < 784; k++)
		s += out[k];
	CHECK(rc == 0 && s == 0, "faint noise: blank output (sum %.2f)", s);
	g[0] = 0;
	CHECK(img_gray_to_mnist(g, 1, 1, NULL, out, err) == 0, "1x1 image");
	uint8_t dot[9] = {255, 255, 255, 255, 0, 255, 255, 255, 255};
	rc = img_gray_to_mnist(dot, 3, 3, NULL, out, err);
	s = 0;
	for (int k = 0; k < 784; k++)
		s += out[k] * (k == 14 * 28 + 14 ? 0 : 1);
	CHECK(rc == 0 && out[14 * 28 + 14] > 0.5, "3x3 dot lands in the centre");
	CHECK(img_gray_to_mnist(dot, 0, 3, NULL, out, err) == ERR_INVALID, "zero width");
}

/* The digit alone, and with clutter: a line along the bottom touching the
 * frame (a shadow edge, the sheet's edge) and a blob far away. The crop
 * must ignore both. */
static void test_clutter(void)
{
	static uint8_t g[320 * 320];
	float ref[784], out[784];
	char err[ERR_MAX];
	for (int y = 0; y < 320; y++)
		for (int x = 0; x < 320; x++)
			g[y * 320 + x] = (x >= 40 && x < 160 && y >= 20 && y < 164 &&
					  ink((x - 40) / 3, (y - 20) / 3))
					     ? 30
					     : 220;
	img_gray_to_mnist(g, 320, 320, NULL, ref, err);
	for (int x = 0; x < 320; x++)
		for (int y = 306; y < 310; y++)
			g[y * 320 + x] = 60;
	for (int y = 250; y < 262; y++)
		for (int x = 280; x < 292; x++)
			g[y * 320 + x] = 40;
	int rc = img_gray_to_mnist(g, 320, 320, NULL, out, err);
	CHECK(rc == 0 && max_diff(out, ref) < 0.02,
	      "frame-touching line and far blob ignored (diff %.3f)", max_diff(out, ref));
}

/* A 320 x 320 page: the "7" scaled by 3 at (ox, oy) when ox >= 0, plus
 * rectangles of ink (x0, y0, x1, y1; n of them), ink 30 on paper 220. */
static void page(uint8_t *g, int ox, int oy, const int (*r)[4], int n)
{
	for (int y = 0; y < 320; y++)
		for (int x = 0; x < 320; x++) {
			int on = ox >= 0 && x >= ox && x < ox + 3 * W && y >= oy &&
				 y < oy + 3 * H && ink((x - ox) / 3, (y - oy) / 3);
			for (int i = 0; i < n && !on; i++)
				on = x >= r[i][0] && x < r[i][2] && y >= r[i][1] && y < r[i][3];
			g[y * 320 + x] = on ? 30 : 220;
		}
}

/* Printed rules: lines over and under the digit that stop short of the
 * photo's edges (a form's writing line, what an open box cut by the edge
 * leaves) are not ink. A straight thin stroke alone, beside a speck, or
 * beside ink that reaches one of its ends (the long stroke of a 4) is. */
static void test_rules(void)
{
	static uint8_t g[320 * 320];
	float ref[784], out[784], alone[784];
	char err[ERR_MAX];
	const int rules[2][4] = {{20, 70, 300, 73}, {24, 240, 296, 243}};
	page(g, 100, 85, NULL, 0);
	img_gray_to_mnist(g, 320, 320, NULL, ref, err);
	page(g, 100, 85, rules, 2);
	int rc = img_gray_to_mnist(g, 320, 320, NULL, out, err);
	CHECK(rc == 0 && max_diff(out, ref) < 0.02,
	      "rules over and under the digit left out (diff %.3f)", max_diff(out, ref));
	page(g, 100, 85, rules + 1, 1);
	rc = img_gray_to_mnist(g, 320, 320, NULL, out, err);
	CHECK(rc == 0 && max_diff(out, ref) < 0.02, "one rule under the digit left out (diff %.3f)",
	      max_diff(out, ref));

	const int one[1][4] = {{158, 40, 162, 280}},
		  speck[2][4] = {{158, 40, 162, 280}, {140, 150, 152, 162}};
	page(g, -1, 0, one, 1);
	rc = img_gray_to_mnist(g, 320, 320, NULL, alone, err);
	double sum = 0;
	for (int i = 0; i < 784; i++)
		sum += alone[i];
	CHECK(rc == 0 && sum > 10, "a thin straight 1 alone is ink (sum %.1f)", sum);
	page(g, -1, 0, speck + 1, 1);
	img_gray_to_mnist(g, 320, 320, NULL, alone, err);
	page(g, -1, 0, speck, 2);
	rc = img_gray_to_mnist(g, 320, 320, NULL, out, err);
	CHECK(rc == 0 && max_diff(out, alone) > 0.5,
	      "a thin 1 beside a mark of 15 %% its area stays (diff from the mark alone %.3f)",
	      max_diff(out, alone));
	/* A 4 in two strokes: the arm (its own component) starts level with
	 * the top of the long stroke, so the stroke does not run past it. */
	const int four[3][4] = {{200, 40, 204, 280}, {120, 40, 128, 160}, {128, 150, 192, 158}};
	page(g, -1, 0, four + 1, 2);
	img_gray_to_mnist(g, 320, 320, NULL, alone, err);
	page(g, -1, 0, four, 3);
	rc = img_gray_to_mnist(g, 320, 320, NULL, out, err);
	CHECK(rc == 0 && max_diff(out, alone) > 0.5, "the long stroke of a 4 stays (diff %.3f)",
	      max_diff(out, alone));
}

static void test_steps(void)
{
	size_t h[256] = {0};
	h[10] = 100, h[200] = 50;
	CHECK(img_hist_quantile(h, 0.5) == 10 && img_hist_quantile(h, 0.9) == 200,
	      "histogram quantiles");
	uint8_t ga[8] = {0, 255, 0, 0, 255, 0, 0, 0};
	CHECK(img_backdrop(ga, 4) == 255, "dark strokes on transparent: white backdrop");
	ga[0] = 255;
	CHECK(img_backdrop(ga, 4) == 0, "light strokes on transparent: black backdrop");
	/* dark core with a light fringe, paper keyed out as transparent white */
	uint8_t key[8] = {20, 255, 200, 255, 230, 255, 255, 0};
	CHECK(img_backdrop(key, 4) == 255, "keyed-out white paper: white backdrop");
	uint8_t op[4] = {3, 255, 9, 255};
	CHECK(img_backdrop(op, 2) == -1, "opaque: no compositing");
	float src[4 * 4], dst[2 * 2];
	for (int i = 0; i < 16; i++)
		src[i] = (float)i;
	img_area_resize(src, 4, 4, dst, 2, 2);
	CHECK(fabs(dst[0] - 2.5) < 1e-5 && fabs(dst[3] - 12.5) < 1e-5, "area resize 4x4 -> 2x2");
	img_area_resize(src, 4, 4, src + 0, 4, 4);
	float box[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1}, out[784];
	img_place_com(box, 3, 3, out);
	CHECK(out[13 * 28 + 13] == 1 && out[15 * 28 + 15] == 1 && out[12 * 28 + 12] == 0,
	      "3x3 box centred at (14, 14)");
}

int main(void)
{
	float ref[784];
	reference(ref);
	double s = 0;
	for (int i = 0; i < 784; i++)
		s += ref[i];
	CHECK(s > 20, "reference shape has ink (%.1f)", s);
	test_detect();
	test_steps();
	test_png_variants(ref);
	struct mem m = encode_png(6, 8, 1, 1);
	test_damage(m.p, m.n, "PNG");
	free(m.p);
	test_limits_png();
	test_jpeg_variants(ref);
	test_blank_and_tiny();
	test_clutter();
	test_rules();
	return tap_done();
}
