// Curvature a careful researcher can trust: eigenvalues with their multiplicities at symmetric points
// (where degenerate spectra appear), the negative curvature of saddles, Hutch++ against Hutchinson at
// equal cost, and the data's uncertainty checked against the spread over disjoint subsets of examples.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeModel, type Model } from '../src/models/index.js';
import {
  Generator,
  cat,
  crossEntropy,
  eigh,
  randint,
  randn,
  scope,
  tensor,
  zeros,
  type Tensor,
} from '../src/tensor/index.js';
import {
  extremeEigenvalues,
  hessian,
  hutchinsonTrace,
  hutchPlusPlusTrace,
  jackknife,
  meanObjective,
  riskObjective,
  splitRisk,
  type Objective,
} from '../src/measures/index.js';

/** The exact spectrum, ascending, from the explicit float64 Hessian. */
const spectrum = (obj: Objective, params: Tensor[]): number[] =>
  scope(() => eigh(hessian(obj, params)).values.toNumbers());

/** Top-k (descending) and bottom-k (ascending) agree with the exact spectrum to 1e-6·‖H‖. */
function agreesWithExact(
  obj: Objective,
  params: Tensor[],
  k: number,
  what: string,
  methods: readonly ('lanczos' | 'power')[] = ['lanczos'],
): void {
  const exact = spectrum(obj, params);
  const scale = Math.max(...exact.map(Math.abs));
  const expected = { largest: [...exact].reverse().slice(0, k), smallest: exact.slice(0, k) };
  for (const end of ['largest', 'smallest'] as const)
    for (const method of methods) {
      if (method === 'power' && end === 'largest' && exact[0] < -1e-9 * scale) continue; // power: by magnitude
      const r = scope(() =>
        extremeEigenvalues(obj, params, { k, end, method, gen: new Generator(5), tol: 1e-10, maxIterations: 20000 }),
      );
      assert.deepEqual(r.converged, new Array<boolean>(k).fill(true), `${what} ${method} ${end}: all converged`);
      r.values.forEach((v, i) =>
        assert.ok(
          Math.abs(v - expected[end][i]) <= 1e-6 * scale,
          `${what} ${method} ${end} #${i + 1}: ${v} vs ${expected[end][i]} (all: ${r.values.join(', ')} vs ${expected[end].join(', ')})`,
        ),
      );
      r.residuals.forEach((res) => assert.ok(res <= 1e-9 * scale, `${what} ${method} ${end}: residual ${res}`));
    }
}

/** How many of the values equal the first within tol: the multiplicity the test relies on. */
const multiplicity = (xs: number[], tol: number): number => xs.filter((x) => Math.abs(x - xs[0]) <= tol).length;

/** A Gaussian mixture: C classes around random means in R^d, n examples, float64. */
function mixture(n: number, d: number, C: number, seed: number): { x: Tensor; y: Tensor } {
  const gen = new Generator(seed);
  const means = randn([C, d], new Generator(1000), 'float64').mul(1.5);
  const y = randint(0, C, [n], gen);
  return { x: means.indexSelect(0, y).add(randn([n, d], gen, 'float64')), y };
}

const zerosLike = (model: Model): Tensor[] => model.paramShapes.map((s) => zeros(s, 'float64'));

test('logistic regression at w = 0: top-5 and bottom-7 with their multiplicities (9-fold and 5-fold)', () =>
  scope(() => {
    const model = makeModel({ model: 'logistic', inputShape: [4], classes: 10 });
    const obj = riskObjective(splitRisk(model, mixture(300, 4, 10, 1), 0), 64);
    const params = zerosLike(model);
    const exact = [...spectrum(obj, params)].reverse();
    // H = (1/C)(I − 11ᵀ/C) ⊗ E[x̃x̃ᵀ]: each eigenvalue of E[x̃x̃ᵀ]/C nine times, and zero five times.
    assert.equal(multiplicity(exact, 1e-9), 9);
    assert.equal(multiplicity([...exact].reverse(), 1e-9), 5);
    agreesWithExact(obj, params, 5, 'logistic at 0, top', ['lanczos', 'power']);
    agreesWithExact(obj, params, 7, 'logistic at 0, bottom across the zeros');
  }));

// A tanh MLP d-H-C by hand, float64, params [W1 (H×d), b1, W2 (C×H), b2].
function mlp(params: Tensor[], data: { x: Tensor; y: Tensor }, chunk: number): Objective {
  const n = data.y.shape[0];
  return meanObjective(n, chunk, (start, length) => ([w1, b1, w2, b2]) => {
    const h = data.x.narrow(0, start, length).matmul(w1.mT).add(b1).tanh();
    return crossEntropy(h.matmul(w2.mT).add(b2), data.y.narrow(0, start, length));
  });
}

test('MLP at w = 0, a saddle: ±σ of E[(p − e_y)xᵀ], each once per hidden unit, found at both ends', () =>
  scope(() => {
    const params = [zeros([4, 3], 'float64'), zeros([4], 'float64'), zeros([3, 4], 'float64'), zeros([3], 'float64')];
    const obj = mlp(params, mixture(200, 3, 3, 2), 50);
    const exact = spectrum(obj, params);
    assert.ok(exact[0] < -1e-3, `negative curvature at the saddle: ${exact[0]}`);
    assert.equal(multiplicity(exact, 1e-9), 4, 'the most negative eigenvalue once per hidden unit');
    agreesWithExact(obj, params, 6, 'MLP at 0');
    // The data's interval of a negative eigenvalue is about it (4 groups of 50 examples).
    const bottom = extremeEigenvalues(obj, params, { k: 2, end: 'smallest', gen: new Generator(1), tol: 1e-10 });
    bottom.values.forEach((v, i) => {
      const d = bottom.data[i];
      assert.ok(
        d && d.groups === 4 && d.lo < v && v < d.hi && Math.abs(d.lo + d.hi - 2 * v) < 1e-9,
        `${v}: ${JSON.stringify(d)}`,
      );
    });
  }));

test('MLP with three identical hidden units: the permutation symmetry’s repeated eigenvalues', () =>
  scope(() => {
    const gen = new Generator(3);
    const unit = randn([1, 3], gen, 'float64');
    const out = randn([3, 1], gen, 'float64');
    const params = [
      cat([unit, unit, unit, randn([2, 3], gen, 'float64')]),
      tensor([0.1, 0.1, 0.1, -0.2, 0.3], 'float64'),
      cat([out, out, out, randn([3, 2], gen, 'float64')], 1),
      tensor([0.1, 0, -0.1], 'float64'),
    ];
    const obj = mlp(params, mixture(200, 3, 3, 4), 64);
    const exact = spectrum(obj, params);
    const scale = Math.max(...exact.map(Math.abs));
    const repeated = exact.filter(
      (x, i) => i > 0 && Math.abs(x - exact[i - 1]) <= 1e-9 * scale && Math.abs(x) > 1e-6 * scale,
    );
    assert.ok(repeated.length >= 3, `the symmetry repeats eigenvalues: ${exact.join(', ')}`);
    agreesWithExact(obj, params, 8, 'MLP with identical units');
  }));

test('--spectrum-end smallest on a known saddle f(w) = ½wᵀAw with A = Q diag(−3, −3, −1, 0.5, …, 4) Qᵀ', () =>
  scope(() => {
    const eigenvalues = [-3, -3, -1, ...Array.from({ length: 17 }, (_, i) => 0.5 + (3.5 * i) / 16)];
    const M = eigenvalues.length;
    const a = randn([M, M], new Generator(6), 'float64');
    const { vectors: q } = eigh(a.add(a.mT));
    const A = q.mul(tensor(eigenvalues, 'float64').unsqueeze(0)).matmul(q.mT);
    const obj: Objective = { terms: [{ weight: 1, loss: ([w]) => w.dot(A.matmul(w)).mul(0.5) }] };
    const w = [zeros([M], 'float64')];
    for (const method of ['lanczos', 'power'] as const) {
      const r = extremeEigenvalues(obj, w, {
        k: 3,
        end: 'smallest',
        method,
        gen: new Generator(7),
        tol: 1e-10,
        maxIterations: 5000,
      });
      assert.deepEqual(r.converged, [true, true, true], method);
      r.values.forEach((v, i) =>
        assert.ok(Math.abs(v - eigenvalues[i]) <= 1e-6 * 4, `${method}: ${r.values.join(', ')}`),
      );
      assert.equal(r.end, 'smallest');
    }
  }));

test('Hutch++ beats Hutchinson at equal HVPs on a spectrum dominated by a few large eigenvalues (200 seeds)', () =>
  scope(() => {
    const eigenvalues = [100, 80, 60, 40, 20, ...Array.from({ length: 45 }, (_, i) => 0.1 + (0.9 * i) / 44)];
    const M = eigenvalues.length;
    const a = randn([M, M], new Generator(8), 'float64');
    const { vectors: q } = eigh(a.add(a.mT));
    const A = q.mul(tensor(eigenvalues, 'float64').unsqueeze(0)).matmul(q.mT);
    const obj: Objective = { terms: [{ weight: 1, loss: ([w]) => w.dot(A.matmul(w)).mul(0.5) }] };
    const w = [zeros([M], 'float64')];
    const exact = eigenvalues.reduce((s, x) => s + x, 0);
    const budget = 30;
    let plain = 0;
    let plus = 0;
    let covered = 0;
    const seeds = 200;
    for (let seed = 0; seed < seeds; seed++)
      scope(() => {
        const h = hutchinsonTrace(obj, w, { gen: new Generator(seed), maxProbes: budget, minProbes: budget });
        const p = hutchPlusPlusTrace(obj, w, { gen: new Generator(seed), maxProbes: budget });
        assert.equal(h.cost.hvps, budget);
        assert.equal(p.cost.hvps, budget);
        plain += (h.mean - exact) ** 2;
        plus += (p.mean - exact) ** 2;
        if (Math.abs(p.mean - exact) <= 2 * p.stdError) covered++;
      });
    const rmse = (s: number) => Math.sqrt(s / seeds);
    assert.ok(rmse(plus) < 0.25 * rmse(plain), `RMSE Hutch++ ${rmse(plus)} vs Hutchinson ${rmse(plain)}`);
    // Its stated error means something: ±2 standard errors hold the truth about 95% of the time.
    assert.ok(covered / seeds >= 0.85, `Hutch++ ±2 se covered ${covered}/${seeds}`);
  }));

test('the data’s 95% interval of the trace and top eigenvalue covers the population value over disjoint subsets', () =>
  scope(() => {
    // A population of 6000 examples, 30 disjoint subsets of 200, each measured in 20 groups of 10.
    const model = makeModel({ model: 'logistic', inputShape: [3], classes: 3 });
    const population = mixture(6000, 3, 3, 9);
    const params = model.paramShapes.map((s) => randn(s, new Generator(10), 'float64'));
    const all = riskObjective(splitRisk(model, population, 0), 1000);
    const exact = spectrum(all, params);
    const truth = { trace: exact.reduce((s, x) => s + x, 0), top: exact[exact.length - 1] };
    const subsets = 30;
    const size = 200;
    const hits = { trace: 0, top: 0 };
    const values: number[] = [];
    const errors: number[] = [];
    for (let s = 0; s < subsets; s++)
      scope(() => {
        const part = { x: population.x.narrow(0, s * size, size), y: population.y.narrow(0, s * size, size) };
        const obj = riskObjective(splitRisk(model, part, 0), 10);
        // Hutch++ with a sketch as large as M is exact: only the data's uncertainty is left.
        const t = hutchPlusPlusTrace(obj, params, { gen: new Generator(s), maxProbes: 3 * 15 + 3 });
        const e = extremeEigenvalues(obj, params, { k: 1, gen: new Generator(s), tol: 1e-10 });
        const dt = t.data;
        const de = e.data[0];
        assert.ok(dt && de, 'data uncertainties over 20 groups');
        assert.equal(dt.groups, 20);
        assert.equal(dt.examples, size);
        values.push(t.mean);
        errors.push(dt.stdError);
        if (dt.lo <= truth.trace && truth.trace <= dt.hi) hits.trace++;
        if (de.lo <= truth.top && truth.top <= de.hi) hits.top++;
      });
    assert.ok(hits.trace / subsets >= 0.85, `trace: ${hits.trace}/${subsets} intervals hold ${truth.trace}`);
    assert.ok(hits.top / subsets >= 0.8, `top eigenvalue: ${hits.top}/${subsets} intervals hold ${truth.top}`);
    // And not by being wide: the mean stated error is the subsets' actual spread, within a factor 1.5.
    const mean = values.reduce((a, b) => a + b, 0) / subsets;
    const spread = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (subsets - 1));
    const stated = errors.reduce((a, b) => a + b, 0) / subsets;
    assert.ok(stated / spread > 1 / 1.5 && stated / spread < 1.5, `stated ${stated} vs spread ${spread}`);
  }));

test('jackknife: a statistic the data do not move has no data error; examples needed scale as 1/ε²', () =>
  scope(() => {
    const obj = meanObjective(100, 10, () => () => zeros([], 'float64'));
    const constant = jackknife(obj, new Array<number>(10).fill(0.3), 0.1);
    assert.ok(constant && constant.stdError < 1e-12 && constant.groups === 10 && constant.examples === 100);
    const varying = jackknife(
      obj,
      Array.from({ length: 10 }, (_, i) => 0.1 * (1 + 0.2 * Math.sin(i))),
      0.01,
    );
    const coarse = jackknife(
      obj,
      Array.from({ length: 10 }, (_, i) => 0.1 * (1 + 0.2 * Math.sin(i))),
      0.02,
    );
    assert.ok(varying?.examplesNeeded && coarse?.examplesNeeded);
    assert.ok(Math.abs(varying.examplesNeeded / coarse.examplesNeeded - 4) < 0.01);
    assert.equal(jackknife({ terms: [obj.terms[0]] }, [1]), null, 'one group: no jackknife');
    // Groups equal but for the probes' noise: that noise is no data uncertainty and is taken out.
    const P = 400;
    const noise = randn([P, 10], new Generator(12), 'float64').toNumbers();
    const probes = Array.from({ length: P }, (_, p) => Array.from({ length: 10 }, (_, g) => 0.1 + noise[p * 10 + g]));
    const means = Array.from({ length: 10 }, (_, g) => probes.reduce((sum, row) => sum + row[g], 0) / P);
    const raw = jackknife(obj, means);
    const corrected = jackknife(obj, means, undefined, probes);
    assert.ok(
      raw && corrected && corrected.stdError < 0.3 * raw.stdError,
      `${corrected?.stdError} vs ${raw?.stdError}`,
    );
    // A real spread between groups stays: the correction removes the noise only.
    const spread = means.map((m, g) => m + 2 * Math.sin(g));
    const withSpread = jackknife(
      obj,
      spread,
      undefined,
      probes.map((row) => row.map((x, g) => x + 2 * Math.sin(g))),
    );
    const exactSpread = jackknife(
      obj,
      Array.from({ length: 10 }, (_, g) => 0.1 + 2 * Math.sin(g)),
    );
    assert.ok(withSpread && exactSpread && Math.abs(withSpread.stdError / exactSpread.stdError - 1) < 0.1);
    // Too few probes to see the groups apart: the data's error is clamped at 0 and said to be unresolved.
    const few = probes.slice(0, 3);
    const fewMeans = means.map((_, g) => few.reduce((sum, row) => sum + row[g], 0) / few.length);
    const clamped = jackknife(obj, fewMeans, undefined, few);
    assert.ok(clamped);
    assert.equal(clamped.stdError, 0);
    assert.equal(clamped.resolved, false);
    assert.equal(withSpread.resolved, undefined);
  }));
