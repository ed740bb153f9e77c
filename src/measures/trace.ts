// Hutchinson's estimator of the Hessian trace:
//   Tr(∇²J(w)) = E_v[vᵀ ∇²J(w) v],  v with independent Rademacher (±1) entries,
// averaged over probes until the standard error of the mean is at most relTol·|mean|
// (after at least minProbes) or maxProbes are used.
import { rademacher, scope, type Generator, type Tensor } from '../tensor/index.js';
import { Meter, type Cost } from './cost.js';
import { hvps, type Objective } from './objective.js';
import { meanAndStdError } from '../stats/index.js';
import { dimension, unflat } from './vector.js';

export interface HutchinsonOptions {
  gen: Generator;
  maxProbes?: number;
  minProbes?: number;
  relTol?: number;
  /**
   * Probes whose HVPs share one pass over the data (default 4): each chunk's forward and gradient graph
   * is built once per pass and serves them all (hvps), holding 2·probesPerPass·M numbers (the probes
   * and their products) beside one chunk's graph. The stopping rule is checked after each pass.
   */
  probesPerPass?: number;
}

export interface TraceEstimate {
  mean: number;
  stdError: number;
  probes: number;
  /** vᵀHv for each probe, in order. */
  samples: number[];
  cost: Cost;
}

export function hutchinsonTrace(obj: Objective, params: Tensor[], o: HutchinsonOptions): TraceEstimate {
  const maxProbes = o.maxProbes ?? 100;
  const minProbes = Math.min(o.minProbes ?? 10, maxProbes);
  const relTol = o.relTol ?? 0.02;
  const perPass = Math.max(1, o.probesPerPass ?? 4);
  const meter = new Meter();
  const m = dimension(params);
  const samples: number[] = [];
  for (;;) {
    const count = Math.min(perPass, maxProbes - samples.length);
    samples.push(
      ...scope(() => {
        const vs = Array.from({ length: count }, () => unflat(rademacher([m], o.gen, params[0].dtype), params));
        return hvps(obj, params, vs, meter).map((hv, i) => hv.reduce((s, t, j) => s + t.mul(vs[i][j]).sum().item(), 0));
      }),
    );
    const { mean, stdError } = meanAndStdError(samples);
    const n = samples.length;
    if (n >= maxProbes || (n >= Math.max(minProbes, 2) && stdError <= relTol * Math.abs(mean))) {
      return { mean, stdError, probes: n, samples, cost: meter.cost() };
    }
  }
}
