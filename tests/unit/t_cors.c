/* cors: parsing --cors-origins, and which paths are API routes. (The
 * headers themselves are checked on the real server by
 * tests/integration/test_cors_browser.sh.) */
#include "cors.h"
#include "err.h"
#include "tap.h"

#include <string.h>

static bool api(const char *p)
{
	return cors_api_path(p, strlen(p));
}

static int parse(const char *list, char *err)
{
	struct cors *c = NULL;
	int rc = cors_parse(list, &c, err);
	cors_free(c);
	return rc;
}

int main(void)
{
	struct cors *c = (struct cors *)1;
	char err[ERR_MAX] = "";
	char many[64 * 24 + 1] = "";

	CHECK(cors_parse(NULL, &c, err) == 0 && c == NULL, "no list: CORS off");
	CHECK(cors_parse(" , ", &c, err) == 0 && c == NULL, "an empty list: CORS off");
	CHECK(parse("https://a.example", err) == 0, "one origin");
	CHECK(parse("https://a.example:8443, http://localhost:3000 http://[::1]:80", err) == 0,
	      "commas and spaces separate origins, ports and IPv6 hosts are fine");
	CHECK(parse("*", err) == 0, "* is any origin");
	CHECK(parse("https://a.example/", err) == ERR_INVALID && strstr(err, "https://a.example/"),
	      "a trailing slash is refused: %s", err);
	CHECK(parse("https://a.example/app", err) == ERR_INVALID, "a path is refused");
	CHECK(parse("a.example", err) == ERR_INVALID, "no scheme is refused");
	CHECK(parse("https://", err) == ERR_INVALID, "no host is refused");
	CHECK(parse("https://a.example?x", err) == ERR_INVALID, "a query is refused");
	for (int i = 0; i < 65; i++)
		strcat(many, "http://h.example:1,");
	CHECK(parse(many, err) == ERR_INVALID && strstr(err, "more than"), "at most %d origins: %s",
	      CORS_MAX_ORIGINS, err);

	CHECK(api("/predict") && api("/predict?probs=true") && api("/health") &&
		  api("/health/ready") && api("/v2") && api("/v2/models/mnist/infer"),
	      "API routes: /predict, /health, /health/..., /v2, /v2/...");
	CHECK(!api("/metrics") && !api("/") && !api("/docs") && !api("/openapi.json") &&
		  !api("/predictx") && !api("/healthz") && !api("/v2x") && !api("/app.js"),
	      "not API routes: /metrics, the page, the docs, look-alikes");
	return tap_done();
}
