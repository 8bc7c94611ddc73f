#include "modelver.h"
#include "err.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct {
	pthread_mutex_t mu;
	modelver_t v[MODELVER_MAX];
	uint64_t seen_ms[MODELVER_MAX]; /* 0 = free slot */
} t = {.mu = PTHREAD_MUTEX_INITIALIZER};

void modelver_reset(void)
{
	pthread_mutex_lock(&t.mu);
	memset(t.v, 0, sizeof t.v);
	memset(t.seen_ms, 0, sizeof t.seen_ms);
	pthread_mutex_unlock(&t.mu);
}

static bool valid(const char *v, size_t n)
{
	if (n == 0 || n > PROTO_MODEL_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((v[i] >= '0' && v[i] <= '9') || (v[i] >= 'a' && v[i] <= 'z')))
			return false;
	return true;
}

static bool fresh(int i, uint64_t now_ms)
{
	return t.seen_ms[i] && now_ms - t.seen_ms[i] <= MODELVER_TTL_MS;
}

void modelver_seen(const char *v, uint64_t now_ms)
{
	size_t n = v ? strnlen(v, PROTO_MODEL_MAX + 1) : 0;
	int slot = -1;

	if (!valid(v, n))
		return;
	if (now_ms == 0)
		now_ms = 1; /* 0 marks a free slot */
	pthread_mutex_lock(&t.mu);
	for (int i = 0; i < MODELVER_MAX; i++) {
		if (t.seen_ms[i] && !strcmp(t.v[i], v)) {
			slot = i;
			break;
		}
		/* else the free or the oldest slot */
		if (slot < 0 || t.seen_ms[i] < t.seen_ms[slot])
			slot = i;
	}
	memcpy(t.v[slot], v, n + 1);
	t.seen_ms[slot] = now_ms;
	pthread_mutex_unlock(&t.mu);
}

size_t modelver_current(modelver_t *out, size_t max, uint64_t now_ms)
{
	size_t n = 0;
	uint64_t after = UINT64_MAX; /* take them newest first */

	pthread_mutex_lock(&t.mu);
	while (n < max) {
		int best = -1;
		for (int i = 0; i < MODELVER_MAX; i++)
			if (fresh(i, now_ms) && t.seen_ms[i] < after &&
			    (best < 0 || t.seen_ms[i] > t.seen_ms[best]))
				best = i;
		if (best < 0)
			break;
		memcpy(out[n++], t.v[best], sizeof t.v[best]);
		after = t.seen_ms[best];
		/* equal times: the others with it next */
		for (int i = 0; i < MODELVER_MAX && n < max; i++)
			if (i != best && fresh(i, now_ms) && t.seen_ms[i] == after)
				memcpy(out[n++], t.v[i], sizeof t.v[i]);
	}
	pthread_mutex_unlock(&t.mu);
	return n;
}

bool modelver_is_current(const char *v, size_t len, uint64_t now_ms)
{
	modelver_t cur[MODELVER_MAX];
	size_t n = modelver_current(cur, MODELVER_MAX, now_ms);

	for (size_t i = 0; i < n; i++)
		if (strlen(cur[i]) == len && memcmp(cur[i], v, len) == 0)
			return true;
	return false;
}

int modelver_metrics(char **text, size_t *len, uint64_t now_ms)
{
	static const char head[] = "# HELP mnist_model_info The model versions the workers serve "
				   "(first 12 hex of the weights' SHA-256).\n"
				   "# TYPE mnist_model_info gauge\n";
	modelver_t cur[MODELVER_MAX];
	size_t n = modelver_current(cur, MODELVER_MAX, now_ms);
	size_t cap = *len + sizeof head + n * (sizeof cur[0] + 40);
	char *p = realloc(*text, cap);
	size_t at = *len;

	if (!p)
		return ERR_NOMEM;
	at += (size_t)snprintf(p + at, cap - at, "%s", head);
	for (size_t i = 0; i < n; i++)
		at += (size_t)snprintf(p + at, cap - at, "mnist_model_info{version=\"%s\"} 1\n",
				       cur[i]);
	*text = p;
	*len = at;
	return 0;
}
