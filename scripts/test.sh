#!/usr/bin/env bash
# One command (as root): install what the tests need, lint and type-check, and run the whole
# suite, the integration tests against a real Asterisk with sipp phones included. .ci/run calls
# exactly this. Lint and type configuration: pyproject.toml; the import rules: tests/unit/test_architecture.py.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
.venv/bin/ruff check --quiet .
.venv/bin/mypy
exec .venv/bin/python -m pytest -q -p no:cacheprovider --durations=15 "$@"
