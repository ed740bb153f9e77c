// The run directory: run.json (config and environment), metrics.jsonl (one JSON
// line per evaluation), checkpoints/. A measure or report reads only these.
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { cpus, totalmem, platform, release } from 'node:os';
import { join } from 'node:path';
import { packageRoot, packageVersion } from '../util/package.js';
import { getNumThreads, torchVersion } from '../tensor/index.js';
import { writeFileAtomic } from './atomic.js';

export const paths = (out: string) => ({
  run: join(out, 'run.json'),
  metrics: join(out, 'metrics.jsonl'),
  checkpoints: join(out, 'checkpoints'),
});

export interface Environment {
  flatdist: string;
  libtorch: string;
  node: string;
  commit: string | null;
  threads: number;
  machine: { cpu: string; cores: number; memoryGiB: number; os: string };
}

export function environment(): Environment {
  const root = packageRoot();
  let commit: string | null;
  try {
    commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    commit = null;
  }
  const cpu = cpus();
  return {
    flatdist: packageVersion(),
    libtorch: torchVersion,
    node: process.version,
    commit,
    threads: getNumThreads(),
    machine: { cpu: cpu[0]?.model ?? 'unknown', cores: cpu.length, memoryGiB: Math.round(totalmem() / 2 ** 30), os: `${platform()} ${release()}` },
  };
}

export function writeRunRecord(out: string, record: object): void {
  mkdirSync(out, { recursive: true });
  writeFileAtomic(paths(out).run, `${JSON.stringify(record, null, 2)}\n`);
}

export function appendMetrics(out: string, line: object): void {
  appendFileSync(paths(out).metrics, `${JSON.stringify(line)}\n`);
}

/** Metrics lines of a run, parsed. */
export function readMetrics<T = Record<string, unknown>>(out: string): T[] {
  const file = paths(out).metrics;
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as T);
}

/** Drop metrics lines past a step (written after the checkpoint a resumed run restarts from). */
export function truncateMetrics(out: string, step: number): void {
  const file = paths(out).metrics;
  if (!existsSync(file)) return;
  const kept = readFileSync(file, 'utf8').split('\n').filter((l) => l && (JSON.parse(l) as { step: number }).step <= step);
  writeFileAtomic(file, kept.map((l) => `${l}\n`).join(''));
}
