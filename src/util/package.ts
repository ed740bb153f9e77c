// Where flatdist is installed: the addon, bin/flatdist.js and package.json are found from here,
// in a clone (dist/src/util/) and in an installed package alike. Also its version and the
// libtorch it was built against, read from small files so that `flatdist --version` loads no addon.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The package root: the nearest folder above this file with a package.json.
 * @throws Error when no folder above holds a package.json (a broken install).
 */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('flatdist: cannot find the package root');
    dir = up;
  }
  return dir;
}

/** flatdist's version, from its package.json. */
export function packageVersion(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}

/** Where scripts/build-native.mjs records the libtorch version the addon was built against. */
export const libtorchRecord = (): string => join(packageRoot(), 'build', 'libtorch.json');

/** The libtorch version the addon was built against, or null when the build recorded none. */
export function builtLibtorchVersion(): string | null {
  try {
    return (JSON.parse(readFileSync(libtorchRecord(), 'utf8')) as { version: string }).version;
  } catch {
    return null;
  }
}

/** Whether the addon was built against a CUDA libtorch (one with libtorch_cuda), as the build recorded it. */
export function builtWithCuda(): boolean {
  try {
    return (JSON.parse(readFileSync(libtorchRecord(), 'utf8')) as { cuda?: boolean }).cuda === true;
  } catch {
    return false;
  }
}
