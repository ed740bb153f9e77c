// Values of the binding's operations against known results: creation, copying in
// and out, dtypes, comparisons and other non-differentiable operations, shape
// operations, in-place updates, and closed-form values of the differentiable ones.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Tensor,
  addmm,
  arange,
  avgPool2d,
  baddbmm,
  cat,
  cholesky,
  conv2d,
  crossEntropy,
  eigh,
  eigvals,
  eye,
  fromArray,
  full,
  groupNorm,
  inverse,
  kron,
  maxPool2d,
  mseLoss,
  nllLoss,
  ones,
  scope,
  solve,
  stack,
  tensor,
  where,
  zeros,
} from '../src/tensor/index.js';
import { assertClose } from './support/tensor-check.js';

const vals = (t: Tensor): number[] => t.toNumbers();
const f64 = (data: Parameters<typeof tensor>[0]): Tensor => tensor(data, 'float64');

describe('creation', () => {
  test('zeros, ones, full, eye: shape, dtype and values', () =>
    scope(() => {
      const z = zeros([2, 3]);
      assert.deepEqual(z.shape, [2, 3]);
      assert.equal(z.dtype, 'float32');
      assert.equal(z.numel, 6);
      assert.equal(z.ndim, 2);
      assert.equal(z.bytes, 24);
      assert.deepEqual(vals(z), [0, 0, 0, 0, 0, 0]);
      assert.deepEqual(vals(ones([2], 'int64')), [1, 1]);
      assert.equal(ones([2], 'int64').dtype, 'int64');
      assert.deepEqual(vals(full([3], 2.5, 'float64')), [2.5, 2.5, 2.5]);
      assert.deepEqual(vals(full([2], 1, 'bool')), [1, 1]);
      assert.deepEqual(vals(eye(3)), [1, 0, 0, 0, 1, 0, 0, 0, 1]);
      assert.deepEqual(zeros([]).shape, []);
      assert.equal(zeros([]).numel, 1);
      assert.equal(zeros([0, 4]).numel, 0);
    }));
  test('arange: int64 by default, half-open, any step', () =>
    scope(() => {
      const a = arange(0, 5);
      assert.equal(a.dtype, 'int64');
      assert.deepEqual(vals(a), [0, 1, 2, 3, 4]);
      assert.deepEqual(vals(arange(5, 0, -2)), [5, 3, 1]);
      assertClose(vals(arange(0, 1, 0.25, 'float64')), [0, 0.25, 0.5, 0.75], 0);
    }));
  test('fromArray: each typed array gives its dtype, Int32Array → int64, Uint8Array → bool', () =>
    scope(() => {
      const cases: [Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array, string][] = [
        [Float32Array.from([1.5, -2]), 'float32'],
        [Float64Array.from([1.5, -2]), 'float64'],
        [Int32Array.from([7, -3]), 'int64'],
        [BigInt64Array.from([7n, -3n]), 'int64'],
        [Uint8Array.from([1, 0]), 'bool'],
      ];
      for (const [data, dtype] of cases) {
        const t = fromArray(data);
        assert.equal(t.dtype, dtype);
        assert.deepEqual(t.shape, [2]);
        assert.deepEqual(vals(t), Array.from(data, Number));
      }
      assert.deepEqual(vals(fromArray(Uint8Array.from([0, 2, 255]))), [0, 1, 1], 'any nonzero byte is true');
    }));
  test('fromArray copies: the tensor keeps its values when the array changes; subarrays start at their offset', () =>
    scope(() => {
      const data = Float64Array.from([1, 2, 3, 4, 5, 6]);
      const t = fromArray(data, [2, 3]);
      data[0] = 100;
      assert.deepEqual(vals(t), [1, 2, 3, 4, 5, 6]);
      assert.deepEqual(vals(fromArray(data.subarray(2, 5))), [3, 4, 5]);
      assert.deepEqual(vals(fromArray(new Float32Array(0), [0, 3])), []);
      const shared = new Float32Array(new SharedArrayBuffer(16));
      shared.set([1, 2, 3, 4]);
      assert.deepEqual(vals(fromArray(shared.subarray(1, 3))), [2, 3], 'views of a SharedArrayBuffer too');
    }));
  test("toArray returns the dtype's typed array, row-major, also for non-contiguous views", () =>
    scope(() => {
      assert.ok(zeros([1]).toArray() instanceof Float32Array);
      assert.ok(zeros([1], 'float64').toArray() instanceof Float64Array);
      assert.ok(zeros([1], 'int64').toArray() instanceof BigInt64Array);
      assert.ok(zeros([1], 'bool').toArray() instanceof Uint8Array);
      const t = f64([
        [1, 2, 3],
        [4, 5, 6],
      ]);
      assert.deepEqual(Array.from(t.mT.toArray() as Float64Array), [1, 4, 2, 5, 3, 6]);
      assert.deepEqual(Array.from(arange(0, 3).toArray() as BigInt64Array), [0n, 1n, 2n]);
    }));
  test('item() reads a one-element tensor of any dtype', () =>
    scope(() => {
      assert.equal(full([], 2.5, 'float64').item(), 2.5);
      assert.equal(full([1, 1], -3, 'int64').item(), -3);
      assert.equal(full([1], 1, 'bool').item(), 1);
    }));
  test('tensor() from nested arrays; ragged input is an Error', () =>
    scope(() => {
      const t = tensor([
        [1, 2],
        [3, 4],
        [5, 6],
      ]);
      assert.deepEqual(t.shape, [3, 2]);
      assert.deepEqual(vals(t), [1, 2, 3, 4, 5, 6]);
      assert.deepEqual(tensor(3).shape, []);
      assert.equal(tensor([1, 0], 'bool').dtype, 'bool');
      assert.equal(tensor([1, 2], 'int64').dtype, 'int64');
      assert.throws(() => tensor([[1, 2], [3]]), /ragged/);
      assert.equal(String(t), 'Tensor(float32, [3, 2])');
    }));
  test('to() converts dtypes: float → int64 truncates toward zero, nonzero → true', () =>
    scope(() => {
      const x = f64([-1.7, -0.2, 0, 0.2, 2.9]);
      assert.deepEqual(vals(x.to('int64')), [-1, 0, 0, 0, 2]);
      assert.deepEqual(vals(x.to('bool')), [1, 1, 0, 1, 1]);
      assert.equal(x.to('float32').dtype, 'float32');
    }));
});

describe('elementwise values', () => {
  test('arithmetic with tensors and numbers, broadcasting', () =>
    scope(() => {
      const a = f64([[1], [2]]);
      const b = f64([10, 20, 30]);
      assert.deepEqual(vals(a.add(b)), [11, 21, 31, 12, 22, 32]);
      assert.deepEqual(vals(b.sub(a)), [9, 19, 29, 8, 18, 28]);
      assert.deepEqual(vals(a.mul(b)), [10, 20, 30, 20, 40, 60]);
      assert.deepEqual(vals(b.div(10)), [1, 2, 3]);
      assert.deepEqual(vals(b.pow(2)), [100, 400, 900]);
      assert.deepEqual(vals(f64([2, 3]).pow(f64([3, 2]))), [8, 9]);
      assert.deepEqual(vals(arange(1, 4).div(2)), [0.5, 1, 1.5], 'integer division is true division');
      assert.deepEqual(vals(f64([1, 5]).maximum(f64([3, 2]))), [3, 5]);
      assert.deepEqual(vals(f64([1, 5]).minimum(2)), [1, 2]);
    }));
  test('unary functions at known points', () =>
    scope(() => {
      const x = f64([-2, 0, 3]);
      assert.deepEqual(vals(x.neg()), [2, -0, -3]);
      assert.deepEqual(vals(x.abs()), [2, 0, 3]);
      assert.deepEqual(vals(x.sign()), [-1, 0, 1]);
      assert.deepEqual(vals(x.square()), [4, 0, 9]);
      assert.deepEqual(vals(x.relu()), [0, 0, 3]);
      assert.deepEqual(vals(x.clamp(-1, 1)), [-1, 0, 1]);
      assert.deepEqual(vals(x.clamp(0)), [0, 0, 3]);
      assert.deepEqual(vals(x.clamp(null, 0)), [-2, 0, 0]);
      assertClose(vals(f64([0, 1]).exp()), [1, Math.E], 1e-15);
      assertClose(vals(f64([1, Math.E]).log()), [0, 1], 1e-15);
      assertClose(vals(f64([4, 2]).sqrt()), [2, Math.SQRT2], 1e-15);
      assertClose(vals(f64([0, Math.PI / 2]).sin()), [0, 1], 1e-15);
      assertClose(vals(f64([0, Math.PI]).cos()), [1, -1], 1e-15);
      assertClose(vals(f64([0, 1]).tanh()), [0, Math.tanh(1)], 1e-15);
      assertClose(vals(f64([0, 2]).sigmoid()), [0.5, 1 / (1 + Math.exp(-2))], 1e-15);
      assertClose(vals(f64([0, 1]).softplus()), [Math.LN2, Math.log(1 + Math.E)], 1e-15);
      // gelu(x) = x Φ(x); Φ(1) = 0.8413447460685429.
      assertClose(vals(f64([0, 1, -1]).gelu()), [0, 0.8413447460685429, -0.15865525393145707], 1e-12);
    }));
  test('comparisons give bool tensors, against tensors or numbers', () =>
    scope(() => {
      const a = f64([1, 2, 3]);
      const b = f64([3, 2, 1]);
      assert.equal(a.eq(b).dtype, 'bool');
      assert.deepEqual(vals(a.eq(b)), [0, 1, 0]);
      assert.deepEqual(vals(a.ne(b)), [1, 0, 1]);
      assert.deepEqual(vals(a.lt(b)), [1, 0, 0]);
      assert.deepEqual(vals(a.le(b)), [1, 1, 0]);
      assert.deepEqual(vals(a.gt(2)), [0, 0, 1]);
      assert.deepEqual(vals(a.ge(2)), [0, 1, 1]);
    }));
  test('logical operations, isfinite, all, any', () =>
    scope(() => {
      const p = tensor([1, 1, 0, 0], 'bool');
      const q = tensor([1, 0, 1, 0], 'bool');
      assert.deepEqual(vals(p.logicalAnd(q)), [1, 0, 0, 0]);
      assert.deepEqual(vals(p.logicalOr(q)), [1, 1, 1, 0]);
      assert.deepEqual(vals(p.logicalNot()), [0, 0, 1, 1]);
      assert.deepEqual(vals(f64([1, Infinity, -Infinity, NaN]).isfinite()), [1, 0, 0, 0]);
      assert.equal(p.all().item(), 0);
      assert.equal(p.any().item(), 1);
      assert.equal(p.logicalOr(q.logicalNot()).logicalOr(p.logicalNot()).all().item(), 1);
      assert.equal(zeros([3], 'bool').any().item(), 0);
    }));
  test('where picks from a where the condition holds, else from b', () =>
    scope(() => {
      const c = tensor([1, 0, 1], 'bool');
      assert.deepEqual(vals(where(c, f64([1, 2, 3]), f64([-1, -2, -3]))), [1, -2, 3]);
    }));
});

describe('reductions', () => {
  const x = (): Tensor =>
    f64([
      [1, 5, 3],
      [4, 2, 6],
    ]);
  test('sum, mean over all and over dims, keepdim', () =>
    scope(() => {
      assert.equal(x().sum().item(), 21);
      assert.deepEqual(x().sum().shape, []);
      assert.deepEqual(vals(x().sum(0)), [5, 7, 9]);
      assert.deepEqual(x().sum(1, true).shape, [2, 1]);
      assert.deepEqual(vals(x().mean(1)), [3, 4]);
      assert.equal(x().mean([0, 1]).item(), 3.5);
      assert.equal(arange(0, 5).sum().dtype, 'int64');
    }));
  test('amax, amin, max (values and indices), argmax', () =>
    scope(() => {
      assert.equal(x().amax().item(), 6);
      assert.deepEqual(vals(x().amax(0)), [4, 5, 6]);
      assert.deepEqual(vals(x().amin(1)), [1, 2]);
      const { values, indices } = x().max(1);
      assert.deepEqual(vals(values), [5, 6]);
      assert.deepEqual(vals(indices), [1, 2]);
      assert.equal(indices.dtype, 'int64');
      assert.deepEqual(vals(x().argmax(0)), [1, 0, 1]);
      assert.deepEqual(x().argmax(1, true).shape, [2, 1]);
    }));
  test('norm (p = 2, 1, ∞-free), var (unbiased and biased)', () =>
    scope(() => {
      assertClose([f64([3, 4]).norm().item()], [5], 1e-15);
      assert.equal(f64([3, -4]).norm(1).item(), 7);
      assertClose(
        vals(
          f64([
            [3, 4],
            [6, 8],
          ]).norm(2, 1),
        ),
        [5, 10],
        1e-15,
      );
      // 1..4: mean 2.5, squared deviations sum to 5.
      assertClose([f64([1, 2, 3, 4]).var().item()], [5 / 3], 1e-15);
      assertClose([f64([1, 2, 3, 4]).var(undefined, false).item()], [5 / 4], 1e-15);
      assertClose(
        vals(
          f64([
            [1, 3],
            [2, 6],
          ]).var(1),
        ),
        [2, 8],
        1e-15,
      );
    }));
});

describe('neural-network primitives', () => {
  test('softmax rows sum to one; logSoftmax is its log', () =>
    scope(() => {
      const z = f64([
        [1, 2, 3],
        [0, 0, 0],
      ]);
      assertClose(vals(z.softmax(1).sum(1)), [1, 1], 1e-15);
      assertClose(vals(z.logSoftmax(1)), vals(z.softmax(1).log()), 1e-14);
      assertClose(vals(z.softmax(1).select(0, 1)), [1 / 3, 1 / 3, 1 / 3], 1e-15);
    }));
  test('cross-entropy of uniform logits is log C; nll picks −log p of the target; mse', () =>
    scope(() => {
      const y = fromArray(Int32Array.from([0, 2]));
      assertClose([crossEntropy(zeros([2, 4], 'float64'), y).item()], [Math.log(4)], 1e-15);
      const logp = f64([
        [-1, -2, -3],
        [-4, -5, -6],
      ]);
      assert.equal(nllLoss(logp, y).item(), (1 + 6) / 2);
      assert.equal(nllLoss(logp, y, 'sum').item(), 7);
      assert.deepEqual(vals(nllLoss(logp, y, 'none')), [1, 6]);
      assert.equal(mseLoss(f64([1, 2]), f64([2, 4])).item(), 2.5);
      assert.equal(mseLoss(f64([1, 2]), f64([2, 4]), 'sum').item(), 5);
      assert.deepEqual(vals(mseLoss(f64([1, 2]), f64([2, 4]), 'none')), [1, 4]);
    }));
  test('conv2d with a ones kernel sums windows; bias adds; groups keep channels apart', () =>
    scope(() => {
      const x = arange(0, 16, 1, 'float64').reshape([1, 1, 4, 4]);
      const w = ones([1, 1, 2, 2], 'float64');
      assert.deepEqual(vals(conv2d(x, w, { stride: 2 })), [10, 18, 42, 50]);
      assert.deepEqual(vals(conv2d(x, w, { stride: 2, bias: f64([1]) })), [11, 19, 43, 51]);
      assert.deepEqual(conv2d(x, w, { padding: 1 }).shape, [1, 1, 5, 5]);
      const two = cat([x, x.neg()], 1);
      const grouped = conv2d(two, ones([2, 1, 2, 2], 'float64'), { stride: 2, groups: 2 });
      assert.deepEqual(vals(grouped), [10, 18, 42, 50, -10, -18, -42, -50]);
    }));
  test('max and average pooling', () =>
    scope(() => {
      const x = arange(0, 16, 1, 'float64').reshape([1, 1, 4, 4]);
      assert.deepEqual(vals(maxPool2d(x, 2)), [5, 7, 13, 15]);
      assert.deepEqual(vals(avgPool2d(x, 2)), [2.5, 4.5, 10.5, 12.5]);
      assert.deepEqual(maxPool2d(x, 3, { stride: 1, padding: 1 }).shape, [1, 1, 4, 4]);
    }));
  test('groupNorm: zero mean and unit variance per group, then the affine map', () =>
    scope(() => {
      const x = arange(0, 12, 1, 'float64').reshape([1, 4, 3]).square();
      const y = groupNorm(x, 2);
      const groups = y.reshape([2, 6]);
      assertClose(vals(groups.mean(1)), [0, 0], 1e-12);
      assertClose(vals(groups.var(1, false)), [1, 1], 1e-4);
      const affine = groupNorm(x, 2, full([4], 2, 'float64'), full([4], 1, 'float64'));
      assertClose(vals(affine), vals(y.mul(2).add(1)), 1e-12);
    }));
});

describe('linear algebra', () => {
  test('matmul, mm, bmm, baddbmm, addmm, dot, trace, kron', () =>
    scope(() => {
      const a = f64([
        [1, 2],
        [3, 4],
      ]);
      const b = f64([
        [5, 6],
        [7, 8],
      ]);
      assert.deepEqual(vals(a.matmul(b)), [19, 22, 43, 50]);
      assert.deepEqual(vals(a.mm(b)), [19, 22, 43, 50]);
      assert.deepEqual(vals(a.matmul(f64([1, 1]))), [3, 7]);
      assert.deepEqual(vals(stack([a, b]).bmm(stack([b, a]))), [19, 22, 43, 50, 23, 34, 31, 46]);
      assert.deepEqual(
        vals(baddbmm(ones([1, 2, 2], 'float64'), a.unsqueeze(0), b.unsqueeze(0), 2, -1)),
        [-17, -20, -41, -48],
      );
      assert.deepEqual(vals(addmm(f64([1, 0]), a, b, 1, 2)), [39, 44, 87, 100]);
      assert.equal(
        f64([1, 2, 3])
          .dot(f64([4, 5, 6]))
          .item(),
        32,
      );
      assert.equal(a.trace().item(), 5);
      assert.deepEqual(vals(kron(eye(2, 'float64'), f64([[1, 2]]))), [1, 2, 0, 0, 0, 0, 1, 2]);
    }));
  test('eigh: ascending eigenvalues, orthonormal eigenvectors, A V = V Λ', () =>
    scope(() => {
      const a = f64([
        [2, 1, 0],
        [1, 2, 0],
        [0, 0, 5],
      ]);
      const { values, vectors } = eigh(a);
      assertClose(vals(values), [1, 3, 5], 1e-14);
      assertClose(vals(vectors.mT.matmul(vectors)), vals(eye(3, 'float64')), 1e-14);
      assertClose(vals(a.matmul(vectors)), vals(vectors.mul(values)), 1e-14);
    }));
  test('eigvals: a rotation by 90° has eigenvalues ±i', () =>
    scope(() => {
      const { real, imag } = eigvals(
        f64([
          [0, -1],
          [1, 0],
        ]),
      );
      assertClose(vals(real), [0, 0], 1e-15);
      assertClose(vals(imag).sort(), [-1, 1], 1e-15);
      assert.equal(real.dtype, 'float64');
    }));
  test('solve, inverse, cholesky', () =>
    scope(() => {
      const a = f64([
        [4, 2],
        [2, 3],
      ]);
      assertClose(vals(solve(a, f64([2, 1]))), [0.5, 0], 1e-15);
      assertClose(vals(inverse(a)), [3 / 8, -2 / 8, -2 / 8, 4 / 8], 1e-15);
      const l = cholesky(a);
      assertClose(vals(l), [2, 0, 1, Math.SQRT2], 1e-15);
      assertClose(vals(l.matmul(l.mT)), vals(a), 1e-14);
    }));
});

describe('shape and indexing', () => {
  const x = (): Tensor => arange(0, 6, 1, 'float64').reshape([2, 3]);
  test('reshape, view, flatten, permute, transpose, mT, contiguous', () =>
    scope(() => {
      assert.deepEqual(x().reshape([3, -1]).shape, [3, 2]);
      assert.deepEqual(vals(x().view([3, 2])), [0, 1, 2, 3, 4, 5]);
      assert.deepEqual(x().flatten().shape, [6]);
      const p = arange(0, 24).reshape([2, 3, 4]).permute([2, 0, 1]);
      assert.deepEqual(p.shape, [4, 2, 3]);
      assert.deepEqual(vals(p.select(0, 1).flatten()), [1, 5, 9, 13, 17, 21]);
      assert.deepEqual(vals(x().transpose(0, 1)), [0, 3, 1, 4, 2, 5]);
      assert.deepEqual(vals(x().mT.contiguous().view([6])), [0, 3, 1, 4, 2, 5]);
    }));
  test('narrow, select, indexSelect, gather', () =>
    scope(() => {
      assert.deepEqual(vals(x().narrow(1, 1, 2)), [1, 2, 4, 5]);
      assert.deepEqual(vals(x().select(1, 2)), [2, 5]);
      assert.deepEqual(vals(x().select(0, -1)), [3, 4, 5]);
      assert.deepEqual(vals(x().indexSelect(1, fromArray(Int32Array.from([2, 0, 2])))), [2, 0, 2, 5, 3, 5]);
      assert.deepEqual(vals(x().gather(1, fromArray(Int32Array.from([1, 1, 0, 2]), [2, 2]))), [1, 1, 3, 5]);
    }));
  test('cat, stack, expand, repeat, unsqueeze, squeeze', () =>
    scope(() => {
      assert.deepEqual(cat([x(), x()], 0).shape, [4, 3]);
      assert.deepEqual(vals(cat([x(), f64([[9], [9]])], 1)), [0, 1, 2, 9, 3, 4, 5, 9]);
      assert.deepEqual(stack([x(), x()], 2).shape, [2, 3, 2]);
      assert.deepEqual(vals(f64([[1], [2]]).expand([2, 3])), [1, 1, 1, 2, 2, 2]);
      assert.deepEqual(vals(f64([1, 2]).repeat([2, 2])), [1, 2, 1, 2, 1, 2, 1, 2]);
      assert.deepEqual(x().unsqueeze(0).shape, [1, 2, 3]);
      assert.deepEqual(x().unsqueeze(-1).shape, [2, 3, 1]);
      assert.deepEqual(x().unsqueeze(1).squeeze(1).shape, [2, 3]);
    }));
  test('views share storage with their base; clone does not', () =>
    scope(() => {
      const base = zeros([2, 3], 'float64');
      base.narrow(1, 1, 1).add_(1);
      base.view([6]).select(0, 0).add_(5);
      base.detach().select(1, 2).add_(2);
      assert.deepEqual(vals(base), [5, 1, 2, 0, 1, 2]);
      const copy = base.clone();
      copy.zero_();
      assert.deepEqual(vals(base), [5, 1, 2, 0, 1, 2]);
    }));
  test('an expanded view reports the bytes of its storage, not of its logical size', () =>
    scope(() => {
      const big = zeros([1], 'float64').expand([1000, 1000]);
      assert.equal(big.numel, 1e6);
      assert.equal(big.bytes, 8);
      assert.equal(zeros([10, 10], 'float64').narrow(0, 0, 1).bytes, 80);
    }));
});

describe('in-place updates', () => {
  test('add_, mul_, copy_, zero_ modify the tensor and return it', () =>
    scope(() => {
      const t = f64([1, 2, 3]);
      assert.equal(t.add_(1), t);
      assert.deepEqual(vals(t), [2, 3, 4]);
      t.add_(f64([1, 1, 1]), -2);
      assert.deepEqual(vals(t), [0, 1, 2]);
      assert.equal(t.mul_(f64([3, 3, 3])), t);
      assert.deepEqual(vals(t), [0, 3, 6]);
      t.mul_(0.5);
      assert.deepEqual(vals(t), [0, 1.5, 3]);
      assert.equal(t.copy_(f64([7])), t, 'copy_ broadcasts its source');
      assert.deepEqual(vals(t), [7, 7, 7]);
      t.copy_(tensor([1, 2, 3], 'int64'));
      assert.deepEqual(vals(t), [1, 2, 3], 'copy_ converts the dtype');
      assert.equal(t.dtype, 'float64');
      assert.equal(t.zero_(), t);
      assert.deepEqual(vals(t), [0, 0, 0]);
    }));
  test('addmm_ and baddbmm_: this ← β·this + α·product', () =>
    scope(() => {
      const a = f64([
        [1, 2],
        [3, 4],
      ]);
      const b = f64([
        [5, 6],
        [7, 8],
      ]);
      const c = ones([2, 2], 'float64');
      assert.equal(c.addmm_(a, b, 2, 1), c);
      assert.deepEqual(vals(c), [21, 24, 45, 52]);
      const d = ones([1, 2, 2], 'float64');
      d.baddbmm_(a.unsqueeze(0), b.unsqueeze(0), 0, 0.5);
      assert.deepEqual(vals(d), [9.5, 11, 21.5, 25]);
    }));
});
