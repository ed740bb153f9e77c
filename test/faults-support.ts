// Shared by the fault-injection tests (faults-*.test.ts): the real command line in a child
// process, optionally under a file-size limit, and checks of what a failure must look like.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from './support/cli.js';
export { cli };

export interface Result {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface Running {
  child: ChildProcess;
  done: Promise<Result>;
}

/** `flatdist ...args` in a child process; with fileSizeLimitKB, under `ulimit -f` (1024-byte blocks). */
export function start(args: string[], o: { fileSizeLimitKB?: number } = {}): Running {
  const child =
    o.fileSizeLimitKB === undefined
      ? spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn('bash', ['-c', `ulimit -f ${o.fileSizeLimitKB} && exec "$0" "$@"`, process.execPath, cli, ...args], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<Result>((resolve) =>
    child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr })),
  );
  return { child, done };
}

export const flatdist = (args: string[], o: { fileSizeLimitKB?: number } = {}): Promise<Result> => start(args, o).done;

/** A fresh scratch folder, removed when the test file ends. */
export function scratch(name: string, after: (fn: () => void) => void): string {
  const dir = mkdtempSync(join(tmpdir(), `flatdist-${name}-`));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A user error: exit 2 and one error line on stderr (after any progress lines and notes), matching the pattern. */
export function assertUserError(r: Result, pattern: RegExp, what = ''): void {
  assert.equal(r.status, 2, `${what} exit ${r.status} (signal ${r.signal}): ${r.stderr}`);
  const lines = r.stderr
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('flatdist:') && !l.startsWith('flatdist: note:'));
  assert.equal(lines.length, 1, `${what} one error line expected: ${r.stderr}`);
  assert.ok(r.stderr.trim().endsWith(lines[0]), `${what} the error is the last line: ${r.stderr}`);
  assert.match(lines[0], pattern, what);
}

/** Every file under a folder with its SHA-256, by relative path. */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string, prefix: string): void => {
    for (const name of readdirSync(d).sort()) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path, `${prefix}${name}/`);
      else out[`${prefix}${name}`] = createHash('sha256').update(readFileSync(path)).digest('hex');
    }
  };
  if (existsSync(dir)) walk(dir, '');
  return out;
}

/** Mounts a tmpfs of the given size at a new folder; null when this machine does not permit it (not root, no CAP_SYS_ADMIN). */
export function mountTmpfs(dir: string, options: string): { remount(options: string): void; unmount(): void } | null {
  mkdirSync(dir, { recursive: true });
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status !== 0) return null;
  return {
    remount: (o) => assert.equal(spawnSync('mount', ['-o', `remount,${o}`, dir]).status, 0, `remount ${o}`),
    unmount: () => void spawnSync('umount', [dir]),
  };
}
