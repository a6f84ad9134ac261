#!/usr/bin/env bash
# Make sure redis-server and PostgreSQL (initdb, pg_ctl, postgres) are installed,
# so the cluster tests run on a fresh machine instead of skipping. Idempotent and
# quiet: prints nothing when both are already there; exits non-zero on failure.
# The tests start their own servers on loopback (tests/cluster/conftest.py); this
# script only installs the Debian packages, it starts nothing.
set -euo pipefail

have_redis() { command -v redis-server >/dev/null 2>&1; }
have_postgres() {
    command -v pg_ctl >/dev/null 2>&1 && return 0
    compgen -G '/usr/lib/postgresql/*/bin/pg_ctl' >/dev/null
}

packages=()
have_redis || packages+=(redis-server)
have_postgres || packages+=(postgresql)
[ ${#packages[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-servers: missing ${packages[*]} and no apt-get to install them" >&2
    exit 1
fi
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 -qq)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# The package lists may be absent or stale on a fresh machine.
if ! "${apt[@]}" install -y --no-install-recommends "${packages[@]}" >"$log" 2>&1; then
    "${apt[@]}" update >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
    "${apt[@]}" install -y --no-install-recommends "${packages[@]}" >"$log" 2>&1 \
        || { cat "$log" >&2; exit 1; }
fi
# Debian's packages start system services; the tests run their own servers.
if command -v service >/dev/null 2>&1; then
    "${sudo[@]}" service redis-server stop >/dev/null 2>&1 || true
fi
have_redis && have_postgres || { echo "ensure-servers: install did not provide ${packages[*]}" >&2; exit 1; }
