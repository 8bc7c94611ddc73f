#include "png_encode.h"
#include "err.h"

#include <stdlib.h>
#include <string.h>

#define STORED_MAX 65535u /* bytes in one stored deflate block */

static uint32_t crc32_update(uint32_t crc, const uint8_t *p, size_t n)
{
	crc = ~crc;
	while (n--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
	}
	return ~crc;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Write the chunk whose data the caller put at p + 8 (n bytes); returns
 * the position after it. */
static uint8_t *chunk(uint8_t *p, const char type[4], size_t n)
{
	put32(p, (uint32_t)n);
	memcpy(p + 4, type, 4);
	put32(p + 8 + n, crc32_update(0, p + 4, n + 4));
	return p + 12 + n;
}

/* The zlib stream of the filtered rows (filter byte 0, then the row), in
 * stored blocks, at p; returns its length. w and h are at least 1. */
static size_t zlib_stored(uint8_t *p, const uint8_t *pixels, uint32_t w, uint32_t h)
{
	size_t raw = (size_t)h * (w + 1), done = 0, pos = 2;
	uint32_t a = 1, b = 0;

	p[0] = 0x78; /* deflate, 32 KiB window */
	p[1] = 0x01; /* no preset dictionary; (0x78 << 8 | 0x01) % 31 == 0 */
	while (done < raw) {
		size_t n = raw - done > STORED_MAX ? STORED_MAX : raw - done;
		p[pos] = done + n == raw; /* BFINAL, BTYPE 00 */
		p[pos + 1] = (uint8_t)n;
		p[pos + 2] = (uint8_t)(n >> 8);
		p[pos + 3] = (uint8_t)~n;
		p[pos + 4] = (uint8_t)(~n >> 8);
		pos += 5;
		for (size_t i = done; i < done + n; i++) {
			size_t x = i % (w + 1);
			uint8_t v = x == 0 ? 0 : pixels[i / (w + 1) * w + x - 1];
			p[pos++] = v;
			a = (a + v) % 65521u;
			b = (b + a) % 65521u;
		}
		done += n;
	}
	put32(p + pos, b << 16 | a);
	return pos + 4;
}

int png_encode_gray(const uint8_t *pixels, uint32_t w, uint32_t h, uint8_t **out, size_t *len)
{
	static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
	size_t raw, blocks, cap, idat;
	uint8_t *buf, *p;

	*out = NULL;
	*len = 0;
	if (w == 0 || h == 0 || w > PNG_ENCODE_MAX_SIDE || h > PNG_ENCODE_MAX_SIDE)
		return ERR_INVALID;
	raw = (size_t)h * (w + 1);
	blocks = (raw + STORED_MAX - 1) / STORED_MAX;
	/* signature, IHDR (25), IDAT framing (12) + zlib (2 + 5/block + raw + 4), IEND (12) */
	cap = 8 + 25 + 12 + 2 + 5 * blocks + raw + 4 + 12;
	buf = malloc(cap);
	if (!buf)
		return ERR_NOMEM;
	memcpy(buf, sig, sizeof sig);
	p = buf + sizeof sig;
	put32(p + 8, w);
	put32(p + 12, h);
	memcpy(p + 16, "\x08\x00\x00\x00\x00",
	       5); /* 8-bit gray, deflate, no filter, no interlace */
	p = chunk(p, "IHDR", 13);
	idat = zlib_stored(p + 8, pixels, w, h);
	p = chunk(p, "IDAT", idat);
	p = chunk(p, "IEND", 0);
	*out = buf;
	*len = (size_t)(p - buf);
	return 0;
}
