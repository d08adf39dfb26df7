#!/usr/bin/env bash
# One command (as root): install what the tests need and run the whole suite, the integration
# tests against a real Asterisk with sipp phones included. .ci/run calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
