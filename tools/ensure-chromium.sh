#!/bin/sh
# Install Debian's chromium when it is missing (idempotent, quiet). Used by the
# HTML report test and the browser integration; exits non-zero on failure.
set -e
[ -x /usr/bin/chromium ] && exit 0
apt-get -o DPkg::Lock::Timeout=900 update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -qq \
    --no-install-recommends chromium >/dev/null
[ -x /usr/bin/chromium ]
