// Which examples a run and a measurement used, recorded so that either can be redone outside
// flatdist. A run's run.json holds `parts`: for each agent the indices of D_k in the data set's
// own training split (a --train-subset mapped back to it), in the order the agent holds them,
// with the data set's name and split sizes, and `indicesSha256`: SHA-256 of the indices of
// agent 0, 1, … as little-endian int64, one after another. (In run.json rather than a file of
// its own: a run folder's files are fixed — run.json, metrics.jsonl, checkpoints/.)
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { DataError } from '../errors.js';
import type { ModelRisk } from '../measures/index.js';
import { paths } from './rundir.js';
import type { Setup } from './setup.js';

export const partsFormat = 'flatdist-parts/1';

/** What run.json records under `parts`: each agent's examples and where they come from. */
export interface PartsRecord {
  format: string;
  /** The data set's name (as --dataset spells it) and the sizes of its own splits. */
  dataset: string;
  trainSplit: number;
  testSplit: number;
  /** --train-subset: the run's training examples are this many of the split (null: all of them). */
  trainSubset: number | null;
  /** Σ_k |D_k|. */
  examples: number;
  agents: number;
  /** SHA-256 of the indices, agent by agent, as little-endian int64. */
  indicesSha256: string;
  /** indices[k]: agent k's examples, as indices into the data set's training split, in the order it holds them. */
  indices: number[][];
}

/** SHA-256 of index lists, one after another, as little-endian int64 (what Python's `np.asarray(ix, '<i8').tobytes()` hashes). */
export function indicesSha256(lists: ArrayLike<number>[]): string {
  const h = createHash('sha256');
  for (const ix of lists) {
    const bytes = Buffer.alloc(8 * ix.length);
    for (let i = 0; i < ix.length; i++) bytes.writeBigInt64LE(BigInt(ix[i]), 8 * i);
    h.update(bytes);
  }
  return h.digest('hex');
}

/** Indices into the run's training examples, as indices into the data set's training split. */
export function inTrainSplit(source: NonNullable<Setup['source']>, indices: ArrayLike<number>): number[] {
  const origin = source.trainIndices;
  return Array.from(indices, (i) => (origin ? origin[i] : i));
}

/**
 * The record of each agent's examples, for run.json.
 * @throws DataError when the setup's examples are derived features, not a data set's own
 */
export function partsRecord(setup: Setup): PartsRecord {
  const source = setup.source;
  if (!source) throw new DataError('parts', "the run's examples are derived features: no data set indices to record");
  const indices = setup.parts.map((part) => inTrainSplit(source, part));
  return {
    format: partsFormat,
    dataset: source.dataset,
    trainSplit: source.trainSplit,
    testSplit: source.testSplit,
    trainSubset: setup.config.trainSubset,
    examples: indices.reduce((n, p) => n + p.length, 0),
    agents: indices.length,
    indicesSha256: indicesSha256(indices),
    indices,
  };
}

/**
 * Each agent's part as run.json records it, checked against its hash.
 * @throws DataError when the run has no such record, or its indices do not match their hash
 */
export function readParts(out: string): PartsRecord {
  const file = paths(out).run;
  const record = (JSON.parse(readFileSync(file, 'utf8')) as { parts?: PartsRecord }).parts;
  if (!record) throw new DataError(file, 'no parts: the run was made before flatdist recorded its examples');
  if (indicesSha256(record.indices) !== record.indicesSha256)
    throw new DataError(file, 'the parts do not match indicesSha256: run.json was changed after it was written');
  return record;
}

/** The examples a measurement's J sums over, as `measure --json` records them. */
export interface ExamplesRecord {
  split: 'train' | 'test';
  dataset: string;
  count: number;
  /** SHA-256 of `indices` as little-endian int64. */
  indicesSha256: string;
  /** Indices in the data set's own split; J = (1/count) Σ_i weights_i ℓ_i + (λ/2)‖w‖². Left out past `inlineLimit` examples. */
  indices?: number[];
  weights?: number[];
  /** How to get them again where they are left out. */
  regenerate?: string;
}

/** At most this many examples are written out in a measurement's record; beyond, their hash and how to regenerate them. */
export const inlineLimit = 20000;

/** The record of the examples a risk sums over (train: the run's training examples; test: the test split's). */
export function examplesRecord(
  r: ModelRisk,
  split: 'train' | 'test',
  setup: Setup,
  regenerate: string,
): ExamplesRecord {
  const local = r.index ?? Int32Array.from({ length: r.weights.length }, (_, i) => i);
  const indices = split === 'train' && setup.source ? inTrainSplit(setup.source, local) : Array.from(local);
  const record: ExamplesRecord = {
    split,
    dataset: setup.config.dataset,
    count: indices.length,
    indicesSha256: indicesSha256([indices]),
  };
  if (indices.length <= inlineLimit) return { ...record, indices, weights: Array.from(r.weights) };
  return { ...record, regenerate };
}
