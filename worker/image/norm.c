/*
 * The normaliser's driver: the stages in the order MNIST was made, each in
 * its own file (stages.h lists them and their contracts):
 * 1. area-average large images down to IMG_WORK_MAX on the long side as
 *    the decoder hands over their rows (intake.c, resample.c); nothing
 *    after that needs more pixels, and time and memory stay bounded;
 * 2. composite transparency onto a contrasting backdrop (composite.c) and
 *    turn the plane upright (EXIF orientation, exif.c);
 * 3. make the ink bright and subtract the background (background.c);
 * 4. find the ink threshold and the noise floor (levels.c);
 * 5. remove printed frames around the digit (frame.c), and find the levels
 *    again without them; keep the digit's connected ink components (ink.c);
 * 6. stretch the contrast (levels.c), crop to the ink, scale into 20x20 and
 *    centre by centre of mass in 28x28 (place.c).
 */
#include "norm.h"
#include "stages.h"

#include "decode.h"
#include "err.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The CPU budget between two stages, on a plane large enough to matter. */
static int stage_check(struct img_intake *in, size_t w, size_t h, char *err)
{
	return w * h >= IMG_CHECK_PIXELS ? img_intake_check(in, err) : 0;
}

/* Steps 3-6 on the working plane v (w x h gray levels), checking the CPU
 * budget between them. */
static int normalise_plane(float *v, size_t w, size_t h, struct img_intake *in, float *out,
			   char *err)
{
	struct img_levels L;
	struct img_box bb;
	int faint;
	float *tmp = malloc(w * h * sizeof *tmp);
	int rc = ERR_NOMEM;

	if (!tmp)
		goto nomem;
	rc = img_fix_polarity(v, w, h, tmp);
	if (rc == 0)
		rc = img_subtract_background(v, w, h, tmp);
	free(tmp);
	if (rc < 0)
		goto nomem;
	rc = stage_check(in, w, h, err);
	if (rc < 0)
		return rc;
	L = img_find_levels(v, w, h);
	if (L.blank)
		return 0;
	/* Frames are looked for halfway between the noise floor and the ink
	 * threshold, so a frame printed fainter than the digit is whole. */
	rc = img_remove_frames(v, w, h, 0.5f * (L.lo + L.t), &faint);
	if (rc < 0)
		goto nomem;
	if (rc > 0) {
		L = img_find_levels(v, w, h);
		if (L.blank || faint)
			return 0;
	}
	rc = img_keep_ink(v, w, h, L.t, &bb);
	if (rc < 0)
		goto nomem;
	if (bb.x1 <= bb.x0 || bb.y1 <= bb.y0)
		return 0;
	rc = stage_check(in, w, h, err);
	if (rc < 0)
		return rc;
	img_stretch(v, w * h, L.lo, L.hi);
	img_grow_to_faint(v, w, h, &bb);
	rc = img_box_and_place(v, w, &bb, out);
	if (rc == 0)
		return 0;
nomem:
	return err_set(err, rc, "out of memory normalising a %zux%zu image", in->w, in->h);
}

int img_normalise_intake(struct img_intake *in, float *out, char *err)
{
	size_t w = in->ww, h = in->wh, n = w * h;
	float *v = in->plane, *turned = NULL;
	int rc;

	memset(out, 0, IMG_SIDE * IMG_SIDE * sizeof *out);
	if (!v)
		return err_set(err, ERR_INVALID, "image has no pixels");
	/* 1-2: the rows were averaged into the working plane as they arrived */
	img_reduce_finish(&in->r[0]);
	if (in->ch == 2) {
		img_reduce_finish(&in->r[1]);
		img_composite(v, v + n, n, img_backdrop_pick(&in->bd));
	}
	if (in->orient != 1) {
		turned = malloc(n * sizeof *turned);
		if (!turned)
			return err_set(err, ERR_NOMEM, "out of memory turning an image upright");
		img_orient(v, turned, &w, &h, in->orient);
		v = turned;
	}
	rc = normalise_plane(v, w, h, in, out, err);
	free(turned);
	return rc;
}

int img_normalise(const uint8_t *px, size_t w, size_t h, int ch, float *out, char *err)
{
	struct img_intake in;
	size_t y;
	int rc;

	memset(out, 0, IMG_SIDE * IMG_SIDE * sizeof *out);
	img_intake_init(&in, NULL);
	rc = img_intake_begin(&in, w, h, ch, err);
	for (y = 0; rc == 0 && y < h; y++)
		rc = img_intake_row(&in, y, px + y * w * (size_t)ch, 0, 1, w, err);
	if (rc == 0)
		rc = img_normalise_intake(&in, out, err);
	img_intake_free(&in);
	return rc;
}
