// What a combination matrix must be: K×K, K ≥ 1, entries a_{lk} ≥ 0, columns
// summing to one (Aᵀ1 = 1), weight only inside neighbourhoods, over a connected graph.
import { ConfigError } from '../errors.js';
import { adjacency, isConnected, validateGraph, type Graph } from './topology.js';
import type { Matrix } from './matrix.js';

/** Tolerance on the column sums Σ_l a_{lk} = 1. */
export const columnSumTolerance = 1e-9;

/** The undirected graph of A's support: l and k linked when a_{lk} > 0 or a_{kl} > 0. */
export function graphOfMatrix(A: Matrix, name = 'matrix'): Graph {
  const edges: [number, number][] = [];
  for (let l = 0; l < A.length; l++) {
    for (let k = l + 1; k < A.length; k++) if (A[l][k] > 0 || A[k][l] > 0) edges.push([l, k]);
  }
  return { name, agents: A.length, edges };
}

/**
 * Throws a ConfigError naming `field` and the offending row, column or entry unless A is
 * a valid combination matrix — over `graph` when given (weights only on its edges), else
 * over its own support, which must be connected.
 */
export function validateCombination(A: Matrix, graph?: Graph, field = 'combination matrix'): void {
  if (!Array.isArray(A) || A.length < 1)
    throw new ConfigError(field, 'has no rows: a combination matrix needs at least one agent');
  const K = A.length;
  for (let l = 0; l < K; l++) {
    if (!Array.isArray(A[l]) || A[l].length !== K) {
      throw new ConfigError(
        field,
        `is not square: row ${l} has ${Array.isArray(A[l]) ? A[l].length : 0} entries, expected ${K} (one per agent)`,
      );
    }
    for (let k = 0; k < K; k++) {
      const a = A[l][k];
      if (typeof a !== 'number' || !Number.isFinite(a))
        throw new ConfigError(field, `entry (${l}, ${k}) is ${String(a)}, not a finite number`);
      if (a < 0) throw new ConfigError(field, `entry (${l}, ${k}) is ${a}: weights must be ≥ 0`);
    }
  }
  for (let k = 0; k < K; k++) {
    let sum = 0;
    for (let l = 0; l < K; l++) sum += A[l][k];
    if (Math.abs(sum - 1) > columnSumTolerance) {
      throw new ConfigError(
        field,
        `column ${k} sums to ${sum}, not 1 (tolerance ${columnSumTolerance}): a_{lk} is the weight agent ${k} gives agent l, and each agent's weights must sum to one`,
      );
    }
  }
  if (graph === undefined) {
    if (!isConnected(graphOfMatrix(A))) {
      throw new ConfigError(
        field,
        'its graph (l–k linked where a_{lk} > 0 or a_{kl} > 0) is disconnected: information cannot reach every agent',
      );
    }
    return;
  }
  if (graph.agents !== K)
    throw new ConfigError(field, `is ${K}×${K} but the graph '${graph.name}' has ${graph.agents} agents`);
  validateGraph(graph, `graph '${graph.name}'`);
  const adj = adjacency(graph).map((nbrs) => new Set(nbrs));
  for (let l = 0; l < K; l++) {
    for (let k = 0; k < K; k++) {
      if (l !== k && A[l][k] !== 0 && !adj[k].has(l)) {
        throw new ConfigError(
          field,
          `entry (${l}, ${k}) is ${A[l][k]} but agents ${l} and ${k} are not linked in the graph '${graph.name}' (a_{lk} must be 0 outside N_k)`,
        );
      }
    }
  }
}
