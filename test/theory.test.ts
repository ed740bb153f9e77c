// The linearized theory against the real engine: on quadratic local risks with
// Gaussian gradient noise the theory is exact, so Monte Carlo runs of unifiedStep
// must land inside their confidence band around the predicted curves, in the
// predicted order; the Lyapunov steady state is the long-run limit of the
// propagated moments; the small-μ closed forms become exact as μ → 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  cholesky,
  eigh,
  eye,
  Generator,
  kron,
  randn,
  scope,
  solve,
  stack,
  tensor,
  zeros,
  type Tensor,
} from '../src/tensor/index.js';
import { UserError } from '../src/errors.js';
import { unifiedForm, unifiedStep, type Algorithm } from '../src/algorithms/recursion.js';
import { line, metropolis, perronVector, ring, uniform } from '../src/graph/index.js';
import {
  closedForm,
  GradientMoments,
  isUnavailable,
  linearizedModel,
  modelFromSamples,
  predictEscape,
  predictionTable,
  restrictToSubspace,
  linearRecursion,
  propagateMoments,
  solveDiscreteLyapunov,
  steadyState,
  type LinearizedModel,
  type LinearizedSettings,
} from '../src/theory/index.js';

const K = 5;
const M = 3;

/** Heterogeneous SPD H_k and R_k, and d_k with Σ_k p_k d_k = 0 (w* = 0 minimizes J = Σ p_k J_k). */
function quadraticProblem(seed: number, p?: Tensor): LinearizedModel {
  const gen = new Generator(seed);
  const spd = (shift: number): Tensor => {
    const X = randn([K, M, M], gen, 'float64');
    return X.bmm(X.mT).div(M).add(eye(M, 'float64').mul(shift));
  };
  const H = spd(0.3);
  const R = spd(0.1);
  const weights = p ?? tensor(new Array<number>(K).fill(1 / K), 'float64');
  const raw = randn([K, M], gen, 'float64');
  const d = raw.sub(weights.reshape([1, K]).mm(raw));
  return linearizedModel(H, d, R, weights);
}

const ringA = (): Tensor => tensor(metropolis(ring(K)), 'float64');
const settings = (algorithm: Algorithm, A: Tensor, stepSize: number, batchSize: number): LinearizedSettings => ({
  form: unifiedForm(algorithm, A),
  stepSize,
  batchSize,
});

/** The oracle ∇̂J_k(φ_k) = H_k φ_k + d_k + v_k, v_k ~ N(0, R_k/B), for φ stacked as [K, S, M] (S independent runs). */
function gradientOracle(model: LinearizedModel, batchSize: number, gen: Generator | null): (phi: Tensor[]) => Tensor[] {
  const exact = (phi: Tensor): Tensor => phi.bmm(model.H).add(model.d.reshape([K, 1, M]));
  if (gen === null) return ([phi]) => [exact(phi)];
  const Lt = cholesky(model.R).mT.div(Math.sqrt(batchSize));
  return ([phi]) => [exact(phi).add(randn(phi.shape, gen, 'float64').bmm(Lt))];
}

/** Excess risks ½ wᵀH̄w (d̄ = 0) of the centroid and the agent average, per run: two [S] tensors. */
function measuredExcess(model: LinearizedModel, w: Tensor): { centroid: Tensor; agentAverage: Tensor } {
  const Hbar = model.H.mul(model.p.reshape([K, 1, 1])).sum(0);
  const half = (x: Tensor): Tensor => x.matmul(Hbar).mul(x).sum(-1).mul(0.5);
  const wc = w.mul(model.p.reshape([K, 1, 1])).sum(0);
  return { centroid: half(wc), agentAverage: half(w).mean(0) };
}

/** Runs the engine S times in parallel from w* for N steps; excess risks as [N+1, S] per measure. */
function monteCarlo(
  model: LinearizedModel,
  s: LinearizedSettings,
  runs: number,
  steps: number,
  seed: number,
): { centroid: Tensor; agentAverage: Tensor } {
  const gen = new Generator(seed);
  const oracle = gradientOracle(model, s.batchSize, gen);
  let w = [zeros([K, runs, M], 'float64')];
  const centroid: Tensor[] = [];
  const agentAverage: Tensor[] = [];
  for (let n = 0; n <= steps; n++) {
    if (n > 0) w = unifiedStep(w, oracle, s.form, s.stepSize);
    const e = measuredExcess(model, w[0]);
    centroid.push(e.centroid);
    agentAverage.push(e.agentAverage);
  }
  return { centroid: stack(centroid), agentAverage: stack(agentAverage) };
}

const runs = 1000;
const steps = 120;
const mu = 0.1;
const B = 4;
/** Windows of steps over which each run's excess risk is averaged: transient to steady state. */
const windows: [number, number][] = [
  [1, 10],
  [11, 30],
  [31, 60],
  [61, 120],
];
/** Simultaneous 95% band for the 8 checks of one algorithm (4 windows × 2 measures), Bonferroni: z_{1 − 0.025/8}. */
const zBand = 2.7344;

interface WindowCheck {
  measure: 'centroid' | 'agentAverage';
  window: [number, number];
  predicted: number;
  measured: number;
  standardError: number;
}

interface Comparison {
  checks: WindowCheck[];
  /** Steady-state window means: predicted and measured, per measure. */
  steady: Record<'centroid' | 'agentAverage', { predicted: number; measured: number; standardError: number }>;
  /** Fraction of steps n ≥ 1 whose predicted value lies in the pointwise 95% band. */
  pointwiseCoverage: number;
}

const comparisons = new Map<Algorithm, Comparison>();
const model = (): LinearizedModel => quadraticProblem(11);

function compare(algorithm: Algorithm): Comparison {
  const cached = comparisons.get(algorithm);
  if (cached) return cached;
  const result = scope(() => {
    const m = model();
    const s = settings(algorithm, ringA(), mu, B);
    const predicted = propagateMoments(m, s, steps);
    const measured = monteCarlo(m, s, runs, steps, 2024);
    const checks: WindowCheck[] = [];
    let inside = 0;
    for (const measure of ['centroid', 'agentAverage'] as const) {
      const E = measured[measure];
      for (const window of windows) {
        const [a, b] = window;
        const perRun = E.narrow(0, a, b - a + 1).mean(0);
        const mean = perRun.mean().item();
        const standardError = Math.sqrt(perRun.var().item() / runs);
        const curve = predicted[measure].slice(a, b + 1);
        checks.push({
          measure,
          window,
          predicted: curve.reduce((x, y) => x + y, 0) / curve.length,
          measured: mean,
          standardError,
        });
      }
      const means = E.mean(1).toNumbers();
      const ses = E.var(1).div(runs).sqrt().toNumbers();
      for (let n = 1; n <= steps; n++) if (Math.abs(means[n] - predicted[measure][n]) <= 1.96 * ses[n]) inside++;
    }
    const last = (measure: 'centroid' | 'agentAverage'): Comparison['steady']['centroid'] => {
      const c = checks.find((x) => x.measure === measure && x.window === windows[windows.length - 1]);
      assert.ok(c);
      return { predicted: c.predicted, measured: c.measured, standardError: c.standardError };
    };
    return {
      checks,
      steady: { centroid: last('centroid'), agentAverage: last('agentAverage') },
      pointwiseCoverage: inside / (2 * steps),
    };
  });
  comparisons.set(algorithm, result);
  return result;
}

for (const algorithm of ['centralized', 'consensus', 'atc'] as const) {
  test(`${algorithm}: ${runs} Monte Carlo runs of the engine match the predicted E J(w_c,n) − J(w*) and agent average within the simultaneous 95% band`, (t) => {
    const { checks, pointwiseCoverage } = compare(algorithm);
    for (const c of checks) {
      const z = (c.measured - c.predicted) / c.standardError;
      t.diagnostic(
        `${c.measure} n∈[${c.window.join(', ')}]: predicted ${c.predicted.toExponential(4)} measured ${c.measured.toExponential(4)} ± ${c.standardError.toExponential(2)} (z = ${z.toFixed(2)})`,
      );
      assert.ok(
        Math.abs(z) <= zBand,
        `${algorithm} ${c.measure} over n ∈ [${c.window.join(', ')}]: predicted ${c.predicted} but measured ${c.measured} ± ${c.standardError} (|z| = ${Math.abs(z).toFixed(2)} > ${zBand})`,
      );
    }
    t.diagnostic(`pointwise 95% band holds the prediction at ${(100 * pointwiseCoverage).toFixed(1)}% of the steps`);
    assert.ok(
      pointwiseCoverage >= 0.8,
      `the prediction lies inside the pointwise 95% band at only ${(100 * pointwiseCoverage).toFixed(1)}% of steps`,
    );
  });
}

test('the predicted ordering of centralized, consensus and diffusion (ATC) is the measured one, for the centroid and the agent average', (t) => {
  const algorithms = ['centralized', 'consensus', 'atc'] as const;
  for (const measure of ['centroid', 'agentAverage'] as const) {
    const order = (key: 'predicted' | 'measured'): string[] =>
      [...algorithms].sort((x, y) => compare(y).steady[measure][key] - compare(x).steady[measure][key]);
    const predicted = order('predicted');
    const measured = order('measured');
    t.diagnostic(`${measure}: predicted ${predicted.join(' > ')}; measured ${measured.join(' > ')}`);
    assert.deepEqual(measured, predicted);
    // The paper's claims 1 and 2: decentralized escapes faster, consensus fastest.
    assert.deepEqual(predicted, ['consensus', 'atc', 'centralized']);
    // The measured gaps are resolved, not luck: each exceeds 3 combined standard errors.
    for (let i = 0; i + 1 < measured.length; i++) {
      const [hi, lo] = [
        compare(measured[i] as Algorithm).steady[measure],
        compare(measured[i + 1] as Algorithm).steady[measure],
      ];
      assert.ok(
        hi.measured - lo.measured > 3 * Math.hypot(hi.standardError, lo.standardError),
        `${measure}: ${measured[i]} vs ${measured[i + 1]} is not resolved`,
      );
    }
  }
});

test('without gradient noise the propagated mean is the engine trajectory itself, for every algorithm, from any start', () =>
  scope(() => {
    const m = quadraticProblem(5);
    const noiseless = linearizedModel(m.H, m.d, m.R.mul(0), m.p);
    const start = randn([K, M], new Generator(6), 'float64');
    for (const algorithm of ['centralized', 'consensus', 'atc', 'cta', 'noncooperative'] as const) {
      const s = settings(algorithm, ringA(), 0.15, B);
      const predicted = propagateMoments(noiseless, s, 40, start);
      const oracle = gradientOracle(noiseless, B, null);
      let w = [start.reshape([K, 1, M])];
      for (let n = 1; n <= 40; n++) {
        w = unifiedStep(w, oracle, s.form, s.stepSize);
        const e = measuredExcess(noiseless, w[0]);
        assert.ok(
          Math.abs(e.centroid.item() - predicted.centroid[n]) <= 1e-12 * (1 + predicted.centroid[n]),
          `${algorithm}: centroid at n = ${n}`,
        );
        assert.ok(
          Math.abs(e.agentAverage.item() - predicted.agentAverage[n]) <= 1e-12 * (1 + predicted.agentAverage[n]),
          `${algorithm}: agent average at n = ${n}`,
        );
      }
      assert.ok(w[0].reshape([K, M]).sub(predicted.mean).abs().amax().item() < 1e-12, `${algorithm}: final mean`);
    }
  }));

test('the Lyapunov steady state is the long-run limit of the propagated moments, and solves vec C = (I − ℱ⊗ℱ)⁻¹ vec Q', () =>
  scope(() => {
    const m = quadraticProblem(3);
    for (const algorithm of ['centralized', 'consensus', 'atc'] as const) {
      const s = settings(algorithm, ringA(), mu, B);
      const steady = steadyState(m, s);
      assert.ok(steady.spectralRadius > 0.5 && steady.spectralRadius < 1);
      // ρ(ℱ)^(2·600) < 1e-30: the propagation has forgotten its start.
      const long = propagateMoments(m, s, 600);
      const scale = steady.cov.abs().amax().item();
      assert.ok(long.cov.sub(steady.cov).abs().amax().item() < 1e-12 * scale, `${algorithm}: covariance`);
      assert.ok(
        long.mean.sub(steady.mean).abs().amax().item() < 1e-12 * (1 + steady.mean.abs().amax().item()),
        `${algorithm}: mean`,
      );
      assert.ok(Math.abs(long.centroid[600] - steady.centroid) < 1e-12 * steady.centroid);
      assert.ok(Math.abs(long.agentAverage[600] - steady.agentAverage) < 1e-12 * steady.agentAverage);

      const rec = linearRecursion(m, s);
      const n = K * M;
      const F = rec.apply(eye(n, 'float64'));
      const vec = solve(eye(n * n, 'float64').sub(kron(F, F)), rec.noise.reshape([n * n, 1])).reshape([n, n]);
      assert.ok(vec.sub(steady.cov).abs().amax().item() < 1e-11 * scale, `${algorithm}: Kronecker solve`);
    }
  }));

test('the Lyapunov solver handles non-normal F and batched Q, and refuses an unstable recursion', () =>
  scope(() => {
    const gen = new Generator(8);
    const n = 6;
    // Upper triangular, ρ = 0.95 on the diagonal, off-diagonal of order one: ‖F‖ > 1 > ρ(F).
    const above = tensor(
      Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (j > i ? 1 : 0))),
      'float64',
    );
    const T = randn([n, n], gen, 'float64').mul(above).add(eye(n, 'float64').mul(0.95));
    const X = randn([3, n, n], gen, 'float64');
    const Q = X.matmul(X.mT);
    const C = solveDiscreteLyapunov(T, Q);
    const residual = C.sub(T.matmul(C).matmul(T.mT)).sub(Q).abs().amax().item();
    assert.ok(residual < 1e-9 * C.abs().amax().item(), `residual ${residual}`);
    for (let b = 0; b < 3; b++) {
      const vec = solve(eye(n * n, 'float64').sub(kron(T, T)), Q.select(0, b).reshape([n * n, 1])).reshape([n, n]);
      assert.ok(vec.sub(C.select(0, b)).abs().amax().item() < 1e-8 * C.abs().amax().item());
    }
    assert.throws(
      () => solveDiscreteLyapunov(eye(n, 'float64').mul(1.01), Q.select(0, 0)),
      (e: unknown) => e instanceof UserError && /ρ\(F\) = 1\.01/.test(e.message),
    );
    const m = quadraticProblem(3);
    assert.throws(
      () => steadyState(m, settings('atc', ringA(), 5, B)),
      (e: unknown) => e instanceof UserError && /unstable.*smaller step size/.test(e.message),
    );
  }));

/** |x − 1| at each μ, to check convergence to 1 as μ → 0. */
function ratiosTowardOne(
  m: LinearizedModel,
  algorithm: Algorithm,
  A: Tensor,
  mus: number[],
): { total: number[]; secondOrder: number[] }[] {
  return (['centroid', 'agentAverage'] as const).map((measure) => {
    const total: number[] = [];
    const secondOrder: number[] = [];
    for (const mu of mus) {
      const s = settings(algorithm, A, mu, B);
      const exact = steadyState(m, s)[measure];
      const closed = closedForm(m, s)[measure];
      total.push(Math.abs(closed.total / exact - 1));
      // What the O(μ) noise term leaves, exact against closed form: tests the μ² network terms.
      secondOrder.push(Math.abs((exact - closed.noise) / (closed.total - closed.noise) - 1));
    }
    return { total, secondOrder };
  });
}

const shrinking = (xs: number[]): boolean => xs.every((x, i) => i === 0 || x < xs[i - 1]);

test('centralized: the closed form μ Tr(R̄)/(4KB) + (μ/4) Tr(H̄C₀H̄) approaches the exact steady state as μ → 0', (t) =>
  scope(() => {
    const m = quadraticProblem(4);
    const mus = [0.1, 0.01, 0.001];
    const s = settings('centralized', ringA(), 0.01, B);
    const closed = closedForm(m, s);
    const Rbar = m.R.mean(0);
    assert.ok(Math.abs(closed.centroid.noise - (0.01 * Rbar.trace().item()) / (4 * K * B)) < 1e-15);
    // 11ᵀ/K leaves no disagreement: the network terms vanish up to round-off.
    for (const x of [
      closed.centroid.networkNoise,
      closed.centroid.heterogeneity,
      closed.agentAverage.total - closed.centroid.total,
    ]) {
      assert.ok(Math.abs(x) < 1e-12 * closed.centroid.noise);
    }
    const [centroid] = ratiosTowardOne(m, 'centralized', ringA(), mus);
    t.diagnostic(
      `|closed/exact − 1| = ${centroid.total.map((x) => x.toExponential(2)).join(', ')}; O(μ²) part: ${centroid.secondOrder.map((x) => x.toExponential(2)).join(', ')}`,
    );
    assert.ok(shrinking(centroid.total) && centroid.total[2] < 1e-5);
    assert.ok(shrinking(centroid.secondOrder) && centroid.secondOrder[2] < 1e-2);
  }));

for (const [name, A, p] of [
  ['ring, Metropolis (p uniform)', ringA, undefined],
  [
    'line, uniform rule (p not uniform)',
    () => tensor(uniform(line(K)), 'float64'),
    () => tensor(perronVector(uniform(line(K))), 'float64'),
  ],
] as const) {
  for (const algorithm of ['consensus', 'atc', 'cta'] as const) {
    test(`${algorithm} on a ${name}: closed form and exact steady state agree to leading order and in their μ² network terms as μ → 0`, (t) =>
      scope(() => {
        const m = quadraticProblem(4, p?.());
        const mus = [0.01, 0.001, 0.0001];
        const [centroid, agentAverage] = ratiosTowardOne(m, algorithm, A(), mus);
        for (const [measure, r] of [
          ['centroid', centroid],
          ['agent average', agentAverage],
        ] as const) {
          t.diagnostic(
            `${measure}: |closed/exact − 1| = ${r.total.map((x) => x.toExponential(2)).join(', ')}; μ² part: ${r.secondOrder.map((x) => x.toExponential(2)).join(', ')}`,
          );
          assert.ok(shrinking(r.total) && r.total[2] < 1e-4, `${measure}: total ratio`);
          assert.ok(shrinking(r.secondOrder) && r.secondOrder[2] < 5e-3, `${measure}: μ² part`);
        }
      }));
  }
}

test('closed forms: heterogeneity does not shrink with B while the noise terms do; consensus pays more than diffusion', () =>
  scope(() => {
    const m = quadraticProblem(4);
    const at = (algorithm: Algorithm, batchSize: number) =>
      closedForm(m, settings(algorithm, ringA(), 0.01, batchSize)).agentAverage;
    for (const algorithm of ['consensus', 'atc'] as const) {
      const [small, large] = [at(algorithm, 4), at(algorithm, 400)];
      assert.ok(Math.abs(large.heterogeneity - small.heterogeneity) < 1e-12 * small.heterogeneity);
      assert.ok(Math.abs(large.noise * 100 - small.noise) < 1e-12 * small.noise);
      assert.ok(large.networkNoise < small.networkNoise / 50);
    }
    assert.ok(at('consensus', 4).heterogeneity > at('atc', 4).heterogeneity);
    assert.ok(at('consensus', 4).networkNoise > at('atc', 4).networkNoise);
  }));

test('closed forms refuse what they do not cover, with a message that says why', () =>
  scope(() => {
    const m = quadraticProblem(4);
    assert.throws(
      () => closedForm(m, settings('noncooperative', ringA(), 0.01, B)),
      (e: unknown) => e instanceof UserError && /does not mix/.test(e.message),
    );
    const indefinite = linearizedModel(m.H.mul(-1), m.d, m.R, m.p);
    assert.throws(
      () => closedForm(indefinite, settings('atc', ringA(), 0.01, B)),
      (e: unknown) => e instanceof UserError && /not positive definite/.test(e.message),
    );
    const skewed = quadraticProblem(4, tensor(perronVector(uniform(line(K))), 'float64'));
    assert.throws(
      () => closedForm(skewed, settings('centralized', tensor(uniform(line(K)), 'float64'), 0.01, B)),
      (e: unknown) => e instanceof UserError && /keep the centroid/.test(e.message),
    );
  }));

test('d_k and R_k from per-sample gradients: chunked accumulation equals the direct mean and covariance, even far from the origin', () =>
  scope(() => {
    const gen = new Generator(9);
    const samples = randn([257, M], gen, 'float64')
      .matmul(randn([M, M], gen, 'float64'))
      .add(1e6);
    const moments = new GradientMoments();
    for (let start = 0; start < 257; start += 50) moments.add(samples.narrow(0, start, Math.min(50, 257 - start)));
    const { mean, covariance } = moments.finish();
    moments.dispose();
    const centred = samples.sub(samples.mean(0, true));
    const direct = centred.mT.mm(centred).div(257);
    assert.equal(moments.samples, 257);
    assert.ok(mean.sub(samples.mean(0)).abs().amax().item() < 1e-9);
    assert.ok(covariance.sub(direct).abs().amax().item() < 1e-9 * direct.abs().amax().item());

    const m = modelFromSamples([eye(M, 'float64'), eye(M, 'float64').mul(2)], [samples, samples.mul(2)]);
    assert.deepEqual(m.R.shape, [2, M, M]);
    assert.ok(m.R.select(0, 1).sub(direct.mul(4)).abs().amax().item() < 1e-8 * direct.abs().amax().item());
    assert.deepEqual(m.p.toNumbers(), [0.5, 0.5]);
  }));

test('predictEscape reports the exact curve, steady state and closed form together, and says why a part is unavailable', () =>
  scope(() => {
    const m = quadraticProblem(4);
    const atc = predictEscape(m, settings('atc', ringA(), 0.05, B), 30);
    assert.equal(atc.curve.centroid.length, 31);
    assert.equal(atc.curve.centroid[0], 0);
    assert.ok(!isUnavailable(atc.steady) && !isUnavailable(atc.closedForm));
    const alone = predictEscape(m, settings('noncooperative', ringA(), 0.05, B), 30);
    assert.ok(isUnavailable(alone.closedForm) && /does not mix/.test(alone.closedForm.unavailable));
    assert.ok(
      !isUnavailable(alone.steady),
      'non-cooperative agents still reach a steady state (each around its own minimizer)',
    );
    const unstable = predictEscape(m, settings('atc', ringA(), 5, B), 3);
    assert.ok(isUnavailable(unstable.steady) && /unstable/.test(unstable.steady.unavailable));
    const table = predictionTable([
      { algorithm: 'atc', prediction: atc },
      { algorithm: 'noncooperative', prediction: alone },
    ]).split('\n');
    assert.equal(table.length, 3);
    assert.ok(!isUnavailable(atc.closedForm) && table[1].includes(atc.closedForm.centroid.total.toExponential(3)));
    assert.ok(table[2].includes('—'));
  }));

test('an unstable setting (ρ(ℱ) ≥ 1) is marked so: a diverging curve without NaN, and neither steady state nor closed form', () =>
  scope(() => {
    const m = quadraticProblem(4);
    const unstable = predictEscape(m, settings('atc', ringA(), 100, B), 400);
    assert.equal(unstable.stable, false);
    assert.ok(unstable.spectralRadius >= 1);
    assert.ok(isUnavailable(unstable.closedForm) && /unstable.*ρ\(ℱ\)/.test(unstable.closedForm.unavailable));
    const curve = unstable.curve.centroid;
    assert.ok(
      curve.every((x) => !Number.isNaN(x)),
      'no NaN past the overflow',
    );
    assert.equal(curve[curve.length - 1], Number.POSITIVE_INFINITY, 'μ = 100 overflows float64 within 400 steps');
    const stable = predictEscape(m, settings('atc', ringA(), 0.05, B), 3);
    assert.ok(stable.stable && stable.spectralRadius < 1);
    const lines = predictionTable([
      { algorithm: 'atc', prediction: unstable },
      { algorithm: 'consensus', prediction: stable },
    ]).split('\n');
    assert.equal(lines.length, 4, 'a warning line below the table for the unstable setting only');
    assert.match(lines[1], /∞.*\(unstable\)/);
    assert.match(lines[3], /^atc: the linearized recursion is unstable at μ = 100/);
  }));

test('a flat direction (every H_k zero there) is marginal, not unstable: ρ(ℱ) = 1, exact finite curves, a reason that is not "smaller μ"', () =>
  scope(() => {
    const K = 5;
    const flat = tensor(
      Array.from({ length: K }, () => [
        [1, 0],
        [0, 0],
      ]),
      'float64',
    );
    const m = linearizedModel(
      flat,
      tensor(
        Array.from({ length: K }, () => [0, 0]),
        'float64',
      ),
      flat,
    );
    const p = predictEscape(m, settings('atc', ringA(), 0.1, 4), 50);
    assert.equal(p.stable, false);
    assert.ok(Math.abs(p.spectralRadius - 1) < 1e-9);
    assert.ok(p.curve.centroid.every(Number.isFinite));
    assert.ok(isUnavailable(p.steady) && /marginally stable.*weight decay/.test(p.steady.unavailable));
    assert.match(predictionTable([{ algorithm: 'atc', prediction: p }]).split('\n')[1], /\(marginal\)/);
  }));

test('restricted to complementary invariant subspaces, the two predicted curves add up to the full one', () =>
  scope(() => {
    const gen = new Generator(12);
    const dim = 4;
    const X = randn([dim, dim], gen, 'float64');
    const basis = eigh(X.add(X.mT)).vectors;
    const [V, W] = [basis.narrow(1, 0, 2), basis.narrow(1, 2, 2)];
    const block = (): Tensor => {
      const Y = randn([K, 2, 2], gen, 'float64');
      return Y.bmm(Y.mT).add(eye(2, 'float64').mul(0.2));
    };
    // H_k = V a_k Vᵀ + W b_k Wᵀ, and R_k likewise: both spans are invariant, the noise splits.
    const lift = (a: Tensor, b: Tensor): Tensor => V.matmul(a).matmul(V.mT).add(W.matmul(b).matmul(W.mT));
    const raw = randn([K, dim], gen, 'float64');
    const full = linearizedModel(lift(block(), block()), raw.sub(raw.mean(0, true)), lift(block(), block()));
    const s = settings('consensus', ringA(), 0.05, B);
    const whole = propagateMoments(full, s, 50);
    const [inV, inW] = [V, W].map((U) => propagateMoments(restrictToSubspace(full, U), s, 50));
    for (let n = 0; n <= 50; n++) {
      assert.ok(Math.abs(inV.centroid[n] + inW.centroid[n] - whole.centroid[n]) <= 1e-12 * (1 + whole.centroid[n]));
      assert.ok(
        Math.abs(inV.agentAverage[n] + inW.agentAverage[n] - whole.agentAverage[n]) <=
          1e-12 * (1 + whole.agentAverage[n]),
      );
    }
    assert.throws(() => restrictToSubspace(full, eye(3, 'float64')), /theory\.basis/);
  }));
