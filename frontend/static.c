#include "static.h"
#include "err.h"
#include "file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_DEPTH 4

struct static_site {
	struct static_file *files; /* sorted by path; path and body are owned */
	size_t n, cap;
	size_t bytes;
};

static const struct {
	const char *ext;
	const char *type;
} types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".json", "application/json"},
    {".map", "application/json"},
    {".png", "image/png"},
    {".svg", "image/svg+xml"},
    {".ico", "image/x-icon"},
    {".txt", "text/plain; charset=utf-8"},
    {".md", "text/plain; charset=utf-8"},
};

static const char *content_type(const char *name)
{
	const char *dot = strrchr(name, '.');
	const char *slash = strrchr(name, '/');

	if (!dot || (slash && dot < slash))
		return "text/plain; charset=utf-8"; /* LICENSE, NOTICE */
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		if (strcmp(dot, types[i].ext) == 0)
			return types[i].type;
	return "application/octet-stream";
}

/* The policy an HTML file is served with (static.h), NULL for other files. */
static const char *csp_for(const char *path, const char *type)
{
	if (strncmp(type, "text/html", 9) != 0)
		return NULL;
	if (strncmp(path, "/docs/", 6) == 0 || strncmp(path, "/redoc/", 7) == 0)
		return STATIC_CSP_DOCS;
	return STATIC_CSP_PAGE;
}

static int add_file(struct static_site *s, const char *fs, const char *url, size_t size, char *err)
{
	struct static_file *f;
	uint8_t *body = NULL;
	char *path, msg[ERR_MAX];
	int rc;

	if (s->n >= STATIC_MAX_FILES)
		return err_set(err, ERR_TOO_LARGE, "more than %d files in the docs directory",
			       STATIC_MAX_FILES);
	if (size > STATIC_MAX_BYTES - s->bytes)
		return err_set(err, ERR_TOO_LARGE, "docs directory larger than %zu bytes",
			       STATIC_MAX_BYTES);
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 32;
		f = realloc(s->files, cap * sizeof *f);
		if (!f)
			return err_set(err, ERR_NOMEM, "out of memory");
		s->files = f;
		s->cap = cap;
	}
	path = strdup(url);
	if (!path)
		return err_set(err, ERR_NOMEM, "out of memory");
	rc = file_read(fs, STATIC_MAX_BYTES - s->bytes, &body, &size, msg);
	if (rc) {
		free(path);
		return err_set(err, rc, "%s: %s", fs, msg);
	}
	f = &s->files[s->n++];
	memset(f, 0, sizeof *f);
	f->path = path;
	f->content_type = content_type(path);
	f->csp = csp_for(path, f->content_type);
	f->body = body;
	f->len = size;
	f->cache_control = (!strncmp(path, "/docs/", 6) || !strncmp(path, "/redoc/", 7)) && !f->csp
			       ? STATIC_CACHE_ASSET
			       : STATIC_CACHE_PAGE;
	s->bytes += size;
	return 0;
}

/* Load every regular file under fs (a directory) as url + "/" + name. */
static int load_dir(struct static_site *s, const char *fs, const char *url, int depth, char *err)
{
	char cfs[PATH_MAX], curl[PATH_MAX];
	struct dirent *de;
	struct stat st;
	int rc = 0;
	DIR *d;

	if (depth > MAX_DEPTH)
		return 0;
	d = opendir(fs);
	if (!d)
		return err_set(err, ERR_IO, "cannot open docs directory %s: %s", fs,
			       strerror(errno));
	while (rc == 0 && (errno = 0, de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.') /* ".", "..", .stamp and other dotfiles */
			continue;
		int n1 = snprintf(cfs, sizeof cfs, "%s/%s", fs, de->d_name);
		int n2 = snprintf(curl, sizeof curl, "%s/%s", url, de->d_name);
		if (n1 < 0 || n2 < 0 || (size_t)n1 >= sizeof cfs || (size_t)n2 >= sizeof curl) {
			rc = err_set(err, ERR_IO, "path too long under %s", fs);
			break;
		}
		if (stat(cfs, &st) != 0) {
			rc = err_set(err, ERR_IO, "cannot stat %s: %s", cfs, strerror(errno));
			break;
		}
		if (S_ISDIR(st.st_mode))
			rc = load_dir(s, cfs, curl, depth + 1, err);
		else if (S_ISREG(st.st_mode))
			rc = add_file(s, cfs, curl, (size_t)st.st_size, err);
	}
	if (rc == 0 && errno != 0)
		rc = err_set(err, ERR_IO, "cannot read docs directory %s: %s", fs, strerror(errno));
	closedir(d);
	return rc;
}

static int by_path(const void *a, const void *b)
{
	return strcmp(((const struct static_file *)a)->path, ((const struct static_file *)b)->path);
}

const char *static_default_dir(void)
{
	const char *env = getenv("MNIST_WWW");
	struct stat st;

	if (env && *env)
		return env;
	if (stat("build/www/openapi.json", &st) == 0)
		return "build/www";
	return STATIC_INSTALL_DIR;
}

static int make_etag(const uint8_t *p, size_t n, const char *suffix, char *out, char *err)
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned len = 0;

	if (!EVP_Digest(p, n, md, &len, EVP_sha256(), NULL) || len < 8)
		return err_set(err, ERR_INTERNAL, "SHA-256 failed");
	snprintf(out, STATIC_ETAG_MAX, "\"%02x%02x%02x%02x%02x%02x%02x%02x%s\"", md[0], md[1],
		 md[2], md[3], md[4], md[5], md[6], md[7], suffix);
	return 0;
}

/* Attach every PATH.gz to PATH (dropping it as a path of its own), and
 * compute the ETags. The files are sorted by path. */
static int pair_gzip(struct static_site *s, char *err)
{
	size_t keep = 0;
	int rc = 0;
	bool *drop = calloc(s->n ? s->n : 1, sizeof *drop);

	if (!drop)
		return err_set(err, ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < s->n; i++) {
		struct static_file *f = &s->files[i], *base;
		size_t n = strlen(f->path);
		char key[PATH_MAX];

		if (n > 3 && !strcmp(f->path + n - 3, ".gz") && n - 3 < sizeof key) {
			memcpy(key, f->path, n - 3);
			key[n - 3] = '\0';
			base = bsearch(&(struct static_file){.path = key}, s->files, s->n,
				       sizeof *f, by_path);
			if (base && !base->gz) {
				base->gz = f->body;
				base->gz_len = f->len;
				drop[i] = true; /* its body now belongs to base */
			}
		}
	}
	for (size_t i = 0; i < s->n; i++) {
		if (drop[i])
			free((void *)s->files[i].path);
		else
			s->files[keep++] = s->files[i];
	}
	s->n = keep;
	free(drop);
	for (size_t i = 0; i < s->n && rc == 0; i++) {
		struct static_file *f = &s->files[i];
		rc = make_etag(f->body, f->len, "", f->etag, err);
		if (rc == 0 && f->gz)
			rc = make_etag(f->body, f->len, "-gz", f->etag_gz, err);
	}
	return rc;
}

int static_load(const char *dir, struct static_site **out, char *err)
{
	struct static_site *s;
	int rc;

	if (!dir)
		dir = static_default_dir();
	s = calloc(1, sizeof *s);
	if (!s)
		return err_set(err, ERR_NOMEM, "out of memory");
	rc = load_dir(s, dir, "", 0, err);
	if (rc)
		goto fail;
	if (s->n)
		qsort(s->files, s->n, sizeof *s->files, by_path);
	if ((rc = pair_gzip(s, err)) != 0)
		goto fail;
	if (!static_find(s, "/openapi.json", 13)) {
		rc = err_set(err, ERR_IO, "%s holds no openapi.json: not a docs directory", dir);
		goto fail;
	}
	*out = s;
	return 0;
fail:
	static_free(s);
	return rc;
}

static const struct static_file *lookup(const struct static_site *s, const char *path)
{
	struct static_file key = {.path = path};

	if (!s->n)
		return NULL;
	return bsearch(&key, s->files, s->n, sizeof *s->files, by_path);
}

const struct static_file *static_find(const struct static_site *site, const char *path, size_t len)
{
	char buf[512];
	const char *q;
	const struct static_file *f;

	if (!site || !path)
		return NULL;
	q = memchr(path, '?', len);
	if (q)
		len = (size_t)(q - path);
	if (len == 0 || path[0] != '/' || len >= sizeof buf - sizeof "/index.html")
		return NULL;
	memcpy(buf, path, len);
	buf[len] = '\0';
	if (strlen(buf) != len) /* an embedded NUL */
		return NULL;
	if (buf[len - 1] != '/' && (f = lookup(site, buf)) != NULL)
		return f;
	/* "/docs" or "/docs/" -> "/docs/index.html", "/" -> "/index.html" */
	if (buf[len - 1] == '/')
		len--;
	memcpy(buf + len, "/index.html", sizeof "/index.html");
	return lookup(site, buf);
}

void static_free(struct static_site *site)
{
	if (!site)
		return;
	for (size_t i = 0; i < site->n; i++) {
		free((void *)site->files[i].path);
		free((void *)site->files[i].body);
		free((void *)site->files[i].gz);
	}
	free(site->files);
	free(site);
}

/* The q value of a coding's parameters (";q=0.5"), 1 when absent. */
static double qvalue(const char *p, const char *end)
{
	while (p < end) {
		while (p < end && (*p == ';' || *p == ' ' || *p == '\t'))
			p++;
		if (end - p >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
			char num[8];
			size_t n = (size_t)(end - p - 2) < sizeof num - 1 ? (size_t)(end - p - 2)
									  : sizeof num - 1;
			memcpy(num, p + 2, n);
			num[n] = '\0';
			return strtod(num, NULL);
		}
		while (p < end && *p != ';')
			p++;
	}
	return 1;
}

bool static_accepts_gzip(const char *v, size_t n)
{
	const char *p = v, *end = v + n;
	double gzip = -1, any = -1;

	while (p < end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *stop = comma ? comma : end, *name_end;
		while (p < stop && (*p == ' ' || *p == '\t'))
			p++;
		name_end = p;
		while (name_end < stop && *name_end != ';' && *name_end != ' ')
			name_end++;
		if (name_end - p == 4 && !strncasecmp(p, "gzip", 4))
			gzip = qvalue(name_end, stop);
		else if (name_end - p == 1 && *p == '*')
			any = qvalue(name_end, stop);
		p = stop + 1;
	}
	return gzip >= 0 ? gzip > 0 : any > 0;
}

bool static_etag_matches(const char *v, size_t n, const char *etag)
{
	const char *p = v, *end = v + n;
	size_t elen = strlen(etag);

	while (p < end) {
		while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
			p++;
		if (p < end && *p == '*')
			return true;
		if (end - p >= 2 && p[0] == 'W' && p[1] == '/')
			p += 2;
		const char *stop = p;
		if (stop < end && *stop == '"') {
			const char *close = memchr(stop + 1, '"', (size_t)(end - stop - 1));
			stop = close ? close + 1 : end;
		} else {
			while (stop < end && *stop != ',')
				stop++;
		}
		if ((size_t)(stop - p) == elen && !memcmp(p, etag, elen))
			return true;
		p = stop;
	}
	return false;
}
