/*
 * The local quantities of the linearized model from samples at a real w*:
 *
 *   d_k = (1/N_k) Σ_i g_{k,i},   R_k = (1/N_k) Σ_i (g_{k,i} − d_k)(g_{k,i} − d_k)ᵀ,
 *
 * g_{k,i} = ∇Q(w*; x_{k,i}) + λw* the per-sample gradients of agent k's risk J_k (weight
 * decay λ included, src/measures/risk.ts), so that a batch of B samples drawn with
 * replacement has gradient noise of covariance R_k/B (without replacement from N_k
 * samples it is R_k/B · (N_k − B)/(N_k − 1)); λw* shifts d_k, not R_k.
 * H_k = ∇²J_k(w*) = H_k^data + λI comes from Hessian-vector products of J_k (measures' hessian()).
 */
import { keep, scope, stack, type Tensor } from '../tensor/index.js';
import { DataError } from '../errors.js';
import { linearizedModel, type LinearizedModel } from './linearized.js';

/**
 * Mean and covariance of per-sample gradients fed in chunks ([n, M] each), in float64.
 * Sums are taken around the first chunk's mean, so a mean large against the spread
 * costs no precision.
 */
export class GradientMoments {
  private count = 0;
  private shift: Tensor | null = null;
  private sum: Tensor | null = null;
  private outer: Tensor | null = null;

  add(chunk: Tensor): void {
    if (chunk.ndim !== 2 || chunk.shape[0] === 0)
      throw new DataError('per-sample gradients', `expected a non-empty [n, M] chunk, got [${chunk.shape.join(', ')}]`);
    // The running sums outlive this call: keep() exempts them from every open scope.
    scope(() => {
      const g = chunk.to('float64');
      if (this.shift === null) this.shift = keep(g.mean(0, true));
      const centred = g.sub(this.shift);
      const sum = centred.sum(0, true);
      const outer = centred.mT.mm(centred);
      const previous = [this.sum, this.outer];
      this.sum = keep(this.sum ? this.sum.add(sum) : sum);
      this.outer = keep(this.outer ? this.outer.add(outer) : outer);
      for (const t of previous) t?.dispose();
      this.count += g.shape[0];
    });
  }

  get samples(): number {
    return this.count;
  }

  /** d = mean gradient [M] and R = per-sample covariance [M, M] (normalized by N). */
  finish(): { mean: Tensor; covariance: Tensor } {
    if (this.shift === null || this.sum === null || this.outer === null)
      throw new DataError('per-sample gradients', 'no samples were added');
    const { shift, sum, outer, count } = this;
    return scope(() => {
      const offset = sum.div(count);
      return {
        mean: shift.add(offset).reshape([-1]),
        covariance: outer.div(count).sub(offset.mT.mm(offset)),
      };
    });
  }

  dispose(): void {
    for (const t of [this.shift, this.sum, this.outer]) t?.dispose();
  }
}

/** The mean gradient and per-sample covariance of one set of per-sample gradients [N, M]. */
export function gradientStatistics(perSample: Tensor): { mean: Tensor; covariance: Tensor } {
  const moments = new GradientMoments();
  try {
    moments.add(perSample);
    return moments.finish();
  } finally {
    moments.dispose();
  }
}

/**
 * The linearized model at w* from each agent's Hessian H_k [M, M] and per-sample
 * gradients [N_k, M]; p the weights of J = Σ_k p_k J_k (default uniform).
 */
export function modelFromSamples(hessians: Tensor[], perSampleGradients: Tensor[], p?: Tensor): LinearizedModel {
  if (hessians.length !== perSampleGradients.length) {
    throw new DataError(
      'per-sample gradients',
      `${hessians.length} Hessians but ${perSampleGradients.length} sets of per-sample gradients: give one of each per agent`,
    );
  }
  return scope(() => {
    const stats = perSampleGradients.map(gradientStatistics);
    return linearizedModel(stack(hessians), stack(stats.map((s) => s.mean)), stack(stats.map((s) => s.covariance)), p);
  });
}
