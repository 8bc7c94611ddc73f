#include "framing.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

static bool is_name(const char *line, size_t name_len, const char *want)
{
	return name_len == strlen(want) && strncasecmp(line, want, name_len) == 0;
}

/* The value of a "name: value" line, without surrounding spaces and tabs. */
static void value_of(const char *colon, const char *end, const char **v, size_t *n)
{
	const char *b = colon + 1;
	while (b < end && (*b == ' ' || *b == '\t'))
		b++;
	while (end > b && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*v = b;
	*n = (size_t)(end - b);
}

const char *framing_check(const char *head, size_t len)
{
	const char *p = head, *end = head + len, *cl = NULL;
	size_t cl_len = 0, n_te = 0;

	/* picohttpparser skips one empty line before the request line. */
	if (p < end && *p == '\r')
		p++;
	if (p < end && *p == '\n')
		p++;
	if (!(p = memchr(p, '\n', (size_t)(end - p)))) /* the request line */
		return NULL;
	for (p++; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end, *colon, *v;
		size_t n;

		if (eol > p && eol[-1] == '\r')
			eol--;
		if (eol == p) /* the blank line: end of the headers */
			break;
		colon = memchr(p, ':', (size_t)(eol - p));
		if (colon && *p != ' ' && *p != '\t') {
			if (is_name(p, (size_t)(colon - p), "content-length")) {
				value_of(colon, eol, &v, &n);
				if (cl && (n != cl_len || memcmp(v, cl, n) != 0))
					return "Bad request: conflicting Content-Length headers";
				cl = v;
				cl_len = n;
			} else if (is_name(p, (size_t)(colon - p), "transfer-encoding")) {
				n_te++;
			}
		}
		if (!nl)
			break;
		p = nl + 1;
	}
	if (cl && n_te)
		return "Bad request: both Content-Length and Transfer-Encoding";
	if (n_te > 1)
		return "Bad request: more than one Transfer-Encoding header";
	return NULL;
}
