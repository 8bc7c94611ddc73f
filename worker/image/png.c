/*
 * PNG decoding with libpng: every colour type and bit depth is reduced by
 * libpng's own transformations to 8-bit gray or gray+alpha, so the
 * normaliser sees at most two channels. Rows go to the intake (norm.h) one
 * at a time as they are decoded; Adam7 images are read pass by pass, each
 * pass row handed over as the scattered pixels it holds, so no decode holds
 * the whole image. Ancillary chunks we never use and that cost time or
 * memory to read (text, which may be zlib bombs: libpng caps one chunk, not
 * their sum; ICC profiles; suggested palettes; EXIF) are skipped unread
 * but for their CRC. The CPU budget is checked from the read callback and
 * the row loop.
 *
 * Errors longjmp to the setjmp in img_decode_png(); everything that can
 * longjmp runs inside read_png(), and all state that must survive the jump
 * (the row buffer, our own error code and message) lives in a struct
 * png_ctx on img_decode_png()'s frame, reached through a pointer, so it is
 * freed after the jump without volatile locals.
 */
#include "decode.h"
#include "norm.h"

#include "err.h"

#include <png.h>
#include <stdlib.h>
#include <string.h>

struct png_ctx {
	const uint8_t *buf;
	size_t len, pos;
	struct img_intake *in;
	uint8_t *row;
	unsigned reads;
	int code; /* set before png_error() for our own failures */
	char msg[ERR_MAX];
};

/* Read unread: we never use them, and text and ICC chunks inflate. */
static const png_byte skipped[] = "tEXt\0zTXt\0iTXt\0iCCP\0sPLT\0eXIf";

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

/* Our own failure: code and message (already in c->msg when rc came from
 * the intake) and out through libpng's error path. */
static void fail(png_structp png, struct png_ctx *c, int rc)
{
	c->code = rc;
	png_error(png, "stopped");
}

static void on_read(png_structp png, png_bytep dst, size_t n)
{
	struct png_ctx *c = png_get_io_ptr(png);
	if (n > c->len - c->pos) {
		snprintf(c->msg, sizeof c->msg, "invalid PNG: file is truncated");
		fail(png, c, ERR_INVALID);
	}
	memcpy(dst, c->buf + c->pos, n);
	c->pos += n;
	/* three reads per chunk: a file of many small chunks is bounded too */
	if (++c->reads % 1024 == 0) {
		int rc = img_intake_check(c->in, c->msg);
		if (rc < 0)
			fail(png, c, rc);
	}
}

/* Ask libpng for 8-bit gray or gray+alpha whatever the file holds. No
 * interlace handling: Adam7 passes come out as they are stored. */
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
}

/* Pass p's rows (all rows, pass 0 of 1, when not interlaced) into the
 * intake: row r of the pass is image row y0 + r * dy, its pixels at x0,
 * x0 + dx, ... */
static void read_pass(png_structp png, struct png_ctx *c, int p, int interlaced)
{
	struct img_intake *in = c->in;
	size_t y0 = 0, dy = 1, x0 = 0, dx = 1, rows = in->h, cols = in->w, r;
	int rc;
	if (interlaced) {
		y0 = PNG_PASS_START_ROW(p), dy = (size_t)1 << PNG_PASS_ROW_SHIFT(p);
		x0 = PNG_PASS_START_COL(p), dx = (size_t)1 << PNG_PASS_COL_SHIFT(p);
		rows = PNG_PASS_ROWS(in->h, p), cols = PNG_PASS_COLS(in->w, p);
		if (rows == 0 || cols == 0) /* libpng skips empty passes */
			return;
		if (png_get_current_pass_number(png) != p) {
			snprintf(c->msg, sizeof c->msg, "PNG pass %d out of step", p);
			fail(png, c, ERR_INTERNAL);
		}
	}
	for (r = 0; r < rows; r++) {
		png_read_row(png, c->row, NULL);
		rc = img_intake_row(in, y0 + r * dy, c->row, x0, dx, cols, c->msg);
		if (rc < 0)
			fail(png, c, rc);
	}
}

/* Everything that can longjmp happens in here. */
static void read_png(png_structp png, png_infop info, struct png_ctx *c)
{
	png_uint_32 w, h;
	size_t rowbytes;
	int ch, p, rc, interlaced;

	png_read_info(png, info);
	w = png_get_image_width(png, info);
	h = png_get_image_height(png, info);
	interlaced = png_get_interlace_type(png, info) == PNG_INTERLACE_ADAM7;
	set_transforms(png, info);
	png_read_update_info(png, info);
	ch = png_get_channels(png, info);
	rowbytes = png_get_rowbytes(png, info);
	if ((ch != 1 && ch != 2) || rowbytes != (size_t)w * ch) {
		snprintf(c->msg, sizeof c->msg, "PNG transform gave %d channels", ch);
		fail(png, c, ERR_INTERNAL);
	}
	rc = img_intake_begin(c->in, w, h, ch, c->msg); /* checks the limits */
	if (rc < 0)
		fail(png, c, rc);
	c->row = malloc(rowbytes);
	if (!c->row) {
		snprintf(c->msg, sizeof c->msg, "out of memory for a %ux%u PNG", w, h);
		fail(png, c, ERR_NOMEM);
	}
	for (p = 0; p < (interlaced ? 7 : 1); p++)
		read_pass(png, c, p, interlaced);
}

int img_decode_png(const uint8_t *buf, size_t len, struct img_intake *in, char *err)
{
	struct png_ctx c = {.buf = buf, .len = len, .in = in};
	png_structp png;
	png_infop info = NULL;

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
	png_set_chunk_cache_max(png, 32);
	png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, skipped,
				    (int)(sizeof skipped / 5));
	if (setjmp(png_jmpbuf(png)) == 0)
		read_png(png, info, &c);
	png_destroy_read_struct(&png, &info, NULL);
	free(c.row);
	if (c.code != 0)
		return err_set(err, c.code, "%s", c.msg);
	return 0;
}
