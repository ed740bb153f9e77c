// Partitions of a dataset among K agents: every example goes to exactly one agent
// (or, for the skewed ones, the skew behaves as its parameter says), seeded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../src/errors.js';
import { labelHistogram, parsePartition, partition, type PartitionSpec } from '../src/data/partition.js';

const classes = 10;
/** 10000 labels, 1000 of each class, in a scrambled order (i ↦ 7919·i mod 10000 is a bijection). */
const y = Int32Array.from({ length: 10000 }, (_, i) => ((7919 * i) % 10000) % classes);

function assertCoversOnce(parts: number[][], n: number): void {
  const seen = new Uint8Array(n);
  for (const part of parts) {
    assert.ok(part.length > 0, 'every agent holds data');
    for (let j = 1; j < part.length; j++) assert.ok(part[j - 1] < part[j], 'indices increase within an agent');
    for (const i of part) seen[i]++;
  }
  assert.ok(
    seen.every((c) => c === 1),
    'every example is held by exactly one agent',
  );
}

/** Mean over agents of the total-variation distance between the agent's label distribution and the global one. */
function labelSkew(parts: number[][]): number {
  const hist = labelHistogram(y, parts, classes);
  const global = labelHistogram(y, [Array.from(y.keys())], classes)[0].map((c) => c / y.length);
  return (
    hist.reduce((s, h) => {
      const total = h.reduce((a, b) => a + b, 0);
      return s + 0.5 * h.reduce((t, c, j) => t + Math.abs(c / total - global[j]), 0);
    }, 0) / hist.length
  );
}

test('IID: every index exactly once, sizes ⌊n/K⌋ or ⌈n/K⌉, label mix close to the global one', () => {
  const parts = partition(y.subarray(0, 9999), classes, 7, { kind: 'iid' }, 1);
  assertCoversOnce(parts, 9999);
  assert.deepEqual(
    parts.map((p) => p.length),
    [1429, 1429, 1429, 1428, 1428, 1428, 1428],
  );
  assert.ok(labelSkew(partition(y, classes, 7, { kind: 'iid' }, 1)) < 0.05);
});

test('shards: every index exactly once, each agent at most s classes', () => {
  for (const s of [1, 2, 5]) {
    const parts = partition(y, classes, 10, { kind: 'shards', shardsPerAgent: s }, 3);
    assertCoversOnce(parts, y.length);
    // 1000 examples per class, shards of 1000/s sorted labels: each shard lies within one class.
    for (const h of labelHistogram(y, parts, classes))
      assert.ok(h.filter((c) => c > 0).length <= s, `agent with ${h} under s = ${s}`);
  }
});

test('Dirichlet label skew: covers every index once, and the skew grows as α shrinks', () => {
  const skews = [1000, 1, 0.1].map((alpha) => {
    const parts = partition(y, classes, 10, { kind: 'dirichlet', alpha }, 5);
    assertCoversOnce(parts, y.length);
    return labelSkew(parts);
  });
  assert.ok(skews[0] < 0.05, `α = 1000 is nearly IID: ${skews[0]}`);
  assert.ok(skews[0] < skews[1] && skews[1] < skews[2], `skew ${skews} increases as α decreases`);
  assert.ok(skews[2] > 0.5, `α = 0.1 leaves agents with few classes: ${skews[2]}`);
});

test('quantity skew: covers every index once, unequal sizes, nobody empty even with tiny α', () => {
  const parts = partition(y, classes, 10, { kind: 'quantity', alpha: 0.5 }, 2);
  assertCoversOnce(parts, y.length);
  const sizes = parts.map((p) => p.length);
  assert.ok(Math.max(...sizes) > 3 * Math.min(...sizes), `sizes ${sizes}`);
  assertCoversOnce(partition(y.subarray(0, 50), classes, 40, { kind: 'quantity', alpha: 0.05 }, 2), 50);
});

test('reproducible by seed, different across seeds', () => {
  const specs: PartitionSpec[] = [
    { kind: 'iid' },
    { kind: 'dirichlet', alpha: 0.5 },
    { kind: 'shards', shardsPerAgent: 2 },
    { kind: 'quantity', alpha: 1 },
  ];
  for (const spec of specs) {
    assert.deepEqual(partition(y, classes, 8, spec, 11), partition(y, classes, 8, spec, 11), spec.kind);
    assert.notDeepEqual(partition(y, classes, 8, spec, 11), partition(y, classes, 8, spec, 12), spec.kind);
  }
});

test('labelHistogram counts each agent’s classes', () => {
  const labels = Int32Array.from([0, 1, 1, 2, 2, 2]);
  assert.deepEqual(
    labelHistogram(
      labels,
      [
        [0, 3],
        [1, 2, 4, 5],
      ],
      3,
    ),
    [
      [1, 0, 1],
      [0, 2, 2],
    ],
  );
});

test('bad partitions are ConfigErrors naming the field', () => {
  const isConfig = (field: string) => (e: unknown) => e instanceof ConfigError && e.field === field;
  assert.throws(() => partition(y.subarray(0, 5), classes, 6, { kind: 'iid' }, 1), isConfig('agents'));
  assert.throws(() => partition(y, classes, 0, { kind: 'iid' }, 1), isConfig('agents'));
  assert.throws(() => partition(y, classes, 4, { kind: 'dirichlet', alpha: 0 }, 1), isConfig('partition.alpha'));
  assert.throws(
    () => partition(y.subarray(0, 10), classes, 4, { kind: 'shards', shardsPerAgent: 3 }, 1),
    isConfig('partition.shardsPerAgent'),
  );
  // Three examples, one class, three agents, α tiny: some agent is always left empty.
  assert.throws(
    () => partition(Int32Array.from([0, 0, 0]), 1, 3, { kind: 'dirichlet', alpha: 0.01 }, 1),
    isConfig('partition.alpha'),
  );
  assert.throws(() => partition(Int32Array.from([0, 3]), 3, 2, { kind: 'iid' }, 1), /label 3 of example 1/);
  assert.throws(
    () => parsePartition('pathological'),
    (e: unknown) => e instanceof ConfigError && /iid, dirichlet, shards, quantity/.test(e.message),
  );
  assert.deepEqual(parsePartition('dirichlet:0.1'), { kind: 'dirichlet', alpha: 0.1 });
  assert.deepEqual(parsePartition('shards'), { kind: 'shards', shardsPerAgent: 2 });
  assert.throws(() => parsePartition('dirichlet:x'), ConfigError);
});
