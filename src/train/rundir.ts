// The run directory: run.json (config and environment), metrics.jsonl (one JSON
// line per evaluation), checkpoints/, and run.lock while a process writes it. A
// measure or report reads only these. One process owns a run folder at a time
// (claimRunFolder); every file in it is written atomically or appended durably.
import { existsSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { cpus, totalmem, platform, release } from 'node:os';
import { join } from 'node:path';
import { DataError, UserError } from '../errors.js';
import { packageRoot, packageVersion } from '../util/package.js';
import { getNumThreads, torchVersion } from '../tensor/index.js';
import { appendDurable, isTemporary, listFolder, makeFolder, remove, writeFileAtomic } from '../util/files.js';
import { acquireLock, describeOwner, type Lock } from '../util/lock.js';
import type { Model, ModelSource } from '../models/model.js';
import { checkpointFiles, latestCheckpointPath } from './checkpoint.js';
import type { TrainConfig } from './config.js';
import type { Setup } from './setup.js';

export const paths = (out: string) => ({
  run: join(out, 'run.json'),
  metrics: join(out, 'metrics.jsonl'),
  checkpoints: join(out, 'checkpoints'),
  lock: join(out, 'run.lock'),
});

/** The files a run (or a minimum) leaves in its folder: what --overwrite removes. */
export const runFiles = ['run.json', 'metrics.jsonl', 'checkpoints', 'minimum.json'];

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
    commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
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
    machine: {
      cpu: cpu[0]?.model ?? 'unknown',
      cores: cpu.length,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      os: `${platform()} ${release()}`,
    },
  };
}

export interface ClaimOptions {
  /** Who claims it, named to a process that finds the folder taken (e.g. 'flatdist train'). */
  command: string;
  /** Continue the run that is there. */
  resume: boolean;
  /** Remove the run that is there (its runFiles) and start afresh. */
  overwrite: boolean;
  /** Whether the command can continue a run with --resume (default true), for the hint. */
  resumable?: boolean;
  /** The files that make up what the folder holds (default runFiles: a training run's). */
  files?: readonly string[];
}

/** @throws UserError when both resume and overwrite are asked for. */
export function requireResumeOrOverwrite(o: { resume: boolean; overwrite: boolean }): void {
  if (o.resume && o.overwrite)
    throw new UserError('--resume continues a run, --overwrite starts it over — give one of them');
}

/**
 * Makes this process the one owner of a run folder: creates it, takes its lock (a stale lock
 * of a dead process is taken over, with a note on stderr), and removes temporary files of
 * unfinished writes. A fresh run (neither resume nor overwrite) is refused where a run is.
 * @throws UserError when another process holds the folder, or a run is there and neither
 *   resume nor overwrite is given
 * @throws FileSystemError when the folder cannot be created (a file in the way, read-only, …)
 */
export function claimRunFolder(out: string, o: ClaimOptions): Lock {
  requireResumeOrOverwrite(o);
  makeFolder(out);
  const lock = acquireLock(paths(out).lock, o.command);
  if (lock.replaced)
    console.error(
      `flatdist: note: ${out} was held by ${describeOwner(lock.replaced)}, which is no longer running — taken over`,
    );
  try {
    for (const dir of [out, paths(out).checkpoints]) {
      for (const name of listFolder(dir)) if (isTemporary(name)) remove(join(dir, name));
    }
    const present = (o.files ?? runFiles).filter((f) => existsSync(join(out, f)));
    if (!o.resume && present.length > 0) {
      if (!o.overwrite) {
        throw new UserError(
          `${out} holds ${o.files ? 'earlier results' : 'a run'} already (${present.join(', ')}) — ${o.resumable === false ? '' : `continue it with --resume ${out}, `}replace it with --overwrite, or give another --out`,
        );
      }
      for (const f of present) remove(join(out, f));
    }
  } catch (e) {
    lock.release();
    throw e;
  }
  return lock;
}

/** JSON indented by two, lists of plain numbers kept on one line (a run's example indices are many). */
const recordText = (record: object): string =>
  JSON.stringify(record, null, 2).replace(/\[(\s*-?[\d.eE+-]+,)*\s*-?[\d.eE+-]+\s*\]/g, (list) =>
    list.replace(/\s+/g, ''),
  );

export function writeRunRecord(out: string, record: object): void {
  makeFolder(out);
  writeFileAtomic(paths(out).run, `${recordText(record)}\n`);
}

/** Appends one metrics line, durably (see util/files). */
export function appendMetrics(out: string, line: object): void {
  appendDurable(paths(out).metrics, `${JSON.stringify(line)}\n`);
}

/**
 * The complete lines of a metrics file: a last line without its newline is an append that
 * never finished (the process was killed), and is left out.
 * @throws DataError naming the file and line when a complete line is not JSON
 */
function metricsLines(file: string): { text: string; value: { step: number } }[] {
  if (!existsSync(file)) return [];
  const lines = readFileSync(file, 'utf8').split('\n');
  lines.pop();
  return lines.flatMap((text, i) => {
    if (text === '') return [];
    try {
      return [{ text, value: JSON.parse(text) as { step: number } }];
    } catch {
      throw new DataError(file, `line ${i + 1} is not JSON — the metrics file is damaged`);
    }
  });
}

/** Metrics lines of a run, parsed. */
export function readMetrics<T = Record<string, unknown>>(out: string): T[] {
  return metricsLines(paths(out).metrics).map((l) => l.value as T);
}

/** Drops metrics lines past a step (written after the checkpoint a resumed run restarts from), and an unfinished last line. */
export function truncateMetrics(out: string, step: number): void {
  const file = paths(out).metrics;
  if (!existsSync(file)) return;
  const kept = metricsLines(file)
    .filter((l) => l.value.step <= step)
    .map((l) => `${l.text}\n`)
    .join('');
  if (kept !== readFileSync(file, 'utf8')) writeFileAtomic(file, kept);
}

/** What run.json says of the model: its name, its parameter count M, and the file it came from (TorchScript). */
export function modelRecord(model: Model): { name: string; parameters: number; source?: ModelSource } {
  return { name: model.name, parameters: model.parameterCount, ...(model.source ? { source: model.source } : {}) };
}

/** A fresh run's run.json: its config, the machine, the graph, the model and the partition's labels. */
export function runRecord(setup: Setup, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    config: setup.config,
    environment: environment(),
    graph: {
      topology: setup.graph.name,
      agents: setup.graph.agents,
      edges: setup.graph.edges.length,
      ...setup.spectrum,
    },
    model: modelRecord(setup.model),
    labelHistogram: setup.labelHistogram,
    ...extra,
    started: new Date().toISOString(),
  };
}

/**
 * What the trainer keeps in run.json beside the config: the loss at the starting point (the
 * divergence bound's scale), the seconds of training up to each of the last two checkpoints
 * (a resumed run's time counts the earlier parts), and one entry per resume.
 */
export interface RunProgress {
  /** The mean batch loss over the agents at step 1, at the initial point w_0. */
  initialLoss?: number;
  /** Seconds of training up to a checkpoint's step; null when an earlier part's time was not recorded. */
  elapsed?: { step: number; seconds: number | null }[];
  resumes?: ResumeEntry[];
}

/** One resume of a run: when, from which checkpoint step, and which fields it changed from what to what. */
export interface ResumeEntry {
  at: string;
  step: number;
  changed: Record<string, { from: unknown; to: unknown }>;
}

/** run.json's contents, or null when the folder has none (a library caller may keep none). */
export function readRunRecord(out: string): (RunProgress & Record<string, unknown>) | null {
  const file = paths(out).run;
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as RunProgress & Record<string, unknown>;
  } catch {
    throw new DataError(file, 'not JSON — the run record is damaged');
  }
}

/** Rewrites run.json (atomically) with change applied; nothing when the folder has none. */
function updateRunRecord(
  out: string,
  change: (r: RunProgress & Record<string, unknown>) => RunProgress & Record<string, unknown>,
): void {
  const record = readRunRecord(out);
  if (record !== null) writeRunRecord(out, change(record));
}

/** Records the initial loss (a fresh run's step 1). */
export const recordInitialLoss = (out: string, initialLoss: number): void =>
  updateRunRecord(out, (r) => ({ ...r, initialLoss }));

/**
 * Records the seconds of training up to a checkpoint's step, before the checkpoint is written: a
 * process killed between the two leaves run.json holding both the previous checkpoint's time and this one's.
 */
export const recordElapsed = (out: string, step: number, seconds: number | null): void =>
  updateRunRecord(out, (r) => ({
    ...r,
    elapsed: [...(r.elapsed ?? []).filter((e) => e.step < step).slice(-1), { step, seconds }],
  }));

/** Seconds of training up to a checkpoint's step, as run.json recorded them; null when unknown. */
export function elapsedAt(record: RunProgress | null, step: number): number | null {
  if (step === 0) return 0;
  return record?.elapsed?.find((e) => e.step === step)?.seconds ?? null;
}

/** Records a resume in run.json's history and makes its config the run's (steps, cadence, … as changed). */
export const recordResume = (out: string, config: TrainConfig, entry: ResumeEntry): void =>
  updateRunRecord(out, (r) => ({
    ...r,
    config,
    elapsed: (r.elapsed ?? []).filter((e) => e.step <= entry.step),
    resumes: [...(r.resumes ?? []), entry],
  }));

/** The step of a run's latest checkpoint, or null when it has none. */
export function lastCheckpointStep(out: string): number | null {
  const file = latestCheckpointPath(paths(out).checkpoints);
  if (file === null) return null;
  return (
    checkpointFiles(paths(out).checkpoints).find((f) => join(paths(out).checkpoints, f.file) === file)?.step ?? null
  );
}
