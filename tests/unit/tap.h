/*
 * tap: the smallest test harness. Each CHECK prints "ok - name" or
 * "not ok - name" (TAP lines, counted by tests/run.sh); tap_done() returns
 * the process exit status. Single-threaded use only.
 */
#ifndef MNIST_TAP_H
#define MNIST_TAP_H

#include <stdio.h>

static int tap_failed_;
static int tap_count_;

static inline int tap_check(int cond, const char *name, const char *file, int line)
{
	tap_count_++;
	if (cond) {
		printf("ok - %s\n", name);
	} else {
		tap_failed_++;
		printf("not ok - %s (%s:%d)\n", name, file, line);
	}
	fflush(stdout);
	return cond;
}

/* CHECK(cond, printf-style name...) */
#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		int tap_ok_ = !!(cond); /* before the name: it may print what cond set */          \
		char tap_name_[512];                                                               \
		snprintf(tap_name_, sizeof tap_name_, __VA_ARGS__);                                \
		tap_check(tap_ok_, tap_name_, __FILE__, __LINE__);                                 \
	} while (0)

static inline int tap_done(void)
{
	if (tap_count_ == 0) {
		printf("not ok - no checks ran\n");
		return 1;
	}
	return tap_failed_ ? 1 : 0;
}

#endif
