/*
 * Unit tests of the frame stage (worker/image/frame.c) on drawn planes:
 * boxes, circles, open and gapped boxes, a box cut by the image's edge, a
 * turned box, a digit touching its box, a form of boxes, an empty box (no
 * digit left, so faint), and what must stay: a thick ring (a handwritten
 * 0), a thin straight stroke (a 1), a 7. Twenty nested boxes: only the
 * eight largest are examined (bounded work). Then the whole normaliser: a
 * digit in a box gives nearly the 28x28 of the same digit without it.
 */
#include "err.h"
#include "image.h"
#include "norm.h"
#include "stages.h"
#include "tap.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S 200
#define INK 200.0f

static float plane[S * S];
static uint8_t digit_mask[S * S];

static void clear(void)
{
	memset(plane, 0, sizeof plane);
	memset(digit_mask, 0, sizeof digit_mask);
}

static void dot(double x, double y, float val, int digit)
{
	long xi = lround(x), yi = lround(y);
	if (xi < 0 || yi < 0 || xi >= S || yi >= S)
		return;
	plane[yi * S + xi] = val;
	digit_mask[yi * S + xi] |= (uint8_t)digit;
}

/* A thick line from (x0, y0) to (x1, y1), width px wide. */
static void line(double x0, double y0, double x1, double y1, double width, int digit)
{
	double len = hypot(x1 - x0, y1 - y0), t, u;
	for (t = 0; t <= len; t += 0.5)
		for (u = -width / 2; u <= width / 2; u += 0.5)
			dot(x0 + (x1 - x0) * t / len - (y1 - y0) / len * u,
			    y0 + (y1 - y0) * t / len + (x1 - x0) / len * u, INK, digit);
}

/* A box turned by deg about its centre; skip: side left out (-1 none). */
static void box(double x0, double y0, double x1, double y1, double lw, double deg, int skip)
{
	double cx = (x0 + x1) / 2, cy = (y0 + y1) / 2, a = deg * M_PI / 180;
	double px[4] = {x0, x1, x1, x0}, py[4] = {y0, y0, y1, y1}, qx[4], qy[4];
	for (int i = 0; i < 4; i++) {
		qx[i] = cx + (px[i] - cx) * cos(a) - (py[i] - cy) * sin(a);
		qy[i] = cy + (px[i] - cx) * sin(a) + (py[i] - cy) * cos(a);
	}
	for (int i = 0; i < 4; i++)
		if (i != skip)
			line(qx[i], qy[i], qx[(i + 1) % 4], qy[(i + 1) % 4], lw, 0);
}

static void ellipse(double cx, double cy, double a, double b, double lw, int digit)
{
	for (double t = 0; t < 2 * M_PI; t += 0.002)
		for (double u = -lw / 2; u <= lw / 2; u += 0.5)
			dot(cx + (a + u) * cos(t), cy + (b + u) * sin(t), INK, digit);
}

/* A thick-stroked "2"-like digit in the box (x0, y0)-(x0 + s, y0 + s). */
static void digit(double x0, double y0, double s)
{
	double sw = s * 0.14;
	line(x0 + 0.1 * s, y0 + 0.2 * s, x0 + 0.5 * s, y0 + 0.05 * s, sw, 1);
	line(x0 + 0.5 * s, y0 + 0.05 * s, x0 + 0.9 * s, y0 + 0.3 * s, sw, 1);
	line(x0 + 0.9 * s, y0 + 0.3 * s, x0 + 0.1 * s, y0 + 0.95 * s, sw, 1);
	line(x0 + 0.1 * s, y0 + 0.95 * s, x0 + 0.95 * s, y0 + 0.95 * s, sw, 1);
}

struct outcome {
	int removed, faint;
	double frame_left, digit_kept; /* shares of the frame's / digit's pixels above 0 */
};

static struct outcome run(void)
{
	static float before[S * S];
	struct outcome o = {0};
	size_t nf = 0, nd = 0, kf = 0, kd = 0;
	memcpy(before, plane, sizeof plane);
	o.removed = img_remove_frames(plane, S, S, INK / 2, &o.faint);
	for (size_t i = 0; i < S * S; i++) {
		if (before[i] <= 0)
			continue;
		if (digit_mask[i])
			nd++, kd += plane[i] > 0;
		else
			nf++, kf += plane[i] > 0;
	}
	o.frame_left = nf ? (double)kf / (double)nf : 0;
	o.digit_kept = nd ? (double)kd / (double)nd : 1;
	return o;
}

static void expect_frame(const char *name, double digit_min)
{
	struct outcome o = run();
	CHECK(o.removed >= 1 && o.frame_left < 0.02 && o.digit_kept >= digit_min && !o.faint,
	      "%s: frame removed (%d, %.3f of it left), digit kept (%.3f >= %.2f)", name, o.removed,
	      o.frame_left, o.digit_kept, digit_min);
}

static void expect_kept(const char *name)
{
	struct outcome o = run();
	CHECK(o.removed == 0 && o.digit_kept == 1.0, "%s: not a frame, left whole (%d, %.3f)", name,
	      o.removed, o.digit_kept);
}

static void frames(void)
{
	clear(), box(15, 15, 185, 185, 3, 0, -1), digit(55, 50, 90);
	expect_frame("box", 1.0);
	clear(), ellipse(100, 100, 85, 90, 3, 0), digit(60, 55, 80);
	expect_frame("circle", 1.0);
	clear(), box(15, 15, 185, 185, 3, 0, 1), digit(55, 50, 90); /* right side open */
	expect_frame("open box", 1.0);
	clear(), box(15, 15, 185, 185, 3, 3.5, -1), digit(55, 50, 90);
	expect_frame("box turned 3.5 degrees", 1.0);
	clear(), box(12, -20, 230, 186, 3, 0, -1), digit(55, 50, 90); /* only left and bottom */
	expect_frame("box cut by the top and right edges (an L)", 1.0);
	clear(), box(15, 15, 185, 185, 3, 0, -1),
	    digit(8, 40, 120); /* strokes over the left line */
	expect_frame("digit touching its box", 0.85);
	clear(), ellipse(100, 100, 85, 85, 3, 0), digit(6, 60, 80);
	expect_frame("digit touching its circle", 0.8);
	clear();
	for (int i = 0; i < 3; i++)
		box(10 + i * 65, 70, 60 + i * 65, 120, 2, 0, -1);
	digit(80, 77, 36);
	{
		struct outcome o = run();
		CHECK(o.removed == 3 && o.frame_left < 0.02 && o.digit_kept == 1.0,
		      "form of three boxes: all removed (%d, %.3f left), digit kept (%.3f)",
		      o.removed, o.frame_left, o.digit_kept);
	}
	clear(), box(15, 15, 185, 185, 3, 0, -1);
	{
		struct outcome o = run();
		CHECK(o.removed == 1 && o.faint && o.frame_left < 0.02,
		      "empty box: removed, nothing left (faint %d, %.3f left)", o.faint,
		      o.frame_left);
	}
}

static void digits_stay(void)
{
	clear(), ellipse(100, 100, 45, 70, 20, 1);
	expect_kept("thick ring (a handwritten 0)");
	clear(), line(100, 20, 100, 180, 6, 1);
	expect_kept("thin straight stroke (a 1)");
	clear(), line(40, 30, 160, 30, 5, 1), line(160, 30, 80, 180, 5, 1);
	expect_kept("thin 7");
	clear(), digit(40, 40, 120);
	expect_kept("thick 2");
}

/* Bounded work: twenty nested boxes, each a frame, and only the largest
 * FRAME_MAX (8) are examined; the digit in the middle stays. */
static void nested_boxes(void)
{
	struct outcome o;
	clear();
	for (int i = 0; i < 20; i++)
		box(2 + 4 * i, 2 + 4 * i, 197 - 4 * i, 197 - 4 * i, 1.5, 0, -1);
	digit(88, 88, 24);
	o = run();
	CHECK(o.removed == 8 && o.digit_kept == 1.0,
	      "20 nested boxes: the 8 largest removed (%d), digit kept (%.3f)", o.removed,
	      o.digit_kept);
}

/* The normaliser: a boxed digit reads like the digit alone (dark on white). */
static void through_normaliser(void)
{
	static uint8_t g[S * S];
	float alone[784], boxed[784];
	char err[ERR_MAX];
	double d = 0;
	clear(), digit(55, 50, 90);
	for (size_t i = 0; i < S * S; i++)
		g[i] = plane[i] > 0 ? 30 : 220;
	img_gray_to_mnist(g, S, S, NULL, alone, err);
	box(15, 15, 185, 185, 3, 0, -1);
	for (size_t i = 0; i < S * S; i++)
		g[i] = plane[i] > 0 ? 30 : 220;
	img_gray_to_mnist(g, S, S, NULL, boxed, err);
	for (int i = 0; i < 784; i++)
		d += fabs(alone[i] - boxed[i]);
	CHECK(d / 784 < 0.01, "boxed digit normalises like the digit alone (mean diff %.4f)",
	      d / 784);
}

int main(void)
{
	frames();
	digits_stay();
	nested_boxes();
	through_normaliser();
	return tap_done();
}
