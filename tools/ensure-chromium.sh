#!/usr/bin/env bash
# Installs Debian's Chromium (used by the scrapy-playwright tests through Playwright's
# executable_path) when it is missing, and the managed policy crawler-compliance needs
# (Chromium preconnects to a page's frames before any route can decide them; the policy
# turns network prediction off). Idempotent and quiet; exits non-zero on failure.
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
if [ ! -x /usr/bin/chromium ]; then
    log="$(mktemp)"
    export DEBIAN_FRONTEND=noninteractive
    if ! { $SUDO apt-get -o DPkg::Lock::Timeout=900 -qq update &&
           $SUDO apt-get -o DPkg::Lock::Timeout=900 -qq install -y --no-install-recommends chromium; } \
           >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        exit 1
    fi
    rm -f "$log"
    test -x /usr/bin/chromium
fi
policy=/etc/chromium/policies/managed/crawler-compliance.json
want='{"NetworkPredictionOptions": 2}'
if [ "$(cat "$policy" 2>/dev/null)" != "$want" ]; then
    $SUDO mkdir -p "$(dirname "$policy")"
    printf '%s\n' "$want" | $SUDO tee "$policy" >/dev/null
fi
