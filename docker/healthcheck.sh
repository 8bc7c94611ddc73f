#!/bin/sh
# HEALTHCHECK probe: GET /health on the address the frontend listens on
# (MNIST_LISTEN, default 0.0.0.0:8000; a wildcard host means loopback).
listen=${MNIST_LISTEN:-0.0.0.0:8000}
port=${listen##*:}
host=${listen%:*}
case "$host" in
''|0.0.0.0|'[::]'|'*') host=127.0.0.1 ;;
esac
exec curl -fsS -o /dev/null --max-time 8 "http://$host:${port:-8000}/health"
