#!/usr/bin/env bash
# Everything a fresh Debian machine needs before flatdist runs: the system
# packages (libtorch, OpenBLAS, Gloo, the datasets, PyTorch as a peer, Chromium for the report test), the npm
# dependencies, the native addon and the TypeScript build. Idempotent and quiet
# when there is nothing to do.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(libtorch-dev libopenblas0-pthread libgloo-dev dataset-fashion-mnist python3-torch chromium)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "flatdist: missing system packages: ${missing[*]} — run as root, or: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
  echo "flatdist setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "flatdist setup: npm ci" >&2
  npm ci --no-audit --no-fund >&2
else
  npm run --silent build >&2
fi
