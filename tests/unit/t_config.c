/* Unit tests for common/config.c and common/err.c. */
#include "config.h"
#include "err.h"
#include "tap.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void test_parse(void)
{
	unsigned long v = 0;
	size_t s = 0;

	CHECK(config_parse_ulong("42", 0, 100, &v) == 0 && v == 42, "ulong 42");
	CHECK(config_parse_ulong("101", 0, 100, &v) == ERR_INVALID, "ulong above max");
	CHECK(config_parse_ulong("-1", 0, 100, &v) == ERR_INVALID, "ulong negative");
	CHECK(config_parse_ulong("4x", 0, 100, &v) == ERR_INVALID, "ulong junk");
	CHECK(config_parse_ulong("", 0, 100, &v) == ERR_INVALID, "ulong empty");
	CHECK(config_parse_ulong("99999999999999999999999", 0, ~0UL, &v) == ERR_INVALID,
	      "ulong overflow");
	CHECK(config_parse_size("10M", &s) == 0 && s == 10u << 20, "size 10M");
	CHECK(config_parse_size("512k", &s) == 0 && s == 512u << 10, "size 512k");
	CHECK(config_parse_size("1048576", &s) == 0 && s == 1048576, "size bytes");
	CHECK(config_parse_size("2MB", &s) == 0 && s == 2u << 20, "size 2MB");
	CHECK(config_parse_size("10X", &s) == ERR_INVALID, "size bad suffix");
	CHECK(config_parse_size("18446744073709551615G", &s) == ERR_INVALID, "size overflow");
}

static void test_rundir(void)
{
	char tmpl[] = "/tmp/mnist-t-config.XXXXXX";
	char dir[256], path[300], url[320], err[ERR_MAX];
	struct stat st;

	if (!mkdtemp(tmpl)) {
		CHECK(0, "mkdtemp");
		return;
	}
	snprintf(path, sizeof path, "%s/run", tmpl);
	setenv("RUNTIME_DIRECTORY", path, 1);
	CHECK(config_rundir(NULL, dir, sizeof dir, err) == 0, "rundir from RUNTIME_DIRECTORY");
	CHECK(strcmp(dir, path) == 0, "rundir path is RUNTIME_DIRECTORY");
	CHECK(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700, "rundir created 0700");
	CHECK(config_ipc_url(dir, "api.sock", url, sizeof url, err) == 0 &&
		  strncmp(url, "ipc:///tmp/", 11) == 0,
	      "ipc url");
	CHECK(config_ipc_url(dir, "api.sock", url, 10, err) == ERR_INVALID, "ipc url too long");
	unsetenv("RUNTIME_DIRECTORY");
	setenv("XDG_RUNTIME_DIR", tmpl, 1);
	CHECK(config_rundir(NULL, dir, sizeof dir, err) == 0 && strstr(dir, "/mnist") != NULL,
	      "rundir from XDG_RUNTIME_DIR");
	chmod(dir, 0777);
	CHECK(config_rundir(NULL, dir, sizeof dir, err) == ERR_IO, "world-writable rundir refused");
	rmdir(dir);
	rmdir(path);
	rmdir(tmpl);
	CHECK(strcmp(err_code_name(ERR_INVALID), "invalid_image") == 0, "err code names");
	CHECK(err_set(err, ERR_TOO_LARGE, "x=%d", 3) == ERR_TOO_LARGE && strcmp(err, "x=3") == 0,
	      "err_set formats");
}

int main(void)
{
	test_parse();
	test_rundir();
	return tap_done();
}
