#!/usr/bin/env bash
# Install Debian's Chromium when it is missing: the dashboard's browser tests drive it through
# Playwright (tests/test_dashboard_browser.py). Never a downloaded browser (no `playwright install`).
set -euo pipefail
CHROMIUM="${IDPKIT_CHROMIUM:-/usr/bin/chromium}"
if [ -x "$CHROMIUM" ]; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "Chromium is missing ($CHROMIUM); install Debian's 'chromium' package (needs root)," \
       "or point IDPKIT_CHROMIUM at a Chromium binary." >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium >/dev/null
