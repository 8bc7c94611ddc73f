/*
 * EXIF orientation: read tag 0x0112 from IFD0 of an APP1 "Exif" payload and
 * turn pixels upright. The payload is untrusted: every read goes through
 * rd16/rd32 with an explicit bounds check, and any inconsistency means
 * "no orientation" rather than an error, as viewers do.
 */
#include "decode.h"

#include <string.h>

struct tiff {
	const uint8_t *p;
	size_t len;
	int le; /* "II" little-endian, else "MM" big-endian */
};

static int rd16(const struct tiff *t, size_t off, unsigned *v)
{
	if (off > t->len || t->len - off < 2)
		return -1;
	*v = t->le ? t->p[off] | t->p[off + 1] << 8 : t->p[off] << 8 | t->p[off + 1];
	return 0;
}

static int rd32(const struct tiff *t, size_t off, unsigned long *v)
{
	unsigned hi, lo;
	if (rd16(t, off, t->le ? &lo : &hi) < 0 || rd16(t, off + 2, t->le ? &hi : &lo) < 0)
		return -1;
	*v = (unsigned long)hi << 16 | lo;
	return 0;
}

int img_exif_orientation(const uint8_t *app1, size_t len)
{
	struct tiff t;
	unsigned magic, n, i, tag, type, val;
	unsigned long ifd, count;

	if (len < 14 || memcmp(app1, "Exif\0\0", 6) != 0)
		return 1;
	t.p = app1 + 6;
	t.len = len - 6;
	if (t.p[0] == 'I' && t.p[1] == 'I')
		t.le = 1;
	else if (t.p[0] == 'M' && t.p[1] == 'M')
		t.le = 0;
	else
		return 1;
	if (rd16(&t, 2, &magic) < 0 || magic != 42 || rd32(&t, 4, &ifd) < 0)
		return 1;
	if (rd16(&t, ifd, &n) < 0)
		return 1;
	for (i = 0; i < n; i++) {
		size_t e = ifd + 2 + (size_t)i * 12;
		if (rd16(&t, e, &tag) < 0 || rd16(&t, e + 2, &type) < 0 ||
		    rd32(&t, e + 4, &count) < 0 || rd16(&t, e + 8, &val) < 0)
			return 1;
		if (tag != 0x0112)
			continue;
		/* SHORT, one value, stored left-justified in the value field */
		if (type != 3 || count != 1 || val < 1 || val > 8)
			return 1;
		return (int)val;
	}
	return 1;
}

/* Source coordinates of destination pixel (x, y) of the upright image,
 * where sw x sh is the stored size. */
static size_t src_index(int o, size_t x, size_t y, size_t sw, size_t sh)
{
	size_t sx, sy;
	switch (o) {
	case 2: sx = sw - 1 - x, sy = y; break;
	case 3: sx = sw - 1 - x, sy = sh - 1 - y; break;
	case 4: sx = x, sy = sh - 1 - y; break;
	case 5: sx = y, sy = x; break;
	case 6: sx = y, sy = sh - 1 - x; break;
	case 7: sx = sw - 1 - y, sy = sh - 1 - x; break;
	case 8: sx = sw - 1 - y, sy = x; break;
	default: sx = x, sy = y; break;
	}
	return sy * sw + sx;
}

void img_orient(const float *src, float *dst, size_t *w, size_t *h, int o)
{
	size_t sw = *w, sh = *h, dw = sw, dh = sh, x, y;
	if (o >= 5 && o <= 8)
		dw = sh, dh = sw;
	for (y = 0; y < dh; y++)
		for (x = 0; x < dw; x++)
			dst[y * dw + x] = src[src_index(o, x, y, sw, sh)];
	*w = dw;
	*h = dh;
}
