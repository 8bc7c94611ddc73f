/*
 * The normaliser's driver: the stages in the order MNIST was made, each in
 * its own file (stages.h lists them and their contracts):
 * 1. composite transparency onto a contrasting backdrop (composite.c) and
 * 2. area-average large images down to IMG_WORK_MAX on the long side
 *    (resample.c); nothing after that needs more pixels, and time stays
 *    bounded;
 * 3. make the ink bright and subtract the background (background.c);
 * 4. find the ink threshold and the noise floor (levels.c);
 * 5. keep the digit's connected ink components (ink.c);
 * 6. stretch the contrast (levels.c), crop to the ink, scale into 20x20 and
 *    centre by centre of mass in 28x28 (place.c).
 */
#include "norm.h"
#include "stages.h"

#include "err.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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

static int normalise_plane(float *v, size_t w, size_t h, float *out)
{
	struct img_levels L;
	struct img_box bb;
	float *tmp = malloc(w * h * sizeof *tmp);
	int rc = ERR_NOMEM;

	if (!tmp)
		return rc;
	rc = img_fix_polarity(v, w, h, tmp);
	if (rc == 0)
		rc = img_subtract_background(v, w, h, tmp);
	free(tmp);
	if (rc < 0)
		return rc;
	L = img_find_levels(v, w, h);
	if (L.blank)
		return 0;
	rc = img_keep_ink(v, w, h, L.t, &bb);
	if (rc < 0)
		return rc;
	if (bb.x1 <= bb.x0 || bb.y1 <= bb.y0)
		return 0;
	img_stretch(v, w * h, L.lo, L.hi);
	img_grow_to_faint(v, w, h, &bb);
	return img_box_and_place(v, w, &bb, out);
}

int img_normalise(const uint8_t *px, size_t w, size_t h, int ch, float *out, char *err)
{
	struct img_gray_src src = {.px = px, .w = w, .ch = ch, .backdrop = -1};
	size_t ww, wh;
	float *work = NULL, *tmp = NULL;
	int rc = ERR_NOMEM;

	memset(out, 0, IMG_SIDE * IMG_SIDE * sizeof *out);
	if (w == 0 || h == 0 || (ch != 1 && ch != 2))
		return err_set(err, ERR_INVALID, "image has no pixels");
	if (ch == 2)
		src.backdrop = img_backdrop(px, w * h);
	work_size(w, h, &ww, &wh);
	work = malloc(ww * wh * sizeof *work);
	tmp = malloc((w + ww) * sizeof *tmp);
	if (!work || !tmp)
		goto fail;
	img_resize_rows(img_gray_row, &src, w, h, work, ww, wh, tmp);
	rc = normalise_plane(work, ww, wh, out);
fail:
	free(tmp);
	free(work);
	if (rc < 0)
		return err_set(err, rc, "out of memory normalising a %zux%zu image", w, h);
	return 0;
}
