#!/usr/bin/env bash
# The CLI installs without cloning: `npm pack` → `npm install -g` of the tarball into a throwaway
# prefix → `modelgate --version` and a real `modelgate verify` from the installed copy.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
npm pack --silent --pack-destination "$tmp" >/dev/null
tgz=$(ls "$tmp"/*.tgz)
npm install -g --prefix "$tmp/prefix" --no-audit --no-fund --loglevel=error "$tgz" >/dev/null
bin="$tmp/prefix/bin/modelgate"
want="modelgate $(node -p 'require("./package.json").version')"
got=$("$bin" --version)
[[ "$got" == "$want" ]] || { echo "pack-check: FAIL --version printed '$got', want '$want'"; exit 1; }
head -c 1048576 /dev/urandom >"$tmp/model.bin"
sum=$(sha256sum "$tmp/model.bin" | cut -d' ' -f1)
"$bin" verify "$tmp/model.bin" --sha256 "$sum" >/dev/null || { echo "pack-check: FAIL verify from the installed package"; exit 1; }
echo "pack-check: ok   $(basename "$tgz") installs with npm install -g; '$got'; verify runs from it"
