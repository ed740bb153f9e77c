/*
 * The linearized model (src/theory) at a real minimizer w*, estimated from the data:
 *
 *   H_k = ∇²J_k(w*)                 from exact Hessian-vector products (double backward) of
 *                                   agent k's risk J_k (src/measures/risk.ts, weight decay λ included),
 *   d_k = ∇J_k(w*) = mean_i g_{k,i},  g_{k,i} = ∇Q(w*; x_{k,i}) + λw* the per-sample gradients,
 *   R_k = cov_i(g_{k,i})  (normalized by N_k),
 *
 * all in float64 at w*: R_k/B is the covariance of the gradient of a batch of B examples
 * drawn uniformly with replacement from agent k's N_k examples (runEscape's default).
 *
 * Small models (M ≤ maxFull) get the full M×M model. Larger ones are restricted to an
 * r-dimensional subspace: V = the top-r eigenvectors of H̄ = Σ_k p_k H_k, then VᵀH_kV, Vᵀd_k
 * and VᵀR_kV (from the projected per-sample gradients g_{k,i}ᵀV). Up to M ≤ maxExplicit the
 * H_k are formed explicitly (M HVPs per agent) and V is exact, from eigh(H̄); beyond, without
 * ever forming an M×M matrix, V comes from block subspace iteration with Rayleigh–Ritz on
 * HVPs and VᵀH_kV from r HVPs per agent.
 *
 * The approximation. The recursion in span(V) is exact when the span is invariant under
 * every H_k and its noise is uncorrelated with the complement's. It never is exactly: the
 * prediction leaves out the excess risk built up in the complement, ½Tr(H_⊥ C_⊥), which over
 * N steps from w* grows like N μ² Tr(H_⊥ R_⊥)/(2KB) for centralized SGD — small when the
 * complement is flat, but a neural network's Hessian has a large bulk of small eigenvalues,
 * so the subspace prediction is a lower bound on the noise-driven excess risk. How much of
 * the curvature the span holds, Tr(VᵀH̄V)/Tr(H̄), is reported: exact with explicit Hessians,
 * with Tr(H̄) by Hutchinson otherwise.
 */
import { Generator, cat, eigh, fromArray, grad, randn, scope, stack, type Tensor } from '../tensor/index.js';
import {
  Meter,
  agentRisk,
  flat,
  globalRisk,
  hessian,
  hutchinsonTrace,
  hvps,
  riskObjective,
  unflat,
  type Cost,
  type Objective,
} from '../measures/index.js';
import { GradientMoments, linearizedModel, type LinearizedModel } from '../theory/index.js';
import { agentLosses } from '../models/index.js';
import { ConfigError } from '../errors.js';
import type { EscapeProblem } from './problem.js';
import { deriveSeed } from '../util/seed.js';
import { singleModel } from './run.js';
import type { OnProgress } from '../util/reporter.js';

export interface EstimateOptions {
  /** The full M×M model when M ≤ maxFull (default 400); the subspace otherwise. */
  maxFull?: number;
  /** The Hessians explicit, and the subspace exact, when M ≤ maxExplicit (default maxFull); subspace iteration beyond. */
  maxExplicit?: number;
  /** How many of the top eigenvalues of H̄ to report as curvatures (default 10; at most r by subspace iteration). */
  curvatures?: number;
  /** r, the subspace dimension (default 20). */
  rank?: number;
  /** Subspace iterations before Rayleigh–Ritz (default 8), with `oversample` extra vectors (default 10). */
  iterations?: number;
  oversample?: number;
  seed?: number;
  /** Examples per per-sample-gradient chunk (default 128). */
  chunkSize?: number;
  /** Told after each pass over the data: (done, total, label) per phase (Hessians, subspace, moments, trace). */
  onProgress?: OnProgress;
}

export interface LinearizedEstimate {
  model: LinearizedModel;
  kind: 'full' | 'subspace';
  /** M. */
  dimension: number;
  /** r (M for the full model). */
  rank: number;
  /** The top eigenvalues of H̄ (Ritz values in the subspace), descending. */
  curvatures: number[];
  /** Ritz residuals ‖H̄v_i − θ_i v_i‖ (subspace iteration only). */
  residuals: number[] | null;
  /** Tr(VᵀH̄V)/Tr(H̄), and its standard error when Tr(H̄) is by Hutchinson (subspace only). */
  traceCaptured: { fraction: number; stdError: number; trace: number } | null;
  /** N_k, the examples each agent's d_k and R_k come from. */
  samples: number[];
  cost: Cost;
}

/** Orthonormal columns spanning Y's: Y (YᵀY)^{−1/2}, applied twice for round-off. */
function orthonormalize(Y: Tensor): Tensor {
  let Q = Y;
  for (let pass = 0; pass < 2; pass++) {
    const { values, vectors } = eigh(Q.mT.mm(Q));
    Q = Q.mm(vectors.mul(values.clamp(1e-300).pow(-0.5)));
  }
  return Q;
}

/** H X for a block X [M, b] of flat vectors, one pass over the data. */
function applyBlock(obj: Objective, params: Tensor[], X: Tensor, meter: Meter): Tensor {
  return scope(() => {
    const columns = Array.from({ length: X.shape[1] }, (_, j) => unflat(X.select(1, j).contiguous(), params));
    return stack(hvps(obj, params, columns, meter).map(flat), 1);
  });
}

/** The top-r eigenpairs of the Hessian of obj by block subspace iteration and Rayleigh–Ritz. */
export function topSubspace(
  obj: Objective,
  params: Tensor[],
  r: number,
  o: { iterations: number; oversample: number; gen: Generator; meter: Meter; onIteration?: (done: number) => void },
): { basis: Tensor; values: number[]; residuals: number[] } {
  return scope(() => {
    const M = params.reduce((m, p) => m + p.numel, 0);
    const b = Math.min(M, r + o.oversample);
    let Q = orthonormalize(randn([M, b], o.gen, 'float64'));
    for (let i = 0; i < o.iterations; i++) {
      Q = scope(() => orthonormalize(applyBlock(obj, params, Q, o.meter)));
      o.onIteration?.(i + 1);
    }
    const Y = applyBlock(obj, params, Q, o.meter);
    o.onIteration?.(o.iterations + 1);
    const T = Q.mT.mm(Y);
    const { values, vectors } = eigh(T.add(T.mT).mul(0.5));
    const top = fromArray(Int32Array.from({ length: Math.min(r, b) }, (_, i) => b - 1 - i));
    const U = vectors.indexSelect(1, top);
    const theta = values.indexSelect(0, top);
    const residuals = Y.mm(U)
      .sub(Q.mm(U).mul(theta.reshape([1, -1])))
      .norm(2, 0)
      .toNumbers();
    return { basis: Q.mm(U), values: theta.toNumbers(), residuals };
  });
}

/** Agent k's per-sample gradients at w (float64), projected on V when given, into moments. */
function perSampleMoments(
  setup: EscapeProblem,
  k: number,
  w: Tensor[],
  V: Tensor | null,
  chunk: number,
  onChunk: () => void = () => {},
): GradientMoments {
  const { model, train } = setup;
  const part = setup.parts[k];
  const moments = new GradientMoments();
  for (let start = 0; start < part.length; start += chunk) {
    scope(() => {
      const n = Math.min(chunk, part.length - start);
      const index = fromArray(Int32Array.from({ length: n }, (_, i) => part[start + i]));
      const leaves = w.map((p) =>
        p
          .unsqueeze(0)
          .expand([n, ...p.shape])
          .contiguous()
          .requiresGrad_(),
      );
      const x = train.x.indexSelect(0, index).to('float64').unsqueeze(1);
      const y = train.y.indexSelect(0, index).unsqueeze(1);
      const g = grad(agentLosses(model, leaves, x, y).sum(), leaves);
      const G = cat(
        g.map((t) => t.reshape([n, -1])),
        1,
      );
      moments.add(V ? G.mm(V) : G);
    });
    onChunk();
  }
  return moments;
}

export function estimateLinearized(setup: EscapeProblem, wStar: Tensor[], o: EstimateOptions = {}): LinearizedEstimate {
  const { config: c } = setup;
  const K = c.agents;
  if (c.momentum > 0 || c.clipNorm !== null) {
    throw new ConfigError(
      c.momentum > 0 ? 'momentum' : 'clipNorm',
      'the linearized theory covers plain SGD steps (with weight decay) — drop --momentum and --clip-norm for --theory',
    );
  }
  const meter = new Meter();
  const maxFull = o.maxFull ?? 400;
  const maxExplicit = Math.max(maxFull, o.maxExplicit ?? maxFull);
  const shown = o.curvatures ?? 10;
  const chunk = o.chunkSize ?? 128;
  const gen = new Generator(deriveSeed(o.seed ?? c.seed, 'theory'));
  const progress = o.onProgress ?? (() => {});
  return scope(() => {
    const w = singleModel(setup.model, wStar).map((p) => p.detach().to('float64').contiguous());
    const M = w.reduce((m, p) => m + p.numel, 0);
    const full = M <= maxFull;
    const rank = full ? M : Math.min(o.rank ?? 20, M);
    const objectives = Array.from({ length: K }, (_, k) => riskObjective(agentRisk(setup, k)));
    const global = riskObjective(globalRisk(setup));
    let V: Tensor | null = null;
    let curvatures: number[];
    let residuals: number[] | null = null;
    let traceCaptured: LinearizedEstimate['traceCaptured'] = null;
    let H: Tensor;
    if (M <= maxExplicit) {
      const hessians = `Hessians H_k (${M}×${M}, explicit)`;
      progress(0, K, hessians);
      const Hs = stack(
        objectives.map((obj, k) => {
          const Hk = hessian(obj, w, { meter, columnsPerPass: 32 });
          progress(k + 1, K, hessians);
          return Hk;
        }),
      );
      const Hbar = Hs.mul(fromArray(Float64Array.from(setup.perron), [K, 1, 1])).sum(0);
      const { values, vectors } = eigh(Hbar.add(Hbar.mT).mul(0.5));
      const descending = values.toNumbers().reverse();
      curvatures = descending.slice(0, shown);
      if (full) H = Hs;
      else {
        const basis = vectors.narrow(1, M - rank, rank).contiguous();
        V = basis;
        H = basis.mT.matmul(Hs).matmul(basis);
        const trace = descending.reduce((x, y) => x + y, 0);
        traceCaptured = { fraction: descending.slice(0, rank).reduce((x, y) => x + y, 0) / trace, stdError: 0, trace };
      }
    } else {
      const iterations = o.iterations ?? 8;
      const subspace = `top-${rank} subspace of H̄ and VᵀH_kV (passes of ${rank + (o.oversample ?? 10)} HVPs)`;
      const passes = iterations + 1 + K;
      progress(0, passes, subspace);
      const top = topSubspace(global, w, rank, {
        iterations,
        oversample: o.oversample ?? 10,
        gen,
        meter,
        onIteration: (i) => progress(i, passes, subspace),
      });
      const basis = top.basis;
      V = basis;
      curvatures = top.values.slice(0, shown);
      residuals = top.residuals;
      H = stack(
        objectives.map((obj, k) => {
          const Hk = basis.mT.mm(applyBlock(obj, w, basis, meter));
          progress(iterations + 2 + k, passes, subspace);
          return Hk;
        }),
      );
    }
    const decay = flat(w).mul(c.weightDecay);
    const d: Tensor[] = [];
    const R: Tensor[] = [];
    const samples: number[] = [];
    const momentsLabel = 'd_k, R_k from per-sample gradients';
    const chunks = setup.parts.reduce((n, part) => n + Math.ceil(part.length / chunk), 0);
    let chunksDone = 0;
    progress(0, chunks, momentsLabel);
    for (let k = 0; k < K; k++) {
      const moments = perSampleMoments(setup, k, w, V, chunk, () => progress(++chunksDone, chunks, momentsLabel));
      try {
        const { mean, covariance } = moments.finish();
        samples.push(moments.samples);
        d.push(mean.add(V ? V.mT.matmul(decay) : decay));
        R.push(covariance);
      } finally {
        moments.dispose();
      }
    }
    const model = linearizedModel(H, stack(d), stack(R), fromArray(Float64Array.from(setup.perron)));
    if (residuals !== null) {
      progress(0, 1, 'Tr(H̄) by Hutchinson');
      const trace = hutchinsonTrace(global, w, { gen, maxProbes: 40, minProbes: 10, relTol: 0.05, probesPerPass: 8 });
      progress(1, 1, 'Tr(H̄) by Hutchinson');
      meter.hvps += trace.cost.hvps;
      const inSpan = model.H.mul(model.p.reshape([K, 1, 1]))
        .sum(0)
        .trace()
        .item();
      traceCaptured = {
        fraction: inSpan / trace.mean,
        stdError: (inSpan * trace.stdError) / trace.mean ** 2,
        trace: trace.mean,
      };
    }
    return {
      model,
      kind: full ? 'full' : 'subspace',
      dimension: M,
      rank: V ? V.shape[1] : M,
      curvatures,
      residuals,
      traceCaptured,
      samples,
      cost: meter.cost(),
    };
  });
}
