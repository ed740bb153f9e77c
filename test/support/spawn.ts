// Test helper: runs ranks of a group as child processes (dist-worker.js) and
// collects what they print; waits on events (output, exit, files), each with a
// bound. Bare (as node --test runs it), it does nothing.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const worker = join(dirname(fileURLToPath(import.meta.url)), 'dist-worker.js');

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Milliseconds from spawn to exit. */
  ms: number;
}

export interface Running {
  child: ChildProcess;
  /** On exit. */
  done: Promise<Finished>;
  /** Once the process and every process it passed its stdout and stderr to have closed them. */
  closed: Promise<Finished>;
  /** Resolves with the first stdout JSON line that has the given field. */
  line(field: string): Promise<Record<string, unknown>>;
  /** Resolves with the first match of re in stderr. */
  stderrMatch(re: RegExp): Promise<RegExpMatchArray>;
}

export function spawnProcess(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Running {
  const started = Date.now();
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let exited: Finished | null = null;
  const checks = new Set<() => void>();
  const recheck = (): void => checks.forEach((c) => c());
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString();
    recheck();
  });
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
    recheck();
  });
  const finished = (): Finished => ({
    code: child.exitCode,
    signal: child.signalCode,
    stdout,
    stderr,
    ms: exited?.ms ?? Date.now() - started,
  });
  const done = new Promise<Finished>((resolve) =>
    child.on('exit', () => {
      exited = finished();
      resolve(exited);
    }),
  );
  const closed = new Promise<Finished>((resolve) => child.on('close', () => resolve(finished())));
  // Resolves once find(output so far) gives a value; rejects if the process closes its output first.
  const awaitOutput = <T>(find: () => T | undefined, what: string): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const check = (): void => {
        const v = find();
        if (v === undefined) return;
        checks.delete(check);
        resolve(v);
      };
      checks.add(check);
      check();
      void closed.then((f) => {
        if (!checks.delete(check)) return;
        reject(new Error(`process exited (${f.code ?? f.signal}) before printing ${what}: ${f.stderr}`));
      });
    });
  // Complete lines only: a chunk may end mid-line.
  const line = (field: string) =>
    awaitOutput(() => {
      const complete = stdout
        .split('\n')
        .slice(0, -1)
        .filter((l) => l.startsWith('{'));
      return complete.map((l) => JSON.parse(l) as Record<string, unknown>).find((v) => field in v);
    }, `'${field}'`);
  const stderrMatch = (re: RegExp) => awaitOutput(() => re.exec(stderr) ?? undefined, String(re));
  return { child, done, closed, line, stderrMatch };
}

export function spawnRank(scenario: string, options: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): Running {
  return spawnProcess(process.execPath, [worker, scenario, JSON.stringify(options)], env);
}

/** The last JSON line a finished rank printed; throws with its stderr when it failed. */
export function result(f: Finished): Record<string, unknown> {
  if (f.code !== 0) throw new Error(`rank exited with ${f.code ?? f.signal}: ${f.stderr}`);
  const lines = f.stdout
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'));
  return JSON.parse(lines[lines.length - 1]) as Record<string, unknown>;
}

/** p, or a rejection naming what did not happen within ms. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** Whether process pid has ended: it no longer exists, or is a zombie no one has reaped yet. */
export function ended(pid: number): boolean {
  try {
    // /proc/<pid>/stat: "pid (name) state ..."; the name may hold spaces and parentheses.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] === 'Z';
  } catch {
    return true;
  }
}
