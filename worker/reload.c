#include "reload.h"
#include "err.h"
#include "file.h"
#include "log.h"

#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define SWAP_TIMEOUT_MS 10000
#define MAX_WEIGHTS_BYTES ((size_t)256 << 20)

/* Logits of a blank and of a full-ink image must be finite. */
static int check_forward(struct model *m, char *err)
{
	float *px = calloc(2 * MODEL_PIXELS, sizeof *px), logits[2 * MODEL_CLASSES];
	int rc = 0;

	if (!px)
		return err_set(err, ERR_NOMEM, "out of memory");
	for (int i = MODEL_PIXELS; i < 2 * MODEL_PIXELS; i++)
		px[i] = 1.f;
	model_forward(m, px, 2, logits);
	for (int i = 0; i < 2 * MODEL_CLASSES && rc == 0; i++)
		if (!isfinite(logits[i]))
			rc = err_set(
			    err, ERR_INVALID,
			    "the weights give a non-finite logit (NaN or infinite weights)");
	free(px);
	return rc;
}

int reload_open(const char *path, const struct model_opts *o, struct model **out, char *err)
{
	char msg[ERR_MAX];
	int rc = model_open(path, o, out, err);

	if (rc)
		return rc;
	if ((rc = check_forward(*out, msg)) != 0) {
		model_free(*out);
		*out = NULL;
		return err_set(err, rc, "%s: %s", path, msg);
	}
	return 0;
}

void reload_loaded_path(const char *path, const struct model *m, char *buf, size_t len)
{
	struct stat st;

	if (model_precision(m) == MODEL_INT8 && model_int8_path(path, buf, len) == 0 &&
	    stat(buf, &st) == 0)
		return;
	snprintf(buf, len, "%s", path);
}

/* "N bytes, sha256 HEX" of a file (as it is right after the load) into
 * out, or why not. */
void reload_describe(const char *path, char *out, size_t len)
{
	uint8_t *buf = NULL, md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	size_t n = 0;
	char err[ERR_MAX] = "SHA-256 failed";

	if (file_read(path, MAX_WEIGHTS_BYTES, &buf, &n, err) != 0 ||
	    !EVP_Digest(buf, n, md, &mdlen, EVP_sha256(), NULL)) {
		snprintf(out, len, "not hashed: %s", err);
		free(buf);
		return;
	}
	free(buf);
	int k = snprintf(out, len, "%zu bytes, sha256 ", n);
	for (unsigned i = 0; i < mdlen && k > 0 && (size_t)k + 3 <= len; i++)
		k += snprintf(out + k, len - (size_t)k, "%02x", md[i]);
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

int reload_weights(const char *path, const struct model_opts *o, struct server *srv,
		   struct model **m)
{
	struct model *next = NULL, *old = NULL;
	char err[ERR_MAX], file[4096], what[ERR_MAX + 64];
	struct timespec t0;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	log_info("reload: loading %s (%s)", path, model_precision_name(o->precision));
	if ((rc = reload_open(path, o, &next, err)) != 0) {
		log_error("reload refused, still serving the previous weights: %s", err);
		return rc;
	}
	if ((rc = serve_swap_model(srv, next, &old, SWAP_TIMEOUT_MS)) != 0) {
		log_error("reload abandoned, still serving the previous weights: the compute "
			  "thread did not take the new model within %d ms",
			  SWAP_TIMEOUT_MS);
		model_free(next);
		return rc;
	}
	model_free(old);
	*m = next;
	reload_loaded_path(path, next, file, sizeof file);
	reload_describe(file, what, sizeof what);
	log_info("reload: now serving %s (%s, %s), loaded and swapped in %.1f ms", file,
		 model_precision_name(model_precision(next)), what, ms_since(&t0));
	return 0;
}
