// Splitting a dataset's examples among K agents, the data D_k each agent holds.
// Every partition is a function of (labels, K, spec, seed) only: the same seed
// gives the same split on every machine and in every process. Each agent gets
// at least one example; indices within an agent are in increasing order.
//   iid        a uniformly random split into K parts of sizes ⌊n/K⌋ or ⌈n/K⌉;
//   dirichlet  label skew (Hsu, Qi, Brown 2019): for every class c draw
//              p_c ~ Dir(α·1_K) and give agent k the fraction p_{c,k} of class c —
//              α → ∞ is IID, small α gives agents few classes each;
//   shards     (McMahan et al. 2017): sort by label, cut into K·s equal shards,
//              give every agent s shards at random — at most s classes each;
//   quantity   IID labels, unequal sizes: sizes ∝ q ~ Dir(α·1_K), at least one each.
import { ConfigError } from '../errors.js';
import { Generator, dirichlet, full, randperm, scope } from '../tensor/index.js';
import type { PartitionSpec } from './names.js';

export { PARTITION_KINDS, parsePartition, type PartitionSpec } from './names.js';

/** Indices of the examples each of the K agents holds. */
export function partition(y: Int32Array, classes: number, K: number, spec: PartitionSpec, seed: number): number[][] {
  if (!Number.isInteger(K) || K < 1) throw new ConfigError('agents', `must be a positive integer, got ${K}`);
  if (K > y.length)
    throw new ConfigError('agents', `${K} agents cannot each hold an example of a dataset of ${y.length}`);
  const bad = y.findIndex((c) => !(c >= 0 && c < classes));
  if (bad >= 0) throw new RangeError(`partition: label ${y[bad]} of example ${bad} is outside 0..${classes - 1}`);
  const gen = new Generator(seed);
  switch (spec.kind) {
    case 'iid':
      return iidPartition(y.length, K, gen);
    case 'dirichlet':
      return dirichletPartition(y, classes, K, spec.alpha, gen);
    case 'shards':
      return shardPartition(y, K, spec.shardsPerAgent, gen);
    case 'quantity':
      return quantityPartition(y.length, K, spec.alpha, gen);
  }
}

/** counts[k][c]: examples of class c agent k holds (for the run record). */
export function labelHistogram(y: Int32Array, parts: number[][], classes: number): number[][] {
  return parts.map((part) => {
    const counts = new Array<number>(classes).fill(0);
    for (const i of part) counts[y[i]]++;
    return counts;
  });
}

function permutation(n: number, gen: Generator): number[] {
  return scope(() => Array.from(randperm(n, gen).toArray(), Number));
}

/** Cut `order` into consecutive pieces of the given sizes; each piece sorted. */
function cut(order: number[], sizes: number[]): number[][] {
  let at = 0;
  return sizes.map((s) => {
    const piece = order.slice(at, at + s).sort((a, b) => a - b);
    at += s;
    return piece;
  });
}

function iidPartition(n: number, K: number, gen: Generator): number[][] {
  const sizes = Array.from({ length: K }, (_, k) => Math.floor(n / K) + (k < n % K ? 1 : 0));
  return cut(permutation(n, gen), sizes);
}

function checkAlpha(alpha: number): void {
  if (!(alpha > 0) || !Number.isFinite(alpha))
    throw new ConfigError('partition.alpha', `the concentration α must be a positive number, got ${alpha}`);
}

/** Rows of Dirichlet(α·1_K) draws, one per row; null when a draw underflowed (tiny α). */
function dirichletRows(rows: number, K: number, alpha: number, gen: Generator): number[][] | null {
  const flat = scope(() => Array.from(dirichlet(full([rows, K], alpha, 'float64'), gen).toArray(), Number));
  if (flat.some((v) => !Number.isFinite(v))) return null;
  return Array.from({ length: rows }, (_, r) => flat.slice(r * K, (r + 1) * K));
}

/** Integer sizes summing to `total`, proportional to `p` (largest remainders; ties to the lower index). */
function apportion(total: number, p: number[]): number[] {
  const exact = p.map((v) => v * total);
  const sizes = exact.map(Math.floor);
  const order = exact.map((v, k) => ({ k, r: v - Math.floor(v) })).sort((a, b) => b.r - a.r || a.k - b.k);
  for (let i = 0, left = total - sizes.reduce((a, b) => a + b, 0); i < left; i++) sizes[order[i].k]++;
  return sizes;
}

const DIRICHLET_TRIES = 100;

function dirichletPartition(y: Int32Array, classes: number, K: number, alpha: number, gen: Generator): number[][] {
  checkAlpha(alpha);
  const byClass: number[][] = Array.from({ length: classes }, () => []);
  for (const i of permutation(y.length, gen)) byClass[y[i]].push(i);
  // Redraw the proportions until no agent is left empty; the generator moves on,
  // so the outcome is still a function of the seed.
  for (let attempt = 0; attempt < DIRICHLET_TRIES; attempt++) {
    const p = dirichletRows(classes, K, alpha, gen);
    if (!p) continue;
    const parts: number[][] = Array.from({ length: K }, () => []);
    byClass.forEach((members, c) => {
      cut(members, apportion(members.length, p[c])).forEach((piece, k) => parts[k].push(...piece));
    });
    if (parts.every((part) => part.length > 0)) return parts.map((part) => part.sort((a, b) => a - b));
  }
  throw new ConfigError(
    'partition.alpha',
    `Dirichlet(${alpha}) left an agent without data in ${DIRICHLET_TRIES} draws for ${K} agents; use a larger alpha or fewer agents`,
  );
}

function shardPartition(y: Int32Array, K: number, shardsPerAgent: number, gen: Generator): number[][] {
  const s = shardsPerAgent;
  if (!Number.isInteger(s) || s < 1)
    throw new ConfigError(
      'partition.shardsPerAgent',
      `the shards per agent (shards:S) must be a positive integer, got ${s}`,
    );
  const shards = K * s;
  if (shards > y.length)
    throw new ConfigError('partition.shardsPerAgent', `${K} agents × ${s} shards exceeds the ${y.length} examples`);
  // Sorted by label; within a label in random order, so the seed matters for every shard.
  const byLabel = permutation(y.length, gen).sort((a, b) => y[a] - y[b]);
  const shardSizes = Array.from(
    { length: shards },
    (_, j) => Math.floor(y.length / shards) + (j < y.length % shards ? 1 : 0),
  );
  const pieces = cut(byLabel, shardSizes);
  const owner = permutation(shards, gen);
  return Array.from({ length: K }, (_, k) =>
    owner
      .slice(k * s, (k + 1) * s)
      .flatMap((j) => pieces[j])
      .sort((a, b) => a - b),
  );
}

function quantityPartition(n: number, K: number, alpha: number, gen: Generator): number[][] {
  checkAlpha(alpha);
  const order = permutation(n, gen);
  let q = dirichletRows(1, K, alpha, gen);
  for (let attempt = 1; !q && attempt < DIRICHLET_TRIES; attempt++) q = dirichletRows(1, K, alpha, gen);
  if (!q) throw new ConfigError('partition.alpha', `Dirichlet(${alpha}) draws underflow; use a larger alpha`);
  // One example each first, the rest in proportion to q.
  const sizes = apportion(n - K, q[0]).map((s) => s + 1);
  return cut(order, sizes);
}
