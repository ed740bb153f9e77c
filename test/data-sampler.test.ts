// Per-agent batch streams: without replacement within an epoch, one generator per
// agent fixed by (seed, k) alone, exactly resumable; and the K agents' batches
// gathered from the dataset tensors in one call.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AgentSampler, agentSamplers, datasetTensors, gatherBatch } from '../src/data/sampler.js';
import { partition } from '../src/data/partition.js';
import type { Dataset } from '../src/data/dataset.js';
import { scope } from '../src/tensor/index.js';

const part = Array.from({ length: 23 }, (_, i) => 100 + 3 * i);

test('epochs without replacement: every |D_k| consecutive draws from an epoch start are a permutation of the part', () => {
  const sampler = new AgentSampler(part, 5, 7, 0);
  const stream = Array.from({ length: 23 }, () => Array.from(sampler.next())).flat(); // 115 draws = 5 epochs
  for (let e = 0; e < 5; e++) {
    assert.deepEqual(
      stream.slice(23 * e, 23 * (e + 1)).sort((a, b) => a - b),
      part,
      `epoch ${e}`,
    );
  }
  assert.equal(sampler.epoch, 4);
  const epochs = Array.from({ length: 5 }, (_, e) => stream.slice(23 * e, 23 * (e + 1)));
  assert.notDeepEqual(epochs[0], epochs[1], 'reshuffled every epoch');
  assert.notDeepEqual(epochs[0], part, 'shuffled');
});

test('a batch larger than the part still has B examples, straddling epochs', () => {
  const sampler = new AgentSampler([4, 8, 15], 7, 1, 2);
  const b = Array.from(sampler.next());
  assert.equal(b.length, 7);
  assert.deepEqual(
    b.slice(0, 3).sort((x, y) => x - y),
    [4, 8, 15],
  );
  assert.deepEqual(
    b.slice(3, 6).sort((x, y) => x - y),
    [4, 8, 15],
  );
});

test("an agent's stream depends on (seed, k) only, not on which other agents exist", () => {
  const y = Int32Array.from({ length: 400 }, (_, i) => i % 10);
  const parts = partition(y, 10, 6, { kind: 'dirichlet', alpha: 0.5 }, 3);
  const all = agentSamplers(parts, 8, 42);
  const some = agentSamplers(parts, 8, 42, [2, 3]);
  for (let step = 0; step < 60; step++) {
    const everyone = all.map((s) => s.next());
    const hosted = some.map((s) => s.next());
    assert.deepEqual(hosted, [everyone[2], everyone[3]], `step ${step}`);
  }
  // Different agents and different seeds give different streams.
  const a = new AgentSampler(part, 5, 42, 0).next();
  assert.notDeepEqual(new AgentSampler(part, 5, 42, 1).next(), a);
  assert.notDeepEqual(new AgentSampler(part, 5, 43, 0).next(), a);
});

test('state() survives JSON and restore() continues identically, mid-epoch and at an epoch boundary', () => {
  for (const stopAfter of [3, 10, 46]) {
    const original = new AgentSampler(part, 5, 9, 4);
    for (let i = 0; i < stopAfter; i++) original.next();
    const saved = JSON.parse(JSON.stringify(original.state()));
    const expected = Array.from({ length: 30 }, () => Array.from(original.next()));
    // A fresh sampler (as after a restart) that has drawn something else meanwhile.
    const resumed = new AgentSampler(part, 5, 9, 4);
    resumed.next();
    resumed.restore(saved);
    assert.equal(resumed.epoch, saved.epoch);
    assert.deepEqual(
      Array.from({ length: 30 }, () => Array.from(resumed.next())),
      expected,
      `stopped after ${stopAfter}`,
    );
  }
  assert.throws(() => new AgentSampler(part, 5, 9, 3).restore(new AgentSampler(part, 5, 9, 4).state()), /does not fit/);
});

test('gatherBatch: one [K, B, ...shape] batch equal to the examples at the indices', () => {
  const n = 30;
  const shape = [2, 3];
  const ds: Dataset = {
    name: 'ramp',
    x: Float32Array.from({ length: n * 6 }, (_, i) => i),
    shape,
    y: Int32Array.from({ length: n }, (_, i) => i % 4),
    classes: 4,
    n,
  };
  const data = datasetTensors(ds);
  const indices = [Int32Array.from([3, 0, 29]), Int32Array.from([7, 7, 1])];
  scope(() => {
    const { x, y } = gatherBatch(data, indices);
    assert.deepEqual(x.shape, [2, 3, 2, 3]);
    assert.equal(x.dtype, 'float32');
    assert.deepEqual(y.shape, [2, 3]);
    assert.equal(y.dtype, 'int64');
    const xs = x.toNumbers();
    indices
      .flatMap((b) => Array.from(b))
      .forEach((i, j) => {
        assert.deepEqual(xs.slice(6 * j, 6 * j + 6), Array.from(ds.x.subarray(6 * i, 6 * i + 6)));
      });
    assert.deepEqual(y.toNumbers(), [3, 0, 1, 3, 3, 1]);
  });
  assert.throws(() => gatherBatch(data, [Int32Array.from([1]), Int32Array.from([1, 2])]), /batch sizes differ/);
  data.x.dispose();
  data.y.dispose();
});
