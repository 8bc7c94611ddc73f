/*
 * static: the API documentation site served by the frontend, kept in memory.
 *
 * static_load() reads every regular file under a directory (default
 * static_default_dir(): $MNIST_WWW, else build/www when it exists in the
 * working directory, else STATIC_INSTALL_DIR) into memory once at start-up,
 * so serving never touches the disk or blocks the event loop. The tree is
 * built by `make` (target $(B)/www) and installed by `make install`:
 *
 *   index.html, app.js, ...    the drawing page        -> GET /, /app.js, ...
 *   openapi.json               the OpenAPI 3 document  -> GET /openapi.json
 *   docs/index.html            Swagger UI page         -> GET /docs, /docs/
 *   docs/<asset>               swagger-ui-dist files   -> GET /docs/<asset>
 *   redoc/index.html           ReDoc page              -> GET /redoc, /redoc/
 *   redoc/<asset>              redoc bundle            -> GET /redoc/<asset>
 *
 * Limits: at most STATIC_MAX_FILES files, STATIC_MAX_BYTES in total, depth
 * 4; dotfiles and non-regular files are skipped. static_find() only matches
 * loaded names exactly (no path walking: "..", "//" and the query string
 * are never resolved against the disk).
 *
 * Compression and caching: the build stores FILE.gz beside every text file
 * that gzip makes smaller (scripts/fetch-docs-assets.sh); static_load()
 * attaches it to FILE (static_file.gz) instead of serving it as a path of
 * its own, and computes both ETags. respond_static() (respond.h) sends the
 * gzip body with Content-Encoding: gzip when Accept-Encoding allows it,
 * Vary: Accept-Encoding, ETag, Cache-Control, and 304 for a matching
 * If-None-Match.
 *
 * Every HTML file carries a Content-Security-Policy for its response
 * (static_file.csp): STATIC_CSP_PAGE, which allows nothing but the site's
 * own files (no inline script or style, no other origin), or for the
 * third-party documentation UIs under /docs/ and /redoc/ STATIC_CSP_DOCS,
 * the same with inline styles allowed (ReDoc injects <style> elements,
 * its page has one) and blob: workers (ReDoc's search).
 *
 * Ownership: the site owns every body; pointers from static_find() stay
 * valid until static_free(). After static_load() returns, the site is
 * read-only, so static_find() is safe from any thread without a lock.
 */
#ifndef MNIST_STATIC_H
#define MNIST_STATIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef STATIC_INSTALL_DIR
#define STATIC_INSTALL_DIR "/usr/local/share/mnist/www"
#endif
#define STATIC_MAX_FILES 256
#define STATIC_MAX_BYTES ((size_t)64 << 20)

#define STATIC_CSP_PAGE                                                                            \
	"default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "    \
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "             \
	"frame-ancestors 'none'"
#define STATIC_CSP_DOCS                                                                            \
	"default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "       \
	"script-src 'self'; worker-src 'self' blob:; connect-src 'self'; object-src 'none'; "      \
	"base-uri 'none'; frame-ancestors 'none'"

/* Strong ETag: the first 16 hex digits of the body's SHA-256, quoted; the
 * gzip variant's ends in "-gz" (another representation, another tag). */
#define STATIC_ETAG_MAX 24
#define STATIC_CACHE_ASSET "public, max-age=86400" /* pinned /docs, /redoc assets */
#define STATIC_CACHE_PAGE "no-cache"		   /* revalidate (ETag) every time */

struct static_file {
	const char *path;	  /* URL path, e.g. "/docs/swagger-ui.css" */
	const char *content_type; /* e.g. "text/html; charset=utf-8" */
	const char *csp;	  /* Content-Security-Policy to send, or NULL (not HTML) */
	const uint8_t *body;
	size_t len;
	const uint8_t *gz; /* the precompressed body (PATH.gz made at build time), or NULL */
	size_t gz_len;
	const char *cache_control; /* STATIC_CACHE_ASSET or STATIC_CACHE_PAGE */
	char etag[STATIC_ETAG_MAX], etag_gz[STATIC_ETAG_MAX];
};

struct static_site;

/* The directory to load when no --www flag is given (see above). */
const char *static_default_dir(void);

/* Load dir into a new site (*out, freed by static_free). Returns 0, or
 * ERR_IO (missing/unreadable dir or file), ERR_TOO_LARGE (limits) or
 * ERR_NOMEM, with a message in err. A missing openapi.json is ERR_IO: the
 * directory is not a docs tree. The frontend may choose to run without
 * docs when this fails (log it, answer 404). */
int static_load(const char *dir, struct static_site **out, char *err);

/* The file for a request path (not NUL-terminated; a "?query" suffix is
 * ignored), or NULL. "/docs" and "/docs/" give docs/index.html, likewise
 * for /redoc, and "/" gives index.html. */
const struct static_file *static_find(const struct static_site *site, const char *path, size_t len);

void static_free(struct static_site *site);

/* Whether an Accept-Encoding value (n bytes) allows gzip: a "gzip" or "*"
 * coding without q=0 (RFC 9110 12.5.3). */
bool static_accepts_gzip(const char *v, size_t n);

/* Whether an If-None-Match value (n bytes) names etag: "*", or any tag of
 * the list equal by weak comparison (W/ ignored, as RFC 9110 13.1.2 says). */
bool static_etag_matches(const char *v, size_t n, const char *etag);

#endif
