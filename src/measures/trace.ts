// Hutchinson's estimator of the Hessian trace:
//   Tr(∇²J(w)) = E_v[vᵀ ∇²J(w) v],  v with independent Rademacher (±1) entries,
// averaged over probes until the standard error of the mean is at most relTol·|mean|
// (after at least minProbes) or maxProbes are used.
import { rademacher, scope, type Generator, type Tensor } from '../tensor/index.js';
import { Meter, type Cost } from './cost.js';
import { hessianOperator, type Objective } from './objective.js';
import { meanAndStdError } from './statistics.js';
import { dimension } from './vector.js';

export interface HutchinsonOptions {
  gen: Generator;
  maxProbes?: number;
  minProbes?: number;
  relTol?: number;
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
  const meter = new Meter();
  const apply = hessianOperator(obj, params, meter);
  const m = dimension(params);
  const samples: number[] = [];
  for (;;) {
    samples.push(scope(() => {
      const v = rademacher([m], o.gen, params[0].dtype);
      return v.dot(apply(v)).item();
    }));
    const { mean, stdError } = meanAndStdError(samples);
    const n = samples.length;
    if (n >= maxProbes || (n >= Math.max(minProbes, 2) && stdError <= relTol * Math.abs(mean))) {
      return { mean, stdError, probes: n, samples, cost: meter.cost() };
    }
  }
}
