/*
 * Small-μ closed forms of the steady-state excess risks of the linearized unified
 * recursion (see linearized.ts for the model and notation).
 *
 * Assumptions: H̄ = Σ_k p_k H_k ≻ 0; Σ_k p_k d_k = 0 (w* stationary for J); every
 * combination matrix keeps the centroid (A p = p, which holds for A and, with uniform
 * p, for 11ᵀ/K); the network mixes: λ = ρ(P) < 1 with
 *
 *   T = A₂ᵀ Aₒᵀ A₁ᵀ,   P = T − 1pᵀ,   G₀ = (I − 1pᵀ) A₂ᵀ,   G = (I − P)⁻¹ G₀     (K×K).
 *
 * Centroid. Since pᵀAᵀ = pᵀ, e_c = (pᵀ⊗I)e obeys
 *   e_{c,n} = (I − μH̄) e_{c,n−1} − μ Σ_k p_k H_k x_k − μ Σ_k p_k v_k,
 * x_k = φ̃_k − e_c the disagreement where gradients are taken. Its steady second moment
 * C satisfies μ(H̄C + CH̄) − μ² H̄CH̄ = μ² S/B − μ(E[u e_cᵀ] + E[e_c uᵀ]) + O(μ⁴),
 * S = Σ_k p_k² R_k, u = Σ_k p_k H_k x_k. Taking the trace (no commutation needed):
 *
 *   ½Tr(H̄C) = μ Tr(S)/(4B)                        noise, O(μ)   [= μ Tr(R̄)/(4KB) for p = 1/K]
 *           + (μ/4) Tr(H̄ C₀ H̄)                    second order, O(μ²); H̄C₀ + C₀H̄ = μ S/B
 *           − ½ Σ_k p_k Tr(H_k E[x_k e_cᵀ])        network, O(μ²/(1−λ)) noise + O(μ²/(1−λ)²) heterogeneity
 *
 * Disagreement. ẽ = e − 1⊗e_c obeys, to leading order (the μℋ terms acting on ẽ are a
 * relative O(μ/(1−λ)) correction),
 *   ẽ_n = P ẽ_{n−1} − μ G₀ (d + v_n + ℋ(1⊗e_{c,n−1})),     x = A₁ᵀ ẽ.
 * Hence the mean ē = −μ G d (per agent ē_k = −μ Σ_l G_kl d_l), the centroid's mean
 * m_c = −H̄⁻¹ Σ_k p_k H_k x̄_k (from its steady mean equation), the noise cross-covariance
 * X_k = E[ẽ_k e_cᵀ] − ē_k m_cᵀ = Σ_l G_kl (μ² p_l R_l/B − μ H_l C₀) (using (I − μH̄) ≈ I over
 * the network's correlation time 1/(1−λ)), and cov(ẽ_k) = (μ²/B) Σ_l S_kl R_l with
 * S_kl = Σ_j ((P^j G₀)_kl)², the diagonal of the K×K Lyapunov equation X = P X Pᵀ + g_l g_lᵀ.
 *
 *   centroid:   noise + second order
 *               − ½ Σ_k p_k Tr(H_k X'_k),   X' = A₁ᵀ X       network noise
 *               + ½ m_cᵀ H̄ m_c                                heterogeneity, μ² ‖d‖²/(1−λ)²-type
 *   agents:     centroid
 *               + (1/K) Σ_k Tr(H̄ X_k)                          network noise (0 for p = 1/K)
 *               + (μ²/(2KB)) Σ_kl S_kl Tr(H̄ R_l)               network noise, O(μ²/(1−λ))
 *               + (1/K) Σ_k (½ ē_kᵀH̄ē_k + ē_kᵀH̄ m_c)         heterogeneity, O(μ²/(1−λ)²)
 *
 * The network terms separate the algorithms: consensus has G₀ = I − 1pᵀ, diffusion ATC
 * G₀ = Aᵀ − 1pᵀ, one more combination before the disagreement builds up — for symmetric A
 * the heterogeneity mode i is scaled by 1/(1−λ_i) for consensus and λ_i/(1−λ_i) for ATC.
 * Centralized (A₂ = 11ᵀ/K, p = 1/K) has G₀ = 0: only the noise and second-order terms.
 */
import { arange, eigh, eye, scope, solve, type Tensor } from '../tensor/index.js';
import { UserError } from '../errors.js';
import type { Combination } from '../algorithms/recursion.js';
import type { LinearizedModel, LinearizedSettings } from './linearized.js';
import { solveDiscreteLyapunov, spectralRadius } from './lyapunov.js';

/** The terms of a small-μ closed form, by order. */
export interface ClosedFormTerms {
  /** μ Tr(Σ_k p_k² R_k)/(4B): O(μ). */
  noise: number;
  /** (μ/4) Tr(H̄ C₀ H̄): O(μ²), present for centralized SGD too. */
  secondOrder: number;
  /** Gradient noise spread over the network: O(μ²/(1−λ)); 0 for centralized. */
  networkNoise: number;
  /** Heterogeneity d_k ≠ 0 through the disagreement: O(μ²/(1−λ)²); does not shrink with B. */
  heterogeneity: number;
  total: number;
}

export interface ClosedForm {
  centroid: ClosedFormTerms;
  agentAverage: ClosedFormTerms;
  /** λ = ρ(A₂ᵀAₒᵀA₁ᵀ − 1pᵀ), the mixing rate of one step of the algorithm. */
  mixingRate: number;
}

const terms = (noise: number, secondOrder: number, networkNoise: number, heterogeneity: number): ClosedFormTerms => ({
  noise,
  secondOrder,
  networkNoise,
  heterogeneity,
  total: noise + secondOrder + networkNoise + heterogeneity,
});

/** Tr(X Y) for symmetric X: Σ X ∘ Y (batched over leading dimensions, summed). */
const traceProduct = (X: Tensor, Y: Tensor): Tensor => X.mul(Y).sum();

export function closedForm(model: LinearizedModel, s: LinearizedSettings): ClosedForm {
  const { H, d, R, p } = model;
  const [K, M] = d.shape;
  const { stepSize: mu, batchSize: B } = s;
  return scope(() => {
    const I = eye(K, 'float64');
    const matrix = (A: Combination, name: string): Tensor => {
      if (A === null) return I;
      const A64 = A.to('float64');
      const drift = A64.matmul(p).sub(p).abs().amax().item();
      if (drift > 1e-9)
        throw new UserError(
          `closed form: the combination matrix ${name} does not keep the centroid (A p ≠ p by ${drift.toPrecision(3)}); use the Perron vector of A as p, and uniform p for centralized`,
        );
      return A64;
    };
    const [Ao, A1, A2] = [matrix(s.form.Ao, 'A_o'), matrix(s.form.A1, 'A_1'), matrix(s.form.A2, 'A_2')];
    const onesP = p.reshape([1, K]).expand([K, K]);
    const P = A2.mT.mm(Ao.mT).mm(A1.mT).sub(onesP);
    const mixingRate = spectralRadius(P);
    if (!(mixingRate < 1))
      throw new UserError(
        `closed form: the network does not mix (λ = ${mixingRate.toPrecision(6)} ≥ 1); the agents' disagreement has no steady state — use a connected graph and a cooperative algorithm`,
      );
    const G0 = I.sub(onesP).mm(A2.mT);
    const G = solve(I.sub(P), G0);

    const Hbar = H.mul(p.reshape([K, 1, 1])).sum(0);
    const { values: h, vectors: U } = eigh(Hbar);
    if (!(h.amin().item() > 0))
      throw new UserError(
        `closed form: H̄ = Σ_k p_k H_k is not positive definite (smallest eigenvalue ${h.amin().item().toPrecision(6)}); w* is not a strict local minimum`,
      );

    // C₀ solves H̄C₀ + C₀H̄ = μS/B: in H̄'s eigenbasis, entry (i, j) divides by h_i + h_j.
    const S = R.mul(p.square().reshape([K, 1, 1])).sum(0);
    const C0 = U.mm(
      U.mT
        .mm(S)
        .mm(U)
        .div(h.reshape([M, 1]).add(h.reshape([1, M]))),
    )
      .mm(U.mT)
      .mul(mu / B);
    const noise = (mu * S.trace().item()) / (4 * B);
    const secondOrder = (mu / 4) * Hbar.mm(C0).mm(Hbar).trace().item();

    const mixBlocks = (W: Tensor, X: Tensor): Tensor => W.mm(X.reshape([K, -1])).reshape(X.shape);
    const X = mixBlocks(
      G,
      R.mul(p.reshape([K, 1, 1]))
        .mul((mu * mu) / B)
        .sub(H.matmul(C0).mul(mu)),
    );
    const Xphi = mixBlocks(A1.mT, X);
    const centroidNetwork = -0.5 * traceProduct(H.mul(p.reshape([K, 1, 1])), Xphi).item();

    const ebar = mixBlocks(G, d).mul(-mu);
    const xbar = mixBlocks(A1.mT, ebar);
    const mc = solve(
      Hbar,
      H.bmm(xbar.reshape([K, M, 1]))
        .reshape([K, M])
        .mul(p.reshape([K, 1]))
        .sum(0)
        .neg()
        .reshape([M, 1]),
    ).reshape([M]);
    const centroidHeterogeneity = 0.5 * mc.dot(Hbar.matmul(mc)).item();

    const cross = traceProduct(Hbar, X.sum(0)).item() / K;
    // S_kl = (X_l)_kk with X_l = P X_l Pᵀ + g_l g_lᵀ, g_l = G₀'s column l; one batched equation.
    const g = G0.mT;
    const Xl = solveDiscreteLyapunov(P, g.reshape([K, K, 1]).mul(g.reshape([K, 1, K])), {
      what: 'the disagreement recursion',
    });
    const Skl = Xl.reshape([K, K * K]).indexSelect(1, arange(0, K * K, K + 1)).mT;
    const spread = Skl.sum(0)
      .dot(R.mul(Hbar.reshape([1, M, M])).sum([1, 2]))
      .item();
    const disagreementNoise = (mu * mu * spread) / (2 * K * B);
    const HbarE = ebar.mm(Hbar);
    const agentHeterogeneity =
      HbarE.mul(ebar.mul(0.5).add(mc.reshape([1, M])))
        .sum()
        .item() / K;

    return {
      centroid: terms(noise, secondOrder, centroidNetwork, centroidHeterogeneity),
      agentAverage: terms(
        noise,
        secondOrder,
        centroidNetwork + cross + disagreementNoise,
        centroidHeterogeneity + agentHeterogeneity,
      ),
      mixingRate,
    };
  });
}
