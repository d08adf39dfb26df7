#!/usr/bin/env bash
# One command on a fresh Debian 12 machine (as root): install everything, start Asterisk, the
# controller and the SQLite store, place a demo call to 12345 that a demo seat phone answers,
# and print the call record and the API address.   scripts/demo.sh stop   stops it all.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = stop ]; then
  exec .venv/bin/hotline demo-stop
fi
scripts/setup.sh
exec .venv/bin/hotline --site "${HOTLINE_SITE:-examples/nantong/site.yaml}" demo
