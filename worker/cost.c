/* cost: pixel count from a PNG or JPEG header; see cost.h. */
#include "cost.h"

#include <string.h>

static uint32_t be16(const uint8_t *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t png_cost(const uint8_t *buf, size_t len)
{
	/* signature (8), chunk length (4), "IHDR", width (4), height (4) */
	if (len < 24 || memcmp(buf + 12, "IHDR", 4) != 0)
		return 0;
	return (uint64_t)be32(buf + 16) * be32(buf + 20);
}

/* SOF0..SOF15 carry the frame size; C4 (DHT), C8 (JPG) and CC (DAC) do not. */
static int is_sof(uint8_t m)
{
	return m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc;
}

static uint64_t jpeg_cost(const uint8_t *buf, size_t len)
{
	size_t p = 2;

	while (p + 4 <= len) {
		if (buf[p] != 0xff)
			return 0;
		uint8_t m = buf[p + 1];
		if (m == 0xff) { /* fill byte */
			p++;
			continue;
		}
		if (m == 0x01 || (m >= 0xd0 && m <= 0xd8)) { /* no length */
			p += 2;
			continue;
		}
		if (m == 0xda || m == 0xd9) /* scan or end before any frame header */
			return 0;
		size_t seg = be16(buf + p + 2);
		if (is_sof(m)) {
			/* length (2), precision (1), height (2), width (2) */
			if (seg < 7 || p + 9 > len)
				return 0;
			return (uint64_t)be16(buf + p + 5) * be16(buf + p + 7);
		}
		if (seg < 2)
			return 0;
		p += 2 + seg;
	}
	return 0;
}

uint64_t cost_image(const uint8_t *buf, size_t len)
{
	static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

	if (len >= 8 && memcmp(buf, png_sig, 8) == 0)
		return png_cost(buf, len);
	if (len >= 3 && buf[0] == 0xff && buf[1] == 0xd8 && buf[2] == 0xff)
		return jpeg_cost(buf, len);
	return 0;
}
