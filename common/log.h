/*
 * log: one line per event on stderr (journald and docker logs collect it):
 *   2026-11-25T22:40:01.123Z info mnist-worker[1234] message
 * Level from $MNIST_LOG_LEVEL (debug, info, warn, error; default info) or
 * log_set_level(). Lines are written with one write(2), so concurrent threads
 * and processes do not interleave within a line. Thread-safe.
 */
#ifndef MNIST_LOG_H
#define MNIST_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_init(const char *progname); /* reads MNIST_LOG_LEVEL */
void log_set_level(enum log_level level);
/* "debug", "info", "warn" or "error" (any case) into *out: 0, or ERR_INVALID. */
int log_level_parse(const char *name, enum log_level *out);
int log_enabled(enum log_level level);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
