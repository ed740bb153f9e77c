// Problems with known H_k, d_k and gradient noise: the stated formulas hold — by
// automatic differentiation where they are exact, by Monte Carlo where they are moments.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  linearGradientCovariance,
  linearRegressionAsQuadratic,
  linearRegressionProblem,
  linearRegressionSamples,
  quadraticHeterogeneity,
  quadraticMinimizer,
  quadraticProblem,
  quadraticRisk,
  quadraticSampleLoss,
  quadraticSamples,
  quadraticTensors,
} from '../src/data/quadratic.js';
import { Generator, eigh, fromArray, grad, randn, scope, stack, type Tensor } from '../src/tensor/index.js';

const K = 3;
const M = 4;
const problem = quadraticProblem({ K, M, seed: 7, eigenvalues: [0.2, 2], heterogeneity: 1.5, noise: 0.8 });

/** ½ (w − w°)ᵀ H (w − w°) with plain arrays. */
function riskByHand(H: Float64Array, wo: Float64Array, w: number[]): number {
  let s = 0;
  for (let i = 0; i < M; i++) for (let j = 0; j < M; j++) s += (w[i] - wo[i]) * H[i * M + j] * (w[j] - wo[j]);
  return s / 2;
}

const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>): number =>
  Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

test('quadratic: H_k symmetric with eigenvalues in range, R_k semidefinite', () => {
  scope(() => {
    const t = quadraticTensors(problem);
    assert.ok(t.H.sub(t.H.mT).abs().amax().item() < 1e-12);
    const { values: lambdaH } = eigh(t.H);
    assert.ok(lambdaH.amin().item() >= 0.2 - 1e-9 && lambdaH.amax().item() <= 2 + 1e-9);
    assert.ok(eigh(t.R).values.amin().item() > -1e-12);
    // R^{1/2} R^{1/2} = R.
    assert.ok(t.Rhalf.matmul(t.Rhalf).sub(t.R).abs().amax().item() < 1e-10);
    for (const x of [t.H, t.wo, t.R, t.Rhalf]) x.dispose();
  });
});

test("quadratic: agent k's risk is ½(w−w_k°)ᵀH_k(w−w_k°); its sample gradient is H_k(w−w_k°) + R_k^{1/2} z̄ and its Hessian H_k", () => {
  scope(() => {
    const t = quadraticTensors(problem);
    const gen = new Generator(3);
    const W = randn([K, M], gen, 'float64').requiresGrad_();
    const risk = quadraticRisk(t, W).toNumbers();
    const w = W.detach().toNumbers();
    for (let k = 0; k < K; k++)
      assert.ok(Math.abs(risk[k] - riskByHand(problem.H[k], problem.wo[k], w.slice(k * M, (k + 1) * M))) < 1e-12);

    const Z = stack([0, 1, 2].map(() => quadraticSamples(M, 5, gen)));
    const [g] = grad(quadraticSampleLoss(t, W, Z).sum(), [W], { createGraph: true });
    const expected = t.H.matmul(W.detach().sub(t.wo).unsqueeze(2))
      .add(t.Rhalf.matmul(Z.mean(1).unsqueeze(2)))
      .reshape([K, M]);
    assert.ok(maxAbs(g.toNumbers(), expected.toNumbers()) < 1e-12);
    // Hessian-vector product by double backward: H_k v.
    const v = randn([K, M], gen, 'float64');
    const [Hv] = grad(g.mul(v).sum(), [W]);
    assert.ok(maxAbs(Hv.toNumbers(), t.H.matmul(v.unsqueeze(2)).reshape([K, M]).toNumbers()) < 1e-12);
    for (const x of [t.H, t.wo, t.R, t.Rhalf]) x.dispose();
  });
});

test('quadratic: w* makes Σ p_k d_k vanish, for uniform and for skewed weights', () => {
  for (const p of [undefined, [0.5, 0.3, 0.2]]) {
    const d = quadraticHeterogeneity(problem, p);
    const weights = p ?? [1 / 3, 1 / 3, 1 / 3];
    for (let i = 0; i < M; i++) assert.ok(Math.abs(d.reduce((s, dk, k) => s + weights[k] * dk[i], 0)) < 1e-12);
    assert.ok(
      d.some((dk) => dk.some((v) => Math.abs(v) > 0.1)),
      'the agents are heterogeneous',
    );
  }
  // With one common H and uniform weights, w* is the mean of the w_k°.
  const common = quadraticProblem({ K, M, seed: 8, commonHessian: true });
  const mean = Array.from({ length: M }, (_, i) => common.wo.reduce((s, w) => s + w[i], 0) / K);
  assert.ok(maxAbs(quadraticMinimizer(common), mean) < 1e-12);
});

test('quadratic: the batch gradient noise has covariance R_k/B (Monte Carlo)', () => {
  const B = 4;
  const draws = 20000;
  scope(() => {
    const t = quadraticTensors(problem);
    const gen = new Generator(11);
    // Every draw at the same W; the gradients' spread is the noise.
    const W = randn([K, M], gen, 'float64');
    const Wn = W.unsqueeze(0)
      .expand([draws, K, M])
      .reshape([draws * K, M])
      .requiresGrad_();
    const replicate = (x: Tensor): Tensor =>
      x
        .unsqueeze(0)
        .expand([draws, ...x.shape])
        .reshape([draws * K, ...x.shape.slice(1)]);
    const many = { H: replicate(t.H), wo: replicate(t.wo), R: replicate(t.R), Rhalf: replicate(t.Rhalf) };
    const Z = quadraticSamples(M, draws * K * B, gen).reshape([draws * K, B, M]);
    const [g] = grad(quadraticSampleLoss(many, Wn, Z).sum(), [Wn]);
    const G = g.reshape([draws, K, M]);
    const centred = G.sub(G.mean(0, true));
    const cov = centred
      .permute([1, 2, 0])
      .matmul(centred.permute([1, 0, 2]))
      .div(draws - 1);
    const target = t.R.div(B);
    const error = cov.sub(target).norm().item() / target.norm().item();
    assert.ok(error < 0.04, `relative error ${error}`);
    // And the mean is the exact gradient H_k (w − w_k°).
    const exact = t.H.matmul(W.sub(t.wo).unsqueeze(2)).reshape([K, M]);
    assert.ok(G.mean(0).sub(exact).abs().amax().item() < 0.03);
    for (const x of [t.H, t.wo, t.R, t.Rhalf]) x.dispose();
  });
});

test('linear regression: risk ½(w−w_k°)ᵀΣ_k(w−w_k°) + ½σ² and per-sample gradient covariance R_k(w) (Monte Carlo)', () => {
  const q = linearRegressionProblem({ K: 2, M: 3, seed: 5, noiseStd: 0.7 });
  const n = 200000;
  for (let k = 0; k < 2; k++) {
    scope(() => {
      const gen = new Generator(20 + k);
      const w = Float64Array.from([0.3, -0.5, 1.0]);
      const { x, y } = linearRegressionSamples(q, k, n, gen);
      // Per-sample gradients by autograd: one copy of w per sample.
      const Wn = fromArray(w, [1, 3]).expand([n, 3]).contiguous().requiresGrad_();
      const residual = y.sub(x.mul(Wn).sum(1));
      const losses = residual.square().mul(0.5);
      const [g] = grad(losses.sum(), [Wn]);
      const risk = losses.mean().item();
      const a = w.map((v, i) => v - q.wo[k][i]);
      let expectedRisk = 0.5 * 0.49;
      for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) expectedRisk += 0.5 * a[i] * q.Sigma[k][i * 3 + j] * a[j];
      assert.ok(Math.abs(risk - expectedRisk) / expectedRisk < 0.02, `risk ${risk} vs ${expectedRisk}`);
      const centred = g.sub(g.mean(0, true));
      const cov = centred.mT.matmul(centred).div(n - 1);
      const R = fromArray(linearGradientCovariance(q, k, w), [3, 3]);
      const error = cov.sub(R).norm().item() / R.norm().item();
      assert.ok(error < 0.03, `relative error ${error}`);
    });
  }
  // As a quadratic problem: H_k = Σ_k, and the noise evaluated at the given point.
  const asQ = linearRegressionAsQuadratic(q, q.wo[0]);
  assert.deepEqual(asQ.H, q.Sigma);
  // At w = w_0° agent 0's noise is the label noise only: σ² Σ_0.
  assert.ok(
    maxAbs(
      asQ.R[0],
      q.Sigma[0].map((v) => 0.49 * v),
    ) < 1e-12,
  );
});
