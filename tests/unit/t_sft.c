/* Unit tests for worker/engine/sft.c: a good file, then crafted bad ones. */
#include "err.h"
#include "sft.h"
#include "tap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];
static char path[128];

/* Write [8-byte length][header][data] with the given length field. */
static void write_raw(uint64_t hlen, const char *header, const void *data, size_t dlen)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return;
	unsigned char len[8];
	for (int i = 0; i < 8; i++)
		len[i] = (unsigned char)(hlen >> (8 * i));
	fwrite(len, 1, 8, f);
	fwrite(header, 1, strlen(header), f);
	if (dlen)
		fwrite(data, 1, dlen, f);
	fclose(f);
}

static void write_st(const char *header, size_t dlen)
{
	static float data[64];
	for (int i = 0; i < 64; i++)
		data[i] = (float)i;
	write_raw(strlen(header), header, data, dlen);
}

/* sft_open must fail with code and a message containing want. */
static void open_fails(const char *name, int code, const char *want)
{
	struct sft *f = (struct sft *)1;
	char err[ERR_MAX] = "";
	int rc = sft_open(path, &f, err);
	CHECK(rc == code && f == NULL && strstr(err, want) != NULL, "%s: rc %d, \"%s\"", name, rc,
	      err);
}

#define GOOD                                                                                       \
	"{\"__metadata__\":{\"format\":\"pt\"},"                                                   \
	"\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"                       \
	"\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[24,40]},"                        \
	"\"i\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[40,48]},"                        \
	"\"e\":{\"dtype\":\"F32\",\"shape\":[0,5],\"data_offsets\":[48,48]}}"

static void test_good(void)
{
	struct sft *f = NULL;
	char err[ERR_MAX] = "";
	write_st(GOOD, 48);
	CHECK(sft_open(path, &f, err) == 0 && f, "good file opens (%s)", err);
	if (!f)
		return;
	CHECK(sft_count(f) == 4, "four tensors, metadata skipped");
	size_t sa[2] = {2, 3}, sb[1] = {4}, swrong[2] = {3, 2}, s3[3] = {2, 3, 1};
	float a[6], b[4];
	CHECK(sft_copy_f32(f, "a", sa, 2, a, err) == 0 && a[0] == 0 && a[5] == 5, "copy a");
	CHECK(sft_copy_f32(f, "b", sb, 1, b, err) == 0 && b[0] == 6 && b[3] == 9, "copy b");
	const void *p = NULL;
	CHECK(sft_get_f32(f, "a", sa, 2, &p, err) == 0 && p, "get a");
	CHECK(sft_get_f32(f, "zz", sa, 2, &p, err) == ERR_INVALID && strstr(err, "'zz'") &&
		  strstr(err, "missing"),
	      "missing tensor named: %s", err);
	CHECK(sft_get_f32(f, "i", (size_t[]){2}, 1, &p, err) == ERR_INVALID && strstr(err, "'i'") &&
		  strstr(err, "dtype I32"),
	      "wrong dtype named: %s", err);
	CHECK(sft_get_f32(f, "a", swrong, 2, &p, err) == ERR_INVALID && strstr(err, "'a'") &&
		  strstr(err, "shape [2,3], expected [3,2]"),
	      "wrong shape named: %s", err);
	CHECK(sft_get_f32(f, "a", s3, 3, &p, err) == ERR_INVALID && strstr(err, "expected [2,3,1]"),
	      "wrong rank: %s", err);
	CHECK(sft_get_f32(f, "e", (size_t[]){0, 5}, 2, &p, err) == 0, "empty tensor");
	sft_close(f);
}

static void test_file_level(void)
{
	char err[ERR_MAX];
	struct sft *f;
	snprintf(path, sizeof path, "%s/none.safetensors", dir);
	CHECK(sft_open(path, &f, err) == ERR_IO && strstr(err, "none.safetensors"),
	      "missing file: %s", err);
	snprintf(path, sizeof path, "%s/t.safetensors", dir);
	FILE *fp = fopen(path, "wb");
	if (fp) {
		fwrite("abc", 1, 3, fp);
		fclose(fp);
	}
	open_fails("3-byte file", ERR_INVALID, "truncated");
	write_raw(UINT64_MAX, "{}", NULL, 0);
	open_fails("header length 2^64-1", ERR_INVALID, "header length");
	write_raw((uint64_t)1 << 40, "{}", NULL, 0);
	open_fails("header length 1 TB", ERR_INVALID, "header length");
	write_raw(100, "{}", NULL, 0);
	open_fails("header length past the end", ERR_INVALID, "header length");
	write_raw(0, "", NULL, 0);
	open_fails("header length 0", ERR_INVALID, "header length");
	snprintf(path, sizeof path, "%s", dir);
	open_fails("a directory", ERR_IO, "regular file");
	snprintf(path, sizeof path, "%s/t.safetensors", dir);
}

static void test_header(void)
{
	write_st("{\"a\":", 0);
	open_fails("bad JSON", ERR_INVALID, "not valid JSON");
	write_st("[1,2]", 0);
	open_fails("header is an array", ERR_INVALID, "not a JSON object");
	write_st("\"str\"", 0);
	open_fails("header is a string", ERR_INVALID, "not valid JSON");
	write_st("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
		 "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
		 4);
	open_fails("duplicate name", ERR_INVALID, "not valid JSON");
	write_st("{\"a\":3}", 0);
	open_fails("entry not an object", ERR_INVALID, "'a': entry is not an object");
	write_st("{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4);
	open_fails("no dtype", ERR_INVALID, "'a': missing dtype");
	write_st("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4);
	open_fails("no shape", ERR_INVALID, "'a': missing shape");
	write_st("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4);
	open_fails("no offsets", ERR_INVALID, "'a': missing data_offsets");
	write_st("{\"a\":{\"dtype\":\"Q7\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4);
	open_fails("unknown dtype", ERR_INVALID, "'a': unknown dtype");
	write_st("{\"a\":{\"dtype\":7,\"shape\":[1],\"data_offsets\":[0,4]}}", 4);
	open_fails("dtype not a string", ERR_INVALID, "'a': unknown dtype");
	write_st("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4);
	open_fails("negative dim", ERR_INVALID, "'a': shape[0]");
	write_st("{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4);
	open_fails("fractional dim", ERR_INVALID, "'a': shape[0]");
	write_st("{\"a\":{\"dtype\":\"F32\",\"shape\":5,\"data_offsets\":[0,4]}}", 4);
	open_fails("shape not an array", ERR_INVALID, "'a': shape is not an array");
	write_st("{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}",
		 4);
	open_fails("nine dims", ERR_INVALID, "more than 8");
	write_st("{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4611686018427387904],"
		 "\"data_offsets\":[0,0]}}",
		 0);
	open_fails("shape overflows size_t", ERR_INVALID, "'a': shape overflows");
}

static void test_offsets(void)
{
	write_st("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4);
	open_fails("offsets past the data (truncated file)", ERR_INVALID, "'a': data_offsets");
	write_st("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", 8);
	open_fails("begin > end", ERR_INVALID, "'a': data_offsets");
	write_st("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 8);
	open_fails("one offset", ERR_INVALID, "'a': data_offsets is not");
	write_st("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 8);
	open_fails("negative offset", ERR_INVALID, "'a': data_offsets is not");
	write_st(
	    "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,18446744073709551615]}}",
	    8);
	open_fails("offset beyond int64", ERR_INVALID, "not valid JSON");
	write_st("{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}", 24);
	open_fails("size mismatch", ERR_INVALID, "'a': 20 data bytes but dtype and shape need 24");
	write_st("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
		 "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
		 12);
	open_fails("overlapping tensors", ERR_INVALID, "overlaps");
	write_st("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
		 "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
		 8);
	open_fails("aliased tensors", ERR_INVALID, "overlaps");
	/* A valid file cut short: the last tensor's bytes are gone. */
	write_st(GOOD, 44);
	open_fails("good header, data cut short", ERR_INVALID, "data_offsets");
}

/* Random byte flips in a good file: any result but a crash or a leak. */
static void test_mutations(void)
{
	char good[sizeof GOOD + 8];
	memcpy(good, GOOD, sizeof GOOD);
	srand(7);
	int opened = 0, failed = 0;
	for (int it = 0; it < 400; it++) {
		char h[sizeof GOOD];
		memcpy(h, good, sizeof GOOD);
		for (int k = 0; k < 1 + it % 4; k++)
			h[rand() % (int)(sizeof GOOD - 1)] = (char)(rand() % 256);
		h[sizeof GOOD - 1] = 0;
		size_t len = strlen(h);
		write_raw(it % 3 == 0 ? (uint64_t)rand() % 600 : len, h, (float[12]){0}, 48);
		struct sft *f = NULL;
		char err[ERR_MAX];
		if (sft_open(path, &f, err) == 0) {
			opened++;
			const void *p;
			sft_get_f32(f, "a", (size_t[]){2, 3}, 2, &p, err);
			sft_close(f);
		} else {
			failed++;
		}
	}
	CHECK(opened + failed == 400 && failed > 0, "400 mutated files: %d opened, %d refused",
	      opened, failed);
}

int main(void)
{
	snprintf(dir, sizeof dir, "/tmp/mnist-t-sft.XXXXXX");
	if (!mkdtemp(dir)) {
		CHECK(0, "mkdtemp");
		return tap_done();
	}
	snprintf(path, sizeof path, "%s/t.safetensors", dir);
	test_good();
	test_file_level();
	test_header();
	test_offsets();
	test_mutations();
	unlink(path);
	rmdir(dir);
	return tap_done();
}
