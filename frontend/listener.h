/*
 * listener: the HTTP listening socket. listener_open() parses "HOST:PORT"
 * ("[V6]:PORT" for IPv6, empty HOST for every address), resolves it (a
 * blocking call: use at start-up only), and returns a non-blocking,
 * close-on-exec socket listening with SO_REUSEADDR, or a negative ERR_*
 * with a message. *port_out gets the port actually bound (useful with
 * port 0). The caller owns the descriptor. Thread-safe.
 */
#ifndef MNIST_LISTENER_H
#define MNIST_LISTENER_H

int listener_open(const char *addr, int *port_out, char *err);

#endif
