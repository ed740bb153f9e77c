// The replicated engine under suites 1 and 2: R replicas of a K-agent network mix like the
// block-diagonal kron(I_R, A); every agent draws its batches from its own data only; and the
// stacked risk evaluation agrees with the measures' objective.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Generator, eye, fromArray, kron, randn, scope } from '../src/tensor/index.js';
import { combinationMatrix, makeGraph } from '../src/graph/index.js';
import { makeModel } from '../src/models/index.js';
import { risk } from '../src/measures/index.js';
import { replicaCentroids, replicaMixer } from '../src/experiments/replicas.js';
import { replicaBatches, stackedRisk } from '../src/experiments/escape.js';
import { globalObjective } from '../src/experiments/minimum.js';
import type { AgentData } from '../src/experiments/data.js';

const K = 4;
const R = 3;
const A = combinationMatrix('metropolis', makeGraph({ topology: 'ring', agents: K }));

test('replicas mix within themselves: the stacked mix is kron(I_R, A)ᵀ W', () => {
  scope(() => {
    const At = fromArray(Float64Array.from(A.flat()), [K, K]);
    const W = randn([R * K, 2, 3], new Generator(1), 'float64');
    const [mixed] = replicaMixer(R).mix(At, [W]);
    const expected = kron(eye(R, 'float64'), At).mT.mm(W.reshape([R * K, 6])).reshape([R * K, 2, 3]);
    assert.ok(mixed.sub(expected).abs().amax().item() < 1e-12);
    const p = fromArray(Float64Array.from({ length: K }, () => 1 / K));
    const [c] = replicaCentroids([W], R, p);
    assert.ok(c.sub(W.reshape([R, K, 2, 3]).mean(1)).abs().amax().item() < 1e-12, 'centroids are per-replica means');
  });
});

/** Agent data whose single feature is the example's index, so a batch shows where it came from. */
function indexedData(sizes: number[]): AgentData {
  const n = sizes.reduce((a, b) => a + b, 0);
  const offsets = sizes.map((_, k) => sizes.slice(0, k).reduce((a, b) => a + b, 0));
  return {
    K: sizes.length,
    x: fromArray(Float32Array.from({ length: n }, (_, i) => i), [n, 1]),
    y: fromArray(Int32Array.from({ length: n }, (_, i) => i % 3)),
    sizes,
    offsets,
    weights: fromArray(Float32Array.from(sizes.flatMap((m) => Array.from({ length: m }, () => 1 / (sizes.length * m))))),
    p: sizes.map(() => 1 / sizes.length),
    parts: sizes.map((m, k) => Array.from({ length: m }, (_, i) => offsets[k] + i)),
  };
}

test('every agent samples with replacement from its own examples, uniformly', () => {
  const sizes = [5, 1, 12, 30];
  const data = indexedData(sizes);
  const batch = replicaBatches(data, R, 2000, new Generator(2));
  const ids = batch.x.toNumbers();
  for (let r = 0; r < R; r++) for (let k = 0; k < K; k++) {
    const mine = ids.slice((r * K + k) * 2000, (r * K + k + 1) * 2000);
    assert.ok(mine.every((i) => i >= data.offsets[k] && i < data.offsets[k] + sizes[k]), `replica ${r}, agent ${k} stays in its data`);
    const counts = new Map<number, number>();
    for (const i of mine) counts.set(i, (counts.get(i) ?? 0) + 1);
    assert.equal(counts.size, sizes[k], `agent ${k} reaches all its ${sizes[k]} examples`);
    for (const c of counts.values()) assert.ok(Math.abs(c - 2000 / sizes[k]) < 5 * Math.sqrt(2000 / sizes[k]), `uniform counts for agent ${k}`);
  }
});

test('the stacked risk of many models equals the measures\' objective J = Σ_k p_k J_k for each', () => {
  const data = { ...indexedData([7, 3, 11, 9]) };
  const x = randn([30, 5], new Generator(4));
  const withFeatures: AgentData = { ...data, x, y: fromArray(Int32Array.from({ length: 30 }, (_, i) => (i * 7) % 3)) };
  const model = makeModel({ model: 'mlp', inputShape: [5], classes: 3, hidden: [4] });
  const params = model.init(2, new Generator(5), { sameInit: false });
  const stacked = stackedRisk(model, withFeatures, params, 8);
  const objective = globalObjective(model, withFeatures, 8);
  for (let g = 0; g < 2; g++) {
    const one = params.map((t) => t.select(0, g).contiguous());
    assert.ok(Math.abs(stacked[g] - risk(objective, one)) < 1e-5, `model ${g}: ${stacked[g]} vs ${risk(objective, one)}`);
  }
});
