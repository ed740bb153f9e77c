// The 2-D landscape of suite 4: its two minima are where they are meant to be, one sharp and
// one flat; basins are classified by gradient descent; and on a fast setting the basin
// fractions come out as the dynamics dictate (no noise, no heterogeneity: every run stays
// where gradient descent takes its start; heterogeneous networks leave the sharp well).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromArray, grad, scope } from '../src/tensor/index.js';
import { defaultLandscape as l, inFlatBasin, toyRisk, toyRun, toyStarts } from '../src/experiments/toy.js';

/** The 2×2 Hessian of J at a point, by double backward. */
function hessianAt(p: number[]): number[] {
  return scope(() => {
    const w = fromArray(Float64Array.from(p), [2]).requiresGrad_();
    const [g] = grad(toyRisk(l, w), [w], { createGraph: true });
    const rows = [0, 1].map((i) => grad(g.select(0, i), [w], { retainGraph: true })[0].toNumbers());
    return rows.flat();
  });
}

test("the landscape has a sharp and a flat minimum near the wells' centres", () => {
  const sharp = hessianAt(l.sharp.centre);
  const flat = hessianAt(l.flat.centre);
  // Curvature ≈ D/s² at the bottom of each well (plus the weak confinement).
  assert.ok(sharp[0] > 8 && sharp[3] > 8, `sharp curvature ${sharp}`);
  assert.ok(flat[0] > 0.5 && flat[0] < 1.5, `flat curvature ${flat}`);
  assert.ok(sharp[0] / flat[0] > 8, 'the sharp minimum is much sharper than the flat one');
  assert.deepEqual(
    inFlatBasin(l, [l.sharp.centre, l.flat.centre, [l.sharp.centre[0] + 0.1, 0.05], [l.flat.centre[0] - 0.6, -0.4]]),
    [false, true, false, true],
  );
});

const base = { agents: 8, topology: 'ring', replicas: 24, steps: 200, stepSize: 0.1, batchSize: 64, seed: 3 };

test('without noise or heterogeneity every algorithm ends in the basin its start is in', () => {
  const starts = toyStarts(l, base.replicas, base.seed);
  const expected = inFlatBasin(l, starts);
  for (const algorithm of ['centralized', 'atc'] as const) {
    const run = toyRun(l, { ...base, algorithm, noise: 0, heterogeneity: 0, start: 'uniform' });
    const agree = run.flat.filter((f, r) => f === expected[r]).length;
    assert.ok(agree >= base.replicas - 1, `${algorithm}: ${agree} of ${base.replicas} runs end in their start's basin`);
  }
});

test('from the sharp minimum, centralized SGD stays while heterogeneous consensus and diffusion escape to the flat basin', () => {
  const settings = { ...base, replicas: 40, noise: 2, heterogeneity: 3, start: 'sharp' as const };
  const fraction = (algorithm: 'centralized' | 'consensus' | 'atc'): number => {
    const flat = toyRun(l, { ...settings, algorithm }).flat;
    return flat.filter(Boolean).length / flat.length;
  };
  assert.equal(fraction('centralized'), 0, 'centralized: small noise at B = 64 keeps it in the sharp well');
  for (const algorithm of ['consensus', 'atc'] as const) {
    const f = fraction(algorithm);
    assert.ok(f > 0.15, `${algorithm}: ${f} in the flat basin`);
  }
});

test('toy runs are seeded', () => {
  const settings = {
    ...base,
    replicas: 4,
    steps: 20,
    noise: 2,
    heterogeneity: 3,
    start: 'uniform' as const,
    algorithm: 'consensus' as const,
  };
  assert.deepEqual(toyRun(l, settings).ends, toyRun(l, settings).ends);
});
