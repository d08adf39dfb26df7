#!/usr/bin/env bash
# Installs an Asterisk (20 or newer) for the hotline, in this order of preference:
#   1. an Asterisk already installed on the system (asterisk -V >= 20);
#   2. the distribution's package, where the distribution has one;
#   3. a Debian sid root built with debootstrap in ROOT (Debian 12 has no asterisk package),
#      in which Asterisk runs chrooted.
# Idempotent: a second run reuses what the first installed.
# Prints one line on success:  mode=system|chroot root=/path version=NN.N.N
#
# Usage: install-runtime.sh ROOT [MIRROR]
set -euo pipefail

ROOT=${1:?usage: install-runtime.sh ROOT [MIRROR]}
MIRROR=${2:-}
MIN_MAJOR=20

die() { echo "install-runtime: $*" >&2; exit 1; }

major_of() { sed -n 's/^Asterisk \([0-9]\+\)\..*/\1/p' | head -n1; }

if [ "$(id -u)" != 0 ]; then
  die "must run as root (it installs packages or builds a chroot); try: sudo $0 $*"
fi

if [ "${HOTLINE_ASTERISK_MODE:-auto}" != chroot ] && command -v asterisk >/dev/null 2>&1; then
  v=$(asterisk -V 2>/dev/null || true)
  m=$(echo "$v" | major_of)
  if [ -n "$m" ] && [ "$m" -ge "$MIN_MAJOR" ]; then
    echo "mode=system root=/ version=${v#Asterisk }"
    exit 0
  fi
fi

if [ "${HOTLINE_ASTERISK_MODE:-auto}" != chroot ] && command -v apt-cache >/dev/null 2>&1; then
  cand=$(apt-cache policy asterisk 2>/dev/null | sed -n 's/^ *Candidate: *//p')
  if [ -n "$cand" ] && [ "$cand" != "(none)" ]; then
    cm=$(echo "$cand" | sed -n 's/^\([0-9]*:\)\?\([0-9]\+\)\..*/\2/p')
    if [ -n "$cm" ] && [ "$cm" -ge "$MIN_MAJOR" ]; then
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q asterisk >&2 || die "apt-get install asterisk failed"
      systemctl disable --now asterisk >/dev/null 2>&1 || true
      v=$(asterisk -V)
      echo "mode=system root=/ version=${v#Asterisk }"
      exit 0
    fi
  fi
fi

# --- chroot with Debian sid ------------------------------------------------------
if [ -x "$ROOT/usr/sbin/asterisk" ]; then
  v=$(chroot "$ROOT" /usr/sbin/asterisk -V 2>/dev/null || true)
  m=$(echo "$v" | major_of)
  if [ -n "$m" ] && [ "$m" -ge "$MIN_MAJOR" ]; then
    echo "mode=chroot root=$ROOT version=${v#Asterisk }"
    exit 0
  fi
  echo "install-runtime: $ROOT holds an unusable Asterisk ('$v'); rebuilding" >&2
fi

if ! command -v debootstrap >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >&2 \
    || die "debootstrap is not installed and apt-get could not install it"
fi

if [ -z "$MIRROR" ]; then
  # The Debian mirror the machine's apt sources already name.
  MIRROR=$(grep -rhoE '(https?://[^ ]+/debian)/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null \
           | grep -v security | head -n1 | tr -d ' ' || true)
  if [ -z "$MIRROR" ]; then
    MIRROR=$(sed -n 's/^URIs: *\(http[^ ]*\/debian\)\/\?$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1)
  fi
  [ -n "$MIRROR" ] || die "no Debian mirror found in /etc/apt sources; pass one: $0 $ROOT http://MIRROR/debian"
fi

tmp="$ROOT.partial"
rm -rf "$tmp"
mkdir -p "$(dirname "$ROOT")"
echo "install-runtime: building a Debian sid root with Asterisk in $ROOT from $MIRROR (about a minute)" >&2
if ! debootstrap --variant=minbase --include=asterisk sid "$tmp" "$MIRROR" > "$ROOT.debootstrap.log" 2>&1; then
  tail -n 20 "$ROOT.debootstrap.log" >&2
  die "debootstrap failed (log: $ROOT.debootstrap.log)"
fi
rm -rf "$ROOT"
mv "$tmp" "$ROOT"
v=$(chroot "$ROOT" /usr/sbin/asterisk -V 2>/dev/null || true)
m=$(echo "$v" | major_of)
[ -n "$m" ] && [ "$m" -ge "$MIN_MAJOR" ] || die "the built root has no usable Asterisk ('$v')"
echo "mode=chroot root=$ROOT version=${v#Asterisk }"
