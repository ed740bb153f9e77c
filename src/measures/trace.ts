// The Hessian trace Tr ∇²J(w), by two estimators over Rademacher probes v (independent ±1 entries):
// Hutchinson (1989):  Tr H = E_v[vᵀHv], the mean over probes until its standard error is at most
//   relTol·|mean| (after at least minProbes) or maxProbes are used.
// Hutch++ (Meyer, Musco, Musco & Woodruff 2021, Algorithm 1), with m = maxProbes HVPs: sketch
//   Q = orth(H S) from S with m/3 probes, take the trace of the top of the spectrum exactly and
//   Hutchinson's on the rest, with G the remaining probes:
//   Tr H = Tr(QᵀHQ) + (1/|G|) Σ_{g∈G} gᵀ(I − QQᵀ)H(I − QQᵀ)g,
//   whose error falls as 1/m rather than 1/√m when a few eigenvalues dominate.
// Two uncertainties apart: the estimator's (the standard error over the probes), and the data's
// (a jackknife over the objective's groups of examples, resampling.ts).
import { rademacher, scope, stack, type Generator, type Tensor } from '../tensor/index.js';
import { Meter, type Cost } from './cost.js';
import { hessianAt, type HessianAt, type Objective } from './objective.js';
import { orthonormalRows } from './lanczos.js';
import { jackknife, type DataUncertainty } from './resampling.js';
import { meanAndStdError } from '../stats/index.js';
import { dimension, flat, unflat } from './vector.js';

export interface HutchinsonOptions {
  gen: Generator;
  /** Hutchinson: most probes (default 100). Hutch++: the HVPs spent, all of them (at least 3). */
  maxProbes?: number;
  minProbes?: number;
  relTol?: number;
  /**
   * Probes whose HVPs share one pass over the data (default 4), holding 2·probesPerPass·M numbers (the
   * probes and their products) beside the chunks' graphs, which are built once for all passes (hessianAt).
   * The stopping rule is checked after each pass.
   */
  probesPerPass?: number;
  /** The estimator (default hutchinson). */
  estimator?: TraceEstimator;
  /** The relative error to size the examples-needed hint for. */
  targetRelativeError?: number;
  /** Called after each pass over the data with the HVPs done and the most there will be. */
  progress?: (done: number, total: number) => void;
}

export const traceEstimators = ['hutchinson', 'hutch++'] as const;
export type TraceEstimator = (typeof traceEstimators)[number];

export interface TraceEstimate {
  estimator: TraceEstimator;
  mean: number;
  /** The estimator's standard error over the probes (Hutch++: over those on the part of H outside Q). */
  stdError: number;
  /** The data's uncertainty, or null when the objective has fewer than two groups of examples. */
  data: DataUncertainty | null;
  probes: number;
  /** Hutch++: the rank of Q, whose part of the trace is exact (0 for Hutchinson). */
  rank: number;
  /** vᵀHv for each Hutchinson probe, in order (Hutch++: gᵀ(I − QQᵀ)H(I − QQᵀ)g). */
  samples: number[];
  /** Hutchinson: about how many probes the relative error asked for needs (1/√probes scaling; present when asked). */
  probesNeeded?: number;
  /** Hutchinson: whether the standard error reached relTol·|mean| before maxProbes (Hutch++ spends a fixed budget). */
  converged?: boolean;
  cost: Cost;
}

/** Σ_t-indexed quadratic forms vᵀH_t v of several flat vectors (rows of vs [P, M]): [P][terms], one pass. */
function quadraticForms(hessian: HessianAt, params: Tensor[], vs: Tensor): number[][] {
  return scope(() => {
    const rows = Array.from({ length: vs.shape[0] }, (_, p) => unflat(vs.select(0, p), params));
    const perTerm = hessian.perTerm(rows, (hv) => hv.map((h, p) => flat(h).dot(vs.select(0, p)).item()));
    return rows.map((_, p) => perTerm.map((forms) => forms[p]));
  });
}

function finish(
  obj: Objective,
  o: HutchinsonOptions,
  base: Omit<TraceEstimate, 'data' | 'mean' | 'stdError' | 'cost'>,
  exact: number[],
  forms: number[][],
  meter: Meter,
): TraceEstimate {
  const samples = forms.map((row) => row.reduce((a, b) => a + b, 0));
  const { mean, stdError } = meanAndStdError(samples);
  const contributions = exact.map((e, t) => e + forms.reduce((s, row) => s + row[t], 0) / forms.length);
  const out: TraceEstimate = {
    ...base,
    samples,
    mean: exact.reduce((a, b) => a + b, 0) + mean,
    stdError,
    data: jackknife(obj, contributions, o.targetRelativeError, forms),
    cost: meter.cost(),
  };
  // Hutchinson's error falls as 1/√probes; Hutch++'s faster, so no such hint for it.
  if (o.targetRelativeError !== undefined && stdError > 0 && base.estimator === 'hutchinson')
    out.probesNeeded = Math.max(
      2,
      Math.ceil(samples.length * (stdError / (o.targetRelativeError * Math.abs(out.mean))) ** 2),
    );
  return out;
}

/** Tr ∇²J(w) by the estimator o names (default Hutchinson's). */
export const estimateTrace = (obj: Objective, params: Tensor[], o: HutchinsonOptions): TraceEstimate =>
  (o.estimator ?? 'hutchinson') === 'hutch++' ? hutchPlusPlusTrace(obj, params, o) : hutchinsonTrace(obj, params, o);

/** Hutchinson's estimator, probes until relTol or maxProbes. */
export function hutchinsonTrace(obj: Objective, params: Tensor[], o: HutchinsonOptions): TraceEstimate {
  const maxProbes = o.maxProbes ?? 100;
  const minProbes = Math.min(o.minProbes ?? 10, maxProbes);
  const relTol = o.relTol ?? 0.02;
  const perPass = Math.max(1, o.probesPerPass ?? 4);
  const meter = new Meter();
  const m = dimension(params);
  const forms: number[][] = [];
  // Each chunk's gradient graph is built once, for every pass (HessianAt).
  const hessian = hessianAt(obj, params, { meter });
  try {
    for (;;) {
      const count = Math.min(perPass, maxProbes - forms.length);
      forms.push(...scope(() => quadraticForms(hessian, params, rademacher([count, m], o.gen, params[0].dtype))));
      o.progress?.(forms.length, maxProbes);
      const { mean, stdError } = meanAndStdError(forms.map((row) => row.reduce((a, b) => a + b, 0)));
      const n = forms.length;
      const converged = n >= Math.max(minProbes, 2) && stdError <= relTol * Math.abs(mean);
      if (n >= maxProbes || converged)
        return finish(
          obj,
          o,
          { estimator: 'hutchinson', probes: n, rank: 0, samples: [], converged },
          obj.terms.map(() => 0),
          forms,
          meter,
        );
    }
  } finally {
    hessian.dispose();
  }
}

/** Hutch++ with maxProbes HVPs: a third to sketch H S, up to a third to Tr(QᵀHQ), the rest to Hutchinson off Q. */
export function hutchPlusPlusTrace(obj: Objective, params: Tensor[], o: HutchinsonOptions): TraceEstimate {
  const budget = o.maxProbes ?? 100;
  if (budget < 3) throw new RangeError(`hutch++ needs at least 3 Hessian-vector products, got ${budget}`);
  const sketch = Math.floor(budget / 3);
  const meter = new Meter();
  const m = dimension(params);
  const dtype = params[0].dtype;
  // Each chunk's gradient graph is built once, for the sketch and both passes of quadratic forms (HessianAt).
  const hessian = hessianAt(obj, params, { meter });
  try {
    return hutchPlusPlus(obj, params, o, hessian, { budget, sketch, m, dtype, meter });
  } finally {
    hessian.dispose();
  }
}

function hutchPlusPlus(
  obj: Objective,
  params: Tensor[],
  o: HutchinsonOptions,
  hessian: HessianAt,
  c: { budget: number; sketch: number; m: number; dtype: Tensor['dtype']; meter: Meter },
): TraceEstimate {
  const { budget, sketch, m, dtype, meter } = c;
  return scope(() => {
    const s = rademacher([sketch, m], o.gen, dtype);
    const g = rademacher([budget - 2 * sketch, m], o.gen, dtype);
    const hs = stack(hessian.apply(Array.from({ length: sketch }, (_, j) => unflat(s.select(0, j), params))).map(flat));
    o.progress?.(sketch, budget);
    const q = orthonormalRows(hs);
    const exact = q ? quadraticForms(hessian, params, q).reduce((sum, row) => sum.map((x, t) => x + row[t])) : [];
    o.progress?.(sketch + (q?.shape[0] ?? 0), budget);
    const off = q ? g.sub(g.matmul(q.mT).matmul(q)) : g;
    const forms = quadraticForms(hessian, params, off);
    o.progress?.(meter.hvps, budget);
    return finish(
      obj,
      o,
      { estimator: 'hutch++', probes: forms.length, rank: q?.shape[0] ?? 0, samples: [] },
      q ? exact : obj.terms.map(() => 0),
      forms,
      meter,
    );
  });
}
