// What a run will hold in memory, estimated before it starts, so that work which cannot
// fit is refused with the estimate instead of ending in a heap crash or a swap-bound hang:
//
//   combination matrices   ≈ 4 · 8K² bytes     (A as plain rows in the JavaScript heap, the
//                                               float64 tensor, its spectrum's workspace)
//   parameters             ≈ 6 · 4KM bytes     (w, φ, the gradient, ψ, the next w, momentum)
//   batch activations      ≈ 3 · K·B·a bytes   (a = bytes a forward pass keeps per example,
//                                               measured on a probe, src/models/footprint.ts;
//                                               backward about doubles it)
//   evaluation             ≤ evaluationBudgetBytes (stackedScores sizes its chunks to it)
//
// Estimates within a factor of about two: enough to tell "fits" from "needs a terabyte".
import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { getHeapStatistics } from 'node:v8';
import { UserError } from '../errors.js';
import { evaluationBudgetBytes } from '../measures/index.js';

export interface MemoryPart {
  what: string;
  bytes: number;
}

const GiB = 1024 ** 3;

export const formatBytes = (bytes: number): string => {
  if (bytes >= 1024 ** 4) return `${(bytes / 1024 ** 4).toFixed(1)} TiB`;
  if (bytes >= GiB) return `${(bytes / GiB).toFixed(1)} GiB`;
  return `${(bytes / 1024 ** 2).toFixed(0)} MiB`;
};

/** The memory this process may use: the machine's, or a smaller cgroup (container) limit. */
export function availableMemory(): number {
  try {
    const limit = readFileSync('/sys/fs/cgroup/memory.max', 'utf8').trim();
    if (/^\d+$/.test(limit)) return Math.min(Number(limit), totalmem());
  } catch {
    // No cgroup v2 limit: the machine's memory is the bound.
  }
  return totalmem();
}

/** The combination matrices of K agents: bytes in the JavaScript heap and in all. */
export function matrixMemory(K: number): { heap: number; total: number } {
  return { heap: 8 * K * K, total: 4 * 8 * K * K };
}

/**
 * Refuses a network whose K×K matrices cannot fit, before any is built.
 * @throws UserError with the estimate, the limit it exceeds, and what to lower.
 */
export function requireMatrixFits(K: number): void {
  const { heap, total } = matrixMemory(K);
  const heapLimit = getHeapStatistics().heap_size_limit;
  // The rows are copied a few times on the way to A (graph, rule, Perron vector).
  if (3 * heap > 0.75 * heapLimit || total > availableMemory() / 2) {
    throw new UserError(
      `K = ${K} agents: the dense K×K combination matrix takes ${formatBytes(heap)} per copy, and building it holds about three copies ` +
        `(${formatBytes(3 * heap)}) in the JavaScript heap, whose limit is ${formatBytes(heapLimit)}; with its tensors it needs ${formatBytes(total)} ` +
        `of the machine's ${formatBytes(availableMemory())} — use fewer agents (--agents)`,
    );
  }
}

/** The estimate of a run's memory by part (matrices, parameters, activations). */
export function runMemory(o: {
  agents: number;
  batchSize: number;
  parameterCount: number;
  activationBytesPerExample: number;
}): MemoryPart[] {
  const { agents: K, batchSize: B } = o;
  return [
    { what: `combination matrices (K = ${K})`, bytes: matrixMemory(K).total },
    { what: `parameters (K·M = ${K}·${o.parameterCount})`, bytes: 6 * 4 * K * o.parameterCount },
    { what: `batch activations (K·B = ${K}·${B} examples)`, bytes: 3 * K * B * o.activationBytesPerExample },
    { what: 'evaluation', bytes: evaluationBudgetBytes },
  ];
}

/**
 * Refuses a run whose estimate exceeds the memory available, naming the largest part.
 * @throws UserError with the estimate by part and the machine's memory.
 */
export function requireRunFits(parts: MemoryPart[]): void {
  const total = parts.reduce((s, p) => s + p.bytes, 0);
  const available = availableMemory();
  if (total <= 0.8 * available) return;
  const largest = parts.reduce((a, b) => (b.bytes > a.bytes ? b : a));
  const hint = largest.what.startsWith('batch')
    ? 'lower --batch-size or --agents'
    : largest.what.startsWith('param')
      ? 'use a smaller model or fewer agents'
      : 'use fewer agents';
  throw new UserError(
    `this run needs about ${formatBytes(total)} (${parts.map((p) => `${p.what}: ${formatBytes(p.bytes)}`).join('; ')}) but the machine has ${formatBytes(available)} — ${hint}`,
  );
}
