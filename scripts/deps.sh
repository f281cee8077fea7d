#!/bin/sh
# Install the Debian packages edustat needs to build, test and run its demo,
# but only those that are missing.  Safe to run again; needs root (or sudo)
# only when something is missing.
#
# deps.sh --missing PKG...: print those of PKG that are not installed, on
# one line, and install nothing (dockerd.sh asks this of its own list).
set -eu

# missing PKG...: those not installed, each after a space.
missing() {
        for p in "$@"; do
                if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
                        printf ' %s' "$p"
                fi
        done
}

if [ "${1:-}" = --missing ]; then
        shift
        missing "$@"
        echo
        exit 0
fi

PKGS="gcc make pkg-config meson ninja-build clang clang-format
      libzmq3-dev libmsgpack-dev libpq-dev libcsv-dev libsqlite3-dev libcmocka-dev
      libzip-dev libexpat1-dev libxlsxwriter-dev
      postgresql postgresql-client python3 python3-zmq python3-msgpack procps iproute2
      chromium fonts-noto-cjk python3-pil"

# shellcheck disable=SC2086
missing=$(missing $PKGS)
[ -z "$missing" ] && exit 0

echo "deps: installing:$missing" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
# The postgresql package would create and start a system cluster; edustat's
# demo and tests run their own throwaway clusters, so skip that.
if [ ! -e /etc/postgresql-common/createcluster.conf ]; then
        $SUDO mkdir -p /etc/postgresql-common
        echo "create_main_cluster = false" | $SUDO tee /etc/postgresql-common/createcluster.conf >/dev/null
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
