/*
 * The linearized model at a real w*, in the span of the top r eigenvectors V of
 * H̄ = Σ_k p_k H_k (where almost all of the curvature, and so of the escape, lives):
 *
 *   H_k ↦ VᵀH_kV,   d_k ↦ Vᵀ∇J_k(w*),   R_k ↦ Vᵀ R_k V,
 *
 * H_k = ∇²J_k(w*) explicit from exact Hessian-vector products (small models), and
 * d_k, R_k the mean and covariance of agent k's per-sample gradients, projected.
 * The theory's curves then cover the top-r subspace; `traceShare` says how much of
 * Tr(H̄) it holds (the rest — flat directions — adds little excess risk over N steps).
 */
import type { Model } from '../models/index.js';
import { agentLosses } from '../models/index.js';
import { hessian } from '../measures/index.js';
import { eigh, fromArray, grad, keep, scope, stack, cat, type Tensor } from '../tensor/index.js';
import { gradientStatistics, linearizedModel, type LinearizedModel } from '../theory/index.js';
import type { AgentData } from './data.js';
import { agentObjective } from './minimum.js';

export interface Linearization {
  model: LinearizedModel;
  rank: number;
  /** Top eigenvalues of H̄, descending (all M of them). */
  eigenvalues: number[];
  /** Σ_{i≤r} h_i / Tr(H̄). */
  traceShare: number;
  /** Tr(R̄), R̄ = Σ_k p_k R_k, in the subspace. */
  noiseTrace: number;
  /** ‖d_k‖² averaged over agents, in the subspace: the heterogeneity. */
  heterogeneity: number;
}

/** Per-sample gradients of one model at w for examples x [c, F], y [c], flattened: [c, M]. */
function perSampleGradients(model: Model, w: Tensor[], x: Tensor, y: Tensor): Tensor {
  return scope(() => {
    const c = y.shape[0];
    const leaves = w.map((t) => t.unsqueeze(0).expand([c, ...t.shape]).contiguous().requiresGrad_());
    const g = grad(agentLosses(model, leaves, x.unsqueeze(1), y.unsqueeze(1)).sum(), leaves);
    return cat(g.map((t) => t.reshape([c, -1])), 1);
  });
}

export function linearize(model: Model, data: AgentData, wStar: Tensor[], rank: number, chunk = 512): Linearization {
  return scope(() => {
    const K = data.K;
    const hessians = Array.from({ length: K }, (_, k) => keep(hessian(agentObjective(model, data, k), wStar, { columnsPerPass: 32 }).to('float64')));
    const p = fromArray(Float64Array.from(data.p));
    const Hbar = stack(hessians).mul(p.reshape([K, 1, 1])).sum(0);
    const { values, vectors } = eigh(Hbar.add(Hbar.mT).mul(0.5));
    const M = values.shape[0];
    const r = Math.min(rank, M);
    const V = vectors.narrow(1, M - r, r).contiguous();
    const h = values.toNumbers().reverse();
    const stats = data.sizes.map((N, k) => {
      const parts: Tensor[] = [];
      for (let start = 0; start < N; start += chunk) {
        const len = Math.min(chunk, N - start);
        const at = data.offsets[k] + start;
        parts.push(perSampleGradients(model, wStar, data.x.narrow(0, at, len), data.y.narrow(0, at, len)).to('float64').mm(V));
      }
      return gradientStatistics(cat(parts, 0));
    });
    const project = (X: Tensor): Tensor => V.mT.mm(X).mm(V);
    const lin = linearizedModel(stack(hessians.map(project)), stack(stats.map((s) => s.mean)), stack(stats.map((s) => s.covariance)), p);
    hessians.forEach((t) => t.dispose());
    const total = h.reduce((a, b) => a + b, 0);
    return {
      model: lin,
      rank: r,
      eigenvalues: h,
      traceShare: h.slice(0, r).reduce((a, b) => a + b, 0) / total,
      noiseTrace: lin.R.mul(lin.p.reshape([K, 1, 1])).sum(0).trace().item(),
      heterogeneity: lin.d.square().sum().item() / K,
    };
  });
}
