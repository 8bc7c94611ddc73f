/*
 * intake: decoded rows -> the normaliser's working plane, under a CPU-time
 * budget. Rows are converted to floats and area-averaged into at most
 * IMG_WORK_MAX on the long side as they arrive (resample.c), so no decode
 * holds a full-size frame; gray+alpha rows become two planes, gray x alpha
 * and alpha, composited after the reduction (composite.c), while the
 * backdrop's statistics are gathered from the full-size pixels. The clock
 * is this thread's CPU time, read once per 64 Ki pixels. Contract in
 * norm.h.
 */
#include "norm.h"

#include "err.h"
#include "decode.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double thread_cpu_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

void img_intake_init(struct img_intake *in, const struct img_limits *lim)
{
	memset(in, 0, sizeof *in);
	if (lim)
		in->lim = *lim;
	else
		img_limits_default(&in->lim);
	if (in->lim.cpu_ms == 0)
		in->lim.cpu_ms = IMG_CPU_MS_DEFAULT;
	in->orient = 1;
}

/* The clock starts at the first check: what runs before it is at most one
 * check's interval of work, and a small image, which never gets that far,
 * reads no clock at all (on a paravirtualised VM a read is a system call
 * of several microseconds). */
int img_intake_check(struct img_intake *in, char *err)
{
	double now = thread_cpu_ns();

	if (in->deadline_ns == 0)
		in->deadline_ns = now + in->lim.cpu_ms * 1e6;
	else if (now > in->deadline_ns)
		return err_set(err, ERR_INVALID, "decoding took longer than %u ms of CPU",
			       in->lim.cpu_ms);
	return 0;
}

/* The working size: the long side at most IMG_WORK_MAX, aspect kept. */
static void work_size(size_t w, size_t h, size_t *ww, size_t *wh)
{
	size_t big = w > h ? w : h;
	*ww = w, *wh = h;
	if (big <= IMG_WORK_MAX)
		return;
	*ww = (size_t)lround((double)w * IMG_WORK_MAX / big);
	*wh = (size_t)lround((double)h * IMG_WORK_MAX / big);
	*ww = *ww ? *ww : 1, *wh = *wh ? *wh : 1;
}

int img_intake_begin(struct img_intake *in, size_t w, size_t h, int ch, char *err)
{
	size_t ww, wh;
	int rc = img_check_limits(w, h, &in->lim, err), k;
	if (rc < 0)
		return rc;
	if (ch != 1 && ch != 2)
		return err_set(err, ERR_INVALID, "image has no pixels");
	work_size(w, h, &ww, &wh);
	in->w = w, in->h = h, in->ch = ch, in->ww = ww, in->wh = wh;
	in->plane = malloc(ww * wh * (size_t)ch * sizeof *in->plane);
	in->row = malloc(w * (size_t)ch * sizeof *in->row);
	in->hr = malloc(ww * sizeof *in->hr);
	if (!in->plane || !in->row || !in->hr)
		return err_set(err, ERR_NOMEM, "out of memory for a %zux%zu image", w, h);
	for (k = 0; k < ch; k++)
		img_reduce_start(&in->r[k], w, h, in->plane + (size_t)k * ww * wh, ww, wh, in->hr);
	return 0;
}

int img_intake_row(struct img_intake *in, size_t y, const uint8_t *px, size_t x0, size_t dx,
		   size_t n, char *err)
{
	float *g = in->row, *a = in->row + in->w;
	size_t k;
	if (y >= in->h || n == 0 || x0 + (n - 1) * dx >= in->w)
		return err_set(err, ERR_INTERNAL, "image row %zu out of bounds", y);
	if (x0 != 0 || dx != 1 || n != in->w) /* part of a row: zero elsewhere */
		memset(in->row, 0, in->w * (size_t)in->ch * sizeof *in->row);
	if (in->ch == 1) {
		for (k = 0; k < n; k++)
			g[x0 + k * dx] = px[k];
	} else {
		for (k = 0; k < n; k++) {
			float al = px[2 * k + 1] / 255.0f;
			g[x0 + k * dx] = px[2 * k] * al;
			a[x0 + k * dx] = al;
		}
		img_backdrop_add(&in->bd, px, n);
		img_reduce_row(&in->r[1], y, a);
	}
	img_reduce_row(&in->r[0], y, g);
	in->since += in->w;
	if (in->since < IMG_CHECK_PIXELS)
		return 0;
	in->since = 0;
	return img_intake_check(in, err);
}

void img_intake_free(struct img_intake *in)
{
	free(in->plane);
	free(in->row);
	free(in->hr);
	in->plane = in->row = in->hr = NULL;
}
