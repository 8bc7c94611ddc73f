#include "config.h"
#include "err.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *config_env(const char *name, const char *def)
{
	const char *v = getenv(name);
	return v && *v ? v : def;
}

static int pick_rundir(const char *dir, char *out, size_t outlen, char *err)
{
	int n;
	const char *xdg;

	if (!dir)
		dir = config_env("RUNTIME_DIRECTORY", NULL);
	if (dir) {
		/* systemd may pass several directories separated by ':'. */
		size_t len = strcspn(dir, ":");
		n = snprintf(out, outlen, "%.*s", (int)len, dir);
	} else if ((xdg = config_env("XDG_RUNTIME_DIR", NULL)) != NULL) {
		n = snprintf(out, outlen, "%s/mnist", xdg);
	} else {
		n = snprintf(out, outlen, "/tmp/mnist-%u", (unsigned)getuid());
	}
	if (n < 0 || (size_t)n >= outlen)
		return err_set(err, ERR_INVALID, "run directory path too long");
	return 0;
}

int config_rundir(const char *dir, char *out, size_t outlen, char *err)
{
	struct stat st;
	int rc = pick_rundir(dir, out, outlen, err);

	if (rc)
		return rc;
	if (mkdir(out, 0700) != 0 && errno != EEXIST)
		return err_set(err, ERR_IO, "cannot create run directory %s: %s", out,
			       strerror(errno));
	if (lstat(out, &st) != 0)
		return err_set(err, ERR_IO, "cannot stat run directory %s: %s", out,
			       strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return err_set(err, ERR_IO, "run directory %s is not a directory", out);
	if (st.st_uid != getuid() && st.st_uid != 0)
		return err_set(err, ERR_IO, "run directory %s is owned by uid %u, not us", out,
			       (unsigned)st.st_uid);
	if (st.st_mode & S_IWOTH)
		return err_set(err, ERR_IO, "run directory %s is world-writable", out);
	return 0;
}

int config_ipc_url(const char *rundir, const char *name, char *out, size_t outlen, char *err)
{
	int n = snprintf(out, outlen, "ipc://%s/%s", rundir, name);
	if (n < 0 || (size_t)n >= outlen)
		return err_set(err, ERR_INVALID, "socket path too long: %s/%s", rundir, name);
	return 0;
}

int config_parse_ulong(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (!s || *s < '0' || *s > '9')
		return ERR_INVALID;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return ERR_INVALID;
	*out = v;
	return 0;
}

int config_parse_size(const char *s, size_t *out)
{
	char *end;
	unsigned long long v, mul = 1;

	if (!s || *s < '0' || *s > '9')
		return ERR_INVALID;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return ERR_INVALID;
	switch (*end) {
	case 'k':
	case 'K':
		mul = 1ULL << 10;
		end++;
		break;
	case 'm':
	case 'M':
		mul = 1ULL << 20;
		end++;
		break;
	case 'g':
	case 'G':
		mul = 1ULL << 30;
		end++;
		break;
	default: break;
	}
	if ((*end == 'b' || *end == 'B') && mul > 1)
		end++;
	if (*end || v > SIZE_MAX / mul)
		return ERR_INVALID;
	*out = (size_t)(v * mul);
	return 0;
}
