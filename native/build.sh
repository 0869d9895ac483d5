#!/bin/sh
# Builds the optional OpenBLAS kernels (native/build/Release/unlearn_native.node) with node-gyp.
# Needs a C compiler, make, python3 and OpenBLAS headers + library (Debian: libopenblas-dev).
# Exits non-zero when it cannot build; the engine then uses its wasm kernels.
set -eu
cd "$(dirname "$0")"
if [ ! -f /usr/include/cblas.h ] && [ ! -f /usr/include/x86_64-linux-gnu/cblas.h ] && [ ! -f /usr/include/openblas/cblas.h ]; then
  echo "native: cblas.h not found (install libopenblas-dev); using the wasm kernels" >&2
  exit 1
fi
NODE_PREFIX=$(dirname "$(dirname "$(command -v node)")")
GYP=""
for c in "${npm_config_node_gyp:-}" "$NODE_PREFIX/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js"; do
  if [ -n "$c" ] && [ -f "$c" ]; then GYP="$c"; break; fi
done
if [ -z "$GYP" ]; then
  echo "native: node-gyp not found (it ships with npm); using the wasm kernels" >&2
  exit 1
fi
# --nodedir: build against the running node's own headers (no download).
if [ -f "$NODE_PREFIX/include/node/node_api.h" ]; then NODEDIR="--nodedir=$NODE_PREFIX"; else NODEDIR=""; fi
node "$GYP" rebuild $NODEDIR --loglevel=warn
node -e "const m=require('./build/Release/unlearn_native.node'); const i=m.info(); console.log('native: built ('+i.core+', '+i.config+')')"
