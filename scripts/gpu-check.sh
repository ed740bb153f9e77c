#!/usr/bin/env bash
# The GPU check, for a machine with an NVIDIA GPU: builds the addon against a CUDA libtorch in a scratch
# copy of the checkout (the checkout's own build is left alone), then
#   1. flatdist --version --devices must list a CUDA device,
#   2. the tensor and model tests run with every tensor on the GPU (FLATDIST_TEST_DEVICE=cuda),
#   3. the demo's diffusion run (MNIST, MLP, ring of 8, 300 steps) trains on the GPU and on the CPU,
#      with both accuracies and times printed.
# A few minutes; needs no network. LIBTORCH_DIR: a pytorch.org CUDA libtorch or the torch folder of a CUDA
# PyTorch wheel (default: the torch of the python3 on PATH). Prints the figures for bench/README.md.
# `flatdist bench` has no --device yet: the bench step is left out until it has (see bench/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
checkout=$PWD

if [ -z "${LIBTORCH_DIR:-}" ]; then
  LIBTORCH_DIR=$(python3 -c 'import os, torch; print(os.path.dirname(torch.__file__))' 2>/dev/null) || {
    echo "gpu-check: set LIBTORCH_DIR to a CUDA libtorch (or a CUDA PyTorch wheel's torch folder); python3 has no torch" >&2
    exit 1
  }
fi
export LIBTORCH_DIR
if ! compgen -G "$LIBTORCH_DIR/lib/libtorch_cuda.so" >/dev/null; then
  echo "gpu-check: $LIBTORCH_DIR/lib has no libtorch_cuda.so — that libtorch is CPU-only" >&2
  exit 1
fi
if [ ! -d node_modules ]; then
  echo "gpu-check: run npm ci first (the scratch copy uses this checkout's node_modules)" >&2
  exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/flatdist-gpu-XXXXXX")
trap 'rm -rf "$work"' EXIT
git ls-files -z --cached --others --exclude-standard |
  tar -C "$checkout" --null -T - --ignore-failed-read -cf - 2>/dev/null |
  tar -C "$work" -xf -
ln -s "$checkout/node_modules" "$work/node_modules"
cd "$work"

echo "gpu-check: building against $LIBTORCH_DIR" >&2
start=$SECONDS
PATH=$checkout/node_modules/.bin:$PATH npm run --silent build >build.log 2>&1 || {
  tail -30 build.log >&2
  exit 1
}
echo "gpu-check: built in $((SECONDS - start)) s" >&2

node bin/flatdist.js --version --devices | tee devices.txt
grep -q 'cuda:0' devices.txt || {
  echo "gpu-check: libtorch sees no CUDA device (driver? CUDA_VISIBLE_DEVICES?)" >&2
  exit 1
}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || true

echo "gpu-check: tensor and model tests on cuda" >&2
start=$SECONDS
status=0
FLATDIST_TEST_DEVICE=cuda NODE_OPTIONS="--import=$work/dist/test/support/device.js" \
  node --test --test-concurrency=1 --test-reporter=dot dist/test/tensor-*.test.js dist/test/models.test.js || status=$?
echo "gpu-check: tests on cuda $([ $status -eq 0 ] && echo passed || echo FAILED) in $((SECONDS - start)) s" >&2

train() { # device
  local t0=$SECONDS
  node bin/flatdist.js train --dataset mnist --model mlp --algorithm atc --topology ring --agents 8 \
    --batch-size 64 --step-size 0.1 --steps 300 --seed 1 --device "$1" --out "run-$1" --json >"train-$1.json"
  # shellcheck disable=SC2016 # JavaScript, not shell
  node -e '
    const s = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    console.log(`demo diffusion run on ${process.argv[2]}: test accuracy ${(100 * s.testAccuracy).toFixed(2)}%, ${process.argv[3]} s`);
  ' "train-$1.json" "$1" "$((SECONDS - t0))"
}
train cuda
train cpu
exit $status
