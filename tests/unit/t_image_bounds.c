/*
 * The image intake's bounds (issue 10): every file that
 * tests/stress/gen_hostile.py writes (a zTXt bomb, 253-scan progressive
 * JPEGs, a 16-bit RGBA 40 MP PNG, 6000x6000 and 20000x2000 images, Adam7)
 * goes through img_to_mnist() with the default limits in a forked child,
 * which measures its own thread CPU time and the growth of its peak RSS.
 * Each must succeed or be refused cleanly (ERR_INVALID, ERR_TOO_LARGE),
 * within the CPU budget (IMG_CPU_MS_DEFAULT plus CHECK_SLACK_MS, the most
 * work between two checks of the clock) and MEM_MAX_MB of memory; files
 * that no decoder needs to hold whole (all but multi-scan JPEGs) within
 * STREAM_MAX_MB, far below their full-size frames (36 MB and more). Some
 * files have a known outcome: the zTXt bomb decodes, the 40 MP progressive
 * JPEG is too large, the 4 MP one has too many scans. A budget of 20 ms
 * ends a 6000x6000 decode with the "took longer" message.
 *
 * The files are generated into $HOSTILE_DIR (default $B/hostile) on first
 * use; without /usr/bin/python3 (numpy, PIL) or jpegtran the test skips.
 * Memory is not asserted under ASan (its shadow memory counts in RSS).
 */
#include "err.h"
#include "file.h"
#include "image.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHECK_SLACK_MS 25
#define MEM_MAX_MB 64
#define STREAM_MAX_MB 16

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

enum want { ANY, OK, TOO_LARGE, INVALID };

static const struct hostile {
	const char *name;
	enum want want;
	const char *says; /* in the error message, for refusals */
	int streams;	  /* never held whole: STREAM_MAX_MB */
} files[] = {
    {"ztxt_bomb.png", OK, "", 1},
    {"jpeg_prog253_40mp.jpg", TOO_LARGE, "progressive JPEG", 0},
    {"jpeg_prog253_4mp.jpg", INVALID, "more than 32 progressive scans", 0},
    {"png16_rgba_40mp.png", ANY, "", 1},
    {"png_6000x6000.png", ANY, "", 1},
    {"png_max_20000x2000.png", ANY, "", 1},
    {"png_adam7_6000x6000.png", ANY, "", 1},
    {"jpeg_max_20000x2000.jpg", ANY, "", 1},
    {"jpeg_40mp.jpg", ANY, "", 1},
    {"jpeg_prog_4000x3000.jpg", ANY, "", 0},
};

struct result {
	int rc;
	double cpu_ms, peak_mb, ink;
	char err[ERR_MAX];
};

static double thread_cpu_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* In a child: read the file, then measure img_to_mnist() alone. */
static void measure(const char *path, const struct img_limits *lim, int fd)
{
	struct result r = {0};
	struct rusage a, b;
	uint8_t *buf = NULL;
	size_t len = 0;
	float out[784];
	if (file_read(path, 64u << 20, &buf, &len, r.err) < 0) {
		r.rc = 1;
	} else {
		getrusage(RUSAGE_SELF, &a);
		r.cpu_ms = thread_cpu_ms();
		r.rc = img_to_mnist(buf, len, lim, out, r.err);
		r.cpu_ms = thread_cpu_ms() - r.cpu_ms;
		getrusage(RUSAGE_SELF, &b);
		r.peak_mb = (double)(b.ru_maxrss - a.ru_maxrss) / 1024.0;
		for (int i = 0; i < 784; i++)
			r.ink += out[i];
	}
	if (write(fd, &r, sizeof r) != (ssize_t)sizeof r)
		_exit(1);
	_exit(0);
}

static int run(const char *path, const struct img_limits *lim, struct result *r)
{
	int fd[2], status;
	pid_t pid;
	if (pipe(fd) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		close(fd[0]);
		measure(path, lim, fd[1]);
	}
	close(fd[1]);
	ssize_t n = pid > 0 ? read(fd[0], r, sizeof *r) : -1;
	close(fd[0]);
	if (pid > 0)
		waitpid(pid, &status, 0);
	return n == (ssize_t)sizeof *r ? 0 : -1;
}

static int outcome_ok(const struct hostile *h, const struct result *r)
{
	int refused = r->rc == ERR_INVALID || r->rc == ERR_TOO_LARGE;
	switch (h->want) {
	case OK: return r->rc == 0 && r->ink > 20;
	case TOO_LARGE: return r->rc == ERR_TOO_LARGE && strstr(r->err, h->says);
	case INVALID: return r->rc == ERR_INVALID && strstr(r->err, h->says);
	default: return (r->rc == 0 && r->ink > 20) || refused;
	}
}

static int have_files(const char *dir)
{
	char path[4096], cmd[8192];
	struct stat st;
	/* the generator writes this one last */
	if (snprintf(path, sizeof path, "%s/png_adam7_6000x6000.png", dir) >= (int)sizeof path)
		return 0;
	if (stat(path, &st) == 0)
		return 1;
	if (snprintf(cmd, sizeof cmd, "/usr/bin/python3 tests/stress/gen_hostile.py '%s' >&2",
		     dir) >= (int)sizeof cmd)
		return 0;
	return system(cmd) == 0 && stat(path, &st) == 0;
}

int main(void)
{
	const char *b = getenv("B"), *dir = getenv("HOSTILE_DIR");
	char defdir[4096], path[4096];
	struct img_limits lim;
	struct result r;
	size_t i;

	if (snprintf(defdir, sizeof defdir, "%s/hostile", b ? b : "build") >= (int)sizeof defdir)
		return 1;
	dir = dir ? dir : defdir;
	if (!have_files(dir)) {
		printf("ok - hostile images # SKIP gen_hostile.py could not write %s\n", dir);
		return 0;
	}
	img_limits_default(&lim);
	for (i = 0; i < sizeof files / sizeof *files; i++) {
		const struct hostile *h = &files[i];
		double mem = h->streams ? STREAM_MAX_MB : MEM_MAX_MB;
		if (snprintf(path, sizeof path, "%s/%s", dir, h->name) >= (int)sizeof path ||
		    run(path, &lim, &r) < 0 || r.rc == 1) {
			CHECK(0, "%s: measured (%s)", h->name, r.err);
			continue;
		}
		CHECK(outcome_ok(h, &r), "%s: %s (%s)", h->name,
		      r.rc == 0 ? "decoded" : "refused cleanly", r.rc == 0 ? "ink" : r.err);
		CHECK(r.cpu_ms <= lim.cpu_ms + CHECK_SLACK_MS, "%s: %.1f ms of CPU <= %u + %d",
		      h->name, r.cpu_ms, lim.cpu_ms, CHECK_SLACK_MS);
		if (UNDER_ASAN)
			printf("ok - %s: memory # SKIP ASan shadow memory counts in RSS\n",
			       h->name);
		else
			CHECK(r.peak_mb <= mem, "%s: peak RSS grew %.1f MB <= %.0f MB", h->name,
			      r.peak_mb, mem);
	}
	/* the budget itself: a decode that needs more is cut at it */
	lim.cpu_ms = 20;
	CHECK(snprintf(path, sizeof path, "%s/png_6000x6000.png", dir) < (int)sizeof path &&
		  run(path, &lim, &r) == 0 && r.rc == ERR_INVALID &&
		  strstr(r.err, "took longer than 20 ms of CPU") && r.cpu_ms <= 20 + CHECK_SLACK_MS,
	      "20 ms budget ends a 6000x6000 PNG after %.1f ms (%s)", r.cpu_ms, r.err);
	return tap_done();
}
