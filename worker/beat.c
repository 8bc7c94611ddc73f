/* beat: per-thread progress marks; see beat.h. */
#include "beat.h"

uint64_t beat_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void beat_init(struct beat *b)
{
	atomic_init(&b->tick_us, beat_now_us());
	atomic_init(&b->busy_since_us, 0);
	atomic_init(&b->has_cpu, false);
	b->seen_cpu_ns = 0;
	b->seen_at_us = 0;
}

void beat_watch(struct beat *b, pthread_t thread)
{
	if (pthread_getcpuclockid(thread, &b->cpu) == 0)
		atomic_store(&b->has_cpu, true);
}

void beat_idle(struct beat *b)
{
	atomic_store(&b->busy_since_us, 0);
	atomic_store(&b->tick_us, beat_now_us());
}

void beat_busy(struct beat *b)
{
	uint64_t now = beat_now_us();
	atomic_store(&b->tick_us, now);
	atomic_store(&b->busy_since_us, now);
}

static bool cpu_moved(struct beat *b, uint64_t now, uint64_t stall_us)
{
	struct timespec ts;
	uint64_t ns;

	if (!atomic_load(&b->has_cpu) || clock_gettime(b->cpu, &ts) != 0)
		return false;
	ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	if (ns != b->seen_cpu_ns) {
		b->seen_cpu_ns = ns;
		b->seen_at_us = now;
		return true;
	}
	return now - b->seen_at_us < stall_us;
}

bool beat_alive(struct beat *b, uint64_t now, uint64_t stall_us, uint64_t max_job_us)
{
	uint64_t busy = atomic_load(&b->busy_since_us);
	uint64_t tick = atomic_load(&b->tick_us);

	if (!busy)
		return now < tick || now - tick < stall_us;
	if (now < busy || now - busy < stall_us)
		return true;
	if (now - busy > max_job_us)
		return false;
	return cpu_moved(b, now, stall_us);
}
