// Every differentiable operation of the binding: its autograd gradient equals
// central finite differences in float64 (gradCheck), and so does its second
// derivative by double backward — what Hessian-vector products rest on — against
// differences of gradients (hvpCheck); inputs drawn at random away from kinks and ties.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Generator,
  addmm,
  avgPool2d,
  baddbmm,
  arange,
  cat,
  chunk,
  cholesky,
  conv2d,
  crossEntropy,
  eigh,
  eigvals,
  eye,
  fromArray,
  grad,
  groupNorm,
  inverse,
  kron,
  maxPool2d,
  mseLoss,
  nllLoss,
  randn,
  rand,
  scope,
  solve,
  stack,
  tensor,
  where,
  type Tensor,
} from '../src/tensor/index.js';
import { assertClose, gradCheck, hvpCheck } from './support/tensor-check.js';

const gen = new Generator(20240611);
/** Standard normal, float64. */
const N = (...shape: number[]): Tensor => randn(shape, gen, 'float64');
/** Uniform in [lo, hi), float64. */
const U = (lo: number, hi: number, ...shape: number[]): Tensor =>
  rand(shape, gen, 'float64')
    .mul(hi - lo)
    .add(lo);
const idx = (...v: number[]): Tensor => fromArray(Int32Array.from(v));
const check = (name: string, f: (...xs: Tensor[]) => Tensor, inputs: () => Tensor[]): void => {
  test(name, () =>
    scope(() => {
      const xs = inputs();
      gradCheck(f, xs);
      hvpCheck(f, xs);
    }),
  );
};

describe('elementwise arithmetic, with broadcasting', () => {
  check(
    'add (tensor, broadcast [3,1] + [1,4])',
    (a, b) => a.add(b),
    () => [N(3, 1), N(1, 4)],
  );
  check(
    'add (scalar)',
    (a) => a.add(2.5),
    () => [N(2, 3)],
  );
  check(
    'sub (tensor, broadcast)',
    (a, b) => a.sub(b),
    () => [N(2, 3), N(3)],
  );
  check(
    'sub (scalar)',
    (a) => a.sub(-1.5),
    () => [N(4)],
  );
  check(
    'mul (tensor, broadcast)',
    (a, b) => a.mul(b),
    () => [N(2, 1, 3), N(4, 1)],
  );
  check(
    'mul (scalar)',
    (a) => a.mul(-3),
    () => [N(5)],
  );
  check(
    'div (tensor)',
    (a, b) => a.div(b),
    () => [N(2, 3), U(0.5, 2, 2, 3)],
  );
  check(
    'div (scalar)',
    (a) => a.div(0.7),
    () => [N(5)],
  );
  check(
    'pow (tensor exponent, positive base)',
    (a, b) => a.pow(b),
    () => [U(0.5, 2, 2, 3), N(2, 3)],
  );
  check(
    'pow (scalar exponent)',
    (a) => a.pow(3),
    () => [N(5)],
  );
  check(
    'pow (fractional exponent)',
    (a) => a.pow(1.5),
    () => [U(0.5, 2, 5)],
  );
  check(
    'maximum (tensor)',
    (a, b) => a.maximum(b),
    () => [N(6), N(6)],
  );
  check(
    'maximum (scalar)',
    (a) => a.maximum(0.1),
    () => [N(6)],
  );
  check(
    'minimum (tensor)',
    (a, b) => a.minimum(b),
    () => [N(6), N(6)],
  );
  check(
    'minimum (scalar)',
    (a) => a.minimum(-0.1),
    () => [N(6)],
  );
  check(
    'neg',
    (a) => a.neg(),
    () => [N(4)],
  );
  check(
    'exp',
    (a) => a.exp(),
    () => [N(2, 3)],
  );
  check(
    'log',
    (a) => a.log(),
    () => [U(0.2, 3, 2, 3)],
  );
  check(
    'sqrt',
    (a) => a.sqrt(),
    () => [U(0.2, 3, 2, 3)],
  );
  check(
    'abs',
    (a) => a.abs(),
    () => [N(6)],
  );
  check(
    'sign (zero gradient)',
    (a) => a.sign().mul(a),
    () => [N(6)],
  );
  check(
    'square',
    (a) => a.square(),
    () => [N(6)],
  );
  check(
    'sin',
    (a) => a.sin(),
    () => [N(6)],
  );
  check(
    'cos',
    (a) => a.cos(),
    () => [N(6)],
  );
  check(
    'clamp (both bounds)',
    (a) => a.clamp(-0.5, 0.5),
    () => [N(8)],
  );
  check(
    'clamp (min only)',
    (a) => a.clamp(0.2),
    () => [N(8)],
  );
  check(
    'clamp (max only)',
    (a) => a.clamp(null, -0.2),
    () => [N(8)],
  );
  test('where', () =>
    scope(() => {
      const cond = N(3, 4).gt(0);
      gradCheck((a, b) => where(cond, a, b), [N(3, 4), N(3, 4)]);
      hvpCheck((a, b) => where(cond, a, b).square(), [N(3, 4), N(3, 4)]);
    }));
});

describe('activations and losses', () => {
  check(
    'relu',
    (a) => a.relu(),
    () => [N(8)],
  );
  check(
    'tanh',
    (a) => a.tanh(),
    () => [N(8)],
  );
  check(
    'sigmoid',
    (a) => a.sigmoid(),
    () => [N(8)],
  );
  check(
    'gelu',
    (a) => a.gelu(),
    () => [N(8)],
  );
  check(
    'softplus',
    (a) => a.softplus(),
    () => [N(8)],
  );
  check(
    'logSoftmax (dim 1)',
    (a) => a.logSoftmax(1),
    () => [N(3, 4)],
  );
  check(
    'logSoftmax (dim 0)',
    (a) => a.logSoftmax(0),
    () => [N(3, 4)],
  );
  check(
    'softmax (dim -1)',
    (a) => a.softmax(-1),
    () => [N(3, 4)],
  );
  for (const reduction of ['mean', 'sum', 'none'] as const) {
    check(
      `crossEntropy (${reduction})`,
      (z) => crossEntropy(z, idx(2, 0, 3, 1, 2), reduction),
      () => [N(5, 4)],
    );
    check(
      `nllLoss (${reduction})`,
      (z) => nllLoss(z, idx(2, 0, 3, 1, 2), reduction),
      () => [N(5, 4)],
    );
    check(
      `mseLoss (${reduction})`,
      (a, b) => mseLoss(a, b, reduction),
      () => [N(3, 2), N(3, 2)],
    );
  }
});

describe('convolution, pooling, normalization', () => {
  check(
    'conv2d (bias, stride 1, no padding)',
    (x, w, b) => conv2d(x, w, { bias: b }),
    () => [N(2, 2, 4, 4), N(3, 2, 2, 2), N(3)],
  );
  check(
    'conv2d (stride 2, padding 1)',
    (x, w) => conv2d(x, w, { stride: 2, padding: 1 }),
    () => [N(1, 2, 5, 5), N(2, 2, 3, 3)],
  );
  check(
    'conv2d (groups 2, rectangular stride and padding)',
    (x, w, b) => conv2d(x, w, { bias: b, groups: 2, stride: [1, 2], padding: [1, 0] }),
    () => [N(1, 4, 4, 5), N(4, 2, 3, 2), N(4)],
  );
  check(
    'maxPool2d (kernel 2)',
    (x) => maxPool2d(x, 2),
    () => [N(1, 2, 4, 4)],
  );
  check(
    'maxPool2d (kernel 3, stride 2, padding 1)',
    (x) => maxPool2d(x, 3, { stride: 2, padding: 1 }),
    () => [N(2, 1, 5, 5)],
  );
  check(
    'avgPool2d (kernel 2)',
    (x) => avgPool2d(x, 2),
    () => [N(1, 2, 4, 4)],
  );
  check(
    'avgPool2d (kernel [2,3], stride 1, padding [1,1])',
    (x) => avgPool2d(x, [2, 3], { stride: 1, padding: [1, 1] }),
    () => [N(1, 1, 4, 5)],
  );
  check(
    'groupNorm (affine)',
    (x, w, b) => groupNorm(x, 2, w, b),
    () => [N(2, 4, 3), N(4), N(4)],
  );
  check(
    'groupNorm (no affine, on [N, C, H, W])',
    (x) => groupNorm(x, 3, null, null),
    () => [N(2, 3, 2, 2)],
  );
});

describe('linear algebra', () => {
  check(
    'matmul (matrix × matrix)',
    (a, b) => a.matmul(b),
    () => [N(2, 3), N(3, 4)],
  );
  check(
    'matmul (batched × matrix, broadcast)',
    (a, b) => a.matmul(b),
    () => [N(2, 3, 4), N(4, 2)],
  );
  check(
    'matmul (matrix × vector)',
    (a, b) => a.matmul(b),
    () => [N(3, 4), N(4)],
  );
  check(
    'mm',
    (a, b) => a.mm(b),
    () => [N(2, 3), N(3, 4)],
  );
  check(
    'bmm',
    (a, b) => a.bmm(b),
    () => [N(2, 2, 3), N(2, 3, 2)],
  );
  check(
    'baddbmm (β = 0.5, α = −2)',
    (c, a, b) => baddbmm(c, a, b, 0.5, -2),
    () => [N(2, 2, 2), N(2, 2, 3), N(2, 3, 2)],
  );
  check(
    'addmm (β = 2, α = 0.3, broadcast bias)',
    (c, a, b) => addmm(c, a, b, 2, 0.3),
    () => [N(4), N(3, 2), N(2, 4)],
  );
  check(
    'kron',
    (a, b) => kron(a, b),
    () => [N(2, 2), N(2, 3)],
  );
  check(
    'dot',
    (a, b) => a.dot(b),
    () => [N(5), N(5)],
  );
  check(
    'trace',
    (a) => a.trace(),
    () => [N(3, 3)],
  );
  check(
    'solve (matrix right-hand side)',
    (a, b) => solve(a, b),
    () => [eye(3, 'float64').mul(3).add(N(3, 3)), N(3, 2)],
  );
  check(
    'inverse',
    (a) => inverse(a),
    () => [eye(3, 'float64').mul(3).add(N(3, 3))],
  );
  // Factorizations read one triangle or assume symmetry: differentiate through a
  // symmetric (positive definite) parametrization so every perturbation is admissible.
  check(
    'cholesky of X Xᵀ + I',
    (x) => cholesky(x.matmul(x.mT).add(eye(3, 'float64'))),
    () => [N(3, 3)],
  );
  check(
    'eigh of (X + Xᵀ)/2: eigenvalues and squared eigenvectors',
    (x) => {
      const { values, vectors } = eigh(x.add(x.mT).mul(0.5));
      return cat([values, vectors.square().flatten()]);
    },
    () => [N(4, 4)],
  );
  // Symmetric functions of the spectrum, so the order eigvals lists them in is immaterial.
  check(
    'eigvals: Σ Re λ³ and Σ (Im λ)²',
    (x) => {
      const { real, imag } = eigvals(x);
      return stack([real.pow(3).sum(), imag.square().sum()]);
    },
    () => [N(4, 4)],
  );
});

describe('reductions', () => {
  check(
    'sum (all)',
    (a) => a.sum(),
    () => [N(2, 3)],
  );
  check(
    'sum (dims [0, 2], keepdim)',
    (a) => a.sum([0, 2], true),
    () => [N(2, 3, 2)],
  );
  check(
    'mean (all)',
    (a) => a.mean(),
    () => [N(2, 3)],
  );
  check(
    'mean (dim 1)',
    (a) => a.mean(1),
    () => [N(2, 3)],
  );
  check(
    'amax (dim 1)',
    (a) => a.amax(1),
    () => [N(3, 4)],
  );
  check(
    'amax (all)',
    (a) => a.amax(),
    () => [N(3, 4)],
  );
  check(
    'amin (dim 0, keepdim)',
    (a) => a.amin(0, true),
    () => [N(3, 4)],
  );
  check(
    'max (values along dim 1)',
    (a) => a.max(1).values,
    () => [N(3, 4)],
  );
  check(
    'norm (p = 2, all)',
    (a) => a.norm(),
    () => [N(2, 3)],
  );
  check(
    'norm (p = 1, dim 1)',
    (a) => a.norm(1, 1),
    () => [N(2, 3)],
  );
  check(
    'norm (p = 3, dim 0, keepdim)',
    (a) => a.norm(3, 0, true),
    () => [N(2, 3)],
  );
  check(
    'var (unbiased, all)',
    (a) => a.var(),
    () => [N(2, 3)],
  );
  check(
    'var (biased, dim 1, keepdim)',
    (a) => a.var(1, false, true),
    () => [N(2, 3)],
  );
});

describe('shape and indexing', () => {
  check(
    'reshape',
    (a) =>
      a.reshape([3, 2]).mul(
        tensor(
          [
            [1, 2],
            [3, 4],
            [5, 6],
          ],
          'float64',
        ),
      ),
    () => [N(2, 3)],
  );
  check(
    'view',
    (a) => a.view([6]),
    () => [N(2, 3)],
  );
  check(
    'permute',
    (a) => a.permute([2, 0, 1]),
    () => [N(2, 3, 2)],
  );
  check(
    'transpose then contiguous',
    (a) => a.transpose(0, 1).contiguous(),
    () => [N(2, 3)],
  );
  check(
    'narrow',
    (a) => a.narrow(1, 1, 2),
    () => [N(3, 4)],
  );
  check(
    'select',
    (a) => a.select(0, 1),
    () => [N(3, 4)],
  );
  check(
    'indexSelect (repeated indices accumulate)',
    (a) => a.indexSelect(0, idx(2, 0, 2, 2)),
    () => [N(3, 2)],
  );
  check(
    'gather (repeated indices accumulate)',
    (a) => a.gather(1, fromArray(Int32Array.from([0, 0, 2, 1, 1, 1]), [2, 3])),
    () => [N(2, 3)],
  );
  check(
    'cat (dim 1)',
    (a, b) => cat([a, b], 1),
    () => [N(2, 1), N(2, 3)],
  );
  check(
    'stack (dim 1)',
    (a, b) => stack([a, b], 1),
    () => [N(2, 3), N(2, 3)],
  );
  check(
    'expand (gradient sums over the expanded dimension)',
    (a) => a.expand([3, 4]),
    () => [N(3, 1)],
  );
  check(
    'repeat',
    (a) => a.repeat([2, 3]),
    () => [N(2, 2)],
  );
  check(
    'unsqueeze',
    (a) => a.unsqueeze(1),
    () => [N(3)],
  );
  check(
    'squeeze',
    (a) => a.squeeze(1),
    () => [N(3, 1)],
  );
  check(
    'clone',
    (a) => a.clone(),
    () => [N(3)],
  );
  check(
    'mT',
    (a) => a.mT,
    () => [N(2, 3)],
  );
  check(
    'flatten',
    (a) => a.flatten(),
    () => [N(2, 3)],
  );
  check(
    'to (float64 → float64)',
    (a) => a.to('float64'),
    () => [N(3)],
  );
  test('to (float64 → float32) passes the gradient back in float64', () =>
    scope(() => {
      const x = N(4).requiresGrad_();
      const c = N(4);
      const [g] = grad(x.to('float32').mul(c.to('float32')).sum(), [x]);
      assert.equal(g.dtype, 'float64');
      assertClose(g.toArray(), c.to('float32').to('float64').toArray(), 0);
    }));
  test('detach cuts the graph', () =>
    scope(() => {
      const x = N(3).requiresGrad_();
      const d = x.detach();
      assert.equal(d.requiresGrad, false);
      const [g] = grad(x.mul(d).sum(), [x]);
      assertClose(g.toArray(), x.toArray(), 0);
    }));
});

// Autograd records in-place updates of intermediate tensors; the gradient through
// them must match finite differences too.
describe('in-place operations inside a graph', () => {
  check(
    'add_ (tensor, alpha)',
    (x, z) => x.mul(1).add_(z, -2).square(),
    () => [N(4), N(4)],
  );
  check(
    'add_ (scalar)',
    (x) => x.mul(1).add_(0.5).square(),
    () => [N(4)],
  );
  check(
    'mul_ (tensor)',
    (x, z) => x.sin().mul_(z),
    () => [N(4), N(4)],
  );
  check(
    'mul_ (scalar)',
    (x) => x.sin().mul_(3),
    () => [N(4)],
  );
  check(
    'copy_',
    (x, z) => x.mul(1).copy_(z.square()),
    () => [N(4), N(4)],
  );
  check(
    'zero_ then add_',
    (x, z) => x.mul(1).zero_().add_(z),
    () => [N(4), N(4)],
  );
  check(
    'addmm_',
    (c, a, b) => c.mul(1).addmm_(a, b, 0.5, 2),
    () => [N(2, 2), N(2, 3), N(3, 2)],
  );
  check(
    'baddbmm_',
    (c, a, b) => c.mul(1).baddbmm_(a, b, -1, 0.5),
    () => [N(2, 2, 2), N(2, 2, 3), N(2, 3, 2)],
  );
});

test('a composite: two-layer network with cross-entropy, gradients of every parameter', () =>
  scope(() => {
    const x = N(6, 4);
    const y = idx(0, 1, 2, 0, 1, 2);
    const net = (w1: Tensor, b1: Tensor, w2: Tensor, b2: Tensor): Tensor =>
      crossEntropy(addmm(b1, x, w1).tanh().matmul(w2).add(b2), y);
    const params = [N(4, 5), N(5), N(5, 3), N(3)];
    gradCheck(net, params);
    hvpCheck(net, params);
  }));

test('chunk: equal views along a dimension, whose gradients are put back in place', () =>
  scope(() => {
    const x = arange(0, 24, 1, 'float64').reshape([2, 12]).requiresGrad_();
    const parts = chunk(x, 3, 1);
    assert.deepEqual(
      parts.map((p) => p.shape),
      [
        [2, 4],
        [2, 4],
        [2, 4],
      ],
    );
    parts.forEach((p, k) => assert.deepEqual(p.toNumbers(), x.narrow(1, 4 * k, 4).toNumbers()));
    const [g] = grad(
      parts.map((p, k) => p.mul(k + 1).sum()).reduce((a, b) => a.add(b)),
      [x],
    );
    assert.deepEqual(
      g.toNumbers(),
      [0, 1].flatMap(() => [1, 2, 3].flatMap((k) => [k, k, k, k])),
    );
  }));
