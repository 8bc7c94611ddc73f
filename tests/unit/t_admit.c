/* admit: the in-flight budget shared by HTTP and api.sock. */
#include "admit.h"
#include "tap.h"

#include <pthread.h>

static struct admit shared;

/* Take and give back many times; the totals must come back to zero and the
 * request limit must never be exceeded. */
static void *churn(void *arg)
{
	int *over = arg;
	for (int i = 0; i < 100000; i++) {
		if (admit_take(&shared, 10) != ADMIT_OK)
			continue;
		if (admit_requests(&shared) > shared.max_requests)
			(*over)++;
		admit_give(&shared, 10);
	}
	return NULL;
}

int main(void)
{
	struct admit a;
	pthread_t t[4];
	int over[4] = {0};

	admit_init(&a, 2, 100);
	CHECK(admit_take(&a, 60) == ADMIT_OK, "a first request is admitted");
	CHECK(admit_take(&a, 50) == ADMIT_TOO_MANY_BYTES, "60 + 50 bytes is above 100");
	CHECK(admit_requests(&a) == 1, "a refused request takes nothing");
	CHECK(admit_take(&a, 40) == ADMIT_OK, "60 + 40 bytes fits exactly");
	CHECK(admit_take(&a, 0) == ADMIT_TOO_MANY_REQUESTS, "a third request is above 2");
	admit_give(&a, 60);
	admit_give(&a, 40);
	CHECK(admit_requests(&a) == 0, "all given back");
	CHECK(admit_take(&a, 1000) == ADMIT_OK,
	      "one request above the byte limit passes when nothing is held");
	CHECK(admit_take(&a, 1) == ADMIT_TOO_MANY_BYTES, "and nothing else meanwhile");
	admit_give(&a, 1000);

	admit_init(&shared, 3, 25);
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, churn, &over[i]);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	CHECK(over[0] + over[1] + over[2] + over[3] == 0,
	      "four threads never exceed the request limit");
	CHECK(admit_requests(&shared) == 0 && atomic_load(&shared.bytes) == 0,
	      "four threads give everything back");
	return tap_done();
}
