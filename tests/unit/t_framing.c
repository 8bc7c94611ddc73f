/* framing: ambiguous body lengths are refused, ordinary requests pass. */
#include "framing.h"
#include "tap.h"

#include <string.h>

static const char *check(const char *req)
{
	return framing_check(req, strlen(req));
}

int main(void)
{
	CHECK(!check("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), "a GET without a body passes");
	CHECK(!check("POST /p HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"),
	      "one Content-Length passes");
	CHECK(!check("POST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
	      "chunked alone passes");
	CHECK(!check("POST /p HTTP/1.1\r\nContent-Length: 5\r\ncontent-length:  5 \r\n\r\nhello"),
	      "two identical Content-Length values pass (RFC 9112 allows merging them)");
	CHECK(check("POST /p HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 50\r\n\r\nhello"),
	      "two different Content-Length values are refused");
	CHECK(check("POST /p HTTP/1.1\r\ncontent-length: 5\r\nX: y\r\nCONTENT-LENGTH: 6\r\n\r\n"),
	      "names compare without case");
	CHECK(check("POST /p HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"),
	      "Content-Length with Transfer-Encoding is refused");
	CHECK(check("POST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"),
	      "Transfer-Encoding then Content-Length is refused");
	CHECK(check("POST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked"
		    "\r\n\r\n"),
	      "two Transfer-Encoding headers are refused");
	CHECK(check("\r\nPOST /p HTTP/1.1\nContent-Length: 1\nContent-Length: 2\n\n"),
	      "bare LF lines and a leading empty line are read like h2o reads them");
	CHECK(!check("POST /p HTTP/1.1\r\nContent-Length: 2\r\n\r\nContent-Length: 3\r\n"),
	      "the body is not read as headers");
	CHECK(!check("POST /p HTTP/1.1\r\nX-Content-Length: 2\r\nContent-Length: 3\r\n\r\n"),
	      "only the exact header name counts");
	CHECK(!check("POST /p HTTP/1.1\r\nContent-Length: 3\r\n"),
	      "a truncated head is not refused");
	CHECK(!check(""), "an empty buffer is not refused");
	return tap_done();
}
