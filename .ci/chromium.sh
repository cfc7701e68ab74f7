#!/usr/bin/env bash
# Makes sure the console's browser tests have a headless Chromium: installs
# Debian's package chromium where none is found (CHROMIUM names one
# elsewhere; chromium-browser and google-chrome are used where present, as
# the tests look for them too). Idempotent.
set -euo pipefail

if [ -n "${CHROMIUM:-}" ]; then
  echo "chromium: $CHROMIUM (CHROMIUM)"
  exit 0
fi
for name in chromium chromium-browser google-chrome; do
  if command -v "$name" >/dev/null 2>&1; then
    echo "chromium: $(command -v "$name")"
    exit 0
  fi
done
echo "chromium: installing chromium from Debian's packages"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium >/dev/null
echo "chromium: $(command -v chromium)"
