#include "admit.h"

void admit_init(struct admit *a, size_t max_requests, size_t max_bytes)
{
	atomic_init(&a->requests, 0);
	atomic_init(&a->bytes, 0);
	a->max_requests = max_requests;
	a->max_bytes = max_bytes;
}

enum admit_result admit_take(struct admit *a, size_t len)
{
	size_t n = atomic_load(&a->requests), held;

	/* Compare-and-swap, so the count itself never passes the limit (an
	 * add-then-undo would show a passing excess to readers). */
	do {
		if (n >= a->max_requests)
			return ADMIT_TOO_MANY_REQUESTS;
	} while (!atomic_compare_exchange_weak(&a->requests, &n, n + 1));
	held = atomic_load(&a->bytes);
	do {
		if (held > 0 && (held >= a->max_bytes || len > a->max_bytes - held)) {
			atomic_fetch_sub(&a->requests, 1);
			return ADMIT_TOO_MANY_BYTES;
		}
	} while (!atomic_compare_exchange_weak(&a->bytes, &held, held + len));
	return ADMIT_OK;
}

void admit_give(struct admit *a, size_t len)
{
	atomic_fetch_sub(&a->bytes, len);
	atomic_fetch_sub(&a->requests, 1);
}

size_t admit_requests(struct admit *a)
{
	return atomic_load(&a->requests);
}
