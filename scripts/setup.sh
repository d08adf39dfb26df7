#!/usr/bin/env bash
# Installs what the hotline needs on a Debian 12 machine (root), idempotently:
#   Debian packages, a Python virtual environment in .venv with the project, and Asterisk
#   (system package, or a Debian sid root built with debootstrap, cached in /var/cache/hotline).
# Usage: scripts/setup.sh [--test]     (--test adds what the test suite needs)
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

if [ "$(id -u)" != 0 ]; then
  echo "setup: run as root (it installs Debian packages and Asterisk)" >&2
  exit 1
fi

# fonts-wqy-microhei: the CJK font of the unit score's PDF report (hotline/unit_scores/report_pdf.py)
pkgs=(python3-venv debootstrap sip-tester sox espeak-ng logrotate fonts-wqy-microhei)
# poppler-utils, tesseract-ocr(-chi-sim): the PDF report's picture is rendered and read back in a test
# kamailio: the SIP edge in front of several Asterisk nodes (site config edge:; tests/integration/edge)
[ "$want_test" = 1 ] && pkgs+=(postgresql redis-server baresip chromium chromium-driver poppler-utils tesseract-ocr
                               tesseract-ocr-chi-sim kamailio)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian starts these services on install; the project starts its own instances.
  for svc in postgresql redis-server kamailio; do
    systemctl disable --now "$svc" >/dev/null 2>&1 || service "$svc" stop >/dev/null 2>&1 || true
  done
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.installed-$(cat setup.cfg pyproject.toml | sha1sum | cut -c1-12)-$want_test
if [ ! -e "$stamp" ]; then
  .venv/bin/pip install -q --upgrade pip >/dev/null 2>&1 || true
  extras=postgres
  [ "$want_test" = 1 ] && extras=test,postgres
  # pip's stderr (index warnings) goes to a file; shown only when the install fails.
  if ! .venv/bin/pip install -q -e ".[$extras]" 2> .venv/pip.err; then
    cat .venv/pip.err >&2
    exit 1
  fi
  rm -f .venv/.installed-*
  touch "$stamp"
fi

# the console page's browser SIP library: pinned by version and sha512 (a no-op when present)
bash scripts/fetch-sipjs.sh
.venv/bin/hotline asterisk install
