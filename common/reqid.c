#include "reqid.h"

#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

bool reqid_valid(const char *s, size_t n)
{
	if (!s || n == 0 || n > REQID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      (c && strchr("-_.:/+=@", c))))
			return false;
	}
	return true;
}

/* Seeded from the clock and a counter when getrandom() cannot answer at
 * once (very early boot): ids need to be unique, not secret. */
static void fallback_bytes(uint8_t *p, size_t n)
{
	static _Atomic uint64_t counter;
	struct timespec ts;
	uint64_t x;

	clock_gettime(CLOCK_REALTIME, &ts);
	x = (uint64_t)ts.tv_sec * 1000000007u ^ (uint64_t)ts.tv_nsec ^ (++counter << 32);
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13; /* xorshift64 */
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (uint8_t)x;
	}
}

void reqid_generate(char out[REQID_GEN_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t b[REQID_GEN_LEN / 2];

	if (getrandom(b, sizeof b, GRND_NONBLOCK) != (ssize_t)sizeof b)
		fallback_bytes(b, sizeof b);
	for (size_t i = 0; i < sizeof b; i++) {
		out[2 * i] = hex[b[i] >> 4];
		out[2 * i + 1] = hex[b[i] & 15];
	}
	out[REQID_GEN_LEN] = '\0';
}

uint64_t reqid_random64(void)
{
	uint64_t x = 0;

	while (x == 0)
		if (getrandom(&x, sizeof x, GRND_NONBLOCK) != (ssize_t)sizeof x)
			fallback_bytes((uint8_t *)&x, sizeof x);
	return x;
}

/* n lowercase hex digits at s; *nonzero set when one is not '0'. */
static bool hex_run(const char *s, size_t n, bool *nonzero)
{
	*nonzero = false;
	for (size_t i = 0; i < n; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
		*nonzero |= s[i] != '0';
	}
	return true;
}

bool traceparent_valid(const char *s, size_t n)
{
	bool nz, trace_nz, parent_nz;

	if (!s || n < TRACEPARENT_LEN || n > TRACEPARENT_MAX)
		return false;
	if (!hex_run(s, 2, &nz) || !memcmp(s, "ff", 2) || s[2] != '-' ||
	    !hex_run(s + 3, 32, &trace_nz) || s[35] != '-' || !hex_run(s + 36, 16, &parent_nz) ||
	    s[52] != '-' || !hex_run(s + 53, 2, &nz) || !trace_nz || !parent_nz)
		return false;
	if (!memcmp(s, "00", 2))
		return n == TRACEPARENT_LEN;
	if (n == TRACEPARENT_LEN)
		return true;
	if (s[TRACEPARENT_LEN] != '-')
		return false;
	for (size_t i = TRACEPARENT_LEN; i < n; i++) /* printable, no spaces */
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}
