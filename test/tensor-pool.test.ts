// The fast 2×2 max pool (stride 2, no padding, float CPU tensors: a gather at the windows' argmax, the
// indices from a native loop) is libtorch's at::max_pool2d bit for bit: values, gradients, and the
// double backward Hessian-vector products run through, on random data, ties, NaN and ±∞, odd sizes,
// float32 and float64, and LeNet's grouped [B, K·C, H, W] maps.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Generator,
  full,
  grad,
  maxPool2d,
  noGrad,
  rand,
  randint,
  randn,
  scope,
  where,
  type DType,
  type Tensor,
} from '../src/tensor/index.js';
import { native } from '../src/tensor/native.js';
import { wrap } from '../src/tensor/tensor.js';
import { toGrouped } from '../src/models/layers.js';

/** libtorch's own kernel, the specification. */
const reference = (x: Tensor): Tensor => wrap(native.maxPool2d(x.handle, [2, 2], [2, 2], [0, 0]));
const fast = (x: Tensor): Tensor => maxPool2d(x, 2);

/** The bytes of a tensor's elements: equal bytes are equal values, signed zeros and NaNs included. */
function bytes(t: Tensor): Uint8Array {
  const a = t.toArray();
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}
function assertBitEqual(actual: Tensor, expected: Tensor, what: string): void {
  assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  assert.equal(actual.dtype, expected.dtype, `${what}: dtype`);
  assert.ok(Buffer.from(bytes(actual)).equals(Buffer.from(bytes(expected))), `${what}: the bits differ`);
}

/**
 * Values, the gradient of ⟨u, pool(x)⟩, and two double backward products through the pool, from the fast
 * path and from libtorch: the Hessian-vector product of ⟨c, pool(x)²⟩ with respect to x (through the
 * pool's backward), and the derivative of ⟨v, ∂⟨u, pool(x)⟩/∂x⟩ with respect to u (the backward's own
 * backward, as in max_pool_double_backward).
 */
function pooledTerms(pool: (x: Tensor) => Tensor, input: Tensor, seed: number): Tensor[] {
  const gen = new Generator(seed);
  const x = input.detach().clone().requiresGrad_();
  const y = pool(x);
  const u = randn(y.shape, gen, x.dtype).requiresGrad_();
  const [dx] = grad(y, [x], { gradOutputs: [u], createGraph: true });
  const v = randn(x.shape, gen, x.dtype);
  const [du] = grad(dx.mul(v).sum(), [u]);
  const c = randn(y.shape, gen, x.dtype);
  const [g] = grad(pool(x).square().mul(c).sum(), [x], { createGraph: true });
  const [hv] = grad(g.mul(v).sum(), [x]);
  return [y.detach(), dx.detach(), du, hv];
}

function assertPoolsAlike(x: Tensor, what: string): void {
  scope(() => {
    const names = ['values', 'gradient', 'double backward (gradient output)', 'Hessian-vector product'];
    const got = pooledTerms(fast, x, 5);
    const expected = pooledTerms(reference, x, 5);
    got.forEach((t, i) => assertBitEqual(t, expected[i], `${what}: ${names[i]}`));
    noGrad(() => assertBitEqual(fast(x), reference(x), `${what}: values without autograd`));
  });
}

const gen = new Generator(20261129);
/** Small integers as floats: many windows hold their maximum twice or more, at every pair of positions. */
const fewValues = (shape: number[], dtype: DType): Tensor => randint(-1, 2, shape, gen).to(dtype);
/** x with about a fraction of its elements replaced by `value`. */
const sprinkle = (x: Tensor, value: number, fraction: number): Tensor =>
  where(rand(x.shape, gen).lt(fraction), full(x.shape, value, x.dtype), x);

for (const dtype of ['float32', 'float64'] as const) {
  describe(`2×2 max pool, ${dtype}: the fast path is libtorch's max_pool2d bit for bit`, () => {
    test('random data, 4-D and 3-D, row lengths that leave vector tails', () => {
      for (const shape of [
        [2, 3, 8, 6],
        [3, 4, 10],
        [1, 2, 6, 18],
        [2, 1, 28, 28],
      ])
        assertPoolsAlike(randn(shape, gen, dtype), `randn ${JSON.stringify(shape)}`);
    });
    test('ties: windows all equal, zeros after relu, maxima repeated at every pair of positions', () => {
      assertPoolsAlike(full([2, 3, 6, 8], 0.5, dtype), 'constant');
      assertPoolsAlike(full([1, 2, 4, 4], 0, dtype), 'zeros');
      assertPoolsAlike(randn([2, 3, 8, 10], gen, dtype).relu(), 'relu output');
      assertPoolsAlike(fewValues([4, 3, 12, 16], dtype), 'values in {−1, 0, 1}');
    });
    test('NaN wins its window (of several, the last in row-major order), ±∞ and −0 too', () => {
      assertPoolsAlike(sprinkle(randn([2, 3, 8, 8], gen, dtype), NaN, 0.1), 'some NaN');
      assertPoolsAlike(sprinkle(fewValues([2, 3, 8, 8], dtype), NaN, 0.5), 'half NaN');
      assertPoolsAlike(full([1, 1, 4, 6], NaN, dtype), 'all NaN');
      assertPoolsAlike(sprinkle(randn([2, 3, 8, 8], gen, dtype), -Infinity, 0.6), '−∞');
      assertPoolsAlike(sprinkle(randn([2, 3, 8, 8], gen, dtype), Infinity, 0.3), '+∞');
      assertPoolsAlike(full([1, 2, 4, 4], -Infinity, dtype), 'all −∞');
      assertPoolsAlike(sprinkle(fewValues([2, 3, 8, 8], dtype).mul(0), -0, 0.5), '±0');
    });
    test('odd sizes: the last row and column are left out, as libtorch floors', () => {
      for (const shape of [
        [2, 3, 7, 9],
        [1, 1, 3, 2],
        [2, 5, 2, 11],
        [3, 5, 5],
      ])
        assertPoolsAlike(randn(shape, gen, dtype), `randn ${JSON.stringify(shape)}`);
    });
    test("LeNet's grouped maps [B, K·C, H, W] from agent-batched [K, B, C, H, W], and a transposed input", () => {
      assertPoolsAlike(toGrouped(randn([4, 3, 6, 28, 28], gen, dtype)), 'K = 4, B = 3, C = 6, 28×28');
      assertPoolsAlike(toGrouped(randn([2, 5, 16, 10, 10], gen, dtype)).relu(), 'K = 2, B = 5, C = 16, 10×10');
      assertPoolsAlike(randn([2, 3, 10, 6], gen, dtype).transpose(2, 3), 'not contiguous');
    });
  });
}

describe('2×2 max pool: what the fast path leaves to libtorch', () => {
  test('a map narrower than the window and an empty batch raise what libtorch raises; other options still pool', () =>
    scope(() => {
      for (const shape of [
        [1, 1, 1, 4],
        [1, 1, 4, 1],
        [0, 2, 4, 4],
      ]) {
        const x = randn(shape, gen);
        const outcome = (f: () => Tensor): string => {
          try {
            return JSON.stringify(f().shape);
          } catch (e) {
            return (e as Error).message;
          }
        };
        assert.equal(
          outcome(() => fast(x)),
          outcome(() => reference(x)),
          JSON.stringify(shape),
        );
      }
      const x = randn([1, 2, 6, 6], gen, 'float64');
      assertBitEqual(maxPool2d(x, [2, 2], { stride: 2, padding: 0 }), reference(x), 'options spelled out');
      assert.deepEqual(maxPool2d(x, 2, { stride: 1 }).shape, [1, 2, 5, 5]);
    }));
  test('the native index op refuses what it was not written for (integer, non-contiguous, too small)', () =>
    scope(() => {
      const indices = (x: Tensor): Tensor => wrap(native.maxPool2x2Indices(x.handle));
      assert.throws(() => indices(randint(0, 3, [1, 4, 4], gen)), /maxPool2x2Indices/);
      assert.throws(() => indices(randn([1, 4, 6], gen).transpose(1, 2)), /contiguous/);
      assert.throws(() => indices(randn([4, 1], gen)), /H, W >= 2/);
      assert.deepEqual(indices(randn([2, 5, 7], gen)).shape, [2, 2, 3]);
    }));
});
