#include "supervisor.h"
#include "clock.h"
#include "err.h"
#include "log.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define STABLE_MS 10000
#define TICK_MS 50

struct child {
	pid_t pid;	     /* 0 when not running */
	uint64_t started;    /* ms, monotonic */
	uint64_t restart_at; /* ms, when pid == 0 and a restart is due */
	unsigned backoff_ms;
	int cpu;	/* pinned to this CPU, or -1 */
	cpu_set_t cpus; /* {cpu}, made before fork */
};

struct supervisor {
	h2o_loop_t *loop;
	h2o_timeout_t tick;
	h2o_timeout_entry_t tick_entry;
	char *argv[10];
	struct child *kids;
	size_t n;
	bool stopping;
};

/* Each child's CPU: the allowed ones in turn, when pinning applies. */
static void pin_cpus(struct supervisor *s, bool pin)
{
	cpu_set_t allowed;
	int cpu[CPU_SETSIZE], n = 0;

	for (size_t i = 0; i < s->n; i++)
		s->kids[i].cpu = -1;
	if (!pin || s->n < 2 || sched_getaffinity(0, sizeof allowed, &allowed) != 0)
		return;
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &allowed))
			cpu[n++] = c;
	if (n < 2)
		return;
	for (size_t i = 0; i < s->n; i++) {
		struct child *k = &s->kids[i];
		k->cpu = cpu[i % (size_t)n];
		CPU_ZERO(&k->cpus);
		CPU_SET(k->cpu, &k->cpus);
	}
}

static int spawn(struct supervisor *s, struct child *c)
{
	sigset_t none;
	pid_t parent = getpid();
	pid_t pid = fork();

	if (pid < 0) {
		log_error("cannot fork a worker: %s", strerror(errno));
		return ERR_IO;
	}
	if (pid == 0) {
		/* Only async-signal-safe calls until exec. */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		/* Own process group: a terminal's Ctrl-C reaches the frontend
		 * only, which then stops the workers in order. */
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(1);
		if (c->cpu >= 0)
			sched_setaffinity(0, sizeof c->cpus, &c->cpus); /* kept across exec */
		execv(s->argv[0], s->argv);
		_exit(127);
	}
	c->pid = pid;
	c->started = clock_ms();
	if (c->cpu >= 0)
		log_info("started worker pid %ld on CPU %d", (long)pid, c->cpu);
	else
		log_info("started worker pid %ld", (long)pid);
	return 0;
}

static void arm_tick(struct supervisor *s)
{
	if (!h2o_timeout_is_linked(&s->tick_entry))
		h2o_timeout_link(s->loop, &s->tick, &s->tick_entry);
}

/* Restart the workers whose back-off has run out. */
static void on_tick(h2o_timeout_entry_t *entry)
{
	struct supervisor *s = H2O_STRUCT_FROM_MEMBER(struct supervisor, tick_entry, entry);
	uint64_t now = clock_ms();
	bool waiting = false;

	if (s->stopping)
		return;
	for (size_t i = 0; i < s->n; i++) {
		struct child *c = &s->kids[i];
		if (c->pid != 0)
			continue;
		if (now >= c->restart_at && spawn(s, c) == 0)
			continue;
		if (now >= c->restart_at)
			c->restart_at = now + c->backoff_ms;
		waiting = true;
	}
	if (waiting)
		arm_tick(s);
}

static void child_exited(struct supervisor *s, struct child *c, int status)
{
	uint64_t now = clock_ms(), lived = now - c->started;
	enum log_level lvl = s->stopping ? LOG_INFO : LOG_WARN;

	if (WIFSIGNALED(status))
		log_msg(lvl, "worker pid %ld killed by signal %d after %llu ms", (long)c->pid,
			WTERMSIG(status), (unsigned long long)lived);
	else
		log_msg(lvl, "worker pid %ld exited with status %d after %llu ms", (long)c->pid,
			WEXITSTATUS(status), (unsigned long long)lived);
	c->pid = 0;
	if (s->stopping)
		return;
	if (lived >= STABLE_MS)
		c->backoff_ms = BACKOFF_MIN_MS;
	c->restart_at = now + c->backoff_ms;
	log_info("restarting it in %u ms", c->backoff_ms);
	c->backoff_ms = c->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : c->backoff_ms * 2;
	arm_tick(s);
}

void supervisor_reap(struct supervisor *s)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (size_t i = 0; i < s->n; i++)
			if (s->kids[i].pid == pid)
				child_exited(s, &s->kids[i], status);
	}
}

int supervisor_start(const struct supervisor_opts *o, h2o_loop_t *loop, struct supervisor **out,
		     char *err)
{
	struct supervisor *s = calloc(1, sizeof *s);
	size_t a = 0;

	if (!s || !(s->kids = calloc(o->count ? o->count : 1, sizeof *s->kids))) {
		free(s);
		return err_set(err, ERR_NOMEM, "out of memory");
	}
	if (access(o->worker_bin, X_OK) != 0) {
		free(s->kids);
		free(s);
		return err_set(err, ERR_IO, "worker binary %s: %s", o->worker_bin, strerror(errno));
	}
	s->argv[a++] = (char *)o->worker_bin;
	s->argv[a++] = "--connect";
	s->argv[a++] = (char *)o->connect;
	if (o->weights) {
		s->argv[a++] = "--weights";
		s->argv[a++] = (char *)o->weights;
	}
	if (o->max_batch) {
		s->argv[a++] = "--max-batch";
		s->argv[a++] = (char *)o->max_batch;
	}
	s->argv[a] = NULL;
	s->loop = loop;
	s->n = o->count;
	pin_cpus(s, o->pin);
	h2o_timeout_init(loop, &s->tick, TICK_MS);
	s->tick_entry.cb = on_tick;
	for (size_t i = 0; i < s->n; i++) {
		s->kids[i].backoff_ms = BACKOFF_MIN_MS;
		if (spawn(s, &s->kids[i]) != 0) {
			s->kids[i].restart_at = clock_ms() + BACKOFF_MIN_MS;
			arm_tick(s);
		}
	}
	*out = s;
	return 0;
}

void supervisor_stop(struct supervisor *s)
{
	if (!s)
		return;
	s->stopping = true;
	if (h2o_timeout_is_linked(&s->tick_entry))
		h2o_timeout_unlink(&s->tick_entry);
	for (size_t i = 0; i < s->n; i++)
		if (s->kids[i].pid > 0)
			kill(s->kids[i].pid, SIGTERM);
}

size_t supervisor_signal(struct supervisor *s, int sig)
{
	size_t n = 0;
	for (size_t i = 0; s && i < s->n; i++)
		if (s->kids[i].pid > 0 && kill(s->kids[i].pid, sig) == 0)
			n++;
	return n;
}

size_t supervisor_running(const struct supervisor *s)
{
	size_t n = 0;
	for (size_t i = 0; s && i < s->n; i++)
		n += s->kids[i].pid > 0;
	return n;
}

void supervisor_kill(struct supervisor *s)
{
	for (size_t i = 0; s && i < s->n; i++) {
		struct child *c = &s->kids[i];
		int status;
		if (c->pid <= 0)
			continue;
		log_warn("worker pid %ld did not stop in time, killing it", (long)c->pid);
		kill(c->pid, SIGKILL);
		while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR)
			;
		c->pid = 0;
	}
}

void supervisor_free(struct supervisor *s)
{
	if (!s)
		return;
	if (h2o_timeout_is_linked(&s->tick_entry))
		h2o_timeout_unlink(&s->tick_entry);
	h2o_timeout_dispose(s->loop, &s->tick);
	free(s->kids);
	free(s);
}
