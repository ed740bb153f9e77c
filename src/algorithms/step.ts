/*
 * One step of stochastic-gradient training over K stacked agents — the step the trainer,
 * the escape runner, the experiments and the benchmark all run:
 *
 *   φ_{k,n-1}  as the unified recursion forms it (recursion.ts)
 *   ĝ_k = ∇ loss_k(φ_{k,n-1})     agent k's loss on its own batch, one backward pass for all K
 *   d_k = local direction of ĝ_k   weight decay, clipping, momentum (local.ts)
 *   w_n = the unified recursion with d_k in place of ∇̂J_k(φ_{k,n-1})
 */
import { grad, scope, type Tensor } from '../tensor/index.js';
import { localDirection, type LocalOptions } from './local.js';
import { localMixer, unifiedStep, type Mixer, type UnifiedForm } from './recursion.js';

export interface StepSettings {
  form: UnifiedForm;
  /** μ. */
  stepSize: number;
  local: LocalOptions;
  /** The momentum buffers m_k (momentumBuffers), updated in place; null without momentum. */
  momentum: Tensor[] | null;
  mixer?: Mixer;
}

export interface Step {
  /** w_n, new tensors (w_{n-1} is not modified). */
  w: Tensor[];
  /** Σ_k loss_k(φ_{k,n-1}), the agents' batch losses summed. */
  lossSum: number;
}

/**
 * w_n from w_{n-1}. `losses(φ)` gives every agent's loss at its φ_k: [K] from stacked
 * parameters [K, …] (e.g. agentLosses of each agent's batch), differentiable in φ.
 */
export function sgdStep(w: Tensor[], losses: (phi: Tensor[]) => Tensor, s: StepSettings): Step {
  let lossSum = Number.NaN;
  const next = scope(() =>
    unifiedStep(
      w,
      (phi) => {
        const leaves = phi.map((t) => t.detach().requiresGrad_());
        const l = losses(leaves);
        const g = grad(l.sum(), leaves);
        lossSum = l.sum().item();
        return localDirection(g, leaves, s.local, s.momentum);
      },
      s.form,
      s.stepSize,
      s.mixer ?? localMixer,
    ),
  );
  return { w: next, lossSum };
}
