#!/usr/bin/env bash
# Headless Chromium and its driver for the display-page browser test (tests/realtime).
# Idempotent and quiet: does nothing when both are installed.
set -euo pipefail

if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "ensure-browser: install chromium and chromium-driver (Debian packages); the browser test is skipped without them" >&2
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "ensure-browser: installing chromium and chromium-driver"
$SUDO apt-get install -y -qq chromium chromium-driver >/dev/null 2>&1 \
  || { $SUDO apt-get update -qq >/dev/null && $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null; }
