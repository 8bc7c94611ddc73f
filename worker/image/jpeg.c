/*
 * JPEG decoding with libjpeg-turbo, straight to 8-bit gray.
 *
 * Gray, YCbCr and RGB files decode to JCS_GRAYSCALE (the library skips the
 * chroma work); CMYK and YCCK decode to CMYK and are converted here, with
 * Adobe's inverted storage honoured. DCT scaling picks the smallest M/8 that
 * keeps the short side at IMG_JPEG_TARGET or more, so a 4000x3000 photo is
 * decoded at 500x375. Every library error and corrupt-data warning ends
 * the decode (only warnings that leave the pixels intact pass): a corrupt
 * or truncated file is invalid, never "mostly decoded", and nothing is
 * printed. Scanlines go to the intake (norm.h) one at a time; the EXIF
 * orientation is applied there, to the reduced plane.
 *
 * Progressive files are the known way to make a tiny file cost much: the
 * decoder keeps every DCT coefficient of the image until the last scan, and
 * each scan walks them all. So a multi-scan file whose coefficients need
 * more than IMG_JPEG_COEF_MAX is refused from its header, and a progress
 * monitor refuses the scan after IMG_JPEG_MAX_SCANS and checks the CPU
 * budget (every 16th call: once per 16 rows of blocks of a scan).
 */
#include "decode.h"
#include "norm.h"

#include "err.h"

#include <stdio.h> /* before jpeglib.h, which uses FILE */

#include <jpeglib.h>
#include <jerror.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

struct jpeg_ctx {
	struct jpeg_error_mgr pub; /* first: libjpeg casts err to this */
	struct jpeg_progress_mgr progress;
	jmp_buf jmp;
	struct img_intake *in;
	uint8_t *row; /* one scanline */
	unsigned calls;
	int code;
	char msg[ERR_MAX];
};

static void fail(j_common_ptr cinfo, int code, const char *what)
{
	struct jpeg_ctx *c = (struct jpeg_ctx *)cinfo->err;
	if (c->code == 0) {
		char lib[JMSG_LENGTH_MAX];
		c->code = code;
		if (what) {
			if (what != c->msg) /* img_check_limits() wrote it already */
				snprintf(c->msg, sizeof c->msg, "%s", what);
		} else {
			cinfo->err->format_message(cinfo, lib);
			snprintf(c->msg, sizeof c->msg, "invalid JPEG: %s", lib);
		}
	}
	longjmp(c->jmp, 1);
}

static void on_error_exit(j_common_ptr cinfo)
{
	fail(cinfo, ERR_INVALID, NULL);
}

/* Warnings that leave the pixels intact: stray bytes between markers (many
 * phone cameras write them), an unknown JFIF version, an unknown Adobe
 * transform code, a bad ICC marker (we ignore ICC anyway). */
static int benign(int code)
{
	return code == JWRN_EXTRANEOUS_DATA || code == JWRN_JFIF_MAJOR ||
	       code == JWRN_ADOBE_XFORM || code == JWRN_BOGUS_ICC;
}

/* level -1 is a warning: corrupt data unless benign. Trace messages (level
 * >= 0) are fine. */
static void on_emit(j_common_ptr cinfo, int level)
{
	if (level < 0 && !benign(cinfo->err->msg_code))
		fail(cinfo, ERR_INVALID, NULL);
}

static void on_output(j_common_ptr cinfo)
{
	(void)cinfo; /* never print */
}

static void on_progress(j_common_ptr cinfo)
{
	j_decompress_ptr d = (j_decompress_ptr)cinfo;
	struct jpeg_ctx *c = (struct jpeg_ctx *)cinfo->err;
	if (!cinfo->is_decompressor)
		return;
	if (d->input_scan_number > IMG_JPEG_MAX_SCANS) {
		snprintf(c->msg, sizeof c->msg, "invalid JPEG: more than %d progressive scans",
			 IMG_JPEG_MAX_SCANS);
		fail(cinfo, ERR_INVALID, c->msg);
	}
	if (++c->calls % 16 == 0 && img_intake_check(c->in, c->msg) < 0)
		fail(cinfo, ERR_INVALID, c->msg);
}

/* Refuse a multi-scan file whose coefficient buffer (every block of every
 * component, 64 coefficients of 2 bytes) would exceed IMG_JPEG_COEF_MAX. */
static void check_coef_memory(j_decompress_ptr d, struct jpeg_ctx *c)
{
	double bytes = 0;
	int i;
	if (!jpeg_has_multiple_scans(d))
		return;
	for (i = 0; i < d->num_components; i++)
		bytes += (double)d->comp_info[i].width_in_blocks *
			 d->comp_info[i].height_in_blocks * DCTSIZE2 * sizeof(JCOEF);
	if (bytes > IMG_JPEG_COEF_MAX) {
		snprintf(
		    c->msg, sizeof c->msg,
		    "progressive JPEG of %ux%u needs %.0f MB while decoding; the limit is %u MB",
		    d->image_width, d->image_height, bytes / (1 << 20), IMG_JPEG_COEF_MAX >> 20);
		fail((j_common_ptr)d, ERR_TOO_LARGE, c->msg);
	}
}

/* Smallest M in 1..8 such that ceil(short * M / 8) >= target. */
static unsigned pick_scale(size_t w, size_t h)
{
	size_t s = w < h ? w : h;
	unsigned m;
	for (m = 1; m < 8; m++)
		if ((s * m + 7) / 8 >= IMG_JPEG_TARGET)
			break;
	return m;
}

/* Gray from one CMYK scanline. Adobe files store 255 - ink. */
static void cmyk_to_gray(const uint8_t *in, uint8_t *out, size_t w, int inverted)
{
	size_t x;
	for (x = 0; x < w; x++) {
		unsigned c = in[4 * x], m = in[4 * x + 1], y = in[4 * x + 2], k = in[4 * x + 3];
		unsigned r, g, b;
		if (!inverted)
			c = 255 - c, m = 255 - m, y = 255 - y, k = 255 - k;
		r = c * k / 255, g = m * k / 255, b = y * k / 255;
		out[x] = (uint8_t)((r * 77 + g * 150 + b * 29 + 128) >> 8);
	}
}

static int find_orientation(j_decompress_ptr d)
{
	jpeg_saved_marker_ptr m;
	for (m = d->marker_list; m; m = m->next) /* APP1 may also hold XMP */
		if (m->marker == JPEG_APP0 + 1 && m->data_length >= 6 &&
		    memcmp(m->data, "Exif\0\0", 6) == 0)
			return img_exif_orientation(m->data, m->data_length);
	return 1;
}

static void read_pixels(j_decompress_ptr d, struct jpeg_ctx *c)
{
	int cmyk = d->out_color_space == JCS_CMYK, rc;
	size_t w = d->output_width, h = d->output_height;

	if (d->output_components != (cmyk ? 4 : 1))
		fail((j_common_ptr)d, ERR_INTERNAL, "JPEG decoder gave unexpected components");
	rc = img_intake_begin(c->in, w, h, 1, c->msg);
	if (rc < 0)
		fail((j_common_ptr)d, rc, c->msg);
	c->row = malloc(w * (cmyk ? 5 : 1));
	if (!c->row)
		fail((j_common_ptr)d, ERR_NOMEM, "out of memory for a JPEG");
	while (d->output_scanline < h) {
		size_t y = d->output_scanline;
		JSAMPROW r = c->row;
		uint8_t *gray = cmyk ? c->row + 4 * w : c->row;
		if (jpeg_read_scanlines(d, &r, 1) != 1)
			fail((j_common_ptr)d, ERR_INVALID, "invalid JPEG: no scanline");
		if (cmyk)
			cmyk_to_gray(c->row, gray, w, d->saw_Adobe_marker);
		rc = img_intake_row(c->in, y, gray, 0, 1, w, c->msg);
		if (rc < 0)
			fail((j_common_ptr)d, rc, c->msg);
	}
}

/* Everything that can longjmp happens in here. */
static void read_jpeg(j_decompress_ptr d, struct jpeg_ctx *c)
{
	jpeg_read_header(d, TRUE);
	if (img_check_limits(d->image_width, d->image_height, &c->in->lim, c->msg) < 0)
		fail((j_common_ptr)d, ERR_TOO_LARGE, c->msg);
	check_coef_memory(d, c);
	if (d->jpeg_color_space == JCS_CMYK || d->jpeg_color_space == JCS_YCCK)
		d->out_color_space = JCS_CMYK;
	else
		d->out_color_space = JCS_GRAYSCALE;
	d->scale_num = pick_scale(d->image_width, d->image_height);
	d->scale_denom = 8;
	d->dct_method = JDCT_ISLOW;
	jpeg_start_decompress(d);
	c->in->orient = find_orientation(d);
	read_pixels(d, c);
	/* jpeg_finish_decompress() would only read the trailing EOI; skip it so a
	 * missing EOI after complete pixel data is not an error. */
}

/* The setjmp frame: d and c belong to the caller, so nothing local to this
 * function changes between setjmp and longjmp. */
static void run(j_decompress_ptr d, struct jpeg_ctx *c, const uint8_t *buf, size_t len)
{
	if (setjmp(c->jmp) != 0)
		return;
	jpeg_create_decompress(d);
	d->progress = &c->progress;
	jpeg_mem_src(d, buf, (unsigned long)len);
	jpeg_save_markers(d, JPEG_APP0 + 1, 0xffff);
	read_jpeg(d, c);
}

int img_decode_jpeg(const uint8_t *buf, size_t len, struct img_intake *in, char *err)
{
	struct jpeg_decompress_struct d;
	struct jpeg_ctx c;

	memset(&d, 0, sizeof d);
	memset(&c, 0, sizeof c);
	c.in = in;
	if (len > (unsigned long)-1)
		return err_set(err, ERR_TOO_LARGE, "JPEG file too large");
	d.err = jpeg_std_error(&c.pub);
	c.pub.error_exit = on_error_exit;
	c.pub.emit_message = on_emit;
	c.pub.output_message = on_output;
	c.progress.progress_monitor = on_progress;
	run(&d, &c, buf, len);
	jpeg_destroy_decompress(&d);
	free(c.row);
	if (c.code != 0)
		return err_set(err, c.code, "%s", c.msg);
	return 0;
}
