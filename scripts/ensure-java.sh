#!/usr/bin/env bash
# Install Debian's Java runtime when missing (Spark, the compute-replica backend, runs on it).
set -euo pipefail
if command -v java >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "Java is missing (Spark needs Java 17+); install Debian's 'default-jre-headless' (needs root)." >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq default-jre-headless >/dev/null
