#!/usr/bin/env bash
# Make sure headless Chromium and its driver (Debian packages) are installed for the browser
# tests (tests/browser/). Needs root, as on the developer machines and CI.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "chromium/chromium-driver missing and cannot apt-get here: browser tests will be skipped" >&2
  exit 0
fi
echo "installing chromium and chromium-driver ..."
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
chromium --version
