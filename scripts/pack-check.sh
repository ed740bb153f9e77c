#!/usr/bin/env bash
# The package as a user gets it: `npm pack`, the tarball installed into an empty folder
# (its install script builds the native addon against the machine's libtorch), then
# `flatdist --version` and a 20-step `train` run from there. Prints how long each part took.
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d "${TMPDIR:-/tmp}/flatdist-pack-XXXXXX")
trap 'rm -rf "$work"' EXIT
started=$SECONDS

tarball=$(npm pack --json --pack-destination "$work" 2>/dev/null | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s)[0].filename))')
packed=$SECONDS

cd "$work"
mkdir app
cd app
npm install --no-audit --no-fund --loglevel=error "../$tarball" >install.log 2>&1 || { cat install.log >&2; exit 1; }
installed=$SECONDS

flatdist=./node_modules/.bin/flatdist
version=$("$flatdist" --version)
echo "pack check: $version"
"$flatdist" train --dataset two-moons --model mlp --hidden 16 --agents 4 --topology ring --algorithm atc \
  --batch-size 16 --step-size 0.1 --steps 20 --eval-every 10 --checkpoint-every 20 --seed 1 --out run --json >train.json
node -e '
  const s = JSON.parse(require("fs").readFileSync("train.json", "utf8"));
  if (s.steps !== 20 || !(s.testAccuracy >= 0 && s.testAccuracy <= 1)) throw new Error("pack check: unexpected train summary " + JSON.stringify(s));
'
test -f run/metrics.jsonl && test -f run/run.json

echo "pack check: passed (pack $((packed - started)) s, install with the addon build $((installed - packed)) s, run $((SECONDS - installed)) s)"
