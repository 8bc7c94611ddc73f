#include "log.h"
#include "err.h"

#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* Set once at start-up by log_init (before threads); read-only afterwards. */
static char prog[32] = "mnist";
static atomic_int level = LOG_INFO;
static atomic_int format = LOG_TEXT;

static const char *const names[] = {"debug", "info", "warn", "error"};
static const char *const format_names[] = {"text", "json"};

void log_init(const char *progname)
{
	const char *slash = strrchr(progname, '/');
	const char *v = getenv("MNIST_LOG_LEVEL");
	const char *f = getenv("MNIST_LOG_FORMAT");
	enum log_level l;
	enum log_format lf;

	snprintf(prog, sizeof prog, "%s", slash ? slash + 1 : progname);
	if (v && log_level_parse(v, &l) == 0)
		log_set_level(l);
	if (f && log_format_parse(f, &lf) == 0)
		log_set_format(lf);
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

int log_format_parse(const char *name, enum log_format *out)
{
	for (int i = LOG_TEXT; i <= LOG_JSON; i++)
		if (strcasecmp(name, format_names[i]) == 0) {
			*out = (enum log_format)i;
			return 0;
		}
	return ERR_INVALID;
}

void log_set_level(enum log_level l)
{
	atomic_store(&level, l);
}

void log_set_format(enum log_format f)
{
	atomic_store(&format, f);
}

enum log_format log_get_format(void)
{
	return (enum log_format)atomic_load(&format);
}

int log_enabled(enum log_level l)
{
	return (int)l >= atomic_load(&level);
}

/* A line being built; appends past the end are dropped (the line is cut),
 * keeping room for a closing "}\n". */
struct line {
	char buf[LOG_LINE_MAX];
	size_t n;
};
#define LINE_ROOM (LOG_LINE_MAX - 3)
/* Escaped bytes of one JSON string at most, so that a long message or
 * field never pushes the rest of the object (and its closing quotes) off
 * the line: 2 x 1024 + 4 x 512 + the fixed members < LINE_ROOM. */
#define MSG_CAP 1024u
#define FIELD_CAP 512u

static void put_raw(struct line *ln, const char *s, size_t len)
{
	size_t room = LINE_ROOM - ln->n;

	if (len > room)
		len = room;
	memcpy(ln->buf + ln->n, s, len);
	ln->n += len;
}

__attribute__((format(printf, 2, 0))) static void put_v(struct line *ln, const char *fmt,
							va_list ap)
{
	int k = vsnprintf(ln->buf + ln->n, LINE_ROOM + 1 - ln->n, fmt, ap);
	if (k > 0)
		ln->n += (size_t)k < LINE_ROOM - ln->n ? (size_t)k : LINE_ROOM - ln->n;
}

__attribute__((format(printf, 2, 3))) static void put_f(struct line *ln, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	put_v(ln, fmt, ap);
	va_end(ap);
}

/* s as the inside of a JSON string: quotes, backslashes and control bytes
 * escaped, bytes outside ASCII as '?'. */
static void put_json_chars(struct line *ln, const char *s, size_t len, size_t cap)
{
	size_t stop = ln->n + cap < LINE_ROOM - 8 ? ln->n + cap : LINE_ROOM - 8;

	for (size_t i = 0; i < len && ln->n < stop; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			put_f(ln, "\\%c", c);
		else if (c < 0x20)
			put_f(ln, "\\u%04x", c);
		else
			put_raw(ln, c < 0x80 ? (const char *)&c : "?", 1);
	}
}

static void put_json_str(struct line *ln, const char *key, const char *s, size_t len)
{
	put_f(ln, ",\"%s\":\"", key);
	put_json_chars(ln, s, len, strcmp(key, "msg") ? FIELD_CAP : MSG_CAP);
	put_raw(ln, "\"", 1);
}

static void put_num(struct line *ln, double v)
{
	if (!isfinite(v))
		put_raw(ln, "null", 4);
	else if (v == (double)(long long)v && fabs(v) < 9e15)
		put_f(ln, "%lld", (long long)v);
	else
		put_f(ln, "%.6g", v);
}

static void put_fields(struct line *ln, bool json, const struct log_field *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!json && f[i].json_only)
			continue;
		if (json && f[i].str) {
			put_json_str(ln, f[i].key, f[i].str, f[i].str_len);
			continue;
		}
		put_f(ln, json ? ",\"%s\":" : " %s=", f[i].key);
		if (f[i].str)
			put_raw(ln, f[i].str, f[i].str_len);
		else
			put_num(ln, f[i].num);
	}
}

__attribute__((format(printf, 6, 0))) static void emit(enum log_level l, const char *id,
						       size_t id_len, const struct log_field *f,
						       size_t n, const char *fmt, va_list ap)
{
	struct line ln;
	struct timespec ts;
	struct tm tm;
	char stamp[40];
	bool json = atomic_load(&format) == LOG_JSON;

	ln.n = 0;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
	if (json) {
		char msg[LOG_LINE_MAX];
		int k = vsnprintf(msg, sizeof msg, fmt, ap);
		put_f(&ln, "{\"ts\":\"%s.%03ldZ\",\"level\":\"%s\",\"prog\":\"%s\",\"pid\":%ld",
		      stamp, ts.tv_nsec / 1000000, names[l], prog, (long)getpid());
		put_json_str(&ln, "msg", msg,
			     k < 0		      ? 0
			     : (size_t)k < sizeof msg ? (size_t)k
						      : sizeof msg - 1);
		if (id)
			put_json_str(&ln, "request_id", id, id_len);
		put_fields(&ln, true, f, n);
		ln.buf[ln.n++] = '}';
	} else {
		put_f(&ln, "%s.%03ldZ %s %s[%ld] ", stamp, ts.tv_nsec / 1000000, names[l], prog,
		      (long)getpid());
		put_v(&ln, fmt, ap);
		if (id) {
			put_raw(&ln, " request_id=", 12);
			put_raw(&ln, id, id_len);
		}
		put_fields(&ln, false, f, n);
		/* Keep one line per event even if the message held newlines. */
		for (size_t i = 0; i < ln.n; i++)
			if (ln.buf[i] == '\n')
				ln.buf[i] = ' ';
	}
	ln.buf[ln.n++] = '\n';
	if (write(STDERR_FILENO, ln.buf, ln.n) < 0)
		return;
}

void log_msg(enum log_level l, const char *fmt, ...)
{
	va_list ap;

	if (!log_enabled(l))
		return;
	va_start(ap, fmt);
	emit(l, NULL, 0, NULL, 0, fmt, ap);
	va_end(ap);
}

void log_req(enum log_level l, const char *id, size_t id_len, const struct log_field *fields,
	     size_t n, const char *fmt, ...)
{
	va_list ap;

	if (!log_enabled(l))
		return;
	va_start(ap, fmt);
	emit(l, id, id_len, fields, n, fmt, ap);
	va_end(ap);
}
