#!/bin/sh
# The end-to-end attack pass of issue 10, short: every attack of
# `make stress` (tests/stress/stress.py, docs/RELIABILITY.md) at quick sizes
# (a few seconds each) against a fresh frontend + 2 workers on loopback,
# one TAP line per attack with its property. The hostile images come from
# tests/stress/gen_hostile.py (made once into $B/stress-files; those
# attacks are skipped while the generator is absent).
B=${B:-build}
exec timeout -k 5 300 /usr/bin/python3 tests/stress/stress.py --quick --tap --build "$B"
