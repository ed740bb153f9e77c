// Seeded generators: a seed fixes every draw, a saved state resumes the identical
// stream, generators are independent of one another, and the draws have the
// distributions they claim.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Generator,
  dirichlet,
  rademacher,
  rand,
  randint,
  randn,
  randperm,
  scope,
  tensor,
  type Tensor,
} from '../src/tensor/index.js';

const vals = (t: Tensor): number[] => t.toNumbers();
/** Every kind of draw, in a fixed order, as plain numbers. */
const draws = (gen: Generator): number[][] =>
  scope(() => [
    vals(randn([7], gen)),
    vals(randn([2, 3], gen, 'float64')),
    vals(rand([5], gen)),
    vals(rand([4], gen, 'float64')),
    vals(randint(-3, 9, [6], gen)),
    vals(randperm(10, gen)),
    vals(rademacher([6], gen)),
    vals(dirichlet(tensor([0.5, 1, 2], 'float64'), gen)),
  ]);

describe('seeded generators', () => {
  test('the same seed gives the same draws, of every kind', () => {
    assert.deepEqual(draws(new Generator(123)), draws(new Generator(123)));
    assert.deepEqual(draws(new Generator(123n)), draws(new Generator(123)));
  });
  test('different seeds give different draws', () => {
    const a = draws(new Generator(1));
    const b = draws(new Generator(2));
    for (let k = 0; k < a.length; k++) if (a[k].length > 3) assert.notDeepEqual(a[k], b[k], `draw ${k}`);
  });
  test('the extreme seeds 0 and 2^64 − 1 are accepted', () => {
    assert.equal(draws(new Generator(0)).length, 8);
    assert.equal(draws(new Generator(2n ** 64n - 1n)).length, 8);
  });
  test('generators are independent: drawing from one does not move another', () => {
    const a = new Generator(9);
    const b = new Generator(9);
    const other = new Generator(10);
    const first = draws(a);
    draws(other);
    assert.deepEqual(draws(b), first);
  });
  test('a saved state resumes the identical stream, in the same or another generator', () => {
    const gen = new Generator(77);
    draws(gen);
    const saved = gen.state;
    assert.ok(saved instanceof Uint8Array && saved.length > 0);
    const next = [draws(gen), draws(gen)];
    gen.state = saved;
    assert.deepEqual([draws(gen), draws(gen)], next);
    const elsewhere = new Generator(1);
    elsewhere.state = structuredClone(saved);
    assert.deepEqual([draws(elsewhere), draws(elsewhere)], next);
  });
  test('the state is a copy: changing it afterwards does not touch the generator', () => {
    const gen = new Generator(5);
    const twin = new Generator(5);
    gen.state.fill(0);
    assert.deepEqual(draws(gen), draws(twin));
  });
});

describe('distributions', () => {
  const n = 100000;
  // Sample means within 5 standard errors.
  test('randn: mean 0, variance 1', () =>
    scope(() => {
      const x = randn([n], new Generator(11), 'float64');
      assert.ok(Math.abs(x.mean().item()) < 5 / Math.sqrt(n));
      assert.ok(Math.abs(x.var().item() - 1) < 5 * Math.sqrt(2 / n));
    }));
  test('rand: within [0, 1), mean 1/2, variance 1/12', () =>
    scope(() => {
      const x = rand([n], new Generator(12), 'float64');
      assert.equal(x.ge(0).logicalAnd(x.lt(1)).all().item(), 1);
      assert.ok(Math.abs(x.mean().item() - 0.5) < 5 * Math.sqrt(1 / 12 / n));
      assert.ok(Math.abs(x.var().item() - 1 / 12) < 0.002);
    }));
  test('randint: int64 in [low, high), every value about equally often', () =>
    scope(() => {
      const x = randint(-2, 3, [n], new Generator(13));
      assert.equal(x.dtype, 'int64');
      const counts = [-2, -1, 0, 1, 2].map((v) => x.eq(v).to('float64').sum().item());
      assert.equal(
        counts.reduce((a, b) => a + b),
        n,
        'no value outside [−2, 3)',
      );
      for (const c of counts) assert.ok(Math.abs(c / n - 0.2) < 5 * Math.sqrt(0.16 / n));
    }));
  test('randperm: a permutation of 0 … n−1', () =>
    scope(() => {
      const p = randperm(1000, new Generator(14));
      assert.equal(p.dtype, 'int64');
      assert.deepEqual(
        vals(p).sort((a, b) => a - b),
        Array.from({ length: 1000 }, (_, i) => i),
      );
      assert.notDeepEqual(
        vals(p),
        Array.from({ length: 1000 }, (_, i) => i),
      );
    }));
  test('rademacher: ±1 with equal probability', () =>
    scope(() => {
      const r = rademacher([n], new Generator(15), 'float64');
      assert.equal(r.abs().eq(1).all().item(), 1);
      assert.ok(Math.abs(r.mean().item()) < 5 / Math.sqrt(n));
    }));
  test("rademacher draws 2·randint(0, 2) − 1 from the generator's stream, in every float dtype", () =>
    scope(() => {
      for (const dtype of ['float32', 'float64'] as const) {
        const expected = randint(0, 2, [1000], new Generator(17)).mul(2).sub(1).toNumbers();
        assert.deepEqual(rademacher([1000], new Generator(17), dtype).toNumbers(), expected);
        assert.equal(rademacher([3], new Generator(17), dtype).dtype, dtype);
      }
    }));
  test('dirichlet: rows on the simplex with mean α / Σα; α must be positive and finite', () =>
    scope(() => {
      const alpha = tensor([0.5, 1, 2.5], 'float64');
      const x = dirichlet(alpha.unsqueeze(0).expand([20000, 3]).contiguous(), new Generator(16));
      assert.equal(x.ge(0).all().item(), 1);
      const rowSums = x.sum(1);
      assert.ok(rowSums.sub(1).abs().amax().item() < 1e-12);
      const mean = vals(x.mean(0));
      [0.125, 0.25, 0.625].forEach((m, i) => assert.ok(Math.abs(mean[i] - m) < 0.01, `mean ${i}: ${mean[i]}`));
      for (const bad of [
        [1, 0],
        [1, -1],
        [1, NaN],
        [1, Infinity],
      ]) {
        assert.throws(() => dirichlet(tensor(bad, 'float64'), new Generator(1)), /positive and finite/);
      }
    }));
});
