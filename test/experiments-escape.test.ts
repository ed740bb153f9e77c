// The replicated engine under suites 1 and 2 (src/escape's runner on the suites' own
// problem): R replicas of a K-agent network mix like the block-diagonal kron(I_R, A);
// every agent draws its batches with replacement from its own data only; and the stacked
// risk evaluation of J = Σ_k p_k J_k agrees with the measures' objective.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Generator, eye, fromArray, kron, randn, scope } from '../src/tensor/index.js';
import { combinationMatrix, makeGraph } from '../src/graph/index.js';
import { makeModel } from '../src/models/index.js';
import { centroids, globalRisk, risk, riskObjective, stackedScores } from '../src/measures/index.js';
import { replicaMixer } from '../src/algorithms/recursion.js';
import { ReplacementSampler } from '../src/data/index.js';
import { escapeProblem } from '../src/experiments/network.js';

const K = 4;
const R = 3;
const A = combinationMatrix('metropolis', makeGraph({ topology: 'ring', agents: K }));

test('replicas mix within themselves: the stacked mix is kron(I_R, A)ᵀ W', () => {
  scope(() => {
    const At = fromArray(Float64Array.from(A.flat()), [K, K]);
    const W = randn([R * K, 2, 3], new Generator(1), 'float64');
    const [mixed] = replicaMixer(R).mix(At, [W]);
    const expected = kron(eye(R, 'float64'), At)
      .mT.mm(W.reshape([R * K, 6]))
      .reshape([R * K, 2, 3]);
    assert.ok(mixed.sub(expected).abs().amax().item() < 1e-12);
    const [c] = centroids([W], undefined, R);
    assert.ok(
      c
        .sub(W.reshape([R, K, 2, 3]).mean(1))
        .abs()
        .amax()
        .item() < 1e-12,
      'centroids are per-replica means',
    );
  });
});

test('every agent samples with replacement from its own examples, uniformly', () => {
  const parts = [
    [3, 9, 12, 40, 41],
    [7],
    [0, 1, 2, 4, 5, 6, 8, 10, 11, 13, 14, 15],
    Array.from({ length: 30 }, (_, i) => 50 + i),
  ];
  const B = 2000;
  const sampler = new ReplacementSampler(parts, B, [1, 2, 3]);
  const ids = scope(() => sampler.next().toNumbers());
  sampler.dispose();
  for (let r = 0; r < R; r++)
    for (let k = 0; k < K; k++) {
      const mine = ids.slice((r * K + k) * B, (r * K + k + 1) * B);
      const counts = new Map<number, number>();
      for (const i of mine) counts.set(i, (counts.get(i) ?? 0) + 1);
      assert.deepEqual(
        [...counts.keys()].sort((a, b) => a - b),
        [...parts[k]].sort((a, b) => a - b),
        `replica ${r}, agent ${k} reaches exactly its own examples`,
      );
      for (const c of counts.values())
        assert.ok(
          Math.abs(c - B / parts[k].length) < 5 * Math.sqrt(B / parts[k].length),
          `uniform counts for agent ${k}`,
        );
    }
});

test("the stacked risk of many models equals the measures' objective J = Σ_k p_k J_k for each, with unequal parts", () => {
  scope(() => {
    const model = makeModel({ model: 'mlp', inputShape: [5], classes: 3, hidden: [4] });
    const train = {
      x: randn([30, 5], new Generator(4)),
      y: fromArray(Int32Array.from({ length: 30 }, (_, i) => (i * 7) % 3)),
    };
    const parts = [
      [0, 1, 2, 3, 4, 5, 6],
      [7, 8, 9],
      Array.from({ length: 11 }, (_, i) => 10 + i),
      Array.from({ length: 9 }, (_, i) => 21 + i),
    ];
    const problem = escapeProblem({ model, train, parts }, A, 0.1, 4, 1);
    const params = model.init(2, new Generator(5), { sameInit: false });
    const stacked = stackedScores(globalRisk(problem), params).risk;
    const objective = riskObjective(globalRisk(problem));
    for (let g = 0; g < 2; g++) {
      const one = params.map((t) => t.select(0, g).contiguous());
      assert.ok(
        Math.abs(stacked[g] - risk(objective, one)) < 1e-5,
        `model ${g}: ${stacked[g]} vs ${risk(objective, one)}`,
      );
    }
  });
});
