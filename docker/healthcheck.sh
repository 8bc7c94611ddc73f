#!/bin/sh
# HEALTHCHECK probe: GET /health on the address the frontend listens on
# (MNIST_LISTEN, default 0.0.0.0:8000; a wildcard host means loopback),
# with the project's own mnist-probe (the image carries no curl).
exec /usr/local/bin/mnist-probe /health
