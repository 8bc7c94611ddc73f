/*
 * nngclose: close an nng socket without risking a hang.
 *
 * libnng 1.5.2 (Debian bookworm) can block forever in nng_close(): when a
 * peer's last reply and its disconnect race, the pipe reaper waits on a
 * receive that is never finished, and every later pipe removal, nng_close()
 * and nng_fini() waits behind it. nngclose_within() runs nng_close() on a
 * helper thread and waits at most timeout_ms for it (NNGCLOSE_MS at exit).
 *
 * Returns 0 when the socket is closed, ERR_TIMEOUT (after logging a warning
 * that names the socket by what) when nng did not finish in time. After ERR_TIMEOUT nng may still
 * use the socket's contexts and aios, so the caller must not free them and must not call
 * nng_fini(); the process exit releases them. Thread-safe; meant for shutdown paths.
 */
#ifndef MNIST_NNGCLOSE_H
#define MNIST_NNGCLOSE_H

#include <nng/nng.h>

#define NNGCLOSE_MS 2000

int nngclose_within(nng_socket sock, int timeout_ms, const char *what);

#endif
