#include "sft.h"
#include "err.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "sft.c reads little-endian floats in place; port it before using a big-endian host"
#endif

struct tensor {
	char *name;
	char dtype[8];
	int ndim;
	size_t shape[SFT_MAX_DIMS];
	size_t begin, end; /* byte offsets in the data section */
};

struct sft {
	char *path;
	const unsigned char *map;
	size_t map_len;
	const unsigned char *data; /* start of the data section */
	size_t data_len;
	struct tensor *t;
	size_t n;
};

static const struct {
	const char *name;
	size_t size;
} dtypes[] = {
    {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8}, {"I32", 4},  {"I16", 2},
    {"I8", 1},	{"U64", 8}, {"U32", 4}, {"U16", 2},  {"U8", 1},	 {"BOOL", 1},
};

static size_t dtype_size(const char *name)
{
	for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
		if (strcmp(dtypes[i].name, name) == 0)
			return dtypes[i].size;
	return 0;
}

/* A JSON integer in [0, SIZE_MAX], or -1. */
static int json_size(const json_t *v, size_t *out)
{
	if (!json_is_integer(v))
		return -1;
	json_int_t i = json_integer_value(v);
	if (i < 0 || (unsigned long long)i > SIZE_MAX)
		return -1;
	*out = (size_t)i;
	return 0;
}

static void shape_str(const size_t *shape, int ndim, char *buf, size_t len)
{
	size_t used = 0;
	buf[0] = 0;
	for (int i = 0; i < ndim && used + 1 < len; i++) {
		int w = snprintf(buf + used, len - used, "%s%zu", i ? "," : "", shape[i]);
		if (w < 0)
			break;
		used += (size_t)w;
	}
}

static int parse_shape(const struct sft *f, const char *name, const json_t *js, struct tensor *t,
		       char *err)
{
	if (!json_is_array(js))
		return err_set(err, ERR_INVALID, "%s: tensor '%s': shape is not an array", f->path,
			       name);
	if (json_array_size(js) > SFT_MAX_DIMS)
		return err_set(err, ERR_INVALID, "%s: tensor '%s': more than %d dimensions",
			       f->path, name, SFT_MAX_DIMS);
	t->ndim = (int)json_array_size(js);
	for (int i = 0; i < t->ndim; i++)
		if (json_size(json_array_get(js, (size_t)i), &t->shape[i]) < 0)
			return err_set(err, ERR_INVALID,
				       "%s: tensor '%s': shape[%d] is not a non-negative integer",
				       f->path, name, i);
	return 0;
}

static int parse_offsets(const struct sft *f, const char *name, const json_t *jo, struct tensor *t,
			 char *err)
{
	if (!json_is_array(jo) || json_array_size(jo) != 2 ||
	    json_size(json_array_get(jo, 0), &t->begin) < 0 ||
	    json_size(json_array_get(jo, 1), &t->end) < 0)
		return err_set(err, ERR_INVALID,
			       "%s: tensor '%s': data_offsets is not [begin, end] integers",
			       f->path, name);
	if (t->begin > t->end || t->end > f->data_len)
		return err_set(err, ERR_INVALID,
			       "%s: tensor '%s': data_offsets [%zu, %zu] outside the data section "
			       "(%zu bytes)",
			       f->path, name, t->begin, t->end, f->data_len);
	return 0;
}

/* end - begin must equal product(shape) * element size, without overflow. */
static int check_size(const struct sft *f, const char *name, const struct tensor *t, char *err)
{
	size_t bytes = dtype_size(t->dtype);
	for (int i = 0; i < t->ndim; i++) {
		if (t->shape[i] != 0 && bytes > SIZE_MAX / t->shape[i])
			return err_set(err, ERR_INVALID, "%s: tensor '%s': shape overflows",
				       f->path, name);
		bytes *= t->shape[i];
	}
	if (bytes != t->end - t->begin)
		return err_set(err, ERR_INVALID,
			       "%s: tensor '%s': %zu data bytes but dtype and shape need %zu",
			       f->path, name, t->end - t->begin, bytes);
	return 0;
}

static int parse_entry(struct sft *f, const char *name, const json_t *v, struct tensor *t,
		       char *err)
{
	if (!json_is_object(v))
		return err_set(err, ERR_INVALID, "%s: tensor '%s': entry is not an object", f->path,
			       name);
	const json_t *jd = json_object_get(v, "dtype");
	const json_t *js = json_object_get(v, "shape");
	const json_t *jo = json_object_get(v, "data_offsets");
	if (!jd || !js || !jo)
		return err_set(err, ERR_INVALID, "%s: tensor '%s': missing %s", f->path, name,
			       !jd   ? "dtype"
			       : !js ? "shape"
				     : "data_offsets");
	if (!json_is_string(jd) || dtype_size(json_string_value(jd)) == 0)
		return err_set(err, ERR_INVALID, "%s: tensor '%s': unknown dtype", f->path, name);
	snprintf(t->dtype, sizeof t->dtype, "%s", json_string_value(jd));
	int rc = parse_shape(f, name, js, t, err);
	if (rc == 0)
		rc = parse_offsets(f, name, jo, t, err);
	if (rc == 0)
		rc = check_size(f, name, t, err);
	if (rc == 0) {
		t->name = strdup(name);
		if (!t->name)
			rc = err_set(err, ERR_NOMEM, "%s: out of memory", f->path);
	}
	return rc;
}

static int by_begin(const void *a, const void *b)
{
	const struct tensor *x = a, *y = b;
	if (x->begin != y->begin)
		return x->begin < y->begin ? -1 : 1;
	return x->end < y->end ? -1 : x->end > y->end;
}

/* Tensors sorted by offset must not overlap (empty tensors overlap nothing). */
static int check_overlaps(struct sft *f, char *err)
{
	qsort(f->t, f->n, sizeof f->t[0], by_begin);
	size_t prev = SIZE_MAX;
	for (size_t i = 0; i < f->n; i++) {
		if (f->t[i].begin == f->t[i].end)
			continue;
		if (prev != SIZE_MAX && f->t[i].begin < f->t[prev].end)
			return err_set(err, ERR_INVALID, "%s: tensor '%s' overlaps tensor '%s'",
				       f->path, f->t[i].name, f->t[prev].name);
		prev = i;
	}
	return 0;
}

static int parse_header(struct sft *f, const char *text, size_t len, char *err)
{
	json_error_t je;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return err_set(err, ERR_INVALID, "%s: header is not valid JSON: %s (offset %d)",
			       f->path, je.text, je.position);
	int rc = 0;
	if (!json_is_object(root)) {
		rc = err_set(err, ERR_INVALID, "%s: header is not a JSON object", f->path);
		goto out;
	}
	f->t = calloc(json_object_size(root) + 1, sizeof f->t[0]);
	if (!f->t) {
		rc = err_set(err, ERR_NOMEM, "%s: out of memory", f->path);
		goto out;
	}
	const char *name;
	json_t *v;
	json_object_foreach(root, name, v)
	{
		if (strcmp(name, "__metadata__") == 0)
			continue;
		rc = parse_entry(f, name, v, &f->t[f->n], err);
		if (rc < 0)
			goto out;
		f->n++;
	}
	rc = check_overlaps(f, err);
out:
	json_decref(root);
	return rc;
}

static int map_file(struct sft *f, char *err)
{
	int fd = open(f->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(err, ERR_IO, "%s: %s", f->path, strerror(errno));
	struct stat st;
	int rc = 0;
	if (fstat(fd, &st) < 0) {
		rc = err_set(err, ERR_IO, "%s: %s", f->path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = err_set(err, ERR_IO, "%s: not a regular file", f->path);
		goto out;
	}
	if (st.st_size < 8) {
		rc = err_set(err, ERR_INVALID, "%s: truncated: %lld bytes, no header length",
			     f->path, (long long)st.st_size);
		goto out;
	}
	f->map_len = (size_t)st.st_size;
	void *p = mmap(NULL, f->map_len, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED) {
		rc = err_set(err, ERR_IO, "%s: mmap: %s", f->path, strerror(errno));
		goto out;
	}
	f->map = p;
out:
	close(fd);
	return rc;
}

int sft_open(const char *path, struct sft **out, char *err)
{
	*out = NULL;
	struct sft *f = calloc(1, sizeof *f);
	if (!f)
		return err_set(err, ERR_NOMEM, "%s: out of memory", path);
	f->path = strdup(path);
	int rc = f->path ? map_file(f, err) : err_set(err, ERR_NOMEM, "%s: out of memory", path);
	if (rc < 0)
		goto fail;
	uint64_t hlen = 0;
	for (int i = 7; i >= 0; i--)
		hlen = hlen << 8 | f->map[i];
	if (hlen < 2 || hlen > SFT_MAX_HEADER || hlen > f->map_len - 8) {
		rc = err_set(err, ERR_INVALID,
			     "%s: header length %llu is not within the file (%zu bytes) or above "
			     "%u",
			     path, (unsigned long long)hlen, f->map_len, SFT_MAX_HEADER);
		goto fail;
	}
	f->data = f->map + 8 + hlen;
	f->data_len = f->map_len - 8 - (size_t)hlen;
	rc = parse_header(f, (const char *)f->map + 8, (size_t)hlen, err);
	if (rc < 0)
		goto fail;
	*out = f;
	return 0;
fail:
	sft_close(f);
	return rc;
}

void sft_close(struct sft *f)
{
	if (!f)
		return;
	if (f->map)
		munmap((void *)f->map, f->map_len);
	for (size_t i = 0; f->t && i < f->n; i++)
		free(f->t[i].name);
	free(f->t);
	free(f->path);
	free(f);
}

const char *sft_path(const struct sft *f)
{
	return f->path;
}

const unsigned char *sft_bytes(const struct sft *f, size_t *len)
{
	*len = f->map_len;
	return f->map;
}

size_t sft_count(const struct sft *f)
{
	return f->n;
}

int sft_get(const struct sft *f, const char *name, const char *dtype, const size_t *shape, int ndim,
	    const void **data, char *err)
{
	const struct tensor *t = NULL;
	for (size_t i = 0; i < f->n && !t; i++)
		if (strcmp(f->t[i].name, name) == 0)
			t = &f->t[i];
	if (!t)
		return err_set(err, ERR_INVALID, "%s: tensor '%s' is missing", f->path, name);
	if (strcmp(t->dtype, dtype) != 0)
		return err_set(err, ERR_INVALID, "%s: tensor '%s': dtype %s, expected %s", f->path,
			       name, t->dtype, dtype);
	if (t->ndim != ndim || memcmp(t->shape, shape, (size_t)ndim * sizeof *shape) != 0) {
		char got[96], want[96];
		shape_str(t->shape, t->ndim, got, sizeof got);
		shape_str(shape, ndim, want, sizeof want);
		return err_set(err, ERR_INVALID, "%s: tensor '%s': shape [%s], expected [%s]",
			       f->path, name, got, want);
	}
	*data = f->data + t->begin;
	return 0;
}

int sft_has(const struct sft *f, const char *name)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->t[i].name, name) == 0)
			return 1;
	return 0;
}

int sft_get_f32(const struct sft *f, const char *name, const size_t *shape, int ndim,
		const void **data, char *err)
{
	return sft_get(f, name, "F32", shape, ndim, data, err);
}

int sft_copy(const struct sft *f, const char *name, const char *dtype, const size_t *shape,
	     int ndim, void *dst, char *err)
{
	const void *p;
	int rc = sft_get(f, name, dtype, shape, ndim, &p, err);
	if (rc < 0)
		return rc;
	size_t n = dtype_size(dtype);
	for (int i = 0; i < ndim; i++)
		n *= shape[i]; /* cannot overflow: the file holds n bytes */
	memcpy(dst, p, n);
	return 0;
}

int sft_copy_f32(const struct sft *f, const char *name, const size_t *shape, int ndim, float *dst,
		 char *err)
{
	return sft_copy(f, name, "F32", shape, ndim, dst, err);
}
