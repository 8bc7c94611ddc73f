#include "file.h"
#include "err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int file_read(const char *path, size_t max, uint8_t **buf, size_t *len, char *err)
{
	struct stat st;
	uint8_t *b = NULL;
	size_t n = 0, cap;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(err, ERR_IO, "%s", strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = err_set(err, ERR_IO, "not a regular file");
		goto fail;
	}
	if ((uintmax_t)st.st_size > max) {
		rc = err_set(err, ERR_TOO_LARGE, "larger than %zu bytes", max);
		goto fail;
	}
	/* One byte beyond the size seen, to notice a file that grew. */
	cap = (size_t)st.st_size + 1;
	if (!(b = malloc(cap))) {
		rc = err_set(err, ERR_NOMEM, "out of memory");
		goto fail;
	}
	for (;;) {
		ssize_t got;
		if (n == cap) {
			uint8_t *nb;
			if (cap > max) {
				rc = err_set(err, ERR_TOO_LARGE, "larger than %zu bytes", max);
				goto fail;
			}
			cap = cap > max / 2 ? max + 1 : cap * 2;
			if (!(nb = realloc(b, cap))) {
				rc = err_set(err, ERR_NOMEM, "out of memory");
				goto fail;
			}
			b = nb;
		}
		got = read(fd, b + n, cap - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			rc = err_set(err, ERR_IO, "%s", strerror(errno));
			goto fail;
		}
		if (got == 0)
			break;
		n += (size_t)got;
	}
	if (n > max) {
		rc = err_set(err, ERR_TOO_LARGE, "larger than %zu bytes", max);
		goto fail;
	}
	close(fd);
	*buf = b;
	*len = n;
	return 0;
fail:
	free(b);
	close(fd);
	return rc;
}
