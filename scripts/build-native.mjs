// Builds the native addon against libtorch: Debian's libtorch-dev by default, or
// the libtorch in $LIBTORCH_DIR. Stops with one line when neither is there.
// Records the libtorch version in build/libtorch.json, so that `flatdist --version`
// can say it without loading the addon.
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const dir = process.env.LIBTORCH_DIR;
const include = dir ? join(dir, 'include') : '/usr/include';
const header = join(include, 'ATen', 'ATen.h');
if (!existsSync(header)) {
  const where = dir ? `LIBTORCH_DIR=${dir} has no include/ATen/ATen.h` : 'libtorch not found';
  console.error(
    `flatdist: ${where} — run 'apt-get install libtorch-dev libopenblas0-pthread' (Debian) or set LIBTORCH_DIR to an unpacked libtorch`,
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

// A build folder configured before binding.gyp last changed (a source file added) is configured again.
const configured =
  existsSync('build/config.gypi') &&
  existsSync('build/Makefile') &&
  statSync('build/Makefile').mtimeMs >= statSync('binding.gyp').mtimeMs;
const gyp = spawnSync('node-gyp', [configured ? 'build' : 'rebuild', '--jobs', 'max'], {
  stdio: 'inherit',
  shell: false,
});
if (gyp.error) {
  console.error(
    `flatdist: cannot run node-gyp (${gyp.error.message}) — build through npm (npm run build), which puts it on PATH, or run npx node-gyp rebuild`,
  );
}
// Written after the build: node-gyp rebuild starts by removing build/.
if (gyp.status === 0) {
  mkdirSync('build', { recursive: true });
  writeFileSync(join('build', 'libtorch.json'), `${JSON.stringify({ version: torchVersion(), include })}\n`);
}
process.exit(gyp.status ?? 1);
