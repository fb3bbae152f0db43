#!/bin/sh
# Installs the Debian packages serverengine builds, tests and documents with.
# Works as root on a bare container (no sudo there) and as a user with sudo.
# Used by the README's set-up line and by CI (.ci/run), so both stay true.
set -eu
packages="build-essential clang pkg-config procps iproute2 netcat-openbsd \
libcmocka-dev libyaml-dev libfiu-dev fiu-utils valgrind scdoc man-db"
if [ "$(id -u)" -eq 0 ]; then
    run=""
elif command -v sudo >/dev/null 2>&1; then
    run="sudo"
else
    echo "setup-debian.sh: run as root, or install sudo" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$run apt-get update
# shellcheck disable=SC2086 # the list is split on purpose
$run apt-get install -y --no-install-recommends $packages
