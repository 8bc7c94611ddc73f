/*
 * nngstat: a correct lookup of one scope in a statistics snapshot (see
 * nngstat.h).
 */
#include "nngstat.h"

#include <string.h>

/* The statistic name directly under s (not deeper), or NULL. */
static nng_stat *child(nng_stat *s, const char *name)
{
	for (nng_stat *c = nng_stat_child(s); c; c = nng_stat_next(c))
		if (!strcmp(nng_stat_name(c), name))
			return c;
	return NULL;
}

uint64_t nngstat_value(nng_stat *s, const char *name)
{
	nng_stat *v = s ? child(s, name) : NULL;
	return v ? nng_stat_value(v) : 0;
}

nng_stat *nngstat_find(nng_stat *s, const char *scope, uint32_t id)
{
	if (!s)
		return NULL;
	if (nng_stat_type(s) == NNG_STAT_SCOPE && !strcmp(nng_stat_name(s), scope)) {
		nng_stat *v = child(s, "id");
		if (v && nng_stat_value(v) == id)
			return s;
	}
	for (nng_stat *c = nng_stat_child(s); c; c = nng_stat_next(c)) {
		nng_stat *found = nngstat_find(c, scope, id);
		if (found)
			return found;
	}
	return NULL;
}
