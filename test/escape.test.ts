// Minimum and escape as a specification: minimization reaches its tolerance on a convex
// problem; the engine's escape from w*, measured over seeds, matches the linearized theory
// estimated at w* (one to a few steps from w*, where linearization is exact to leading order);
// where the theory is confident about the ordering of the algorithms, the measurement agrees.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Generator, eigh, randn, scope, tensor, type Tensor } from '../src/tensor/index.js';
import { Meter, flat, globalRisk, riskAndGradient, riskObjective } from '../src/measures/index.js';
import { makeConfig } from '../src/train/config.js';
import { prepare, type Setup } from '../src/train/setup.js';
import {
  asDtype,
  estimateLinearized,
  minimize,
  predictEscapeCurves,
  runEscape,
  topSubspace,
} from '../src/escape/index.js';
import { meanInterval, tQuantile } from '../src/stats/index.js';

// Logistic regression (M = 21·10 = 210) on a 20-dimensional Gaussian mixture, 4 agents.
function logistic(partition: string): Setup {
  return prepare(
    makeConfig({
      dataset: 'gaussian-mixture',
      trainSubset: 1200,
      evalSubset: 1200,
      model: 'logistic',
      agents: 4,
      batchSize: 16,
      stepSize: 0.2,
      partition,
      weightDecay: 0.01,
    }),
  );
}

// A 2-4-2 tanh MLP (M = 22) on two moons, 4 agents: nonconvex, but strictly convex near w* with weight decay.
function moons(partition: string, stepSize: number): Setup {
  return prepare(
    makeConfig({
      dataset: 'two-moons',
      trainSubset: 800,
      evalSubset: 800,
      model: 'mlp',
      hidden: [4],
      activation: 'tanh',
      agents: 4,
      batchSize: 8,
      stepSize,
      partition,
      weightDecay: 0.01,
    }),
  );
}

function minimum(setup: Setup): Tensor[] {
  const start = setup.model.init(1, new Generator(3)).map((p) => p.squeeze(0));
  const r = minimize(riskObjective(globalRisk(setup)), asDtype(start, 'float64'), { tolerance: 1e-8, maxSteps: 500 });
  assert.ok(r.converged, `L-BFGS stopped (${r.stopped}) at ‖∇J‖ = ${r.gradientNorm}`);
  return r.params;
}

test('GD and L-BFGS reach ‖∇J‖ ≤ tolerance on regularized logistic regression, at the same J(w*)', () =>
  scope(() => {
    const setup = logistic('iid');
    const obj = riskObjective(globalRisk(setup));
    const start = asDtype(
      setup.model.init(1, new Generator(3)).map((p) => p.squeeze(0)),
      'float64',
    );
    const lbfgs = minimize(obj, start, { method: 'lbfgs', tolerance: 1e-7, maxSteps: 500 });
    const gd = minimize(obj, start, { method: 'gd', tolerance: 1e-4, maxSteps: 3000 });
    for (const r of [lbfgs, gd]) {
      assert.equal(r.stopped, 'tolerance', `${r.method} stopped by ${r.stopped}`);
      const again = riskAndGradient(obj, r.params);
      assert.ok(flat(again.gradient).norm().item() <= (r.method === 'gd' ? 1e-4 : 1e-7));
      assert.ok(
        r.history.every((h, i) => i === 0 || h.risk <= r.history[i - 1].risk),
        `${r.method}: J decreases monotonically`,
      );
    }
    assert.ok(lbfgs.steps < gd.steps, `L-BFGS (${lbfgs.steps} steps) beats GD (${gd.steps})`);
    // Strongly convex: J(w) − J(w*) ≤ ‖∇J‖²/(2λ) with λ = 0.01 the weight decay.
    assert.ok(gd.risk - lbfgs.risk <= 1e-8 / 0.02 + 1e-12, `J gap ${gd.risk - lbfgs.risk}`);
    assert.ok(gd.risk >= lbfgs.risk - 1e-12);
  }));

test('Student t quantiles and intervals: t(1) = 12.706, t(∞) → 1.96, x̄ ± t·s/√R', () => {
  const studentT975 = (nu: number): number => tQuantile(0.975, nu);
  assert.equal(studentT975(1).toFixed(3), '12.706');
  assert.ok(Math.abs(studentT975(1000) - 1.962) < 2e-3);
  assert.ok(studentT975(31) < studentT975(30) && studentT975(31) > 1.96);
  const i = meanInterval([1, 2, 3]);
  assert.equal(i.estimate, 2);
  assert.ok(Math.abs(i.stdError - 1 / Math.sqrt(3)) < 1e-12);
  assert.equal(studentT975(2).toFixed(3), '4.303');
  assert.ok(Math.abs(i.hi - 2 - studentT975(2) / Math.sqrt(3)) < 1e-12);
});

test('subspace iteration finds the top eigenvalues and an invariant basis of a known Hessian', () =>
  scope(() => {
    const gen = new Generator(5);
    const M = 40;
    const values = Array.from({ length: M }, (_, i) => (i < 4 ? 10 - 2 * i : 0.5 * 0.9 ** i));
    const { vectors: Q } = eigh(randn([M, M], gen, 'float64').add(randn([M, M], gen, 'float64').mT));
    const H = Q.mul(tensor(values, 'float64').unsqueeze(0)).matmul(Q.mT);
    const like = [randn([M], gen, 'float64')];
    const obj = { terms: [{ weight: 1, loss: ([w]: Tensor[]) => w.dot(H.matmul(w)).mul(0.5) }] };
    const top = topSubspace(obj, like, 4, { iterations: 8, oversample: 6, gen, meter: new Meter() });
    top.values.forEach((v, i) => assert.ok(Math.abs(v - values[i]) < 1e-8, `λ${i + 1} = ${v}, expected ${values[i]}`));
    assert.ok(top.residuals.every((r) => r < 1e-6));
    assert.ok(
      top.basis.mT
        .mm(top.basis)
        .sub(
          tensor(
            Array.from({ length: 4 }, (_, i) => Array.from({ length: 4 }, (_, j) => (i === j ? 1 : 0))),
            'float64',
          ),
        )
        .abs()
        .amax()
        .item() < 1e-10,
    );
  }));

test('one to three steps from w*, the measured escape matches the theory estimated at w* for centralized, consensus and diffusion', () =>
  scope(() => {
    const setup = moons('dirichlet:0.5', 0.1);
    const wStar = minimum(setup);
    const estimate = estimateLinearized(setup, wStar);
    assert.equal(estimate.kind, 'full');
    const algorithms = ['centralized', 'consensus', 'atc'] as const;
    const predicted = predictEscapeCurves(setup, estimate.model, [...algorithms], 3);
    const measured = runEscape(setup, wStar, { algorithms: [...algorithms], steps: 3, seeds: 400, every: 1 });
    for (const curve of measured.curves) {
      const p = predicted.find((x) => x.algorithm === curve.algorithm)!.prediction.curve;
      for (const point of curve.points.slice(1)) {
        for (const which of ['centroid', 'agentAverage'] as const) {
          const m = point[which]!;
          const half = m.hi - m.estimate;
          // The 95% band, widened by 2% of the value for the cubic terms the linearization drops.
          assert.ok(
            Math.abs(m.estimate - p[which][point.step]) <= 1.5 * half + 0.02 * Math.abs(p[which][point.step]),
            `${curve.algorithm} ${which} n=${point.step}: measured ${m.estimate} ± ${half}, predicted ${p[which][point.step]}`,
          );
        }
      }
    }
  }));

test('where the theory is confident about the ordering of the algorithms, the measured ordering is the same', () =>
  scope(() => {
    const setup = moons('shards:1', 0.3);
    const wStar = minimum(setup);
    const estimate = estimateLinearized(setup, wStar);
    const algorithms = ['centralized', 'consensus', 'atc'] as const;
    const N = 30;
    const predicted = predictEscapeCurves(setup, estimate.model, [...algorithms], N);
    const measured = runEscape(setup, wStar, { algorithms: [...algorithms], steps: N, seeds: 20, every: N });
    let confident = 0;
    for (const which of ['centroid', 'agentAverage'] as const) {
      for (let a = 0; a < 3; a++) {
        for (let b = a + 1; b < 3; b++) {
          const [pa, pb] = [a, b].map((i) => predicted[i].prediction.curve[which][N]);
          const [ma, mb] = [a, b].map((i) => measured.curves[i].points[1][which]!);
          const band = ma.hi - ma.estimate + (mb.hi - mb.estimate);
          if (Math.abs(pa - pb) <= band) continue;
          confident++;
          assert.equal(
            Math.sign(ma.estimate - mb.estimate),
            Math.sign(pa - pb),
            `${which}: ${algorithms[a]} vs ${algorithms[b]} predicted ${pa} vs ${pb}, measured ${ma.estimate} vs ${mb.estimate}`,
          );
        }
      }
    }
    // Heterogeneous shards: consensus's agents pay for the disagreement, centralized's do not.
    assert.ok(confident >= 2, `only ${confident} confident pairs`);
    const agents = predicted.map((p) => p.prediction.curve.agentAverage[N]);
    assert.ok(
      agents[1] > agents[2] && agents[2] > agents[0],
      `predicted agent averages consensus > atc > centralized: ${agents}`,
    );
  }));
