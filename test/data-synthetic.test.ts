// Generated datasets (seeded, from their stated distributions) and the dataset registry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../src/errors.js';
import { gaussianMixture, teacherStudent, twoMoons } from '../src/data/synthetic.js';
import { DATASETS, GENERATED_TEST_SIZE, GENERATED_TRAIN_SIZE, loadDataset } from '../src/data/registry.js';
import { classCounts, subsetOf, type Dataset } from '../src/data/dataset.js';

const sizes = { trainSize: 3000, testSize: 1000, seed: 4 };

/** Accuracy on `test` of the nearest class mean, the means estimated on `train`. */
function nearestMeanAccuracy(train: Dataset, test: Dataset): number {
  const d = train.shape[0];
  const means = Array.from({ length: train.classes }, () => new Float64Array(d));
  const counts = classCounts(train.y, train.classes);
  for (let i = 0; i < train.n; i++)
    for (let j = 0; j < d; j++) means[train.y[i]][j] += train.x[i * d + j] / counts[train.y[i]];
  let right = 0;
  for (let i = 0; i < test.n; i++) {
    const dist = means.map((m) => m.reduce((s, v, j) => s + (test.x[i * d + j] - v) ** 2, 0));
    if (dist.indexOf(Math.min(...dist)) === test.y[i]) right++;
  }
  return right / test.n;
}

test('Gaussian mixture: balanced classes, well separated when s is large, inseparable when s = 0', () => {
  const far = gaussianMixture({ ...sizes, classes: 5, dim: 8, separation: 3 });
  assert.deepEqual(far.train.shape, [8]);
  assert.equal(far.train.n, 3000);
  assert.equal(far.test.n, 1000);
  assert.ok(classCounts(far.train.y, 5).every((c) => Math.abs(c - 600) < 100));
  assert.ok(nearestMeanAccuracy(far.train, far.test) > 0.95);
  const none = gaussianMixture({ ...sizes, classes: 5, dim: 8, separation: 0 });
  assert.ok(nearestMeanAccuracy(none.train, none.test) < 0.3, 'no better than chance (0.2) by much');
});

test('two moons without noise lie exactly on the two half circles', () => {
  const { train } = twoMoons({ ...sizes, noise: 0 });
  assert.deepEqual(train.shape, [2]);
  for (let i = 0; i < train.n; i++) {
    const [a, b] = [train.x[2 * i], train.x[2 * i + 1]];
    if (train.y[i] === 0) {
      assert.ok(Math.abs(a * a + b * b - 1) < 1e-5 && b >= -1e-6);
    } else {
      assert.ok(Math.abs((a - 1) ** 2 + (b - 0.5) ** 2 - 1) < 1e-5 && b <= 0.5 + 1e-6);
    }
  }
  const counts = classCounts(train.y, 2);
  assert.ok(Math.abs(counts[0] - counts[1]) < 200);
});

test('teacher–student: labels in range, several classes used, the same teacher for train and test', () => {
  const o = { ...sizes, dim: 10, hidden: 16, classes: 4 };
  const { train, test } = teacherStudent(o);
  assert.deepEqual(train.shape, [10]);
  const counts = classCounts(train.y, 4);
  assert.ok(counts.filter((c) => c > 100).length >= 3, `counts ${counts}`);
  // The teacher is fixed by the seed: the same seed with more test points gives the same training set.
  assert.deepEqual(teacherStudent({ ...o, testSize: 5 }).train, train);
  assert.equal(test.n, 1000);
});

test('generators are reproducible by seed and differ across seeds', () => {
  const a = gaussianMixture({ ...sizes, classes: 3, dim: 2, separation: 1 });
  assert.deepEqual(gaussianMixture({ ...sizes, classes: 3, dim: 2, separation: 1 }), a);
  assert.notDeepEqual(gaussianMixture({ ...sizes, seed: 5, classes: 3, dim: 2, separation: 1 }).train.x, a.train.x);
  assert.deepEqual(twoMoons({ ...sizes, noise: 0.1 }), twoMoons({ ...sizes, noise: 0.1 }));
});

test('registry: every generated name loads; unknown names and cifar10 without a folder are ConfigErrors', () => {
  for (const name of ['gaussian-mixture', 'two-moons', 'teacher-student']) {
    const { train, test } = loadDataset(name, { seed: 1 });
    assert.equal(train.n, GENERATED_TRAIN_SIZE);
    assert.equal(test.n, GENERATED_TEST_SIZE);
    assert.ok(train.name.startsWith(name));
  }
  assert.throws(
    () => loadDataset('imagenet'),
    (e: unknown) => e instanceof ConfigError && e.field === 'dataset' && DATASETS.every((d) => e.message.includes(d)),
  );
  assert.throws(
    () => loadDataset('cifar10'),
    (e: unknown) => e instanceof ConfigError && e.field === 'dataDir' && e.message.includes('--data-dir'),
  );
});

test('subsets: the first n without a seed, a seeded random n with one, test set untouched by trainSubset', () => {
  const full = loadDataset('two-moons', { seed: 2 });
  const first = loadDataset('two-moons', { trainSubset: 50 });
  assert.deepEqual(
    first.train,
    subsetOf(
      loadDataset('two-moons').train,
      Array.from({ length: 50 }, (_, i) => i),
    ),
  );
  const random = loadDataset('two-moons', { seed: 2, trainSubset: 50 });
  assert.equal(random.train.n, 50);
  assert.deepEqual(random.test, full.test);
  assert.deepEqual(loadDataset('two-moons', { seed: 2, trainSubset: 50 }).train, random.train);
  // Each chosen example is an example of the full set.
  const rows = new Set(
    Array.from(
      { length: full.train.n },
      (_, i) => `${full.train.x[2 * i]},${full.train.x[2 * i + 1]},${full.train.y[i]}`,
    ),
  );
  for (let i = 0; i < 50; i++)
    assert.ok(rows.has(`${random.train.x[2 * i]},${random.train.x[2 * i + 1]},${random.train.y[i]}`));
  assert.notDeepEqual(random.train.y, full.train.y.subarray(0, 50));
  assert.equal(loadDataset('two-moons', { seed: 2, testSubset: 10 }).test.n, 10);
});
