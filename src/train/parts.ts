// Which examples a run and a measurement used, recorded so that either can be redone outside
// flatdist. A run folder holds parts.safetensors: one int64 tensor `agent.<k>` per agent, the
// indices of D_k in the data set's own training split (a --train-subset mapped back to it), in
// the order the agent holds them; its metadata names the data set and its split sizes, and
// `indicesSha256` hashes the indices: SHA-256 of agent.0, agent.1, … as little-endian int64,
// one after another (the same bytes as the file's data section).
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { DataError } from '../errors.js';
import type { ModelRisk } from '../measures/index.js';
import { fromArray, type Tensor } from '../tensor/index.js';
import { readSafetensors, writeSafetensors } from './safetensors.js';
import type { Setup } from './setup.js';

export const partsFile = 'parts.safetensors';
export const partsFormat = 'flatdist-parts/1';

/** What run.json says of parts.safetensors. */
export interface PartsRecord {
  file: string;
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
 * Writes parts.safetensors into a run folder (atomically) and returns what run.json records of it.
 * @throws DataError when the setup's examples are derived features, not a data set's own
 * @throws FileSystemError when the file cannot be written
 */
export function writeParts(out: string, setup: Setup): PartsRecord {
  const source = setup.source;
  if (!source) throw new DataError(out, "the run's examples are derived features: no data set indices to record");
  const parts = setup.parts.map((part) => inTrainSplit(source, part));
  const record: PartsRecord = {
    file: partsFile,
    format: partsFormat,
    dataset: source.dataset,
    trainSplit: source.trainSplit,
    testSplit: source.testSplit,
    trainSubset: setup.config.trainSubset,
    examples: parts.reduce((n, p) => n + p.length, 0),
    agents: parts.length,
    indicesSha256: indicesSha256(parts),
  };
  const tensors: Record<string, Tensor> = {};
  parts.forEach(
    (p, k) =>
      (tensors[`agent.${k}`] = fromArray(
        BigInt64Array.from(p, (i) => BigInt(i)),
        [p.length],
      )),
  );
  const metadata = Object.fromEntries(Object.entries(record).map(([key, v]) => [key, String(v)]));
  try {
    writeSafetensors(join(out, partsFile), tensors, metadata);
  } finally {
    Object.values(tensors).forEach((t) => t.dispose());
  }
  return record;
}

/**
 * The indices of each agent's part in the data set's training split, from a run folder's parts.safetensors.
 * @throws DataError when the file is missing, damaged, or its indices do not match their hash
 */
export function readParts(out: string): { parts: number[][]; metadata: Record<string, string> } {
  const file = join(out, partsFile);
  const { tensors, metadata } = readSafetensors(file);
  const K = Number(metadata.agents);
  const parts = Array.from({ length: K }, (_, k) => {
    const t = tensors[`agent.${k}`];
    if (!t) throw new DataError(file, `no tensor agent.${k} for agent ${k} of ${K}`);
    const values = Array.from(t.toArray() as BigInt64Array, Number);
    t.dispose();
    return values;
  });
  if (indicesSha256(parts) !== metadata.indicesSha256)
    throw new DataError(file, 'the indices do not match indicesSha256: the file was changed after it was written');
  return { parts, metadata };
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
