// The data's uncertainty of a measure: how much it would change had other examples been drawn.
// The objective's data terms are G groups of examples, J = C + Σ_g T_g (C the terms without data,
// e.g. the weight decay), and a measure is linear in them, θ = c_0 + Σ_g c_g (a trace, a Rayleigh
// quotient yᵀHy of a Ritz vector to first order, a sharpness at a fixed perturbation). Deleting group g,
// with s_g its share of the data's weight (Σ_g s_g = 1), leaves the mean over the other examples:
//   θ_(g) = c_0 + (Σ_{h≠g} c_h) / (1 − s_g),
// and the delete-one-group jackknife (Efron & Tibshirani 1993, §11.2) gives the standard error
//   se² = ((G − 1)/G) Σ_g (θ_(g) − θ̄_(·))²,   θ̄_(·) = (1/G) Σ_g θ_(g),
// with a Student-t interval on G − 1 degrees of freedom (less the share of the probes' noise when the
// contributions are means over random probes, see jackknife). The error falls as 1/√n, so a relative
// error ε needs about n·(se/(ε|θ|))² examples.
import { Generator, randperm, scope, type Tensor } from '../tensor/index.js';
import { tQuantile } from '../stats/index.js';
import type { Meter } from './cost.js';
import { risk, type Objective } from './objective.js';
import type { ModelRisk } from './risk.js';

/** The data's uncertainty of one value. */
export interface DataUncertainty {
  /** The jackknife standard error over groups of examples. */
  stdError: number;
  /** The 95% interval value ± t_{0.975, G−1}·stdError. */
  lo: number;
  hi: number;
  /** G, the groups of examples deleted one at a time. */
  groups: number;
  /** n, the examples the value is over. */
  examples: number;
  /** About how many examples the relative error asked for needs (present when one was asked for). */
  examplesNeeded?: number;
  /**
   * false when the probes' noise is larger than the whole spread over groups, so the corrected variance is
   * clamped at 0 (stdError 0): the data's error is then not resolved — not zero, and not bounded by the
   * spread either, which few probes estimate poorly. More probes resolve it. Absent otherwise.
   */
  resolved?: false;
}

/** The objective's data terms: their indices, example counts and shares. */
export function dataTerms(obj: Objective): { index: number[]; examples: number[]; shares: number[] } {
  const index = obj.terms.flatMap((t, i) => (t.data ? [i] : []));
  return {
    index,
    examples: index.map((i) => obj.terms[i].data?.examples ?? 0),
    shares: index.map((i) => obj.terms[i].data?.share ?? 0),
  };
}

/** The delete-one-group jackknife variance ((G − 1)/G) Σ_g (θ_(g) − θ̄_(·))² of θ = Σ_t x[t] (constant terms cancel). */
function jackknifeVariance(index: number[], shares: number[], x: number[]): number {
  const G = index.length;
  const dataPart = index.reduce((s, i) => s + x[i], 0);
  const deleted = index.map((i, g) => (dataPart - x[i]) / (1 - shares[g]));
  const centre = deleted.reduce((a, b) => a + b, 0) / G;
  return ((G - 1) / G) * deleted.reduce((s, d) => s + (d - centre) ** 2, 0);
}

/**
 * The jackknife of θ = Σ_t contributions[t] over the data terms (contributions indexed like obj.terms);
 * null when fewer than two terms hold data. `target`: the relative error to size examplesNeeded for.
 * When the contributions are means over P random probes (or samples) of per-probe values probes[p][t],
 * the probes' noise in each group would inflate the spread over groups; its share is removed without bias:
 * the jackknife variance V(x) is a quadratic form, so E V(x̄) = V(E x) + E V(x_p − x̄)·P/(P − 1)/P, and
 *   V_data = V(x̄) − Σ_p V(x_p − x̄) / (P(P − 1))   (clamped at 0).
 */
export function jackknife(
  obj: Objective,
  contributions: number[],
  target?: number,
  probes?: number[][],
): DataUncertainty | null {
  const { index, examples, shares } = dataTerms(obj);
  const G = index.length;
  if (G < 2) return null;
  const total = contributions.reduce((a, b) => a + b, 0);
  let variance = jackknifeVariance(index, shares, contributions);
  const P = probes?.length ?? 0;
  if (probes && P > 1) {
    const mean = contributions.map((_, t) => probes.reduce((s, row) => s + row[t], 0) / P);
    const noise = probes.reduce(
      (s, row) =>
        s +
        jackknifeVariance(
          index,
          shares,
          row.map((x, t) => x - mean[t]),
        ),
      0,
    );
    variance = Math.max(0, variance - noise / (P * (P - 1)));
  }
  const stdError = Math.sqrt(variance);
  const n = examples.reduce((a, b) => a + b, 0);
  const half = tQuantile(0.975, G - 1) * stdError;
  const out: DataUncertainty = { stdError, lo: total - half, hi: total + half, groups: G, examples: n };
  if (P > 1 && variance === 0) out.resolved = false;
  if (target !== undefined) out.examplesNeeded = examplesFor(n, stdError, total, target);
  return out;
}

/** About how many examples bring a standard error `stdError` at n examples down to `target`·|value| (1/√n scaling). */
export const examplesFor = (n: number, stdError: number, value: number, target: number): number =>
  Math.max(1, Math.ceil(n * (stdError / (target * Math.abs(value))) ** 2));

/** The objective's term t alone. */
const single = (obj: Objective, t: number): Objective => ({ terms: [obj.terms[t]] });

/** Each term's value T_t(w) (their sum is J(w)); the meter counts one evaluation. */
export function termRisks(obj: Objective, params: Tensor[], meter?: Meter): number[] {
  if (meter) meter.evaluations++;
  return obj.terms.map((_, t) => risk(single(obj, t), params));
}

/**
 * The same risk with its examples in a random order (fixed by seed): the objective's chunks are then
 * random groups of examples, as the jackknife assumes, whatever order the data set or the agents' parts had.
 */
export function shuffledRisk(r: ModelRisk, seed: number): ModelRisk {
  const n = r.weights.length;
  const order = scope(() => randperm(n, new Generator(seed)).toNumbers());
  const index = r.index;
  return {
    ...r,
    index: Int32Array.from(order, (i) => (index ? index[i] : i)),
    weights: Float64Array.from(order, (i) => r.weights[i]),
  };
}
