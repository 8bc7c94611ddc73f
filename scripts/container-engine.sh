#!/bin/sh
# Make podman work as this project's container engine, on machines without
# a Docker engine and possibly without access to a container registry
# (tests/integration/test_docker.sh and test_fresh_machine.sh call it).
# Idempotent; prints one line when ready. Steps:
#   1. podman, runc, debootstrap and uidmap from Debian's packages (apt-get
#      directly as root, through sudo otherwise);
#   2. /etc/containers/containers.conf: runc and the cgroupfs manager (crun
#      and systemd cgroups fail on VMs with hybrid cgroups) and default
#      ulimits low enough that a VM that forbids raising RLIMIT_NPROC or
#      RLIMIT_NOFILE still starts containers;
#   3. a debian:bookworm-slim base: pulled when a registry answers within
#      PULL_TIMEOUT seconds (default 30), else made locally with debootstrap
#      (minbase, http://deb.debian.org) and tagged docker.io/library/debian:
#      bookworm-slim and :bookworm, so `FROM debian:bookworm-slim` resolves.
#      The local base is larger than the official slim image.
# Use --network=host with these containers: port publishing needs network
# plumbing that such machines lack.
set -eu
base=docker.io/library/debian:bookworm-slim
root_do() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
have() { command -v "$1" >/dev/null 2>&1; }

if ! have podman || ! have runc || ! have debootstrap || ! have newuidmap; then
    root_do apt-get update -qq >/dev/null
    root_do env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        podman runc debootstrap uidmap >/dev/null
fi

conf=/etc/containers/containers.conf
if ! grep -qs '^cgroup_manager *= *"cgroupfs"' "$conf"; then
    root_do mkdir -p /etc/containers
    printf '%s\n' '[containers]' \
        'default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]' \
        '[engine]' 'cgroup_manager = "cgroupfs"' 'runtime = "runc"' |
        root_do tee "$conf" >/dev/null
fi

if ! podman image exists "$base"; then
    if ! timeout "${PULL_TIMEOUT:-30}" podman pull -q "$base" >/dev/null 2>&1; then
        rootfs=$(mktemp -d /tmp/bookworm-rootfs.XXXXXX)
        trap 'root_do rm -rf "$rootfs"' EXIT
        root_do debootstrap --variant=minbase bookworm "$rootfs" \
            http://deb.debian.org/debian >/dev/null
        root_do tar -C "$rootfs" -c . | podman import - "$base" >/dev/null
    fi
    podman tag "$base" docker.io/library/debian:bookworm
fi

podman run --rm --network=host "$base" true
echo "container-engine: podman ready, $base present"
