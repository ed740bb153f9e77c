// Problems whose local risks, heterogeneity and gradient noise are known exactly,
// for testing the linearized theory against the engine. Plain float64 data,
// matrices row-major M×M.
//
// Quadratic problem. Agent k's risk and per-sample loss (a sample is z ~ N(0, I_M)):
//   J_k(w)    = ½ (w − w_k°)ᵀ H_k (w − w_k°)
//   Q_k(w; z) = J_k(w) + (R_k^{1/2} z)ᵀ w,   so E Q_k = J_k,
//   ∇̂J_k(w)  = (1/B) Σ_b ∇Q_k(w; z_b) = H_k (w − w_k°) + R_k^{1/2} z̄,   Cov = R_k / B.
// With weights p (Σ p_k = 1), J = Σ_k p_k J_k is minimized at
//   w* = (Σ_k p_k H_k)⁻¹ Σ_k p_k H_k w_k°,   d_k = ∇J_k(w*) = H_k (w* − w_k°),   Σ_k p_k d_k = 0.
//
// Linear regression. Agent k observes x ~ N(0, Σ_k), y = xᵀ w_k° + σ_k ε, ε ~ N(0, 1),
// with loss Q(w; x, y) = ½ (y − xᵀw)². Then J_k(w) = ½ (w − w_k°)ᵀ Σ_k (w − w_k°) + ½ σ_k²
// (H_k = Σ_k), and a per-sample gradient x xᵀ a − σ_k ε x (a = w − w_k°) has, x being
// Gaussian (Isserlis), covariance
//   R_k(w) = Σ_k a aᵀ Σ_k + (aᵀ Σ_k a + σ_k²) Σ_k.
import { ConfigError } from '../errors.js';
import { Generator, eigh, fromArray, keep, rand, randn, scope, solve, stack, type Tensor } from '../tensor/index.js';

export interface QuadraticProblem {
  K: number;
  M: number;
  /** H_k, symmetric positive definite. */
  H: Float64Array[];
  /** w_k°, the minimizer of agent k's own risk. */
  wo: Float64Array[];
  /** R_k, the covariance of one sample's gradient (positive semidefinite). */
  R: Float64Array[];
}

export interface QuadraticOptions {
  K: number;
  M: number;
  seed: number;
  /** Range of the eigenvalues of H_k, drawn log-uniformly; default [0.1, 1]. */
  eigenvalues?: [number, number];
  /** One H for all agents (default: each agent its own). */
  commonHessian?: boolean;
  /** Spread of the local minimizers: w_k° = c + h·z_k/√M, z_k ~ N(0, I); default 1. */
  heterogeneity?: number;
  /** Scale of the noise: R_k = s·G_k G_kᵀ/M, G_k with N(0, 1) entries, so E Tr R_k = s·M; default 1. */
  noise?: number;
}

export interface LinearRegressionProblem {
  K: number;
  M: number;
  /** Σ_k, the covariance of agent k's inputs (= H_k). */
  Sigma: Float64Array[];
  /** w_k°, agent k's true weights. */
  wo: Float64Array[];
  /** σ_k, the standard deviation of agent k's label noise. */
  noiseStd: number[];
}

export interface LinearRegressionOptions {
  K: number;
  M: number;
  seed: number;
  /** Range of the eigenvalues of Σ_k, log-uniform; default [0.1, 1]. */
  eigenvalues?: [number, number];
  commonCovariance?: boolean;
  heterogeneity?: number;
  /** σ for every agent; default 0.5. */
  noiseStd?: number;
}

const rows = (t: Tensor): Float64Array[] => {
  const [n] = t.shape;
  const flat = t.contiguous().toArray() as Float64Array;
  const size = flat.length / n;
  return Array.from({ length: n }, (_, i) => flat.slice(i * size, (i + 1) * size));
};

const stacked = (xs: Float64Array[], shape: number[]): Tensor => stack(xs.map((x) => fromArray(x, shape)));

function checkShape(o: { K: number; M: number }): void {
  for (const [field, v] of [
    ['K', o.K],
    ['M', o.M],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) throw new ConfigError(field, `must be a positive integer, got ${v}`);
  }
}

/** [count, M, M] random symmetric positive definite matrices, eigenvalues log-uniform in [lo, hi], eigenvectors Haar. */
function spdMatrices(count: number, M: number, [lo, hi]: [number, number], gen: Generator): Tensor {
  if (!(lo > 0 && hi >= lo)) throw new ConfigError('eigenvalues', `need 0 < min ≤ max, got [${lo}, ${hi}]`);
  // The eigenvectors of a GOE matrix are uniformly distributed on the orthogonal group.
  const G = randn([count, M, M], gen, 'float64');
  const U = eigh(G.add(G.mT)).vectors;
  const lambda = rand([count, 1, M], gen, 'float64')
    .mul(Math.log(hi / lo))
    .exp()
    .mul(lo);
  const H = U.mul(lambda).matmul(U.mT);
  return H.add(H.mT).mul(0.5);
}

function minimizers(K: number, M: number, heterogeneity: number, gen: Generator): Tensor {
  const centre = randn([1, M], gen, 'float64');
  return centre.add(randn([K, M], gen, 'float64').mul(heterogeneity / Math.sqrt(M)));
}

export function quadraticProblem(o: QuadraticOptions): QuadraticProblem {
  checkShape(o);
  const { K, M } = o;
  const gen = new Generator(o.seed);
  return scope(() => {
    const H = spdMatrices(o.commonHessian ? 1 : K, M, o.eigenvalues ?? [0.1, 1], gen).expand([K, M, M]);
    const wo = minimizers(K, M, o.heterogeneity ?? 1, gen);
    const G = randn([K, M, M], gen, 'float64');
    const R = G.matmul(G.mT).mul((o.noise ?? 1) / M);
    return { K, M, H: rows(H), wo: rows(wo), R: rows(R.add(R.mT).mul(0.5)) };
  });
}

export function linearRegressionProblem(o: LinearRegressionOptions): LinearRegressionProblem {
  checkShape(o);
  const { K, M } = o;
  const gen = new Generator(o.seed);
  return scope(() => {
    const Sigma = spdMatrices(o.commonCovariance ? 1 : K, M, o.eigenvalues ?? [0.1, 1], gen).expand([K, M, M]);
    const wo = minimizers(K, M, o.heterogeneity ?? 1, gen);
    return { K, M, Sigma: rows(Sigma), wo: rows(wo), noiseStd: new Array<number>(K).fill(o.noiseStd ?? 0.5) };
  });
}

function weightsOf(K: number, p?: number[]): number[] {
  const w = p ?? new Array<number>(K).fill(1 / K);
  const total = w.reduce((a, b) => a + b, 0);
  if (w.length !== K || w.some((v) => v < 0) || Math.abs(total - 1) > 1e-9) {
    throw new ConfigError('p', `need ${K} nonnegative weights summing to one, got [${w.join(', ')}]`);
  }
  return w;
}

/** w* = argmin Σ_k p_k J_k (uniform p by default). */
export function quadraticMinimizer(q: QuadraticProblem, p?: number[]): Float64Array {
  const w = weightsOf(q.K, p);
  return scope(() => {
    const H = stacked(q.H, [q.M, q.M]);
    const pk = fromArray(Float64Array.from(w), [q.K, 1, 1]);
    const Hbar = H.mul(pk).sum(0);
    const rhs = H.matmul(stacked(q.wo, [q.M, 1]))
      .mul(pk)
      .sum(0);
    return solve(Hbar, rhs).reshape([q.M]).toArray() as Float64Array;
  });
}

/** d_k = ∇J_k(w*) = H_k (w* − w_k°); Σ_k p_k d_k = 0. */
export function quadraticHeterogeneity(q: QuadraticProblem, p?: number[]): Float64Array[] {
  const wStar = quadraticMinimizer(q, p);
  return scope(() => {
    const e = fromArray(wStar, [1, q.M, 1]).sub(stacked(q.wo, [q.M, 1]));
    return rows(stacked(q.H, [q.M, q.M]).matmul(e).reshape([q.K, q.M]));
  });
}

/** The problem as float64 tensors, kept beyond any scope (dispose them when done). */
export interface QuadraticTensors {
  /** [K, M, M] */
  H: Tensor;
  /** [K, M] */
  wo: Tensor;
  /** [K, M, M] */
  R: Tensor;
  /** R_k^{1/2}, the symmetric square root: [K, M, M]. */
  Rhalf: Tensor;
}

export function quadraticTensors(q: QuadraticProblem): QuadraticTensors {
  return scope(() => {
    const R = stacked(q.R, [q.M, q.M]);
    const { values, vectors } = eigh(R);
    // Round-off can leave tiny negative eigenvalues of a semidefinite R: clamp them.
    const Rhalf = vectors.mul(values.clamp(0).sqrt().unsqueeze(1)).matmul(vectors.mT);
    return {
      H: keep(stacked(q.H, [q.M, q.M])),
      wo: keep(stacked(q.wo, [q.M])),
      R: keep(R),
      Rhalf: keep(Rhalf),
    };
  });
}

/** J_k(w_k) for every agent: W [K, M] → [K]. */
export function quadraticRisk(t: QuadraticTensors, W: Tensor): Tensor {
  return scope(() => {
    const e = W.sub(t.wo).unsqueeze(2);
    return e.mT.matmul(t.H).matmul(e).reshape([-1]).mul(0.5);
  });
}

/** Batch-mean sample loss (1/B) Σ_b Q_k(w_k; z_{k,b}) for every agent: W [K, M], Z [K, B, M] → [K]. */
export function quadraticSampleLoss(t: QuadraticTensors, W: Tensor, Z: Tensor): Tensor {
  return scope(() => {
    const noise = Z.mean(1).unsqueeze(1).matmul(t.Rhalf).reshape(W.shape); // R^{1/2} symmetric: z̄ᵀR^{1/2}
    return quadraticRisk(t, W).add(noise.mul(W).sum(1));
  });
}

/** Samples z for the quadratic losses: [B, M] standard normal, float64, from agent k's generator. */
export function quadraticSamples(M: number, B: number, gen: Generator): Tensor {
  return randn([B, M], gen, 'float64');
}

/** n samples of agent k: x [n, M] ~ N(0, Σ_k), y [n] = x w_k° + σ_k ε (float64). */
export function linearRegressionSamples(
  q: LinearRegressionProblem,
  k: number,
  n: number,
  gen: Generator,
): { x: Tensor; y: Tensor } {
  return scope(() => {
    const { values, vectors } = eigh(fromArray(q.Sigma[k], [q.M, q.M]));
    const root = vectors.mul(values.clamp(0).sqrt().unsqueeze(0)).matmul(vectors.mT);
    const x = randn([n, q.M], gen, 'float64').matmul(root);
    const y = x
      .matmul(fromArray(q.wo[k], [q.M, 1]))
      .reshape([n])
      .add(randn([n], gen, 'float64').mul(q.noiseStd[k]));
    return { x, y };
  });
}

/** R_k(w) = Σ_k a aᵀ Σ_k + (aᵀ Σ_k a + σ_k²) Σ_k, a = w − w_k°: one sample's gradient covariance at w. */
export function linearGradientCovariance(q: LinearRegressionProblem, k: number, w: Float64Array): Float64Array {
  return scope(() => {
    const S = fromArray(q.Sigma[k], [q.M, q.M]);
    const a = fromArray(w, [q.M, 1]).sub(fromArray(q.wo[k], [q.M, 1]));
    const Sa = S.matmul(a);
    const scale = a.mT.matmul(Sa).item() + q.noiseStd[k] ** 2;
    return Sa.matmul(Sa.mT).add(S.mul(scale)).contiguous().toArray() as Float64Array;
  });
}

/** The linear regression's exact quadratic risks (H_k = Σ_k), with the gradient noise R_k(w) at `at` (e.g. w*). */
export function linearRegressionAsQuadratic(q: LinearRegressionProblem, at: Float64Array): QuadraticProblem {
  return { K: q.K, M: q.M, H: q.Sigma, wo: q.wo, R: q.wo.map((_, k) => linearGradientCovariance(q, k, at)) };
}
