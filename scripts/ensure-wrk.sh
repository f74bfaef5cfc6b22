#!/usr/bin/env bash
# Install Debian's wrk (the HTTP load generator of benchmarks/api.py) when it is missing.
set -euo pipefail
if command -v wrk >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "wrk is missing; install Debian's 'wrk' package (needs root)." >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq wrk >/dev/null
