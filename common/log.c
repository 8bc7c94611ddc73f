#include "log.h"
#include "err.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* Set once at start-up by log_init (before threads); read-only afterwards. */
static char prog[32] = "mnist";
static atomic_int level = LOG_INFO;

static const char *const names[] = {"debug", "info", "warn", "error"};

void log_init(const char *progname)
{
	const char *slash = strrchr(progname, '/');
	const char *v = getenv("MNIST_LOG_LEVEL");
	enum log_level l;

	snprintf(prog, sizeof prog, "%s", slash ? slash + 1 : progname);
	if (v && log_level_parse(v, &l) == 0)
		log_set_level(l);
}

int log_level_parse(const char *name, enum log_level *out)
{
	for (int i = LOG_DEBUG; i <= LOG_ERROR; i++)
		if (strcasecmp(name, names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	return ERR_INVALID;
}

void log_set_level(enum log_level l)
{
	atomic_store(&level, l);
}

int log_enabled(enum log_level l)
{
	return (int)l >= atomic_load(&level);
}

void log_msg(enum log_level l, const char *fmt, ...)
{
	char line[1024];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	size_t n;
	int k;

	if (!log_enabled(l))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
	k = snprintf(line + n, sizeof line - n, ".%03ldZ %s %s[%ld] ", ts.tv_nsec / 1000000,
		     names[l], prog, (long)getpid());
	if (k > 0)
		n += (size_t)k < sizeof line - n ? (size_t)k : sizeof line - n - 1;
	va_start(ap, fmt);
	k = vsnprintf(line + n, sizeof line - n, fmt, ap);
	va_end(ap);
	if (k > 0)
		n += (size_t)k < sizeof line - n ? (size_t)k : sizeof line - n - 1;
	/* Keep one line per event even if the message held newlines. */
	for (size_t i = 0; i < n; i++)
		if (line[i] == '\n')
			line[i] = ' ';
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}
