#!/usr/bin/env bash
# Fetches the browser SIP library of the console page (SIP.js, MIT) from the npm registry with
# npm's own client, pinned by version AND by the registry's sha512 integrity, into the package
# (hotline/console/vendor/). The controller serves it from there (no CDN) and checks the same
# hash before it serves a byte (hotline/console/vendor.py). Idempotent: a tarball already there
# with the right hash is kept. To move to another version, change both values here and in
# hotline/console/vendor.py (PINNED), run this script, and read the library's changelog.
set -euo pipefail
cd "$(dirname "$0")/.."
NAME=sip.js
VERSION=0.21.2
INTEGRITY=sha512-tSqTcIgrOd2IhP/rd70JablvAp+fSfLSxO4hGNY6LkWRY1SKygTO7OtJEV/BQb8oIxtMRx0LE7nUF2MaqGbFzA==
DEST=hotline/console/vendor
tarball="$DEST/$NAME-$VERSION.tgz"

hash_of() { echo "sha512-$(openssl dgst -sha512 -binary "$1" | base64 -w0)"; }

if [ -f "$tarball" ] && [ "$(hash_of "$tarball")" = "$INTEGRITY" ]; then
  exit 0
fi
command -v npm >/dev/null || { echo "fetch-sipjs: npm is not installed (apt-get install npm)" >&2; exit 1; }
registry=$(npm view "$NAME@$VERSION" dist.integrity)
[ "$registry" = "$INTEGRITY" ] || { echo "fetch-sipjs: the registry says $registry for $NAME@$VERSION, pinned $INTEGRITY" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "$NAME@$VERSION" >/dev/null)
got=$(hash_of "$tmp/$NAME-$VERSION.tgz")
[ "$got" = "$INTEGRITY" ] || { echo "fetch-sipjs: downloaded $got, pinned $INTEGRITY: refused" >&2; exit 1; }
mkdir -p "$DEST"
install -m 0644 "$tmp/$NAME-$VERSION.tgz" "$tarball"
echo "fetch-sipjs: $tarball ($INTEGRITY)"
