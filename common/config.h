/*
 * config: settings shared by the frontend, the workers and the client.
 *
 * Run directory (sockets live there): $RUNTIME_DIRECTORY, else
 * $XDG_RUNTIME_DIR/mnist, else /tmp/mnist-$UID. config_rundir() creates it
 * mode 0700 when it does not exist (0750 is kept if systemd made it so)
 * and refuses one owned by another user.
 * Endpoints: workers dial ipc://<rundir>/workers.sock; local callers use
 * ipc://<rundir>/api.sock. Both can be overridden by flags (tcp:// works).
 *
 * Parsing helpers never use atoi: they reject junk, overflow and negatives.
 * Everything here is thread-safe except config_rundir, which callers run at
 * start-up.
 */
#ifndef MNIST_CONFIG_H
#define MNIST_CONFIG_H

#include <stddef.h>

#define CONFIG_WORKERS_SOCK "workers.sock"
#define CONFIG_API_SOCK "api.sock"
#define CONFIG_DEFAULT_WEIGHTS "weights/model.safetensors"

/* Resolve (dir != NULL overrides the environment) and create the run dir. */
int config_rundir(const char *dir, char *out, size_t outlen, char *err);

/* "ipc://<rundir>/<name>" into out. */
int config_ipc_url(const char *rundir, const char *name, char *out, size_t outlen, char *err);

/* Parse an unsigned decimal in [min, max]; 0 or ERR_INVALID. */
int config_parse_ulong(const char *s, unsigned long min, unsigned long max, unsigned long *out);

/* Parse a size like "10M", "512k", "1048576" (K/M/G = 1024^n); 0 or ERR_INVALID. */
int config_parse_size(const char *s, size_t *out);

/* Value of an environment variable, or def when unset or empty. */
const char *config_env(const char *name, const char *def);

#endif
