// The neighbour-only combination (recursion.ts): for sparse A it replaces Aᵀ·W and equals it to
// float32 round-off on every sparse topology, per replica too; dense A and small K keep Aᵀ·W's bits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { localMixer, replicaMixer, usesNeighbours } from '../src/algorithms/recursion.js';
import { combinationMatrix, makeGraph, onePeerExponential, type Matrix } from '../src/graph/index.js';
import { Generator, randn, scope, tensor, type Tensor } from '../src/tensor/index.js';

/** Max |x − y| over max |y|, with y the float64 product Aᵀ·W per replica. */
function relativeError(A: Matrix, w: Tensor, mixed: Tensor, replicas: number): number {
  return scope(() => {
    const K = A.length;
    const exact = tensor(A, 'float64').mT.matmul(w.to('float64').reshape([replicas, K, -1]));
    return mixed.to('float64').reshape(exact.shape).sub(exact).abs().amax().item() / exact.abs().amax().item();
  });
}

const K = 64;
const sparse: [string, Matrix][] = [
  ...['ring', 'grid', 'torus', 'exponential', 'hypercube'].map((topology): [string, Matrix] => [
    topology,
    combinationMatrix('metropolis', makeGraph({ topology, agents: K })),
  ]),
  ['one-peer exponential, round 0', onePeerExponential(K, 0)],
  ['one-peer exponential, round 3', onePeerExponential(K, 3)],
  ['ring, uniform weights', combinationMatrix('uniform', makeGraph({ topology: 'ring', agents: K }))],
];

for (const [name, A] of sparse) {
  test(`${name}, K = ${K}: through the neighbours, equal to Aᵀ·W to float32 round-off`, () =>
    scope(() => {
      const At = tensor(A, 'float32');
      assert.ok(usesNeighbours(At), 'the neighbour path is chosen');
      const gen = new Generator(3);
      const w = [randn([K, 5, 7], gen), randn([K, 3], gen)];
      const mixed = localMixer.mix(At, w);
      mixed.forEach((m, i) => {
        assert.deepEqual(m.shape, w[i].shape);
        const e = relativeError(A, w[i], m, 1);
        assert.ok(e < 1e-6, `tensor ${i}: relative error ${e}`);
      });
    }));
}

test('three replicas of a ring of 64: each replica combined within itself', () =>
  scope(() => {
    const A = combinationMatrix('metropolis', makeGraph({ topology: 'ring', agents: K }));
    const At = tensor(A, 'float32');
    const R = 3;
    const w = randn([R * K, 4, 5], new Generator(5));
    const mixed = replicaMixer(R).mix(At, [w])[0];
    assert.ok(relativeError(A, w, mixed, R) < 1e-6);
  }));

test('dense A, and sparse A on few agents, keep the dense product and its bits', () =>
  scope(() => {
    const gen = new Generator(7);
    for (const [topology, agents] of [
      ['complete', 64],
      ['erdos-renyi', 64],
      ['ring', 8],
    ] as const) {
      const p = { topology, agents, ...(topology === 'erdos-renyi' ? { p: 0.5 } : {}) };
      const At = tensor(combinationMatrix('metropolis', makeGraph(p)), 'float32');
      assert.equal(usesNeighbours(At), false, topology);
      const w = randn([agents, 6], gen);
      assert.deepEqual(localMixer.mix(At, [w])[0].toNumbers(), At.mT.mm(w).toNumbers());
    }
  }));
