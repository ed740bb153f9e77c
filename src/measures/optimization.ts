// Optimization error at w: the objective J(w), its data loss J(w) − (λ/2)‖w‖², the gradient
// norm ‖∇J(w)‖, and the excess risk J(w) − J(w*) against a reference minimum. For a network
// the consensus distance comes with it (risk.ts).
import { scope, type Tensor } from '../tensor/index.js';
import { Meter, type Cost } from './cost.js';
import { riskAndGradient, type Objective } from './objective.js';
import { decayTerms } from './risk.js';
import { norm } from './vector.js';

export interface OptimizationError {
  /** J(w), the objective (data loss + (λ/2)‖w‖²). */
  risk: number;
  /** J(w) − (λ/2)‖w‖². */
  dataLoss: number;
  /** λ, the weight decay in J (0 when J has none). */
  weightDecay: number;
  /** ‖∇J(w)‖. */
  gradientNorm: number;
  /** J(w) − reference, or null without a reference. */
  excessRisk: number | null;
  cost: Cost;
}

/** The optimization error at one model's params; `weightDecay` is the λ that obj includes (default 0). */
export function optimizationError(
  obj: Objective,
  params: Tensor[],
  o: { reference?: number; weightDecay?: number } = {},
): OptimizationError {
  const meter = new Meter();
  const weightDecay = o.weightDecay ?? 0;
  return scope(() => {
    const { risk, gradient } = riskAndGradient(obj, params, meter);
    const [decay] = decayTerms(
      params.map((p) => p.unsqueeze(0)),
      weightDecay,
    );
    return {
      risk,
      dataLoss: risk - decay,
      weightDecay,
      gradientNorm: norm(gradient),
      excessRisk: o.reference === undefined ? null : risk - o.reference,
      cost: meter.cost(),
    };
  });
}
