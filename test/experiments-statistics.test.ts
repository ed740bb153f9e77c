// The statistics behind the verdicts, checked where the answer is known: exact fits of
// noise-free data, textbook quantiles, interval coverage by Monte Carlo, and the resumable
// work store.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Generator, randn, scope } from '../src/tensor/index.js';
import {
  bootstrapLeastSquares,
  bootstrapStatistic,
  leastSquares,
  mean,
  meanInterval,
  normalQuantile,
  proportionInterval,
  tQuantile,
} from '../src/stats/index.js';
import { WorkStore } from '../src/experiments/work.js';

const close = (actual: number, expected: number, tol: number, what: string): void =>
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} vs ${expected} (tolerance ${tol})`);

test('quantiles: the normal and Student-t 97.5% points of the tables', () => {
  close(normalQuantile(0.975), 1.959964, 1e-6, 'z');
  close(normalQuantile(0.5), 0, 1e-12, 'median');
  close(normalQuantile(0.001), -3.090232, 1e-6, 'lower tail');
  for (const [df, t] of [
    [1, 12.7062],
    [2, 4.3027],
    [3, 3.1824],
    [5, 2.5706],
    [10, 2.2281],
    [30, 2.0423],
    [200, 1.9719],
  ])
    close(tQuantile(0.975, df), t, 2e-3 * t, `t(0.975, ${df})`);
});

test('least squares recovers the coefficients of noise-free data with R² = 1', () => {
  const x1 = [0, 1, 2, 3, 4, 5, 6, 7];
  const x2 = [1, 0, 2, 5, 3, 3, 8, 1];
  const y = x1.map((a, i) => 2 + 3 * a - 0.5 * x2[i]);
  const fit = leastSquares([x1, x2], y);
  [2, 3, -0.5].forEach((c, j) => close(fit.coefficients[j], c, 1e-8, `β${j}`));
  close(fit.r2, 1, 1e-10, 'R²');
  // Every bootstrap resample of exact data fits exactly too: the intervals collapse.
  const boot = bootstrapLeastSquares([x1, x2], y, { seed: 1, resamples: 200 });
  close(boot.r2Interval.lo, 1, 1e-6, 'R² interval');
  close(boot.coefficientIntervals[1].lo, 3, 1e-6, 'slope interval low');
  close(boot.coefficientIntervals[1].hi, 3, 1e-6, 'slope interval high');
});

test('R² of one predictor is the squared correlation, and the bootstrap interval brackets it', () => {
  const x = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const y = [2.1, 3.9, 6.2, 7.8, 9.5, 12.9, 13.1, 16.8, 17.2, 21.0].map((v, i) => v + (i % 3 === 0 ? 2 : -1));
  const mx = mean(x);
  const my = mean(y);
  const sxy = x.reduce((s, xi, i) => s + (xi - mx) * (y[i] - my), 0);
  const sxx = x.reduce((s, xi) => s + (xi - mx) ** 2, 0);
  const syy = y.reduce((s, yi) => s + (yi - my) ** 2, 0);
  const boot = bootstrapLeastSquares([x], y, { seed: 3 });
  close(boot.r2, (sxy * sxy) / (sxx * syy), 1e-10, 'R²');
  close(boot.coefficients[1], sxy / sxx, 1e-10, 'slope');
  assert.ok(
    boot.r2Interval.lo < boot.r2 && boot.r2 <= boot.r2Interval.hi + 1e-12,
    `R² ${boot.r2} in [${boot.r2Interval.lo}, ${boot.r2Interval.hi}]`,
  );
  assert.deepEqual(
    bootstrapLeastSquares([x], y, { seed: 3 }).r2Interval,
    boot.r2Interval,
    'seeded: the same interval twice',
  );
});

test('the 95% t interval of a mean covers the true mean 95% of the time (normal samples of 5)', () => {
  const trials = 2000;
  const n = 5;
  const draws = scope(() => randn([trials, n], new Generator(7), 'float64').mul(2).add(10).toNumbers());
  let covered = 0;
  for (let t = 0; t < trials; t++) {
    const i = meanInterval(draws.slice(t * n, (t + 1) * n));
    if (i.lo <= 10 && 10 <= i.hi) covered++;
  }
  close(covered / trials, 0.95, 0.015, 'coverage');
});

test('the bootstrap interval of a mean difference covers the truth and excludes zero when the effect is large', () => {
  const a = scope(() => randn([60], new Generator(9), 'float64').toNumbers());
  const b = a.map((x, i) => x + 1 + 0.1 * Math.sin(i));
  const diff = bootstrapStatistic(a.length, (idx) => mean(idx.map((i) => b[i] - a[i])), { seed: 5 });
  assert.ok(
    diff.lo > 0.9 && diff.hi < 1.1 && diff.lo <= diff.estimate && diff.estimate <= diff.hi,
    JSON.stringify(diff),
  );
});

test('Wilson interval of a proportion', () => {
  const i = proportionInterval(5, 10);
  close(i.lo, 0.2366, 1e-4, 'low');
  close(i.hi, 0.7634, 1e-4, 'high');
  const none = proportionInterval(0, 20);
  assert.equal(none.lo, 0);
  close(none.hi, 0.1611, 1e-4, 'high for 0/20');
});

test('a unit of work runs once; a second store over the same folder reads it back', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'flatdist-work-'));
  try {
    let calls = 0;
    const compute = (): { value: number } => ({ value: ++calls * 10 });
    const first = new WorkStore(dir, 'quick');
    assert.deepEqual(await first.unit('suite/a', compute), { value: 10 });
    assert.deepEqual(await first.unit('suite/a', compute), { value: 10 });
    assert.equal(calls, 1);
    const second = new WorkStore(dir, 'quick');
    assert.deepEqual(await second.unit('suite/a', compute), { value: 10 });
    assert.equal(second.computed, 0);
    assert.equal(second.reused, 1);
    const other = new WorkStore(dir, 'full');
    assert.deepEqual(await other.unit('suite/a', compute), { value: 20 }, 'another scale has its own units');
    assert.throws(() => first.path('../escape'), /plain name/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
