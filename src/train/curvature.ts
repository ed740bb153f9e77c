// Curvature during training (`train --measure-every N`): at every N-th evaluation the writer
// measures ∇²J at the centroid w_c = Σ_k p_k w_k (and at each agent on request) through the
// measure suite (src/measures/suite.ts), on one J for the whole run: the global risk
// Σ_k p_k J_k + (λ/2)‖w‖² over a fixed stratified subset of --measure-subset training examples,
// with the same probes at every step (one seed), so a trajectory's changes are the model's.
import {
  centroid,
  globalRisk,
  measure,
  riskObjective,
  type MeasureReport,
  type MeasureSpec,
} from '../measures/index.js';
import { scope, type Tensor } from '../tensor/index.js';
import { deriveSeed } from '../util/seed.js';
import type { Setup } from './setup.js';

/** What one model's curvature line holds. */
export interface Curvature {
  /** Tr ∇²J (Hutchinson), its standard error over the probes, and the probes used. */
  trace?: { mean: number; stdError: number; probes: number };
  /** The top eigenvalues of ∇²J (Lanczos), descending, and whether each converged. */
  eigenvalues?: { values: number[]; converged: boolean[] };
  /** Hessian-vector products and seconds spent. */
  hvps: number;
  seconds: number;
}

/** The `curvature` field of a metrics line. */
export interface CurvatureLine {
  /** The examples J is over. */
  examples: number;
  centroid: Curvature;
  agents?: Curvature[];
}

function summary(r: MeasureReport): Curvature {
  const costs = [r.trace?.cost, r.eigenvalues?.cost].filter((c) => c !== undefined);
  return {
    ...(r.trace ? { trace: { mean: r.trace.mean, stdError: r.trace.stdError, probes: r.trace.probes } } : {}),
    ...(r.eigenvalues ? { eigenvalues: { values: r.eigenvalues.values, converged: r.eigenvalues.converged } } : {}),
    hvps: costs.reduce((n, c) => n + c.hvps, 0),
    seconds: costs.reduce((n, c) => n + c.seconds, 0),
  };
}

/** The curvature measurement of a run's config, or null when it asks for none (measureEvery null). */
export function curvatureMeter(setup: Setup): ((w: Tensor[]) => CurvatureLine) | null {
  const c = setup.config;
  if (c.measureEvery === null) return null;
  const seed = c.measureSeed ?? deriveSeed(c.seed, 'measure');
  const r = globalRisk(setup, { maxExamples: c.measureSubset, seed: deriveSeed(seed, 'subset') });
  const objective = riskObjective(r);
  const spec: MeasureSpec = { seed, weightDecay: c.weightDecay };
  if (c.measures.includes('trace')) spec.trace = { maxProbes: c.measureProbes };
  if (c.measures.includes('eigs')) spec.eigenvalues = { k: c.measureTopK, method: 'lanczos' };
  const at = (params: Tensor[]): Curvature => summary(measure(objective, params, spec));
  return (w) =>
    scope(() => ({
      examples: r.weights.length,
      centroid: at(centroid(w, setup.perron)),
      ...(c.measureAgents
        ? { agents: Array.from({ length: w[0].shape[0] }, (_, k) => at(w.map((t) => t.select(0, k)))) }
        : {}),
    }));
}
