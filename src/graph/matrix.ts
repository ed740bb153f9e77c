// Combination matrices A = [a_{lk}] as plain data: A[l][k] is the weight agent k
// gives agent l, so agent k combines w_k ← Σ_l a_{lk} w_l and the columns sum to one.
//
//   Metropolis–Hastings: a_{lk} = 1/max(n_k, n_l) for l ∈ N_k∖{k}, a_{kk} = 1 − Σ_{l≠k} a_{lk}
//                        (symmetric, doubly stochastic)
//   uniform:             a_{lk} = 1/n_k for l ∈ N_k (left-stochastic)
//   Laplacian:           A = I − L/n_max, L = D − adjacency, n_max = max_k n_k (symmetric)
//   lazy(A):             (I + A)/2
import { readUserText } from '../util/files.js';
import { ConfigError, DataError } from '../errors.js';
import { adjacency, exponentialHops, neighbourhoodSizes, type Graph } from './topology.js';
import { validateCombination } from './validate.js';
import { rules } from './names.js';

export type Matrix = number[][];

const filled = (K: number, value: number): Matrix => Array.from({ length: K }, () => new Array<number>(K).fill(value));

export function identity(K: number): Matrix {
  const I = filled(K, 0);
  for (let k = 0; k < K; k++) I[k][k] = 1;
  return I;
}

/** (1/K) 11ᵀ: every agent takes the plain average — the fusion centre. */
export const averaging = (K: number): Matrix => filled(K, 1 / K);

export function metropolis(g: Graph): Matrix {
  const n = neighbourhoodSizes(g);
  const A = filled(g.agents, 0);
  for (const [l, k] of g.edges) A[l][k] = A[k][l] = 1 / Math.max(n[k], n[l]);
  return withSelfWeights(A);
}

export function uniform(g: Graph): Matrix {
  const n = neighbourhoodSizes(g);
  const A = filled(g.agents, 0);
  adjacency(g).forEach((nbrs, k) => {
    for (const l of [...nbrs, k]) A[l][k] = 1 / n[k];
  });
  return A;
}

/** Max-degree rule: every link weighs 1/n_max, the rest stays home. */
export function laplacian(g: Graph): Matrix {
  const nMax = Math.max(...neighbourhoodSizes(g));
  const A = filled(g.agents, 0);
  for (const [l, k] of g.edges) A[l][k] = A[k][l] = 1 / nMax;
  return withSelfWeights(A);
}

/** Sets a_{kk} = 1 − Σ_{l≠k} a_{lk}. */
function withSelfWeights(A: Matrix): Matrix {
  for (let k = 0; k < A.length; k++) {
    let out = 0;
    for (let l = 0; l < A.length; l++) if (l !== k) out += A[l][k];
    A[k][k] = 1 - out;
  }
  return A;
}

export const lazy = (A: Matrix): Matrix => A.map((row, l) => row.map((a, k) => (a + (l === k ? 1 : 0)) / 2));

export { rules, type RuleName } from './names.js';

const base: Record<string, (g: Graph) => Matrix> = { metropolis, uniform, laplacian };

/** A combination matrix by rule name over a graph (rules above; 'lazy-<rule>' is lazy(<rule>)). */
export function combinationMatrix(rule: string, g: Graph): Matrix {
  const lazyRule = rule.startsWith('lazy-');
  const name = lazyRule ? rule.slice('lazy-'.length) : rule;
  if (!Object.hasOwn(base, name))
    throw new ConfigError('rule', `unknown combination rule '${rule}' — one of: ${rules.join(', ')}`);
  return lazyRule ? lazy(base[name](g)) : base[name](g);
}

/**
 * The one-peer exponential graph at step n: with hops 2^0, …, 2^{τ−1} below K, each agent
 * k averages with agent (k + 2^{n mod τ}) mod K — a_{kk} = a_{k+2^i, k} = 1/2. Doubly stochastic;
 * for K a power of two, τ consecutive steps multiply to (1/K)11ᵀ.
 */
export function onePeerExponential(K: number, n: number): Matrix {
  const hops = exponentialHops(K);
  if (hops.length === 0) return identity(K);
  const h = hops[n % hops.length];
  const A = filled(K, 0);
  for (let k = 0; k < K; k++) {
    A[k][k] = 1 / 2;
    A[(k + h) % K][k] = 1 / 2;
  }
  return A;
}

/** The number of steps after which the one-peer exponential graph repeats: τ = ⌈log₂ K⌉. */
export const onePeerPeriod = (K: number): number => exponentialHops(K).length;

/**
 * The combination matrix at each step n: onePeerExponential for the graph named
 * 'one-peer-exponential' (whose weights are fixed, so `rule` does not apply), else
 * combinationMatrix(rule, g) at every step.
 */
export function combinationSchedule(rule: string, g: Graph): (n: number) => Matrix {
  if (g.name === 'one-peer-exponential') return (n) => onePeerExponential(g.agents, n);
  const A = combinationMatrix(rule, g);
  return () => A;
}

/**
 * A user's matrix: JSON [[a_00, a_01, …], …] (row l holds a_{l0} … a_{l,K−1}) or CSV with one
 * row per line. Validated — over `graph` when given, else over its own support.
 */
export function fromMatrixFile(path: string, graph?: Graph): Matrix {
  const text = readUserText(path, 'give a JSON [[…], …] or CSV file, row l holding a_{l0}, …, a_{l,K−1}');
  const A = text.trimStart().startsWith('[') ? parseJsonMatrix(path, text) : parseCsvMatrix(path, text);
  validateCombination(A, graph, path);
  return A;
}

function parseJsonMatrix(path: string, text: string): Matrix {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new DataError(path, `not valid JSON (${(e as Error).message}) — expected rows [[a_00, a_01, …], …]`);
  }
  if (!Array.isArray(data) || !data.every((row) => Array.isArray(row) && row.every((a) => typeof a === 'number'))) {
    throw new DataError(path, 'expected a JSON array of rows of numbers [[a_00, a_01, …], …]');
  }
  return data as Matrix;
}

function parseCsvMatrix(path: string, text: string): Matrix {
  const A: Matrix = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const row = raw.trim();
    if (row === '' || row.startsWith('#')) return;
    const cells = row.split(/[,;\s]+/);
    const values = cells.map(Number);
    const bad = values.findIndex((v, j) => cells[j] === '' || Number.isNaN(v));
    if (bad >= 0)
      throw new DataError(
        path,
        `line ${i + 1}, cell ${bad + 1} is "${cells[bad]}", not a number — expected one matrix row per line, comma-separated`,
      );
    A.push(values);
  });
  return A;
}
