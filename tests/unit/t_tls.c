/* Unit tests for common/tls.c: the worker link's transport policy. The
 * handshakes themselves are tested with real certificates in
 * tests/integration/test_tls.sh. */
#include "err.h"
#include "tap.h"
#include "tls.h"

#include <string.h>

static void test_policy(void)
{
	const struct tls_files none = {0}, all = {"c.pem", "k.pem", "ca.pem"};
	const struct tls_files half = {"c.pem", NULL, "ca.pem"};
	char err[ERR_MAX] = "";

	CHECK(tls_check_url("ipc:///tmp/x.sock", &none, false, err) == 0, "ipc is fine");
	CHECK(tls_check_url("tcp://127.0.0.1:9000", &none, false, err) == 0, "tcp loopback");
	CHECK(tls_check_url("tcp://127.5.6.7:9000", &none, false, err) == 0, "tcp 127/8");
	CHECK(tls_check_url("tcp://localhost:9000", &none, false, err) == 0, "tcp localhost");
	CHECK(tls_check_url("tcp://[::1]:9000", &none, false, err) == 0, "tcp ::1");
	CHECK(tls_check_url("tcp://10.0.0.1:9000", &none, false, err) == ERR_INVALID &&
		  strstr(err, "--trusted-network"),
	      "tcp off loopback refused, naming the flag: %s", err);
	CHECK(tls_check_url("tcp://:9000", &none, false, err) == ERR_INVALID,
	      "tcp wildcard refused");
	CHECK(tls_check_url("tcp4://0.0.0.0:9000", &none, false, err) == ERR_INVALID,
	      "tcp4 wildcard refused");
	CHECK(tls_check_url("tcp://[::]:9000", &none, false, err) == ERR_INVALID,
	      "tcp v6 wildcard refused");
	CHECK(tls_check_url("tcp://frontend:9000", &none, false, err) == ERR_INVALID,
	      "tcp to a name refused");
	CHECK(tls_check_url("tcp://10.0.0.1:9000", &none, true, err) == 0, "trusted network");
	CHECK(tls_check_url("tls+tcp://10.0.0.1:9000", &all, false, err) == 0, "tls with files");
	CHECK(tls_check_url("tls+tcp://10.0.0.1:9000", &half, false, err) == ERR_INVALID &&
		  strstr(err, "--tls-key"),
	      "tls without a key refused: %s", err);
	CHECK(tls_check_url("tls+tcp://10.0.0.1:9000", &none, true, err) == ERR_INVALID,
	      "tls without files refused even on a trusted network");
	CHECK(tls_check_url("tcp://127.0.0.1:9000", &all, false, err) == ERR_INVALID,
	      "files with a plain URL refused (a typo must not silently drop TLS)");
	CHECK(tls_url_is_tls("tls+tcp://a:1") && !tls_url_is_tls("tcp://a:1"), "is_tls");
}

static void test_own_missing(void)
{
	const struct tls_files f = {"/nonexistent/c.pem", "/nonexistent/k.pem", "/nonexistent/ca"};
	char err[ERR_MAX] = "";

	CHECK(tls_check_own(&f, TLS_CLIENT, err) == ERR_INVALID && strstr(err, "c.pem"),
	      "a missing certificate is named: %s", err);
}

int main(void)
{
	test_policy();
	test_own_missing();
	return tap_done();
}
