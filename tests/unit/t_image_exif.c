/*
 * Unit tests of EXIF orientation: the parser on both byte orders, every
 * truncation and hostile offsets and counts; img_orient() in all 8
 * orientations; and JPEGs carrying XMP then Exif APP1 segments, whose
 * orientation must be found and applied to the normalised digit.
 */
#include "err.h"
#include "image.h"
#include "decode.h"
#include "norm.h"
#include "tap.h"
#include "t_image_shape.h"

#include <stdio.h>

#include <jpeglib.h>
#include <stdlib.h>
#include <string.h>

static size_t exif_payload(uint8_t *b, int le, int orient)
{
	static const uint8_t hdr_le[] = {'E', 'x', 'i', 'f', 0, 0, 'I', 'I', 42, 0, 8, 0, 0, 0};
	static const uint8_t hdr_be[] = {'E', 'x', 'i', 'f', 0, 0, 'M', 'M', 0, 42, 0, 0, 0, 8};
	memcpy(b, le ? hdr_le : hdr_be, 14);
	uint8_t *e = b + 14;
	/* 2 entries: 0x010f (Make, ASCII) then 0x0112 */
	uint8_t le_ent[] = {2,
			    0,
			    0x0f,
			    1,
			    2,
			    0,
			    4,
			    0,
			    0,
			    0,
			    'a',
			    'b',
			    'c',
			    0,
			    0x12,
			    1,
			    3,
			    0,
			    1,
			    0,
			    0,
			    0,
			    (uint8_t)orient,
			    0,
			    0,
			    0,
			    0,
			    0,
			    0,
			    0};
	uint8_t be_ent[] = {0,	 2, 1, 0x0f, 0, 2, 0, 0, 0, 4, 'a', 'b',
			    'c', 0, 1, 0x12, 0, 3, 0, 0, 0, 1, 0,   (uint8_t)orient,
			    0,	 0, 0, 0,    0, 0};
	memcpy(e, le ? le_ent : be_ent, sizeof le_ent);
	return 14 + sizeof le_ent;
}

/* The shape as a gray JPEG with the given APP1 segments. */
static struct mem encode_jpeg_app1(const uint8_t *const *seg, const size_t *len, int nseg)
{
	struct jpeg_compress_struct ci;
	struct jpeg_error_mgr jerr;
	unsigned char *buf = NULL;
	unsigned long n = 0;
	uint8_t row[W];
	ci.err = jpeg_std_error(&jerr);
	jpeg_create_compress(&ci);
	jpeg_mem_dest(&ci, &buf, &n);
	ci.image_width = W, ci.image_height = H, ci.input_components = 1;
	ci.in_color_space = JCS_GRAYSCALE;
	jpeg_set_defaults(&ci);
	jpeg_set_quality(&ci, 100, TRUE);
	jpeg_start_compress(&ci, TRUE);
	for (int i = 0; i < nseg; i++)
		jpeg_write_marker(&ci, JPEG_APP0 + 1, seg[i], (unsigned)len[i]);
	for (int y = 0; y < H; y++) {
		for (int x = 0; x < W; x++)
			row[x] = ink(x, y) ? 0 : 255;
		JSAMPROW r = row;
		jpeg_write_scanlines(&ci, &r, 1);
	}
	jpeg_finish_compress(&ci);
	jpeg_destroy_compress(&ci);
	struct mem m = {buf, n, n};
	return m;
}

/* An XMP APP1 before the Exif one (both are APP1): the orientation still
 * applies. 3 turns the stored pixels by 180 degrees, 6 swaps the sides. */
static void test_exif_jpeg(void)
{
	static const uint8_t xmp[] = "http://ns.adobe.com/xap/1.0/\0<x:xmpmeta/>";
	uint8_t exif[64];
	const uint8_t *seg[2] = {xmp, exif};
	size_t len[2] = {sizeof xmp, 0};
	struct img_intake plain, turned, copy;
	char err[ERR_MAX];
	float want[784], got[784], unturned[784];
	struct mem m0 = encode_jpeg_app1(NULL, NULL, 0);
	img_intake_init(&plain, NULL);
	img_decode_jpeg(m0.p, m0.n, &plain, err);
	size_t n = plain.ww * plain.wh;
	for (int o = 3; o <= 6; o += 3) {
		len[1] = exif_payload(exif, 1, o);
		struct mem m = encode_jpeg_app1(seg, len, 2);
		img_intake_init(&turned, NULL);
		int rc = img_decode_jpeg(m.p, m.n, &turned, err);
		CHECK(rc == 0 && turned.orient == o && turned.w == plain.w && turned.h == plain.h,
		      "JPEG with XMP then Exif orientation %d found", o);
		/* want: the plain file's plane turned by img_orient (tested below) */
		for (int k = 1; k <= o; k += o - 1) {
			copy = plain;
			copy.plane = malloc(n * sizeof *copy.plane);
			memcpy(copy.plane, plain.plane, n * sizeof *copy.plane);
			copy.r[0].dst = copy.plane;
			copy.row = copy.hr = NULL;
			copy.orient = k;
			img_normalise_intake(&copy, k == 1 ? unturned : want, err);
			img_intake_free(&copy);
		}
		rc = img_normalise_intake(&turned, got, err);
		CHECK(rc == 0 && memcmp(got, want, sizeof got) == 0 &&
			  max_diff(got, unturned) > 0.5,
		      "JPEG with XMP then Exif orientation %d applied", o);
		img_intake_free(&turned);
		free(m.p);
	}
	img_intake_free(&plain);
	free(m0.p);
}

static void test_exif(void)
{
	uint8_t b[64];
	for (int le = 0; le < 2; le++)
		for (int o = 1; o <= 8; o++) {
			size_t n = exif_payload(b, le, o);
			CHECK(img_exif_orientation(b, n) == o, "EXIF %s orientation %d",
			      le ? "II" : "MM", o);
		}
	size_t n = exif_payload(b, 1, 6);
	int all1 = 1;
	for (size_t k = 0; k < n - 8; k++) /* every truncation: falls back to 1 */
		all1 &= img_exif_orientation(b, k) == 1;
	CHECK(all1, "EXIF truncated anywhere before the value: orientation 1");
	n = exif_payload(b, 1, 9);
	CHECK(img_exif_orientation(b, n) == 1, "EXIF orientation 9 ignored");
	n = exif_payload(b, 1, 3);
	b[10] = 0xff, b[11] = 0xff, b[12] = 0xff, b[13] = 0xff; /* IFD offset 4 GB */
	CHECK(img_exif_orientation(b, n) == 1, "EXIF IFD offset out of bounds ignored");
	n = exif_payload(b, 1, 3);
	b[14] = 0xff, b[15] = 0xff; /* 65535 entries, none of them 0x0112 */
	b[28] = 0x13;
	CHECK(img_exif_orientation(b, n) == 1, "EXIF entry count beyond the payload ignored");

	/* 3x2 image "abc/def" in every orientation, as the stored image */
	const float src[6] = {'a', 'b', 'c', 'd', 'e', 'f'};
	static const char *want[9] = {"",	"abcdef", "cbafed", "fedcba", "defabc",
				      "adbecf", "daebfc", "fcebda", "cfbead"};
	for (int o = 1; o <= 8; o++) {
		float dst[6] = {0};
		char got[7] = {0};
		size_t w = 3, h = 2;
		img_orient(src, dst, &w, &h, o);
		for (int i = 0; i < 6; i++)
			got[i] = (char)dst[i];
		CHECK(memcmp(got, want[o], 6) == 0 && w == (o >= 5 ? 2u : 3u),
		      "orientation %d gives %s (%zux%zu)", o, got, w, h);
	}
}

int main(void)
{
	test_exif();
	test_exif_jpeg();
	return tap_done();
}
