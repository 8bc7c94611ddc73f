/* Tests for frontend/modelver: which model versions are being served. */
#include "err.h"
#include "modelver.h"
#include "tap.h"

#include <stdlib.h>
#include <string.h>

int main(void)
{
	modelver_t cur[MODELVER_MAX];
	char *text = NULL;
	size_t len = 0, n;

	modelver_reset();
	CHECK(modelver_current(cur, MODELVER_MAX, 1000) == 0, "nothing served at first");
	modelver_seen("0123456789ab", 1000);
	modelver_seen("0123456789ab", 1100);
	n = modelver_current(cur, MODELVER_MAX, 1200);
	CHECK(n == 1 && !strcmp(cur[0], "0123456789ab"), "a version seen twice is listed once");
	modelver_seen("ba9876543210", 1500);
	n = modelver_current(cur, MODELVER_MAX, 1600);
	CHECK(n == 2 && !strcmp(cur[0], "ba9876543210") && !strcmp(cur[1], "0123456789ab"),
	      "two versions, the newest first");
	CHECK(modelver_is_current("ba9876543210", 12, 1600) &&
		  !modelver_is_current("ba98", 4, 1600),
	      "is_current matches whole versions only");
	n = modelver_current(cur, MODELVER_MAX, 1100 + MODELVER_TTL_MS + 1);
	CHECK(n == 1 && !strcmp(cur[0], "ba9876543210"),
	      "a version no reply carried for the TTL is dropped");
	modelver_seen("", 1700);
	modelver_seen("bad\"label", 1700);
	modelver_seen("ABCDEF", 1700);
	modelver_seen("0123456789abcdef0123456789abcdef0", 1700);
	CHECK(modelver_current(cur, MODELVER_MAX, 1700) == 2,
	      "empty, quoted, upper-case and over-long versions are ignored");
	text = malloc(4);
	memcpy(text, "x 1\n", 4);
	len = 4;
	CHECK(modelver_metrics(&text, &len, 1700) == 0 && len == strlen(text) &&
		  strstr(text, "x 1\n# HELP mnist_model_info") &&
		  strstr(text, "# TYPE mnist_model_info gauge\n") &&
		  strstr(text, "mnist_model_info{version=\"ba9876543210\"} 1\n") &&
		  strstr(text, "mnist_model_info{version=\"0123456789ab\"} 1\n"),
	      "metrics text appended, one sample per version");
	free(text);
	for (int i = 0; i < MODELVER_MAX + 2; i++) {
		char v[8];
		snprintf(v, sizeof v, "v%d", i);
		modelver_seen(v, 2000 + (uint64_t)i);
	}
	n = modelver_current(cur, MODELVER_MAX, 2100);
	CHECK(n == MODELVER_MAX && !strcmp(cur[0], "v9"), "the table keeps the newest %d",
	      MODELVER_MAX);
	return tap_done();
}
