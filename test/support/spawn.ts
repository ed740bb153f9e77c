// Test helper: runs ranks of a group as child processes (dist-worker.js) and
// collects what they print. Bare (as node --test runs it), it does nothing.
import { spawn, type ChildProcess } from 'node:child_process';
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
  done: Promise<Finished>;
  /** Resolves with the first stdout JSON line that has the given field. */
  line(field: string): Promise<Record<string, unknown>>;
}

export function spawnProcess(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Running {
  const started = Date.now();
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const waiters: { field: string; resolve: (v: Record<string, unknown>) => void }[] = [];
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString();
    for (const l of stdout.split('\n')) {
      if (!l.startsWith('{')) continue;
      const v = JSON.parse(l) as Record<string, unknown>;
      for (const w of waiters.filter((x) => x.field in v)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(v);
      }
    }
  });
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<Finished>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr, ms: Date.now() - started })),
  );
  const line = (field: string) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      waiters.push({ field, resolve });
      void done.then((f) => reject(new Error(`process exited (${f.code ?? f.signal}) before printing '${field}': ${f.stderr}`)));
    });
  return { child, done, line };
}

export function spawnRank(scenario: string, options: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): Running {
  return spawnProcess(process.execPath, [worker, scenario, JSON.stringify(options)], env);
}

/** The last JSON line a finished rank printed; throws with its stderr when it failed. */
export function result(f: Finished): Record<string, unknown> {
  if (f.code !== 0) throw new Error(`rank exited with ${f.code ?? f.signal}: ${f.stderr}`);
  const lines = f.stdout.trim().split('\n').filter((l) => l.startsWith('{'));
  return JSON.parse(lines[lines.length - 1]) as Record<string, unknown>;
}
