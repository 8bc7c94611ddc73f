/*
 * mnist-probe: a health probe for containers that carry no curl.
 *
 *   mnist-probe [PATH]     GET PATH (default /health) from the frontend at
 *                          $MNIST_LISTEN (default 0.0.0.0:8000; a wildcard
 *                          host means 127.0.0.1); exit 0 on a 200 answer,
 *                          1 otherwise, within 8 s.
 *
 * IPv4 literal hosts only: the address the frontend itself was told.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define TIMEOUT_S 8

/* host:port of listen into sa; 0 or -1. */
static int parse_listen(const char *listen, struct sockaddr_in *sa)
{
	char host[64];
	const char *colon = strrchr(listen, ':');
	unsigned long port;
	size_t n;

	if (!colon || (n = (size_t)(colon - listen)) >= sizeof host ||
	    config_parse_ulong(colon + 1, 1, 65535, &port) != 0)
		return -1;
	memcpy(host, listen, n);
	host[n] = '\0';
	if (n == 0 || !strcmp(host, "0.0.0.0") || !strcmp(host, "*") || !strcmp(host, "localhost"))
		strcpy(host, "127.0.0.1");
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

int main(int argc, char **argv)
{
	const char *listen = config_env("MNIST_LISTEN", "0.0.0.0:8000");
	const char *path = argc > 1 ? argv[1] : "/health";
	struct sockaddr_in sa = {0};
	struct timeval tv = {TIMEOUT_S, 0};
	char req[512], buf[64];
	size_t got = 0;
	ssize_t r;
	int fd, n;

	if (argc > 2 || path[0] != '/' || strpbrk(path, " \r\n")) {
		fprintf(stderr, "usage: mnist-probe [/PATH]   (frontend at $MNIST_LISTEN)\n");
		return 2;
	}
	if (parse_listen(listen, &sa) != 0) {
		fprintf(stderr, "mnist-probe: cannot use MNIST_LISTEN=%s (IPv4 host:port)\n",
			listen);
		return 2;
	}
	n = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: probe\r\n\r\n", path);
	if (n < 0 || (size_t)n >= sizeof req || (fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return 1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
	    send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
		perror("mnist-probe");
		close(fd);
		return 1;
	}
	while (got < sizeof buf - 1 && (r = recv(fd, buf + got, sizeof buf - 1 - got, 0)) > 0)
		got += (size_t)r;
	close(fd);
	buf[got] = '\0';
	if (!strncmp(buf, "HTTP/1.1 200 ", 13) || !strncmp(buf, "HTTP/1.0 200 ", 13))
		return 0;
	fprintf(stderr, "mnist-probe: %s answered: %.*s\n", path, (int)strcspn(buf, "\r\n"), buf);
	return 1;
}
