// A training run's configuration: its fields, defaults, and validation. Every
// error names the field and the values allowed.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { algorithms, type Algorithm } from '../algorithms/recursion.js';
import { ConfigError, UserError } from '../errors.js';
import { parsePartition } from '../data/partition.js';
import type { Schedule } from './schedule.js';

export interface TrainConfig {
  dataset: string;
  dataDir: string | null;
  /** Use only the first n training examples (null: all). */
  trainSubset: number | null;
  /** iid | dirichlet[:α] | shards[:shards per agent] | quantity[:α] */
  partition: string;
  model: string;
  hidden: number[];
  activation: string;
  algorithm: Algorithm;
  topology: string;
  /** Edge list (JSON [[l, k], …] or CSV) for topology 'file'. */
  edges: string | null;
  /** Erdős–Rényi edge probability (default 2 ln K / K). */
  edgeProbability: number | null;
  /** Random geometric link radius (default √(2 ln K / (πK))). */
  radius: number | null;
  rule: string;
  /** A user combination matrix (JSON rows or CSV, a_{lk} in row l, column k); replaces the rule. */
  matrix: string | null;
  agents: number;
  batchSize: number;
  stepSize: number;
  schedule: Schedule;
  momentum: number;
  weightDecay: number;
  clipNorm: number | null;
  steps: number;
  /** When set, steps = ⌈epochs · n / (K·B)⌉. */
  epochs: number | null;
  evalEvery: number;
  /** Training examples used for the train metrics at each evaluation. */
  evalSubset: number;
  checkpointEvery: number;
  /** Keep only the last N checkpoints (null: all); latest.json's is always kept. */
  keepCheckpoints: number | null;
  seed: number;
  sameInit: boolean;
  out: string;
}

export const defaults: TrainConfig = {
  dataset: 'mnist',
  dataDir: null,
  trainSubset: null,
  partition: 'iid',
  model: 'mlp',
  hidden: [256],
  activation: 'relu',
  algorithm: 'atc',
  topology: 'ring',
  edges: null,
  edgeProbability: null,
  radius: null,
  rule: 'metropolis',
  matrix: null,
  agents: 8,
  batchSize: 64,
  stepSize: 0.1,
  schedule: { kind: 'constant' },
  momentum: 0,
  weightDecay: 0,
  clipNorm: null,
  steps: 300,
  epochs: null,
  evalEvery: 100,
  evalSubset: 10000,
  checkpointEvery: 100,
  keepCheckpoints: null,
  seed: 1,
  sameInit: true,
  out: 'runs/latest',
};

/** Accepted spellings of an algorithm; 'diffusion' means ATC. */
export function parseAlgorithm(value: string, field = 'algorithm'): Algorithm {
  const v = value === 'diffusion' ? 'atc' : value;
  if (!(algorithms as readonly string[]).includes(v)) {
    throw new ConfigError(field, `unknown algorithm '${value}' — one of ${[...algorithms, 'diffusion'].join(', ')}`);
  }
  return v as Algorithm;
}

function positiveInt(field: string, v: unknown): number {
  const n = typeof v === 'string' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) throw new ConfigError(field, `must be a positive integer, got ${JSON.stringify(v)}`);
  return n;
}

function number(field: string, v: unknown, { min = -Infinity, exclusiveMin = false } = {}): number {
  const n = typeof v === 'string' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < min || (exclusiveMin && n === min)) {
    throw new ConfigError(field, `must be a number ${exclusiveMin ? '>' : '≥'} ${min}, got ${JSON.stringify(v)}`);
  }
  return n;
}

function schedule(v: unknown): Schedule {
  if (typeof v === 'string') {
    // Compact spellings for the command line: constant | step:EVERY:FACTOR | cosine[:FINAL] | warmup:STEPS[:then...]
    const [kind, ...rest] = v.split(':');
    if (kind === 'constant') return { kind };
    if (kind === 'step') return { kind, every: positiveInt('schedule.every', rest[0] ?? ''), factor: number('schedule.factor', rest[1] ?? '0.1', { min: 0 }) };
    if (kind === 'cosine') return { kind, final: number('schedule.final', rest[0] ?? '0', { min: 0 }) };
    if (kind === 'warmup') {
      const then = schedule(rest.slice(1).join(':') || 'constant');
      if (then.kind === 'warmup') throw new ConfigError('schedule', 'a warm-up cannot follow a warm-up');
      return { kind, steps: positiveInt('schedule.steps', rest[0] ?? ''), then };
    }
  } else if (v && typeof v === 'object' && 'kind' in v) {
    const o = v as Record<string, unknown>;
    const parts = [o.kind, o.every ?? o.steps ?? o.final, o.factor].filter((x) => x !== undefined).join(':');
    if (o.kind === 'warmup') return schedule(`warmup:${String(o.steps)}:${typeof o.then === 'string' ? o.then : 'constant'}`);
    return schedule(parts);
  }
  throw new ConfigError('schedule', `must be constant, step:EVERY:FACTOR, cosine[:FINAL] or warmup:STEPS[:SCHEDULE], got ${JSON.stringify(v)}`);
}

function validPartition(v: unknown): string {
  parsePartition(String(v));
  return String(v);
}

const keys = Object.keys(defaults) as (keyof TrainConfig)[];

/** Validate a partial config (from a file and/or flags) over the defaults. */
export function makeConfig(partial: Record<string, unknown>): TrainConfig {
  for (const k of Object.keys(partial)) {
    if (!(keys as string[]).includes(k)) throw new ConfigError(k, `unknown field — allowed: ${keys.join(', ')}`);
  }
  const raw = { ...defaults, ...partial } as Record<keyof TrainConfig, unknown>;
  const nullable = <T>(v: unknown, f: (v: unknown) => T): T | null => (v === null || v === undefined || v === 'null' ? null : f(v));
  const hidden = typeof raw.hidden === 'string' ? raw.hidden.split(',').filter(Boolean).map(Number) : raw.hidden;
  if (!Array.isArray(hidden) || hidden.some((h) => !Number.isInteger(h) || h < 1)) {
    throw new ConfigError('hidden', `must be layer widths like 256 or 256,128, got ${JSON.stringify(raw.hidden)}`);
  }
  const bool = (field: string, v: unknown): boolean => {
    if (typeof v === 'boolean') return v;
    if (v === 'true' || v === 'false') return v === 'true';
    throw new ConfigError(field, `must be true or false, got ${JSON.stringify(v)}`);
  };
  const config: TrainConfig = {
    dataset: String(raw.dataset),
    dataDir: nullable(raw.dataDir, String),
    trainSubset: nullable(raw.trainSubset, (v) => positiveInt('trainSubset', v)),
    partition: validPartition(raw.partition),
    model: String(raw.model),
    hidden: hidden as number[],
    activation: String(raw.activation),
    algorithm: parseAlgorithm(String(raw.algorithm)),
    topology: String(raw.topology),
    edges: nullable(raw.edges, String),
    edgeProbability: nullable(raw.edgeProbability, (v) => number('edgeProbability', v, { min: 0, exclusiveMin: true })),
    radius: nullable(raw.radius, (v) => number('radius', v, { min: 0, exclusiveMin: true })),
    rule: String(raw.rule),
    matrix: nullable(raw.matrix, String),
    agents: positiveInt('agents', raw.agents),
    batchSize: positiveInt('batchSize', raw.batchSize),
    stepSize: number('stepSize', raw.stepSize, { min: 0, exclusiveMin: true }),
    schedule: schedule(raw.schedule),
    momentum: number('momentum', raw.momentum, { min: 0 }),
    weightDecay: number('weightDecay', raw.weightDecay, { min: 0 }),
    clipNorm: nullable(raw.clipNorm, (v) => number('clipNorm', v, { min: 0, exclusiveMin: true })),
    steps: positiveInt('steps', raw.steps),
    epochs: nullable(raw.epochs, (v) => number('epochs', v, { min: 0, exclusiveMin: true })),
    evalEvery: positiveInt('evalEvery', raw.evalEvery),
    evalSubset: positiveInt('evalSubset', raw.evalSubset),
    checkpointEvery: positiveInt('checkpointEvery', raw.checkpointEvery),
    keepCheckpoints: nullable(raw.keepCheckpoints, (v) => positiveInt('keepCheckpoints', v)),
    seed: number('seed', raw.seed, { min: 0 }),
    sameInit: bool('sameInit', raw.sameInit),
    out: String(raw.out),
  };
  if (config.momentum >= 1) throw new ConfigError('momentum', `must be in [0, 1), got ${config.momentum}`);
  if (!Number.isInteger(config.seed)) throw new ConfigError('seed', `must be a non-negative integer, got ${config.seed}`);
  return config;
}

/** A YAML or JSON config file, as a partial config. */
export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new UserError(`cannot read config file ${path}`);
  }
  let value: unknown;
  try {
    value = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new UserError(`${path}: not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'} (${(e as Error).message.split('\n')[0]})`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new UserError(`${path}: a config file must hold a mapping of field: value`);
  return value as Record<string, unknown>;
}
