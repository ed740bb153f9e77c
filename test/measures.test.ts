// The measures at a model w, checked where the answer is known: quadratics ½(w−w*)ᵀH(w−w*)
// with a known spectrum, and a small MLP whose explicit Hessian is built from HVPs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeModel } from '../src/models/index.js';
import { Generator, cat, crossEntropy, eigh, randint, randn, scope, tensor, type Tensor } from '../src/tensor/index.js';
import {
  centroid,
  consensusDistance,
  filterNormalizedDirection,
  flat,
  gaussianSharpness,
  gradient,
  hessian,
  hutchinsonTrace,
  hvp,
  hvps,
  lanczosEigenvalues,
  lossSlice1d,
  lossSlice2d,
  meanObjective,
  measure,
  optimizationError,
  riskObjective,
  splitRisk,
  powerEigenvalues,
  risk,
  spectralDensity,
  unflat,
  worstCaseSharpness,
  type Objective,
} from '../src/measures/index.js';

const close = (actual: number, expected: number, tol: number, what: string): void =>
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} vs ${expected} (tolerance ${tol})`);

// A quadratic in M = 30 parameters split over two tensors, H = Q diag(λ) Qᵀ with a
// random orthogonal Q (eigenvectors of a random symmetric matrix), split over two
// weighted terms: 0.25·(H + E) + 0.75·(H − E/3) = H.
const spectrum = [10, 7, 5, ...Array.from({ length: 27 }, (_, i) => 0.1 + (2.9 * i) / 26)];
const M = spectrum.length;
const shapes = [[5, 4], [10]];

function quadratic(): { obj: Objective; wStar: Tensor[]; H: Tensor } {
  const gen = new Generator(7);
  const a = randn([M, M], gen, 'float64');
  const { vectors: q } = eigh(a.add(a.mT));
  const H = q.mul(tensor(spectrum, 'float64').unsqueeze(0)).matmul(q.mT);
  const e = randn([M, M], gen, 'float64');
  const E = e.add(e.mT).mul(0.1);
  const wStar = shapes.map((s) => randn(s, gen, 'float64'));
  const half =
    (A: Tensor) =>
    (params: Tensor[]): Tensor => {
      const x = cat(params.map((p) => p.reshape([-1]))).sub(flat(wStar));
      return x.dot(A.matmul(x)).mul(0.5);
    };
  return {
    obj: {
      terms: [
        { weight: 0.25, loss: half(H.add(E)) },
        { weight: 0.75, loss: half(H.sub(E.div(3))) },
      ],
    },
    wStar,
    H,
  };
}

// A 5-8-3 tanh MLP with cross-entropy on 64 random points, float64; params [W1, b1, W2, b2].
function mlp(chunkSize: number): { obj: Objective; params: Tensor[] } {
  const gen = new Generator(11);
  const x = randn([64, 5], gen, 'float64');
  const y = randint(0, 3, [64], gen);
  const params = [
    randn([8, 5], gen, 'float64').mul(0.7),
    randn([8], gen, 'float64').mul(0.1),
    randn([3, 8], gen, 'float64').mul(0.7),
    randn([3], gen, 'float64').mul(0.1),
  ];
  const obj = meanObjective(64, chunkSize, (start, length) => ([w1, b1, w2, b2]) => {
    const h = x.narrow(0, start, length).matmul(w1.mT).add(b1).tanh();
    return crossEntropy(h.matmul(w2.mT).add(b2), y.narrow(0, start, length));
  });
  return { obj, params };
}

const traceOf = (h: Tensor): number => h.trace().item();

test('hvp equals central differences of exact gradients on the MLP (a check of the double backward)', () =>
  scope(() => {
    const { obj, params } = mlp(16);
    const gen = new Generator(1);
    const v = params.map((p) => randn(p.shape, gen, 'float64'));
    const eps = 1e-5;
    const gPlus = flat(
      gradient(
        obj,
        params.map((p, j) => p.add(v[j].mul(eps))),
      ),
    );
    const gMinus = flat(
      gradient(
        obj,
        params.map((p, j) => p.sub(v[j].mul(eps))),
      ),
    );
    const fd = gPlus.sub(gMinus).div(2 * eps);
    const exact = flat(hvp(obj, params, v));
    assert.ok(
      fd.sub(exact).norm().item() <= 1e-6 * exact.norm().item(),
      'hvp differs from finite differences of gradients',
    );
  }));

test('chunking the data does not change the risk, gradient or HVP', () =>
  scope(() => {
    const one = mlp(64);
    const many = mlp(20); // chunks of 20, 20, 20, 4
    assert.equal(many.obj.terms.length, 4);
    const gen = new Generator(2);
    const v = one.params.map((p) => randn(p.shape, gen, 'float64'));
    close(risk(many.obj, many.params), risk(one.obj, one.params), 1e-13, 'risk');
    assert.ok(
      flat(gradient(many.obj, many.params))
        .sub(flat(gradient(one.obj, one.params)))
        .abs()
        .amax()
        .item() < 1e-13,
    );
    assert.ok(
      flat(hvp(many.obj, many.params, v))
        .sub(flat(hvp(one.obj, one.params, v)))
        .abs()
        .amax()
        .item() < 1e-13,
    );
    // Several vectors in one pass give each vector's own HVP.
    const u = one.params.map((p) => randn(p.shape, gen, 'float64'));
    const both = hvps(many.obj, many.params, [v, u]);
    assert.ok(
      flat(both[0])
        .sub(flat(hvp(many.obj, many.params, v)))
        .abs()
        .amax()
        .item() < 1e-13,
    );
    assert.ok(
      flat(both[1])
        .sub(flat(hvp(many.obj, many.params, u)))
        .abs()
        .amax()
        .item() < 1e-13,
    );
  }));

test('the explicit Hessian of the quadratic is H, and symmetric for the MLP', () =>
  scope(() => {
    const q = quadratic();
    assert.ok(hessian(q.obj, q.wStar).sub(q.H).abs().amax().item() < 1e-12);
    const { obj, params } = mlp(16);
    const h = hessian(obj, params);
    assert.deepEqual(h.shape, [75, 75]);
    assert.ok(h.sub(h.mT).abs().amax().item() < 1e-12);
  }));

test('Hutchinson trace of the quadratic: Tr H within 4 standard errors', () =>
  scope(() => {
    const q = quadratic();
    const t = hutchinsonTrace(q.obj, q.wStar, { gen: new Generator(3), maxProbes: 300, relTol: 0.01 });
    const exact = spectrum.reduce((a, b) => a + b, 0);
    close(t.mean, exact, 4 * t.stdError, 'trace');
    assert.ok(t.stdError <= 0.01 * Math.abs(t.mean) || t.probes === 300);
    assert.equal(t.cost.hvps, t.probes);
  }));

test('Hutchinson trace on the MLP agrees with the explicit Hessian within 3 standard errors', () =>
  scope(() => {
    const { obj, params } = mlp(16);
    const exact = traceOf(hessian(obj, params));
    const t = hutchinsonTrace(obj, params, { gen: new Generator(4), maxProbes: 400, minProbes: 20, relTol: 0.05 });
    close(t.mean, exact, 3 * t.stdError, 'trace');
    assert.ok(
      t.stdError > 0 && t.stdError <= 0.05 * Math.abs(t.mean),
      `stopped at relTol: ${t.stdError / t.mean} after ${t.probes}`,
    );
    assert.equal(t.converged, true);
  }));

test('Hutchinson trace stopped by maxProbes before relTol says it did not converge', () =>
  scope(() => {
    const { obj, params } = mlp(16);
    const t = hutchinsonTrace(obj, params, { gen: new Generator(4), maxProbes: 4, minProbes: 2, relTol: 1e-6 });
    assert.equal(t.probes, 4);
    assert.ok(t.stdError > 1e-6 * Math.abs(t.mean));
    assert.equal(t.converged, false);
  }));

test('top-3 eigenvalues of the quadratic by power iteration with deflation and by Lanczos', () =>
  scope(() => {
    const q = quadratic();
    const power = powerEigenvalues(q.obj, q.wStar, { k: 3, gen: new Generator(5), tol: 1e-7, maxIterations: 500 });
    const lz = lanczosEigenvalues(q.obj, q.wStar, { k: 3, gen: new Generator(5), tol: 1e-8 });
    for (const r of [power, lz]) {
      assert.deepEqual(r.converged, [true, true, true], r.method);
      r.values.forEach((v, i) => close(v, spectrum[i], 1e-8 * spectrum[i], `${r.method} λ${i + 1}`));
    }
    assert.equal(
      power.cost.hvps,
      power.iterations.reduce((a, b) => a + b, 0),
    );
    assert.ok(lz.cost.hvps <= M, `Lanczos used ${lz.cost.hvps} HVPs`);
  }));

test('Lanczos on the MLP matches the explicit Hessian spectrum; power finds the largest magnitude', () =>
  scope(() => {
    const { obj, params } = mlp(32);
    const exact = eigh(hessian(obj, params)).values.toNumbers().reverse();
    const lz = lanczosEigenvalues(obj, params, { k: 2, gen: new Generator(6), tol: 1e-8 });
    lz.values.forEach((v, i) => close(v, exact[i], 1e-6 * Math.abs(exact[0]), `λ${i + 1}`));
    const power = powerEigenvalues(obj, params, { k: 1, gen: new Generator(6), tol: 1e-6, maxIterations: 2000 });
    const magnitude = Math.max(...exact.map(Math.abs));
    close(Math.abs(power.values[0]), magnitude, 1e-6 * magnitude, 'power |λ|max');
  }));

test('spectral density of the quadratic: mass 1, mean eigenvalue Tr H / M, nodes at the eigenvalues', () =>
  scope(() => {
    const q = quadratic();
    const trapezoid = (xs: number[], ys: number[]) =>
      ys.slice(1).reduce((s, y, i) => s + ((y + ys[i]) / 2) * (xs[i + 1] - xs[i]), 0);
    const full = spectralDensity(q.obj, q.wStar, {
      gen: new Generator(8),
      probes: 20,
      steps: M,
      sigma: 0.05,
      gridPoints: 2000,
    });
    close(trapezoid(full.grid, full.density), 1, 1e-6, 'mass');
    const meanEigenvalue = spectrum.reduce((a, b) => a + b, 0) / M;
    close(full.meanEigenvalue, meanEigenvalue, 4 * full.meanEigenvalueStdError, 'mean eigenvalue');
    close(
      trapezoid(
        full.grid,
        full.density.map((d, i) => d * full.grid[i]),
      ),
      full.meanEigenvalue,
      1e-6,
      'first moment of the density',
    );
    full.nodes.forEach((row, p) =>
      row.forEach((theta, i) => {
        if (full.weights[p][i] > 1e-8)
          assert.ok(
            spectrum.some((l) => Math.abs(l - theta) < 1e-6),
            `node ${theta} is no eigenvalue`,
          );
      }),
    );
    full.weights.forEach((w) =>
      close(
        w.reduce((a, b) => a + b, 0),
        1,
        1e-10,
        'weights sum',
      ),
    );
    // Few steps: still a probability density with the same first moment (Gauss quadrature is exact for degree 1).
    const short = spectralDensity(q.obj, q.wStar, { gen: new Generator(8), probes: 20, steps: 8 });
    close(trapezoid(short.grid, short.density), 1, 1e-6, 'mass, 8 steps');
    close(short.meanEigenvalue, full.meanEigenvalue, 1e-10, 'mean eigenvalue, 8 steps');
    assert.equal(short.cost.hvps, 20 * 8);
  }));

test('Gaussian sharpness ≈ σ²/2 · Tr H for small σ on the MLP', () =>
  scope(() => {
    const { obj, params } = mlp(32);
    const trace = traceOf(hessian(obj, params));
    const sigma = 1e-2;
    const s = gaussianSharpness(obj, params, { sigma, gen: new Generator(9), samples: 300 });
    close(s.mean, (sigma * sigma * trace) / 2, 3 * s.stdError + 0.01 * Math.abs(s.mean), 'Gaussian sharpness');
    assert.ok(s.stdError < 0.1 * s.mean);
    close(s.base, risk(obj, params), 0, 'base');
  }));

test('worst-case sharpness at the minimum of a quadratic is ½ρ²λ_max (ρ absolute and relative)', () =>
  scope(() => {
    const q = quadratic();
    const rho = 0.3;
    const abs = worstCaseSharpness(q.obj, q.wStar, { rho, gen: new Generator(10), steps: 200, tol: 1e-12 });
    close(abs.value, 0.5 * rho * rho * spectrum[0], 1e-6 * abs.value, 'absolute ρ');
    close(abs.deltaNorm, rho, 1e-12, '‖δ‖ on the sphere');
    const rel = worstCaseSharpness(q.obj, q.wStar, {
      rho: 0.1,
      relative: true,
      gen: new Generator(10),
      steps: 200,
      tol: 1e-12,
    });
    const radius = 0.1 * Math.sqrt(flat(q.wStar).square().sum().item());
    close(rel.radius, radius, 1e-12, 'relative radius');
    close(rel.value, 0.5 * radius * radius * spectrum[0], 1e-6 * rel.value, 'relative ρ');
  }));

test('filter-normalized directions: each filter has the norm of w’s, biases are zero', () =>
  scope(() => {
    const { params } = mlp(64);
    const d = filterNormalizedDirection(params, { gen: new Generator(12) });
    for (const j of [0, 2]) {
      assert.ok(d[j].norm(2, 1).sub(params[j].norm(2, 1)).abs().amax().item() < 1e-12);
    }
    for (const j of [1, 3]) assert.equal(d[j].abs().amax().item(), 0);
    const columns = filterNormalizedDirection(params, { gen: new Generator(12), filterDim: 1, biases: 'filter' });
    assert.ok(columns[0].norm(2, 0).sub(params[0].norm(2, 0)).abs().amax().item() < 1e-12);
    assert.ok(columns[1].abs().sub(params[1].abs()).abs().amax().item() < 1e-12);
  }));

test('loss slices pass through J(w) at the origin and trace ½(αd₁+βd₂)ᵀH(αd₁+βd₂) on a quadratic', () =>
  scope(() => {
    const q = quadratic();
    const s1 = lossSlice1d(q.obj, q.wStar, { gen: new Generator(13), points: 11, biases: 'filter' });
    assert.equal(s1.losses[5], s1.base);
    const s2 = lossSlice2d(q.obj, q.wStar, {
      gen: new Generator(14),
      points: 5,
      from: -0.5,
      to: 0.5,
      biases: 'filter',
    });
    const g = new Generator(14);
    const d1 = flat(filterNormalizedDirection(q.wStar, { gen: g, biases: 'filter' }));
    const d2 = flat(filterNormalizedDirection(q.wStar, { gen: g, biases: 'filter' }));
    s2.alphas.forEach((a, i) =>
      s2.betas.forEach((b, j) => {
        const x = d1.mul(a).add(d2.mul(b));
        close(s2.losses[i][j], 0.5 * x.dot(q.H.matmul(x)).item(), 1e-10, `f(${a}, ${b})`);
      }),
    );
    assert.equal(s2.cost.evaluations, 26);
  }));

test('optimization error: risk, gradient norm and excess risk on a quadratic', () =>
  scope(() => {
    const q = quadratic();
    const e = randn([M], new Generator(15), 'float64').mul(0.1);
    const w = unflat(flat(q.wStar).add(e), q.wStar);
    const r = optimizationError(q.obj, w, { reference: 0.01 });
    close(r.risk, 0.5 * e.dot(q.H.matmul(e)).item(), 1e-12, 'J(w)');
    close(r.gradientNorm, q.H.matmul(e).norm().item(), 1e-12, '‖∇J(w)‖');
    close(r.excessRisk ?? NaN, r.risk - 0.01, 0, 'excess risk');
    assert.equal(optimizationError(q.obj, q.wStar).excessRisk, null);
    close(optimizationError(q.obj, q.wStar).gradientNorm, 0, 1e-12, '‖∇J(w*)‖');
  }));

test('consensus distance: 0 for identical agents, (1/K)Σ‖w_k − w_c‖² with w_c = Σ p_k w_k otherwise', () =>
  scope(() => {
    const gen = new Generator(16);
    const one = [randn([1, 4, 3], gen, 'float64'), randn([1, 3], gen, 'float64')];
    const same = one.map((w) => w.repeat([5, ...w.shape.slice(1).map(() => 1)]));
    assert.equal(consensusDistance(same), 0);
    assert.equal(consensusDistance(same, [0.1, 0.2, 0.3, 0.2, 0.2]), 0);
    const two = [
      tensor(
        [
          [0, 0],
          [1, 2],
        ],
        'float64',
      ),
    ];
    // w_c = 0.25·(0,0) + 0.75·(1,2) = (0.75, 1.5); distances 0.75²+1.5² and 0.25²+0.5², halved.
    close(consensusDistance(two, [0.25, 0.75]), (0.75 ** 2 + 1.5 ** 2 + 0.25 ** 2 + 0.5 ** 2) / 2, 1e-15, 'weighted');
    assert.deepEqual(centroid(two, [0.25, 0.75])[0].toNumbers(), [0.75, 1.5]);
    assert.throws(() => consensusDistance(two, [0.5, 0.6]), /sum to 1/);
  }));

test('measure(): a JSON-ready, seeded record; each measure’s numbers do not depend on which others ran', () =>
  scope(() => {
    const { obj, params } = mlp(32);
    const stacked = params.map((w) => w.unsqueeze(0).repeat([3, ...w.shape.map(() => 1)]));
    const spec = {
      seed: 3,
      reference: 0.5,
      trace: { maxProbes: 20 },
      eigenvalues: { k: 2, method: 'lanczos' as const },
      gaussian: { sigma: 0.01, samples: 10 },
      slice1d: { points: 5 },
    };
    const withoutSeconds = (r: object): string =>
      JSON.stringify(r, (key, value: unknown) => (key === 'seconds' ? undefined : value));
    const a = measure(obj, params, spec, { stacked });
    const b = measure(obj, params, spec, { stacked });
    assert.equal(withoutSeconds(a), withoutSeconds(b));
    assert.equal(a.dimension, 75);
    assert.equal(a.consensusDistance, 0);
    close(a.optimization.excessRisk ?? NaN, a.optimization.risk - 0.5, 0, 'excess risk');
    const alone = measure(obj, params, { seed: 3, gaussian: { sigma: 0.01, samples: 10 } });
    assert.equal(alone.gaussian?.mean, a.gaussian?.mean);
    assert.equal(alone.trace, undefined);
    const other = measure(obj, params, { ...spec, seed: 4 });
    assert.notEqual(other.trace?.mean, a.trace?.mean);
  }));

test('riskObjective: a flatdist Model on data, one model as the K = 1 stack, same J and HVP as the hand-written MLP', () =>
  scope(() => {
    const gen = new Generator(11);
    const x = randn([64, 5], gen, 'float64');
    const y = randint(0, 3, [64], gen);
    const hand = mlp(16);
    const obj = riskObjective(
      splitRisk(makeModel({ model: 'mlp', inputShape: [5], classes: 3, hidden: [8], activation: 'tanh' }), { x, y }, 0),
      24,
    );
    assert.equal(obj.terms.length, 3);
    close(risk(obj, hand.params), risk(hand.obj, hand.params), 1e-13, 'J');
    const v = hand.params.map((p) => randn(p.shape, gen, 'float64'));
    assert.ok(
      flat(hvp(obj, hand.params, v))
        .sub(flat(hvp(hand.obj, hand.params, v)))
        .abs()
        .amax()
        .item() < 1e-12,
    );
  }));
