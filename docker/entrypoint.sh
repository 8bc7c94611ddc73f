#!/bin/sh
# Container entry point: the frontend, spawning MNIST_WORKERS workers
# (default: one per CPU) unless a command is given (compose runs
# `mnist-worker` this way). Extra arguments go to the frontend.
set -eu
case "${1:-}" in
mnist-*|/*) exec "$@" ;;
esac
MNIST_WORKERS=${MNIST_WORKERS:-$(nproc)}
export MNIST_WORKERS
exec /usr/local/bin/mnist-frontend "$@"
