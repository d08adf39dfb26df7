#!/usr/bin/env bash
# Installs the hotline as a service on a Debian 12 server (root), idempotently:
#   system accounts  hotline (the controller; group hotline) and hotline-pbx (Asterisk drops to it)
#   /opt/hotline     a virtual environment with the product's wheel (built from this checkout,
#                    or the one given with --wheel)
#   /etc/hotline     site.yaml (root:hotline 0640; the site given with --site on first install)
#   /var/lib/hotline state: database, journal, generated configuration, secrets (hotline, 0750,
#                    files 0600/0640: the product sets umask 0027 itself)
#   /var/log/hotline for the operator's exports (the services log to the journal)
#   Asterisk 20+     the system's, the distribution's, or a Debian sid chroot in
#                    /var/cache/hotline/asterisk-root (asterisk/install-runtime.sh)
#   systemd units    hotline-asterisk.service and hotline.service (Restart=always), enabled and
#                    started when systemd runs this machine.
# Usage: scripts/install-service.sh [--site FILE] [--wheel FILE]
set -euo pipefail
cd "$(dirname "$0")/.."

site=examples/nantong/site.yaml
wheel=
while [ $# -gt 0 ]; do
  case "$1" in
    --site) site=$2; shift 2 ;;
    --wheel) wheel=$2; shift 2 ;;
    *) echo "usage: $0 [--site FILE] [--wheel FILE]" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "install-service: run as root (accounts, /etc, systemd)" >&2; exit 1; }

PREFIX=/opt/hotline ETC=/etc/hotline STATE=/var/lib/hotline LOGS=/var/log/hotline
export HOTLINE_ASTERISK_ROOT=${HOTLINE_ASTERISK_ROOT:-/var/cache/hotline/asterisk-root}
umask 0027

pkgs=(python3-venv debootstrap sox espeak-ng logrotate fonts-wqy-microhei)   # the font: PDF reports
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# -- accounts ---------------------------------------------------------------------------------
getent group hotline >/dev/null || groupadd --system hotline
getent passwd hotline >/dev/null || useradd --system --gid hotline --home-dir "$STATE" --no-create-home \
  --shell /usr/sbin/nologin --comment "12345 hotline controller" hotline
getent passwd hotline-pbx >/dev/null || useradd --system --gid hotline --home-dir /nonexistent --no-create-home \
  --shell /usr/sbin/nologin --comment "12345 hotline Asterisk" hotline-pbx

# -- the product --------------------------------------------------------------------------------
# The distribution's interpreter: one the service accounts can run (a python3 found on root's PATH
# may live under /root, which they cannot enter). A venv made from another one is made again.
PYTHON=${HOTLINE_PYTHON:-/usr/bin/python3}
if [ -e "$PREFIX/bin/python" ] && [ "$(readlink -f "$PREFIX/bin/python")" != "$(readlink -f "$PYTHON")" ]; then
  echo "install-service: $PREFIX was made with $(readlink -f "$PREFIX/bin/python"), not $PYTHON: making it again" >&2
  rm -rf "$PREFIX"
fi
[ -x "$PREFIX/bin/python" ] || { install -d -m 0755 "$PREFIX"; "$PYTHON" -m venv "$PREFIX"; }
if [ -z "$wheel" ]; then
  build=$(mktemp -d)
  trap 'rm -rf "$build"' EXIT
  "$PREFIX/bin/pip" wheel -q --no-deps -w "$build" .
  wheel=$(ls "$build"/hotline12345-*.whl)
fi
"$PREFIX/bin/pip" install -q --upgrade --force-reinstall "$wheel"
chmod -R u=rwX,go=rX "$PREFIX"       # code is not secret; only root writes it
runuser -u hotline -- "$PREFIX/bin/hotline" --help >/dev/null \
  || { echo "install-service: the hotline account cannot run $PREFIX/bin/hotline (interpreter $(readlink -f "$PREFIX/bin/python"))" >&2; exit 1; }
share="$PREFIX/share/hotline12345"

# -- directories and the site -------------------------------------------------------------------
install -d -m 0750 -o root -g hotline "$ETC"
install -d -m 0750 -o hotline -g hotline "$STATE" "$LOGS"
if [ ! -e "$ETC/site.yaml" ]; then
  install -m 0640 -o root -g hotline "$site" "$ETC/site.yaml"
fi
"$PREFIX/bin/hotline" --site "$ETC/site.yaml" config check

# -- Asterisk -----------------------------------------------------------------------------------
runtime=$("$PREFIX/bin/hotline" --state-dir "$STATE" asterisk install)
echo "install-service: Asterisk $runtime"
if echo "$runtime" | grep -q '"mode": "chroot"'; then
  # Asterisk resolves -U/-G inside its root: the same accounts, the same ids.
  uid=$(id -u hotline-pbx) gid=$(getent group hotline | cut -d: -f3)
  grep -q '^hotline:' "$HOTLINE_ASTERISK_ROOT/etc/group" || echo "hotline:x:$gid:" >> "$HOTLINE_ASTERISK_ROOT/etc/group"
  grep -q '^hotline-pbx:' "$HOTLINE_ASTERISK_ROOT/etc/passwd" \
    || echo "hotline-pbx:x:$uid:$gid:12345 hotline Asterisk:/nonexistent:/usr/sbin/nologin" >> "$HOTLINE_ASTERISK_ROOT/etc/passwd"
  install -d -m 0755 "$HOTLINE_ASTERISK_ROOT/srv/hotline"
fi
chown -R hotline:hotline "$STATE"
chmod -R o= "$STATE"

# -- the CEL log's rotation (the source of every record: plain renames, read to the end) ----------
# Generated as the controller's account, installed root-owned (logrotate refuses other owners),
# rotating as the account that owns the log's directory.
runuser -u hotline -- env HOTLINE_ASTERISK_ROOT="$HOTLINE_ASTERISK_ROOT" \
  "$PREFIX/bin/hotline" --site "$ETC/site.yaml" --state-dir "$STATE" config generate >/dev/null
if [ -d /etc/logrotate.d ]; then
  sed 's/^\(".*"\) {$/\1 {\n    su hotline-pbx hotline/' "$STATE/logrotate-cel.conf" > /etc/logrotate.d/hotline-cel
  chmod 0644 /etc/logrotate.d/hotline-cel
  logrotate -d /etc/logrotate.d/hotline-cel >/dev/null 2>&1 \
    || { echo "install-service: logrotate refuses /etc/logrotate.d/hotline-cel" >&2; exit 1; }
fi

# -- services -----------------------------------------------------------------------------------
install -m 0644 "$share/systemd/hotline-asterisk.service" "$share/systemd/hotline.service" /etc/systemd/system/
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl enable --now hotline-asterisk.service hotline.service
  systemctl --no-pager --lines=0 status hotline-asterisk.service hotline.service || true
else
  echo "install-service: systemd is not running this machine; start the services with" >&2
  echo "  $PREFIX/bin/hotline supervise /etc/systemd/system/hotline-asterisk.service &" >&2
  echo "  $PREFIX/bin/hotline supervise /etc/systemd/system/hotline.service &" >&2
fi

# -- the SIP edge: only for a site config with an edge: section (Kamailio in front of the nodes) ---
if grep -qE '^edge:' "$ETC/site.yaml" 2>/dev/null; then
  if ! dpkg-query -W -f='${Status}' kamailio 2>/dev/null | grep -q "install ok installed"; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends kamailio >/dev/null
  fi
  # The package's own service reads /etc/kamailio; the edge is hotline-edge.service.
  systemctl disable --now kamailio >/dev/null 2>&1 || true
  usermod -a -G hotline kamailio   # it reaches its files under the state directory (0750, group hotline)
  install -m 0644 "$share/systemd/hotline-edge.service" /etc/systemd/system/
  if [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    systemctl enable --now hotline-edge.service
  else
    echo "  $PREFIX/bin/hotline supervise /etc/systemd/system/hotline-edge.service &" >&2
  fi
fi
