// A classification dataset as plain data: examples stored row-major in one
// Float32Array, labels in an Int32Array. Tensors are made from it once
// (see sampler.ts: datasetTensors), never per batch.
import { Generator, randperm, scope } from '../tensor/index.js';
import { ConfigError } from '../errors.js';

export interface Dataset {
  name: string;
  /** n examples, each of `shape` (e.g. [1, 28, 28]), row-major, one after another. */
  x: Float32Array;
  shape: number[];
  /** Class labels in 0..classes−1. */
  y: Int32Array;
  classes: number;
  n: number;
  /** How pixels became x: x = (pixel/255 − mean[c]) / std[c] for channel c. Absent for generated data. */
  normalization?: { mean: number[]; std: number[] };
  /** For a subset: the size n of the split it was taken from and each example's index there. */
  origin?: { n: number; indices: Int32Array };
}

export interface Splits {
  train: Dataset;
  test: Dataset;
}

/** Elements per example. */
export function exampleSize(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Bytes 0..255, one channel after the other (CHW per example), scaled to [0, 1]
 * and standardized per channel: (b/255 − mean[c]) / std[c].
 */
export function standardizePixels(bytes: Uint8Array, shape: number[], mean: number[], std: number[]): Float32Array {
  const channels = mean.length;
  const plane = exampleSize(shape) / channels;
  const out = new Float32Array(bytes.length);
  // One lookup table per channel: 256 values, so every pixel costs one load.
  const tables = mean.map((m, c) => Float32Array.from({ length: 256 }, (_, b) => (b / 255 - m) / std[c]));
  for (let start = 0, c = 0; start < bytes.length; start += plane, c = (c + 1) % channels) {
    const table = tables[c];
    for (let i = start, end = start + plane; i < end; i++) out[i] = table[bytes[i]];
  }
  return out;
}

/** The examples at `indices`, in that order. */
export function subsetOf(ds: Dataset, indices: ArrayLike<number>, name = ds.name): Dataset {
  const size = exampleSize(ds.shape);
  const x = new Float32Array(indices.length * size);
  const y = new Int32Array(indices.length);
  for (let j = 0; j < indices.length; j++) {
    const i = indices[j];
    if (!Number.isInteger(i) || i < 0 || i >= ds.n)
      throw new RangeError(`subsetOf(${ds.name}): index ${i} outside 0..${ds.n - 1}`);
    x.set(ds.x.subarray(i * size, (i + 1) * size), j * size);
    y[j] = ds.y[i];
  }
  const origin = {
    n: ds.origin?.n ?? ds.n,
    indices: Int32Array.from(indices, (i) => (ds.origin ? ds.origin.indices[i] : i)),
  };
  return { ...ds, name, x, y, n: indices.length, origin };
}

/**
 * The first n examples, or — with a seed — n examples drawn without replacement
 * (kept in their original order). n ≥ ds.n returns the dataset unchanged.
 */
export function takeSubset(ds: Dataset, n: number, seed?: number): Dataset {
  if (!Number.isInteger(n) || n < 1) throw new ConfigError('subset', `must be a positive integer, got ${n}`);
  if (n >= ds.n) return ds;
  if (seed === undefined)
    return subsetOf(
      ds,
      Array.from({ length: n }, (_, i) => i),
    );
  const chosen = scope(() => Array.from(randperm(ds.n, new Generator(seed)).narrow(0, 0, n).toArray(), Number));
  return subsetOf(
    ds,
    chosen.sort((a, b) => a - b),
  );
}

/** Examples per class. */
export function classCounts(y: Int32Array, classes: number): number[] {
  const counts = new Array<number>(classes).fill(0);
  for (const c of y) counts[c]++;
  return counts;
}
