// Builds the native addon against libtorch: Debian's libtorch-dev by default, or
// the libtorch in $LIBTORCH_DIR. Stops with one line when neither is there.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const dir = process.env.LIBTORCH_DIR;
const header = dir ? join(dir, 'include', 'ATen', 'ATen.h') : '/usr/include/ATen/ATen.h';
if (!existsSync(header)) {
  const where = dir ? `LIBTORCH_DIR=${dir} has no include/ATen/ATen.h` : 'libtorch not found';
  console.error(`flatdist: ${where} — run 'apt-get install libtorch-dev libopenblas0-pthread' (Debian) or set LIBTORCH_DIR to an unpacked libtorch`);
  process.exit(1);
}
const gyp = spawnSync('node-gyp', [existsSync('build/config.gypi') ? 'build' : 'rebuild', '--jobs', 'max'], { stdio: 'inherit', shell: false });
if (gyp.error) {
  console.error(`flatdist: cannot run node-gyp (${gyp.error.message}) — run this through npm ('npm run build'), which puts node-gyp on the PATH`);
}
process.exit(gyp.status ?? 1);
