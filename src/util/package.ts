// Where flatdist is installed: the addon, bin/flatdist.js and package.json are found from here,
// in a clone (dist/src/util/) and in an installed package alike.
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
