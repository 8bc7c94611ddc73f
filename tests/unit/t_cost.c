/* t_cost: the pixel count read from PNG and JPEG headers (worker/cost.h),
 * against the fixtures' real headers and against truncated or foreign
 * bytes, which must give 0 without reading past the buffer. */
#include "cost.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n)) && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	*len = buf ? (size_t)n : 0;
	fclose(f);
	return buf;
}

static void check_file(const char *path, uint64_t want)
{
	size_t len;
	uint8_t *buf = slurp(path, &len);
	char name[256];

	snprintf(name, sizeof name, "%s claims %llu pixels", path, (unsigned long long)want);
	if (!buf) {
		CHECK(0, "%s (cannot read the file)", name);
		return;
	}
	uint64_t got = cost_image(buf, len);
	CHECK(got == want, "%s (got %llu)", name, (unsigned long long)got);
	/* Every prefix is read safely (ASan build) and never claims more. */
	int prefixes_ok = 1;
	for (size_t n = 0; n < len && n < 4096; n++) {
		uint8_t *cut = malloc(n ? n : 1);
		memcpy(cut, buf, n);
		uint64_t c = cost_image(cut, n);
		if (c != 0 && c != want)
			prefixes_ok = 0;
		free(cut);
	}
	CHECK(prefixes_ok, "%s: every prefix gives 0 or the same count", path);
	free(buf);
}

int main(void)
{
	check_file("tests/images/one_pixel.png", 1);
	check_file("tests/images/one_pixel.jpg", 1);
	check_file("tests/images/bad_huge_100000x100000.png", 10000000000ull);
	check_file("tests/images/bad_huge_65500x65500.jpg", 65500ull * 65500ull);
	check_file("tests/images/jpg_progressive.jpg", 84 * 84);
	CHECK(cost_image((const uint8_t *)"GIF89a\1\0\1\0", 10) == 0, "GIF bytes cost 0");
	CHECK(cost_image((const uint8_t *)"", 0) == 0, "no bytes cost 0");
	return tap_done();
}
