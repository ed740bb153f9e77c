// The ATC step in one native pass (Mixer.step, native/combine.cc): for a sparse A it equals forming
// ψ = (−μ g) + b and combining it through the neighbours, to the bit, on every sparse topology, per
// replica, in float32 and float64; where it does not apply it says so (null) and the unfused path runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  localMixer,
  replicaMixer,
  unifiedForm,
  unifiedStep,
  usesNeighbours,
  type Mixer,
} from '../src/algorithms/recursion.js';
import { combinationMatrix, makeGraph, onePeerExponential, type Matrix } from '../src/graph/index.js';
import {
  Generator,
  getNumThreads,
  neighbourStep,
  randn,
  scope,
  setNumThreads,
  tensor,
  type DType,
  type Tensor,
} from '../src/tensor/index.js';

const sameBits = (x: Tensor, y: Tensor): boolean =>
  x.dtype === y.dtype &&
  x.shape.join() === y.shape.join() &&
  Buffer.from(x.toArray().buffer).equals(Buffer.from(y.toArray().buffer));

const stepSize = 0.05;
const topologies = (K: number): [string, Matrix][] => [
  ...['ring', 'grid', 'torus', 'exponential', 'hypercube'].map((topology): [string, Matrix] => [
    topology,
    combinationMatrix('metropolis', makeGraph({ topology, agents: K })),
  ]),
  ['one-peer exponential, round 0', onePeerExponential(K, 0)],
  ['one-peer exponential, round 3', onePeerExponential(K, 3)],
];

for (const K of [32, 64, 256])
  for (const dtype of ['float32', 'float64'] as DType[])
    test(`K = ${K}, ${dtype}: the fused step equals ψ combined through the neighbours, to the bit`, () =>
      scope(() => {
        const gen = new Generator(K);
        // 1,537 columns: several blocks of the kernel (512 floats, 256 doubles) and a partial one.
        const shapes = [
          [K, 1537],
          [K, 5, 7],
          [K, 3],
        ];
        const base = shapes.map((s) => randn(s, gen).to(dtype));
        const g = shapes.map((s) => randn(s, gen).to(dtype));
        let fused = 0;
        for (const [name, A] of topologies(K)) {
          const At = tensor(A, 'float32');
          const step = localMixer.step?.(At, base, g, stepSize) ?? null;
          if (!usesNeighbours(At)) {
            assert.equal(step, null, `${name}: a dense A keeps the unfused path`);
            continue;
          }
          assert.ok(step, `${name}: fused`);
          fused++;
          const unfused = localMixer.mix(
            At,
            base.map((b, i) => g[i].mul(-stepSize).add_(b)),
          );
          step.forEach((w, i) => assert.ok(sameBits(w, unfused[i]), `${name}, tensor ${i}`));
        }
        assert.ok(fused >= 6, `${fused} topologies took the fused step`);
      }));

test('three replicas of a torus of 64, float32 and float64: each replica combined within itself, to the bit', () =>
  scope(() => {
    const K = 64;
    const R = 3;
    const At = tensor(combinationMatrix('metropolis', makeGraph({ topology: 'torus', agents: K })), 'float32');
    for (const dtype of ['float32', 'float64'] as DType[]) {
      const gen = new Generator(11);
      const base = [randn([R * K, 40, 30], gen).to(dtype)];
      const g = [randn([R * K, 40, 30], gen).to(dtype)];
      const step = replicaMixer(R).step?.(At, base, g, stepSize);
      assert.ok(step);
      const unfused = replicaMixer(R).mix(At, [g[0].mul(-stepSize).add_(base[0])])[0];
      assert.ok(sameBits(step[0], unfused), dtype);
      for (let r = 0; r < R; r++) {
        const rows = (t: Tensor): Tensor => t.narrow(0, r * K, K).contiguous();
        const alone = localMixer.step?.(At, [rows(base[0])], [rows(g[0])], stepSize);
        assert.ok(alone && sameBits(rows(step[0]), alone[0]), `${dtype}, replica ${r}`);
      }
    }
  }));

test('two threads, each taking its share of the blocks: the same bits as one', () =>
  scope(() => {
    const K = 256;
    const At = tensor(combinationMatrix('metropolis', makeGraph({ topology: 'ring', agents: K })), 'float32');
    const gen = new Generator(9);
    const base = [randn([2 * K, 5000], gen)];
    const g = [randn([2 * K, 5000], gen)];
    const before = getNumThreads();
    try {
      const one = replicaMixer(2).step?.(At, base, g, stepSize);
      setNumThreads(2);
      const two = replicaMixer(2).step?.(At, base, g, stepSize);
      assert.ok(one && two && sameBits(one[0], two[0]));
    } finally {
      setNumThreads(before);
    }
  }));

test('ATC on a ring of 64: unifiedStep takes the fused step, with the unfused bits and no autograd history', () =>
  scope(() => {
    const K = 64;
    const A = combinationMatrix('metropolis', makeGraph({ topology: 'ring', agents: K }));
    const gen = new Generator(2);
    const w = [randn([K, 20, 10], gen), randn([K, 10], gen)];
    const grads = w.map((p) => randn(p.shape, gen));
    const form = unifiedForm('atc', A);
    let calls = 0;
    const counting: Mixer = {
      mix: localMixer.mix,
      step(A, base, g, mu) {
        calls++;
        return localMixer.step?.(A, base, g, mu) ?? null;
      },
    };
    const fused = unifiedStep(w, () => grads, form, stepSize, counting);
    const unfused = unifiedStep(w, () => grads, form, stepSize, { mix: localMixer.mix });
    assert.equal(calls, 1);
    fused.forEach((t, i) => {
      assert.ok(sameBits(t, unfused[i]), `tensor ${i}`);
      assert.equal(t.requiresGrad, false);
    });
  }));

test('where the kernel does not apply it answers null: a gradient required, a non-contiguous view, int64', () =>
  scope(() => {
    const K = 32;
    const plan = { diagonal: 0.5, runs: [{ from: 1, to: 0, length: K - 1, weight: 0.5 }] };
    const gen = new Generator(4);
    const b = randn([1, K, 6], gen);
    const g = randn([1, K, 6], gen);
    assert.ok(neighbourStep(b, g, stepSize, plan));
    assert.equal(neighbourStep(b.clone().requiresGrad_(), g, stepSize, plan), null);
    assert.equal(neighbourStep(randn([1, 6, K], gen).transpose(1, 2), g, stepSize, plan), null);
    assert.equal(neighbourStep(b.to('int64'), g.to('int64'), stepSize, plan), null);
    assert.equal(neighbourStep(b, g.to('float64'), stepSize, plan), null);
  }));

test('a plan that does not fit K is refused, naming what is wrong', () =>
  scope(() => {
    const K = 32;
    const b = randn([1, K, 6], new Generator(6));
    assert.throws(
      () => neighbourStep(b, b, stepSize, { diagonal: 1, runs: [{ from: 2, to: 0, length: K - 1, weight: 0.5 }] }),
      /from must be an integer in \[0, 1\]/,
    );
    assert.throws(
      () => neighbourStep(b, b, stepSize, { diagonal: [1, 2], runs: [] }),
      /diagonal must be a number or 32/,
    );
  }));
