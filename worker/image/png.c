/*
 * PNG decoding with libpng: every colour type and bit depth is reduced by
 * libpng's own transformations to 8-bit gray or gray+alpha, so the
 * normaliser sees at most two channels. Errors longjmp to the setjmp in
 * img_decode_png(); everything that can longjmp runs inside read_png(), and
 * all state that must survive the jump (the pixel buffer, the row
 * pointers, our own error code and message) lives in a struct png_ctx on
 * img_decode_png()'s frame, reached through a pointer, so it is freed after
 * the jump without volatile locals.
 */
#include "decode.h"

#include "err.h"

#include <png.h>
#include <stdlib.h>
#include <string.h>

struct png_ctx {
	const uint8_t *buf;
	size_t len, pos;
	const struct img_limits *lim;
	struct img_raw *out;
	uint8_t **rows;
	char *err;
	int code; /* set before png_error() for our own failures */
	char msg[ERR_MAX];
};

static void on_error(png_structp png, png_const_charp msg)
{
	struct png_ctx *c = png_get_error_ptr(png);
	if (c->code == 0) {
		c->code = ERR_INVALID;
		snprintf(c->msg, sizeof c->msg, "invalid PNG: %s", msg);
	}
	png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg)
{
	(void)png, (void)msg; /* warnings are about ancillary data: ignore quietly */
}

static void on_read(png_structp png, png_bytep dst, size_t n)
{
	struct png_ctx *c = png_get_io_ptr(png);
	if (n > c->len - c->pos) {
		c->code = ERR_INVALID;
		snprintf(c->msg, sizeof c->msg, "invalid PNG: file is truncated");
		png_error(png, "truncated");
	}
	memcpy(dst, c->buf + c->pos, n);
	c->pos += n;
}

/* Ask libpng for 8-bit gray or gray+alpha whatever the file holds. */
static void set_transforms(png_structp png, png_infop info)
{
	int type = png_get_color_type(png, info);
	int depth = png_get_bit_depth(png, info);
	if (type == PNG_COLOR_TYPE_PALETTE)
		png_set_palette_to_rgb(png);
	if (type == PNG_COLOR_TYPE_GRAY && depth < 8)
		png_set_expand_gray_1_2_4_to_8(png);
	if (png_get_valid(png, info, PNG_INFO_tRNS))
		png_set_tRNS_to_alpha(png);
	if (depth == 16)
		png_set_scale_16(png);
	if (type & PNG_COLOR_MASK_COLOR || type == PNG_COLOR_TYPE_PALETTE)
		png_set_rgb_to_gray_fixed(png, PNG_ERROR_ACTION_NONE, -1, -1);
	png_set_interlace_handling(png);
}

/* Everything that can longjmp happens in here. */
static void read_png(png_structp png, png_infop info, struct png_ctx *c)
{
	png_uint_32 w, h;
	size_t rowbytes, i;

	png_read_info(png, info);
	w = png_get_image_width(png, info);
	h = png_get_image_height(png, info);
	if (img_check_limits(w, h, c->lim, c->msg) < 0) {
		c->code = ERR_TOO_LARGE;
		png_error(png, "too large");
	}
	set_transforms(png, info);
	png_read_update_info(png, info);
	c->out->ch = png_get_channels(png, info);
	rowbytes = png_get_rowbytes(png, info);
	if ((c->out->ch != 1 && c->out->ch != 2) || rowbytes != (size_t)w * c->out->ch) {
		c->code = ERR_INTERNAL;
		snprintf(c->msg, sizeof c->msg, "PNG transform gave %d channels", c->out->ch);
		png_error(png, "internal");
	}
	/* w, h <= limits <= 2^32 each; the pixel cap keeps w * h * 2 small. */
	c->out->px = malloc(rowbytes * h);
	c->rows = malloc(sizeof *c->rows * h);
	if (!c->out->px || !c->rows) {
		c->code = ERR_NOMEM;
		snprintf(c->msg, sizeof c->msg, "out of memory for a %ux%u PNG", w, h);
		png_error(png, "nomem");
	}
	for (i = 0; i < h; i++)
		c->rows[i] = c->out->px + i * rowbytes;
	png_read_image(png, c->rows);
	c->out->w = w;
	c->out->h = h;
}

int img_decode_png(const uint8_t *buf, size_t len, const struct img_limits *lim,
		   struct img_raw *out, char *err)
{
	struct png_ctx c = {.buf = buf, .len = len, .lim = lim, .out = out, .err = err};
	png_structp png;
	png_infop info = NULL;

	memset(out, 0, sizeof *out);
	png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &c, on_error, on_warning);
	if (png)
		info = png_create_info_struct(png);
	if (!png || !info) {
		png_destroy_read_struct(&png, NULL, NULL);
		return err_set(err, ERR_NOMEM, "out of memory starting the PNG decoder");
	}
	png_set_read_fn(png, &c, on_read);
	/* Our limits are checked after IHDR; libpng's own caps stay above them. */
	png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
	png_set_chunk_malloc_max(png, 8u << 20);
	if (setjmp(png_jmpbuf(png)) == 0)
		read_png(png, info, &c);
	png_destroy_read_struct(&png, &info, NULL);
	free(c.rows);
	if (c.code != 0) {
		free(out->px);
		memset(out, 0, sizeof *out);
		return err_set(err, c.code, "%s", c.msg);
	}
	return 0;
}
