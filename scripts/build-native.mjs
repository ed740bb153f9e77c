// Builds the native addon against libtorch: Debian's libtorch-dev by default, or the libtorch in
// $LIBTORCH_DIR — an unpacked pytorch.org libtorch, or the torch folder of an installed PyTorch wheel
// (site-packages/torch): either holds include/ and lib/. Stops with one line when neither is there.
// Records the libtorch version (and whether it is a CUDA build) in build/libtorch.json, so that
// `flatdist --version` can say it without loading the addon.
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';

const dir = process.env.LIBTORCH_DIR ? resolve(process.env.LIBTORCH_DIR) : undefined;
const include = dir ? join(dir, 'include') : '/usr/include';
const header = join(include, 'ATen', 'ATen.h');
if (!existsSync(header)) {
  const where = dir ? `LIBTORCH_DIR=${dir} has no include/ATen/ATen.h` : 'libtorch not found';
  console.error(
    `flatdist: ${where} — run 'apt-get install libtorch-dev libopenblas0-pthread' (Debian) or set LIBTORCH_DIR to an unpacked libtorch or a PyTorch wheel's torch folder`,
  );
  process.exit(1);
}

/** TORCH_VERSION from libtorch's version header ("1.13.0"), or null when the header has none. */
function torchVersion() {
  const path = join(include, 'torch', 'csrc', 'api', 'include', 'torch', 'version.h');
  if (!existsSync(path)) return null;
  const match = /#define\s+TORCH_VERSION\s+(?:\\\s*)?"([^"]+)"/.exec(readFileSync(path, 'utf8'));
  return match ? match[1] : null;
}

/**
 * Compiler and linker flags for the libtorch in LIBTORCH_DIR: its headers, its lib/ on the run-time path
 * (rpath; a wheel's CUDA libraries are found from there through torch's own rpath), its CUDA libraries
 * when it has them (linked even though no symbol is used: they register the CUDA kernels), Gloo when it is
 * a library of its own (pytorch.org and wheels build it into libtorch_cpu), and the C++ ABI it was built
 * with (wheels before 2.7 use the pre-C++11 one).
 */
function flags() {
  if (!dir) return { cflags: [], libs: ['-ltorch', '-ltorch_cpu', '-lc10', '-lgloo'], cuda: false };
  const lib = join(dir, 'lib');
  const has = (name) => existsSync(join(lib, name));
  const cuda = has('libtorch_cuda.so');
  const config = join(dir, 'share', 'cmake', 'Torch', 'TorchConfig.cmake');
  const abi = existsSync(config) ? /_GLIBCXX_USE_CXX11_ABI=([01])/.exec(readFileSync(config, 'utf8'))?.[1] : undefined;
  return {
    cflags: [
      `-I${include}`,
      `-I${join(include, 'torch', 'csrc', 'api', 'include')}`,
      ...(abi === undefined ? [] : [`-D_GLIBCXX_USE_CXX11_ABI=${abi}`]),
    ],
    libs: [
      `-L${lib}`,
      `-Wl,-rpath,${lib}`,
      '-Wl,--no-as-needed',
      '-ltorch',
      '-ltorch_cpu',
      '-lc10',
      ...(cuda ? ['-ltorch_cuda', '-lc10_cuda'] : []),
      ...(has('libgloo.so') ? ['-lgloo'] : []),
      '-Wl,--as-needed',
    ],
    cuda,
  };
}

const f = flags();
const record = join('build', 'libtorch.json');
const recorded = existsSync(record) ? JSON.parse(readFileSync(record, 'utf8')) : null;
// A build folder configured before binding.gyp last changed (a source file added), or for another libtorch,
// is configured again.
const configured =
  existsSync('build/config.gypi') &&
  existsSync('build/Makefile') &&
  statSync('build/Makefile').mtimeMs >= statSync('binding.gyp').mtimeMs &&
  JSON.stringify(recorded?.flags) === JSON.stringify({ cflags: f.cflags, libs: f.libs });
const gyp = spawnSync('node-gyp', [configured ? 'build' : 'rebuild', '--jobs', 'max'], {
  stdio: 'inherit',
  shell: false,
  // binding.gyp reads the flags from here.
  env: { ...process.env, FLATDIST_TORCH_CFLAGS: f.cflags.join(' '), FLATDIST_TORCH_LIBS: f.libs.join(' ') },
});
if (gyp.error) {
  console.error(
    `flatdist: cannot run node-gyp (${gyp.error.message}) — build through npm (npm run build), which puts it on PATH, or run npx node-gyp rebuild`,
  );
}
// Written after the build: node-gyp rebuild starts by removing build/.
if (gyp.status === 0) {
  mkdirSync('build', { recursive: true });
  writeFileSync(
    record,
    `${JSON.stringify({ version: torchVersion(), include, cuda: f.cuda, flags: { cflags: f.cflags, libs: f.libs } })}\n`,
  );
}
process.exit(gyp.status ?? 1);
