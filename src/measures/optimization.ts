// Optimization error at w: the training risk J(w), the gradient norm ‖∇J(w)‖, the excess
// risk J(w) − J(w*) against a reference minimum, and for a network of K agents the
// consensus distance
//   (1/K) Σ_k ‖w_k − w_c‖²,   w_c = Σ_k p_k w_k,
// p the Perron vector of the combination matrix A (uniform by default).
import { scope, tensor, type Tensor } from '../tensor/index.js';
import { Meter, type Cost } from './cost.js';
import { riskAndGradient, type Objective } from './objective.js';
import { norm } from './vector.js';

export interface OptimizationError {
  risk: number;
  gradientNorm: number;
  /** J(w) − reference, or null without a reference. */
  excessRisk: number | null;
  cost: Cost;
}

export function optimizationError(obj: Objective, params: Tensor[], o: { reference?: number } = {}): OptimizationError {
  const meter = new Meter();
  return scope(() => {
    const { risk, gradient } = riskAndGradient(obj, params, meter);
    return { risk, gradientNorm: norm(gradient), excessRisk: o.reference === undefined ? null : risk - o.reference, cost: meter.cost() };
  });
}

/** p as a [K, 1, …, 1] tensor that broadcasts against a stacked [K, …] parameter. */
function weightsFor(stacked: Tensor, p: ArrayLike<number> | undefined): Tensor {
  const k = stacked.shape[0];
  const values = p === undefined ? Array.from({ length: k }, () => 1 / k) : Array.from(p);
  if (values.length !== k) throw new RangeError(`agent weights p have ${values.length} entries for K = ${k} agents`);
  const total = values.reduce((a, b) => a + b, 0);
  if (Math.abs(total - 1) > 1e-6) throw new RangeError(`agent weights p must sum to 1 (a Perron vector), they sum to ${total}`);
  return tensor(values, stacked.dtype).reshape([k, ...stacked.shape.slice(1).map(() => 1)]);
}

/** The centroid w_c = Σ_k p_k w_k of stacked [K, …] parameters, one tensor per parameter. */
export function centroid(stacked: Tensor[], p?: ArrayLike<number>): Tensor[] {
  return scope(() => stacked.map((w) => w.mul(weightsFor(w, p)).sum(0)));
}

/**
 * (1/K) Σ_k ‖w_k − w_c‖² over all parameter tensors, stacked [K, …]. Computed from the
 * differences to agent 1, w_k − w_c = (w_k − w_1) − Σ_l p_l (w_l − w_1), so nearly equal
 * agents lose no digits to cancellation, and identical ones give exactly 0.
 */
export function consensusDistance(stacked: Tensor[], p?: ArrayLike<number>): number {
  return scope(() => {
    const k = stacked[0].shape[0];
    return stacked.reduce((s, w) => {
      const d = w.sub(w.narrow(0, 0, 1));
      return s + d.sub(d.mul(weightsFor(w, p)).sum(0, true)).square().sum().item();
    }, 0) / k;
  });
}
