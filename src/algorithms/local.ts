/*
 * The local update direction that replaces ∇̂J_k(φ_k) in the unified recursion
 * when the options are on, applied per agent in this order:
 *
 *   g_k ← ∇̂J_k(φ_k) + λ φ_k               weight decay λ
 *   g_k ← g_k · min(1, c / ‖g_k‖)           clipping at norm c (over all of agent k's parameters)
 *   m_k ← β m_k + g_k,  g_k ← m_k           heavy-ball momentum β, state m_k kept per agent
 *
 * The momentum buffer stays local (it is not combined), as in DSGD with local momentum.
 */
import { scope, zeros, type Tensor } from '../tensor/index.js';

export interface LocalOptions {
  weightDecay: number;
  clipNorm: number | null;
  momentum: number;
}

export const plainSgd: LocalOptions = { weightDecay: 0, clipNorm: null, momentum: 0 };

/** Zeroed momentum buffers shaped like the stacked parameters, or null when β = 0. */
export function momentumBuffers(o: LocalOptions, w: Tensor[]): Tensor[] | null {
  return o.momentum > 0 ? w.map((p) => zeros(p.shape, p.dtype)) : null;
}

/** Per-agent Euclidean norm over every parameter tensor: [K]. */
export function agentNorms(g: Tensor[]): Tensor {
  return scope(() => {
    const K = g[0].shape[0];
    return g
      .map((t) => t.reshape([K, -1]).square().sum(1))
      .reduce((a, b) => a.add(b))
      .sqrt();
  });
}

/** The direction for each agent; updates `buffers` in place when momentum is on. */
export function localDirection(g: Tensor[], phi: Tensor[], o: LocalOptions, buffers: Tensor[] | null): Tensor[] {
  return scope(() => {
    let d = o.weightDecay > 0 ? g.map((t, i) => t.add(phi[i].mul(o.weightDecay))) : g;
    if (o.clipNorm !== null) {
      const scale = agentNorms(d).clamp(1e-12).pow(-1).mul(o.clipNorm).clamp(null, 1);
      d = d.map((t) => t.mul(scale.reshape([t.shape[0], ...t.shape.slice(1).map(() => 1)])));
    }
    if (buffers) {
      buffers.forEach((m, i) => m.mul_(o.momentum).add_(d[i]));
      return buffers;
    }
    return d;
  });
}
