/*
 * The unified recursion linearized around a minimizer w* of J = Σ_k p_k J_k.
 *
 * Near w* the local risks are quadratic, J_k(w) ≈ J_k(w*) + d_kᵀ w̃ + ½ w̃ᵀ H_k w̃
 * (w̃ = w − w*, d_k = ∇J_k(w*), H_k = ∇²J_k(w*)), and a stochastic gradient with
 * batch B is ∇̂J_k(φ) = d_k + H_k(φ − w*) + v_k, v_k zero-mean with covariance R_k/B,
 * independent over agents and steps. Stack e = col(w_k − w*) ∈ R^{KM} and write
 * 𝒜 = A ⊗ I_M, ℋ = blockdiag(H_k). Every A has Aᵀ1 = 1, so 𝒜ᵀ(1 ⊗ w*) = 1 ⊗ w*
 * and the three lines of the unified form give, for the errors,
 *
 *   φ̃_{n−1} = 𝒜₁ᵀ e_{n−1}
 *   ψ̃_n     = 𝒜ₒᵀ φ̃_{n−1} − μ(d + ℋ φ̃_{n−1} + v_n)
 *   e_n     = 𝒜₂ᵀ ψ̃_n
 *
 *   ⇒  e_n = ℱ e_{n−1} − μ 𝒜₂ᵀ d − μ 𝒜₂ᵀ v_n,   ℱ = 𝒜₂ᵀ (𝒜ₒᵀ − μℋ) 𝒜₁ᵀ.
 *
 * Its mean m_n = E e_n and covariance C_n = cov(e_n) propagate exactly:
 *
 *   m_n = ℱ m_{n−1} − μ 𝒜₂ᵀ d,     C_n = ℱ C_{n−1} ℱᵀ + Q,   Q = μ² 𝒜₂ᵀ blockdiag(R_k/B) 𝒜₂,
 *
 * and, J being quadratic, the excess risks are exact functions of them
 * (H̄ = Σ_k p_k H_k, d̄ = Σ_k p_k d_k, e_c = (pᵀ ⊗ I) e the centroid's error):
 *
 *   E J(w_c) − J(w*)                = ½ Tr(H̄ (C_c + m_c m_cᵀ)) + d̄ᵀ m_c
 *   (1/K) Σ_k E J(w_k) − J(w*)      = (1/K) Σ_k [½ Tr(H̄ (C_kk + m_k m_kᵀ)) + d̄ᵀ m_k].
 *
 * ℱ is applied through its structure (K×K combinations, batched H_k), never as a
 * dense KM×KM product, except where the steady state needs it.
 */
import { arange, eye, full, kron, scope, solve, zeros, type Tensor } from '../tensor/index.js';
import { ConfigError } from '../errors.js';
import type { Combination, UnifiedForm } from '../algorithms/recursion.js';
import { requireStable, solveDiscreteLyapunov, spectralRadius } from './lyapunov.js';

/** The local quantities at w* (float64). */
export interface LinearizedModel {
  /** H_k = ∇²J_k(w*): [K, M, M]. */
  H: Tensor;
  /** d_k = ∇J_k(w*): [K, M]; Σ_k p_k d_k = 0 when w* is a stationary point of J. */
  d: Tensor;
  /** R_k, the per-sample gradient covariance at w*: [K, M, M]. */
  R: Tensor;
  /** Weights of J = Σ_k p_k J_k (the Perron vector of A): [K]. */
  p: Tensor;
}

/** Step size μ, local batch size B and the combination matrices of the algorithm. */
export interface LinearizedSettings {
  form: UnifiedForm;
  stepSize: number;
  batchSize: number;
}

const symmetric = (X: Tensor): Tensor => X.add(X.mT).mul(0.5);

/**
 * Checks shapes and converts to float64. H and R are symmetrized: estimates from
 * Hessian-vector products or sample covariances are symmetric only up to round-off.
 * p defaults to uniform weights 1/K.
 */
export function linearizedModel(H: Tensor, d: Tensor, R: Tensor, p?: Tensor): LinearizedModel {
  const [K, M] = d.shape;
  if (d.ndim !== 2)
    throw new ConfigError('theory.d', `expected the local gradients as [K, M], got [${d.shape.join(', ')}]`);
  for (const [name, X] of [
    ['H', H],
    ['R', R],
  ] as const) {
    if (X.ndim !== 3 || X.shape[0] !== K || X.shape[1] !== M || X.shape[2] !== M) {
      throw new ConfigError(
        `theory.${name}`,
        `expected [K, M, M] = [${K}, ${M}, ${M}] to match d, got [${X.shape.join(', ')}]`,
      );
    }
  }
  if (p && (p.ndim !== 1 || p.shape[0] !== K))
    throw new ConfigError('theory.p', `expected K = ${K} weights, got [${p.shape.join(', ')}]`);
  return scope(() => {
    const weights = p ? p.to('float64') : full([K], 1 / K, 'float64');
    const total = weights.sum().item();
    if (Math.abs(total - 1) > 1e-9 || weights.lt(0).any().item()) {
      throw new ConfigError('theory.p', `the weights must be nonnegative and sum to one (they sum to ${total})`);
    }
    return { H: symmetric(H.to('float64')), d: d.to('float64'), R: symmetric(R.to('float64')), p: weights };
  });
}

/** Σ_l a_{lk} x_l for every k: Aᵀ·X over the leading agent dimension (identity when A is null). */
export function mixAgents(A: Combination, X: Tensor): Tensor {
  if (A === null) return X;
  const K = X.shape[0];
  return A.to('float64')
    .mT.mm(X.reshape([K, -1]))
    .reshape(X.shape);
}

/** The linear recursion e_n = ℱ e_{n−1} + b + noise of the linearized unified form. */
export interface LinearRecursion {
  K: number;
  M: number;
  /** ℱ X for X of shape [KM, c] (or [KM]). */
  apply(X: Tensor): Tensor;
  /** b = −μ 𝒜₂ᵀ d: [KM]. */
  drift: Tensor;
  /** Q = μ² 𝒜₂ᵀ blockdiag(R_k/B) 𝒜₂: [KM, KM]. */
  noise: Tensor;
}

export function linearRecursion(model: LinearizedModel, s: LinearizedSettings): LinearRecursion {
  const { H, d, R } = model;
  const [K, M] = d.shape;
  const { form, stepSize: mu, batchSize: B } = s;
  const apply = (X: Tensor): Tensor =>
    scope(() => {
      const blocks = X.reshape([K, M, -1]);
      const phi = mixAgents(form.A1, blocks);
      const psi = mixAgents(form.Ao, phi).sub(H.bmm(phi).mul(mu));
      return mixAgents(form.A2, psi).reshape(X.shape);
    });
  return scope(() => {
    const drift = mixAgents(form.A2, d)
      .mul(-mu)
      .reshape([K * M]);
    // blockdiag(R_k) as [K, M, K, M]: entry (k, i, l, j) = δ_kl R_k[i, j].
    const blockR = eye(K, 'float64')
      .reshape([K, 1, K, 1])
      .mul(R.reshape([K, M, 1, M]))
      .reshape([K * M, K * M]);
    const left = mixAgents(form.A2, blockR.reshape([K, M, K * M])).reshape([K * M, K * M]);
    const noise = mixAgents(form.A2, left.mT.reshape([K, M, K * M]))
      .reshape([K * M, K * M])
      .mul((mu * mu) / B);
    return { K, M, apply, drift, noise: symmetric(noise) };
  });
}

/** The excess risks of the centroid and of the agent average from the error's mean [KM] and covariance [KM, KM]. */
export interface ExcessRisk {
  centroid: number;
  agentAverage: number;
}

/** The quantities the excess risks read from the moments: H̄, d̄ and the centroid map pᵀ ⊗ I. */
interface Readout {
  Hbar: Tensor;
  dbar: Tensor;
  centroidMap: Tensor;
  diagonalBlocks: Tensor;
}

function readout(model: LinearizedModel): Readout {
  const { H, d, p } = model;
  const [K, M] = d.shape;
  return scope(() => ({
    Hbar: H.mul(p.reshape([K, 1, 1])).sum(0),
    dbar: p.reshape([1, K]).mm(d).reshape([M]),
    centroidMap: kron(p.reshape([1, K]), eye(M, 'float64')),
    diagonalBlocks: arange(0, K * K, K + 1),
  }));
}

/** ½ Tr(H̄ X) + d̄ᵀ m for a symmetric H̄ (Tr(H̄X) = Σ H̄ ∘ X). */
const quadratic = (r: Readout, second: Tensor, mean: Tensor): number =>
  r.Hbar.mul(second).sum().mul(0.5).add(r.dbar.dot(mean)).item();

function excessRisk(model: LinearizedModel, r: Readout, mean: Tensor, cov: Tensor): ExcessRisk {
  const [K, M] = model.d.shape;
  return scope(() => {
    const mc = r.centroidMap.matmul(mean);
    const Cc = r.centroidMap.mm(cov).mm(r.centroidMap.mT);
    const centroid = quadratic(r, Cc.add(mc.reshape([M, 1]).mul(mc.reshape([1, M]))), mc);
    const m = mean.reshape([K, M]);
    const Ckk = cov
      .reshape([K, M, K, M])
      .permute([0, 2, 1, 3])
      .reshape([K * K, M, M])
      .indexSelect(0, r.diagonalBlocks);
    const agentAverage = quadratic(r, Ckk.sum(0).add(m.mT.mm(m)), m.sum(0)) / K;
    return { centroid, agentAverage };
  });
}

/** Excess risk curves n = 0..N and the error moments reached at n = N. */
export interface MomentPropagation {
  /** E J(w_{c,n}) − J(w*), n = 0..N. */
  centroid: number[];
  /** (1/K) Σ_k E J(w_{k,n}) − J(w*), n = 0..N. */
  agentAverage: number[];
  /** E e_N as [K, M]. */
  mean: Tensor;
  /** cov(e_N): [KM, KM]. */
  cov: Tensor;
}

/**
 * Propagates mean and covariance of the stacked error for N steps from a
 * deterministic start e_0 ([K, M], default 0: every agent at w*).
 */
export function propagateMoments(
  model: LinearizedModel,
  s: LinearizedSettings,
  steps: number,
  start?: Tensor,
): MomentPropagation {
  const [K, M] = model.d.shape;
  return scope(() => {
    const rec = linearRecursion(model, s);
    const r = readout(model);
    let mean = start ? start.to('float64').reshape([K * M]) : zeros([K * M], 'float64');
    let cov = zeros([K * M, K * M], 'float64');
    const centroid: number[] = [];
    const agentAverage: number[] = [];
    const record = (): void => {
      const e = excessRisk(model, r, mean, cov);
      centroid.push(e.centroid);
      agentAverage.push(e.agentAverage);
    };
    record();
    for (let n = 1; n <= steps; n++) {
      [mean, cov] = scope(() => {
        const m = rec.apply(mean).add(rec.drift);
        const FC = rec.apply(cov);
        return [m, symmetric(rec.apply(FC.mT.contiguous())).add(rec.noise)];
      });
      record();
    }
    return { centroid, agentAverage, mean: mean.reshape([K, M]), cov };
  });
}

/** The stationary moments (n → ∞) and the excess risks they give. */
export interface SteadyState extends ExcessRisk {
  /** ρ(ℱ) < 1. */
  spectralRadius: number;
  /** m∞ = (I − ℱ)⁻¹ b as [K, M]. */
  mean: Tensor;
  /** C∞ solving C = ℱ C ℱᵀ + Q: [KM, KM]. */
  cov: Tensor;
}

/** ℱ = 𝒜₂ᵀ (𝒜ₒᵀ − μℋ) 𝒜₁ᵀ as a dense [KM, KM] matrix, and its spectral radius ρ(ℱ). */
export function recursionMatrix(model: LinearizedModel, s: LinearizedSettings): { F: Tensor; spectralRadius: number } {
  const [K, M] = model.d.shape;
  return scope(() => {
    const F = linearRecursion(model, s).apply(eye(K * M, 'float64'));
    return { F, spectralRadius: spectralRadius(F) };
  });
}

/**
 * The steady state; `known` passes ℱ and ρ(ℱ) when the caller has them already.
 * @throws UserError when ρ(ℱ) ≥ 1 (no steady state exists).
 */
export function steadyState(
  model: LinearizedModel,
  s: LinearizedSettings,
  known = recursionMatrix(model, s),
): SteadyState {
  const [K, M] = model.d.shape;
  return scope(() => {
    const rec = linearRecursion(model, s);
    const { F } = known;
    const what = 'the linearized recursion';
    const spectralRadius = requireStable(known.spectralRadius, what);
    const mean = solve(eye(K * M, 'float64').sub(F), rec.drift);
    const cov = solveDiscreteLyapunov(F, rec.noise, { what });
    return { ...excessRisk(model, readout(model), mean, cov), spectralRadius, mean: mean.reshape([K, M]), cov };
  });
}

/**
 * The model seen in the span of an orthonormal basis V [M, r]: VᵀH_kV, Vᵀd_k, VᵀR_kV.
 * Exact when the span is invariant under every H_k and uncorrelated with the rest of
 * the noise (the recursion then splits into the span and its complement, and the
 * excess risks add); otherwise an approximation, which neglects the complement's share
 * (small over N steps when the complement is flat: it scales with its curvature), e.g.
 * V = the top eigenvectors of H̄. It makes the theory affordable when M is large:
 * propagation costs O(K² r³) per step instead of O(K² M³).
 */
export function restrictToSubspace(model: LinearizedModel, V: Tensor): LinearizedModel {
  const M = model.d.shape[1];
  if (V.ndim !== 2 || V.shape[0] !== M)
    throw new ConfigError('theory.basis', `expected an [M, r] = [${M}, r] basis, got [${V.shape.join(', ')}]`);
  return scope(() => {
    const basis = V.to('float64');
    const project = (X: Tensor): Tensor => basis.mT.matmul(X).matmul(basis);
    return linearizedModel(project(model.H), model.d.mm(basis), project(model.R), model.p);
  });
}
