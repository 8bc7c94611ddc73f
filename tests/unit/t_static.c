/* static: loading a docs tree, lookups, aliases, limits and bad input. */
#include "err.h"
#include "static.h"
#include "tap.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[64];

static int put_file(const char *rel, const char *body)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", root, rel);
	f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(body, f);
	return fclose(f);
}

static int make_tree(void)
{
	char path[256];

	snprintf(root, sizeof root, "/tmp/t_static.XXXXXX");
	if (!mkdtemp(root))
		return -1;
	snprintf(path, sizeof path, "%s/docs", root);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/redoc", root);
	mkdir(path, 0755);
	return put_file("openapi.json", "{\"openapi\":\"3.0.3\"}") |
	       put_file("docs/index.html", "<html>swagger</html>") |
	       put_file("docs/swagger-ui.css", "body{}") | put_file("docs/app.js", "x=1") |
	       put_file("docs/LICENSE", "MIT") |
	       put_file("redoc/index.html", "<html>redoc</html>") | put_file(".stamp", "") |
	       put_file("docs/empty.png", "");
}

static void rm_tree(void)
{
	char cmd[128];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", root);
}

static const struct static_file *find(const struct static_site *s, const char *p)
{
	return static_find(s, p, strlen(p));
}

static int body_is(const struct static_file *f, const char *want)
{
	return f && f->len == strlen(want) && memcmp(f->body, want, f->len) == 0;
}

static void test_lookups(struct static_site *s)
{
	const struct static_file *f;

	f = find(s, "/openapi.json");
	CHECK(body_is(f, "{\"openapi\":\"3.0.3\"}"), "openapi.json body");
	CHECK(f && strcmp(f->content_type, "application/json") == 0, "openapi.json type");
	CHECK(body_is(find(s, "/docs"), "<html>swagger</html>"), "/docs is docs/index.html");
	CHECK(body_is(find(s, "/docs/"), "<html>swagger</html>"), "/docs/ too");
	CHECK(body_is(find(s, "/docs?x=1"), "<html>swagger</html>"), "query ignored");
	f = find(s, "/docs/index.html");
	CHECK(f && strncmp(f->content_type, "text/html", 9) == 0, "html type");
	CHECK(body_is(find(s, "/redoc"), "<html>redoc</html>"), "/redoc is redoc/index.html");
	f = find(s, "/docs/swagger-ui.css");
	CHECK(f && strncmp(f->content_type, "text/css", 8) == 0, "css type");
	f = find(s, "/docs/app.js");
	CHECK(f && strncmp(f->content_type, "text/javascript", 15) == 0, "js type");
	f = find(s, "/docs/LICENSE");
	CHECK(f && strncmp(f->content_type, "text/plain", 10) == 0, "no extension is text");
	f = find(s, "/docs/empty.png");
	CHECK(f && f->len == 0 && strcmp(f->content_type, "image/png") == 0, "empty png");
	CHECK(find(s, "/.stamp") == NULL, "dotfile not served");
	CHECK(find(s, "/") == NULL, "/ not served");
	CHECK(find(s, "") == NULL, "empty path");
	CHECK(find(s, "docs") == NULL, "relative path");
	CHECK(find(s, "/docs/../openapi.json") == NULL, "no .. walking");
	CHECK(find(s, "//openapi.json") == NULL, "no // folding");
	CHECK(find(s, "/nope") == NULL, "missing file");
	CHECK(static_find(s, "/openapi.json\0x", 15) == NULL, "embedded NUL");
	CHECK(static_find(s, "/openapi.jsonXYZ", 13) != NULL, "len is honoured");
	CHECK(static_find(NULL, "/docs", 5) == NULL, "NULL site");
	char longp[1200];
	memset(longp, 'a', sizeof longp);
	longp[0] = '/';
	CHECK(static_find(s, longp, sizeof longp) == NULL, "very long path");
}

/* With an index.html at the top: "/" serves it, and HTML carries its CSP. */
static void test_page(void)
{
	struct static_site *s = NULL;
	const struct static_file *f;
	char err[ERR_MAX] = "";

	CHECK(put_file("index.html", "<html>page</html>") == 0, "add index.html");
	CHECK(static_load(root, &s, err) == 0, "load with a page (%s)", err);
	if (!s)
		return;
	f = find(s, "/");
	CHECK(body_is(f, "<html>page</html>"), "/ is index.html");
	CHECK(f && f->csp && strcmp(f->csp, STATIC_CSP_PAGE) == 0, "the page has the strict CSP");
	CHECK(f && f->csp && !strstr(f->csp, "unsafe") && strstr(f->csp, "script-src 'self'"),
	      "the strict CSP allows no inline script or style");
	f = find(s, "/index.html");
	CHECK(f && f->csp == find(s, "/")->csp, "/index.html too");
	f = find(s, "/docs");
	CHECK(f && f->csp && strcmp(f->csp, STATIC_CSP_DOCS) == 0, "/docs has the docs CSP");
	f = find(s, "/redoc/");
	CHECK(f && f->csp && strcmp(f->csp, STATIC_CSP_DOCS) == 0, "/redoc has the docs CSP");
	CHECK(find(s, "/docs/swagger-ui.css")->csp == NULL, "no CSP on a stylesheet");
	CHECK(find(s, "/openapi.json")->csp == NULL, "no CSP on JSON");
	static_free(s);
}

/* app.js.gz (any bytes: the loader does not decompress) pairs with app.js;
 * a .gz without its file stays a file of its own. ETags and caching. */
static void test_gzip_etag(void)
{
	struct static_site *s = NULL;
	const struct static_file *f;
	char err[ERR_MAX] = "";

	CHECK(put_file("app.js", "let x = 1;") == 0 && put_file("app.js.gz", "GZ") == 0 &&
		  put_file("lonely.txt.gz", "L") == 0,
	      "add app.js, app.js.gz, lonely.txt.gz");
	CHECK(static_load(root, &s, err) == 0, "load (%s)", err);
	if (!s)
		return;
	f = find(s, "/app.js");
	CHECK(f && f->gz && f->gz_len == 2 && !memcmp(f->gz, "GZ", 2), "app.js has its gzip body");
	CHECK(find(s, "/app.js.gz") == NULL, "app.js.gz is not a path of its own");
	CHECK(find(s, "/lonely.txt.gz") != NULL, "a .gz without its file is");
	CHECK(f && strlen(f->etag) == 18 && f->etag[0] == '"' && f->etag[17] == '"',
	      "etag is 16 hex digits, quoted (%s)", f ? f->etag : "");
	CHECK(f && !strncmp(f->etag_gz, f->etag, 17) && !strcmp(f->etag_gz + 17, "-gz\""),
	      "gzip etag is the same with -gz (%s)", f ? f->etag_gz : "");
	CHECK(f && find(s, "/docs/app.js") && strcmp(f->etag, find(s, "/docs/app.js")->etag) != 0,
	      "other content, other etag");
	CHECK(f && !strcmp(f->cache_control, STATIC_CACHE_PAGE) &&
		  !strcmp(find(s, "/docs/swagger-ui.css")->cache_control, STATIC_CACHE_ASSET) &&
		  !strcmp(find(s, "/docs")->cache_control, STATIC_CACHE_PAGE),
	      "page files revalidate, docs assets are cached, docs pages revalidate");
	static_free(s);
}

static bool gz_ok(const char *v)
{
	return static_accepts_gzip(v, strlen(v));
}

static bool inm(const char *v, const char *etag)
{
	return static_etag_matches(v, strlen(v), etag);
}

static void test_headers(void)
{
	CHECK(gz_ok("gzip") && gz_ok("gzip, deflate, br") && gz_ok("br;q=1.0, GZIP;q=0.5") &&
		  gz_ok("*"),
	      "Accept-Encoding: gzip allowed");
	CHECK(!gz_ok("") && !gz_ok("br") && !gz_ok("gzip;q=0") && !gz_ok("gzip; q=0.000") &&
		  !gz_ok("*;q=0") && !gz_ok("*, gzip;q=0") && !gz_ok("xgzip"),
	      "Accept-Encoding: gzip not allowed");
	CHECK(inm("\"abc\"", "\"abc\"") && inm("\"x\", \"abc\"", "\"abc\"") &&
		  inm("W/\"abc\"", "\"abc\"") && inm("*", "\"abc\""),
	      "If-None-Match matches (list, weak, *)");
	CHECK(!inm("\"abcd\"", "\"abc\"") && !inm("\"ab\"", "\"abc\"") && !inm("", "\"abc\"") &&
		  !inm("abc", "\"abc\""),
	      "If-None-Match does not match");
}

int main(void)
{
	struct static_site *s = NULL;
	char err[ERR_MAX] = "";
	int rc;

	CHECK(make_tree() == 0, "make a docs tree in %s", root);
	rc = static_load(root, &s, err);
	CHECK(rc == 0, "load (%s)", err);
	if (s)
		test_lookups(s);
	static_free(s);
	test_page();
	test_gzip_etag();
	test_headers();

	s = NULL;
	rc = static_load("/nonexistent/mnist-www", &s, err);
	CHECK(rc == ERR_IO && s == NULL && strstr(err, "/nonexistent") != NULL, "missing dir: %s",
	      err);

	char path[256];
	snprintf(path, sizeof path, "%s/openapi.json", root);
	unlink(path);
	rc = static_load(root, &s, err);
	CHECK(rc == ERR_IO && strstr(err, "openapi.json") != NULL, "no openapi.json: %s", err);

	setenv("MNIST_WWW", root, 1);
	CHECK(strcmp(static_default_dir(), root) == 0, "MNIST_WWW sets the default dir");
	unsetenv("MNIST_WWW");
	CHECK(static_default_dir()[0] != '\0', "a default dir without MNIST_WWW");
	static_free(NULL);
	rm_tree();

	/* The real site, when the build made it. */
	if (access("build/www/openapi.json", R_OK) == 0) {
		rc = static_load("build/www", &s, err);
		CHECK(rc == 0, "load build/www (%s)", err);
		CHECK(s && find(s, "/docs/swagger-ui-bundle.js") != NULL, "swagger bundle present");
		CHECK(s && find(s, "/redoc/redoc.standalone.js") != NULL, "redoc bundle present");
		static_free(s);
	}
	return tap_done();
}
