/* Unit tests for frontend/multipart: boundaries, framing, headers, limits. */
#include "err.h"
#include "multipart.h"
#include "tap.h"

#include <stdlib.h>
#include <string.h>

static struct mp_limits lim;

static int find(const char *body, const char *bnd, struct mp_part *p)
{
	struct mp_str b = {bnd, strlen(bnd)};
	char err[ERR_MAX] = "";
	return mp_find((const uint8_t *)body, strlen(body), b, "file", &lim, p, err);
}

static int sv_eq(struct mp_str s, const char *lit)
{
	return s.ptr && s.len == strlen(lit) && memcmp(s.ptr, lit, s.len) == 0;
}

static void test_boundary(void)
{
	struct mp_str b;
	char err[ERR_MAX];
	const char *ok1 = "multipart/form-data; boundary=abc123";
	const char *ok2 = "Multipart/Form-Data;boundary=\"a b'()+_,-./:=?\"; charset=utf-8";
	const char *cases_bad[] = {
	    "multipart/form-data",
	    "multipart/form-data; boundary=",
	    "multipart/form-data; boundary=\"\"",
	    "multipart/form-data; boundary=\"abc",
	    "multipart/form-data; boundary=\"ab \"",
	    "multipart/form-data; boundary=a; boundary=b",
	    "multipart/form-data; boundary=abc;;",
	    "multipart/form-data; boundary=a<b",
	    ("multipart/form-data; boundary="
	     "12345678901234567890123456789012345678901234567890123456789012345678901"),
	};

	CHECK(mp_boundary(ok1, strlen(ok1), &b, err) == 0 && sv_eq(b, "abc123"), "token boundary");
	CHECK(mp_boundary(ok2, strlen(ok2), &b, err) == 0 && sv_eq(b, "a b'()+_,-./:=?"),
	      "quoted boundary, case-insensitive type, extra parameter");
	CHECK(mp_boundary("image/png", 9, &b, err) == ERR_UNSUPPORTED,
	      "image/png is not multipart");
	CHECK(mp_boundary("", 0, &b, err) == ERR_UNSUPPORTED, "empty type");
	CHECK(mp_boundary("multipart/mixed; boundary=x", 27, &b, err) == ERR_UNSUPPORTED,
	      "multipart/mixed refused");
	for (size_t i = 0; i < sizeof cases_bad / sizeof *cases_bad; i++)
		CHECK(mp_boundary(cases_bad[i], strlen(cases_bad[i]), &b, err) == ERR_INVALID,
		      "bad boundary %zu: %s", i, err);
}

static void test_good(void)
{
	struct mp_part p;
	const char *simple = "--XyZ\r\n"
			     "Content-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n"
			     "Content-Type: image/png\r\n"
			     "\r\n"
			     "\x89PNG\r\n--X not a boundary\r\n"
			     "--XyZ--\r\n";
	const char *two =
	    "preamble\r\n--b\r\n"
	    "content-disposition: form-data; name=other\r\n\r\n"
	    "v1\r\n"
	    "--b  \r\n"
	    "Content-Disposition: form-data; name=\"file\"; filename=\"q\\\"x.jpg\"\r\n"
	    "Content-Type:   image/jpeg  \r\n"
	    "X-Extra: whatever\r\n"
	    "\r\n"
	    "JPEGDATA\r\n"
	    "--b\r\n"
	    "Content-Disposition: form-data; name=\"file\"\r\n\r\n"
	    "second file ignored\r\n"
	    "--b--epilogue";
	const char *nofile =
	    "--b\r\nContent-Disposition: form-data; name=\"files\"\r\n\r\nx\r\n--b--";
	const char *empty = "--b\r\nContent-Disposition: form-data; name=file\r\n\r\n\r\n--b--\r\n";

	CHECK(find(simple, "XyZ", &p) == 0 && p.found, "simple body parses");
	CHECK(p.len == 24 && memcmp(p.data, "\x89PNG\r\n--X not a boundary", 24) == 0,
	      "content kept byte for byte, near-boundary text included");
	CHECK(sv_eq(p.content_type, "image/png") && sv_eq(p.filename, "a.png") &&
		  sv_eq(p.name, "file"),
	      "part headers read");
	CHECK(find(two, "b", &p) == 0 && p.found && p.len == 8 && !memcmp(p.data, "JPEGDATA", 8),
	      "second part found after preamble, padding and another field");
	CHECK(sv_eq(p.content_type, "image/jpeg"), "content type trimmed");
	CHECK(sv_eq(p.filename, "q\\\"x.jpg"), "escaped quote in filename kept raw");
	CHECK(find(nofile, "b", &p) == 0 && !p.found, "no file field: found is false");
	CHECK(find(empty, "b", &p) == 0 && p.found && p.len == 0, "empty file part");
	CHECK(find("--b--", "b", &p) == 0 && !p.found, "zero parts");
}

static void test_bad(void)
{
	struct mp_part p;
	const char *bad[] = {
	    "",
	    "no boundary at all",
	    "--b\r\nContent-Disposition: form-data; name=file\r\n\r\ntruncated",
	    "--b\nContent-Disposition: form-data; name=file\r\n\r\nx\r\n--b--",
	    "--b\r\nContent-Disposition: form-data; name=file\n\r\nx\r\n--b--",
	    "--b\r\nContent-Disposition: form-data; name=file\r\n",
	    "--b\r\nContent-Type: image/png\r\n\r\nx\r\n--b--",
	    "--b\r\nContent-Disposition: attachment; name=file\r\n\r\nx\r\n--b--",
	    "--b\r\nContent-Disposition: form-data; filename=x\r\n\r\nx\r\n--b--",
	    "--b\r\nContent-Disposition: form-data; name=\"file\r\n\r\nx\r\n--b--",
	    "--b\r\nContent-Disposition: form-data;\r\n name=file\r\n\r\nx\r\n--b--",
	    "--b\r\nContent-Disposition: form-data; name=file\r\nBad Header\r\n\r\nx\r\n--b--",
	    "--b\r\nContent-Disposition: form-data; name=a; name=b\r\n\r\nx\r\n--b--",
	    ("--b\r\nContent-Disposition: form-data; name=file\r\n"
	     "Content-Disposition: form-data; name=file\r\n\r\nx\r\n--b--"),
	    "--b\r\nContent-Disposition: form-data; name=file\r\nA: \x01\r\n\r\nx\r\n--b--",
	    "--b\r\nContent-Disposition: form-data; name=file\r\n\r\nx\r\n--bX\r\n--b--",
	    "--bjunk\r\n",
	    "--b",
	};

	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		CHECK(find(bad[i], "b", &p) == ERR_INVALID, "malformed body %zu refused", i);
}

static void test_limits(void)
{
	struct mp_part p;
	struct mp_limits saved = lim;
	char *big;
	size_t n = 0, cap = 1 << 20;

	lim.max_part = 4;
	CHECK(find("--b\r\nContent-Disposition: form-data; name=file\r\n\r\n12345\r\n--b--", "b",
		   &p) == ERR_TOO_LARGE,
	      "part above max_part is ERR_TOO_LARGE");
	CHECK(find("--b\r\nContent-Disposition: form-data; name=file\r\n\r\n1234\r\n--b--", "b",
		   &p) == 0 &&
		  p.found,
	      "part at max_part is fine");
	lim = saved;

	/* Too many parts, too many headers, an overlong header line. */
	big = malloc(cap);
	if (!big)
		return;
	for (int i = 0; i < 70; i++)
		n += (size_t)snprintf(
		    big + n, cap - n,
		    "--b\r\nContent-Disposition: form-data; name=f%d\r\n\r\nx\r\n", i);
	snprintf(big + n, cap - n, "--b--");
	CHECK(find(big, "b", &p) == ERR_INVALID, "70 parts refused (limit 64)");
	n = (size_t)snprintf(big, cap, "--b\r\nContent-Disposition: form-data; name=file\r\n");
	for (int i = 0; i < 20; i++)
		n += (size_t)snprintf(big + n, cap - n, "X-H%d: v\r\n", i);
	snprintf(big + n, cap - n, "\r\nx\r\n--b--");
	CHECK(find(big, "b", &p) == ERR_INVALID, "20 part headers refused (limit 16)");
	n = (size_t)snprintf(big, cap, "--b\r\nContent-Disposition: form-data; name=file\r\nX: ");
	memset(big + n, 'a', 2000);
	snprintf(big + n + 2000, cap - n - 2000, "\r\n\r\nx\r\n--b--");
	CHECK(find(big, "b", &p) == ERR_INVALID, "2000-byte header line refused");

	/* A near-miss pattern repeated through a large part stays linear. */
	n = (size_t)snprintf(big, cap,
			     "--bbbbbbbb\r\nContent-Disposition: form-data; name=file\r\n\r\n");
	while (n + 16 < cap - 64) {
		memcpy(big + n, "\r\n--bbbbbbbX", 12);
		n += 12;
	}
	snprintf(big + n, cap - n, "\r\n--bbbbbbbb--");
	lim.max_part = cap;
	CHECK(find(big, "bbbbbbbb", &p) == 0 && p.found && p.len > 1000000,
	      "1 MB of near-boundaries parses");
	lim = saved;
	free(big);
}

int main(void)
{
	mp_limits_default(&lim, 10u << 20);
	test_boundary();
	test_good();
	test_bad();
	test_limits();
	return tap_done();
}
