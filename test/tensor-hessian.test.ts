// Second order by double backward: Hessian-vector products Hv = ∇⟨∇f(x), v⟩ agree
// with finite differences of gradients and with explicit Hessians; and the options
// of grad() (gradOutputs, retainGraph, allowUnused) and noGrad() behave as in PyTorch.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Generator,
  crossEntropy,
  eye,
  fromArray,
  grad,
  isGradEnabled,
  noGrad,
  randn,
  scope,
  stack,
  zeros,
  type Tensor,
} from '../src/tensor/index.js';
import { assertClose } from './support/tensor-check.js';

const gen = new Generator(31337);
const N = (...shape: number[]): Tensor => randn(shape, gen, 'float64');

type Fn = (x: Tensor) => Tensor;

/** ∇f(x), detached. */
const gradient = (f: Fn, x: Tensor): Tensor =>
  scope(() => {
    const xg = x.detach().clone().requiresGrad_();
    return grad(f(xg), [xg])[0].detach();
  });

/** H(x)·v by double backward. */
const hvp = (f: Fn, x: Tensor, v: Tensor): Tensor =>
  scope(() => {
    const xg = x.detach().clone().requiresGrad_();
    const [g] = grad(f(xg), [xg], { createGraph: true });
    return grad(g.mul(v).sum(), [xg])[0].detach();
  });

/** The Hessian, one column H e_i per Hessian-vector product. */
const hessianByColumns = (f: Fn, x: Tensor): Tensor =>
  scope(() => {
    const n = x.numel;
    const I = eye(n, 'float64');
    return stack(
      Array.from({ length: n }, (_, i) => hvp(f, x, I.select(0, i))),
      1,
    );
  });

// f(x) = (Σ_i tanh(Ax)_i)². With t = tanh(Ax), s = Σ t, ∇s = Aᵀ(1 − t²),
// ∇²s = Aᵀ diag(−2t(1 − t²)) A:  ∇²f = 2 ∇s ∇sᵀ + 2 s ∇²s.
const A = N(5, 4);
const squaredTanhSum: Fn = (x) => A.matmul(x).tanh().sum().square();
const squaredTanhSumHessian = (x: Tensor): Tensor =>
  scope(() => {
    const t = A.matmul(x).tanh();
    const s = t.sum();
    const ds = A.mT.matmul(t.square().neg().add(1));
    const curvature = t.mul(t.square().neg().add(1)).mul(-2);
    const d2s = A.mT.matmul(A.mul(curvature.unsqueeze(1)));
    return ds.unsqueeze(1).matmul(ds.unsqueeze(0)).mul(2).add(d2s.mul(s).mul(2));
  });

// log-sum-exp: ∇²f = diag(p) − p pᵀ, p = softmax(x).
const logSumExp: Fn = (x) => x.exp().sum().log();
const logSumExpHessian = (x: Tensor): Tensor =>
  scope(() => {
    const p = x.softmax(0);
    return eye(x.numel, 'float64')
      .mul(p.unsqueeze(0))
      .sub(p.unsqueeze(1).matmul(p.unsqueeze(0)));
  });

// A small network's training loss as a function of its flat parameter vector —
// what the flatness measures differentiate twice.
const X = N(8, 3);
const labels = fromArray(Int32Array.from([0, 1, 2, 0, 1, 2, 0, 1]));
const networkLoss: Fn = (w) => {
  const w1 = w.narrow(0, 0, 12).view([3, 4]);
  const w2 = w.narrow(0, 12, 12).view([4, 3]);
  return crossEntropy(X.matmul(w1).tanh().matmul(w2), labels);
};

const cases: [string, Fn, number, ((x: Tensor) => Tensor) | null][] = [
  ['(Σ tanh(Ax))²', squaredTanhSum, 4, squaredTanhSumHessian],
  ['log-sum-exp', logSumExp, 6, logSumExpHessian],
  ['two-layer network cross-entropy', networkLoss, 24, null],
];

for (const [name, f, n, exact] of cases) {
  describe(`Hessian of ${name}`, () => {
    test('Hv by double backward equals the central difference of gradients (∇f(x+hv) − ∇f(x−hv)) / 2h', () =>
      scope(() => {
        const h = 1e-5;
        for (let trial = 0; trial < 3; trial++) {
          const x = N(n).mul(0.5);
          const v = N(n);
          const fd = gradient(f, x.add(v.mul(h)))
            .sub(gradient(f, x.sub(v.mul(h))))
            .div(2 * h);
          assertClose(hvp(f, x, v).toArray(), fd.toArray(), 1e-6, 'Hv');
        }
      }));
    test('the Hessian built column by column is symmetric and reproduces every Hv', () =>
      scope(() => {
        const x = N(n).mul(0.5);
        const H = hessianByColumns(f, x);
        assert.deepEqual(H.shape, [n, n]);
        assertClose(H.toArray(), H.mT.contiguous().toArray(), 1e-10, 'H − Hᵀ');
        const v = N(n);
        assertClose(H.matmul(v).toArray(), hvp(f, x, v).toArray(), 1e-10, 'H·v');
        if (exact) assertClose(H.toArray(), exact(x).toArray(), 1e-10, 'H against the closed form');
      }));
  });
}

describe('grad() options', () => {
  test('gradOutputs gives the vector-Jacobian product uᵀJ', () =>
    scope(() => {
      const x = N(4).requiresGrad_();
      const u = N(5);
      const y = A.matmul(x).tanh();
      const [vjp] = grad(y, [x], { gradOutputs: [u] });
      const expected = A.mT.matmul(u.mul(y.detach().square().neg().add(1)));
      assertClose(vjp.toArray(), expected.toArray(), 1e-12, 'uᵀJ');
    }));
  test('several outputs and inputs: gradients of the sum of the outputs', () =>
    scope(() => {
      const a = N(3).requiresGrad_();
      const b = N(3).requiresGrad_();
      const [ga, gb] = grad([a.mul(b).sum(), a.square().sum()], [a, b]);
      assertClose(ga.toArray(), b.add(a.mul(2)).toArray(), 1e-12, '∂/∂a');
      assertClose(gb.toArray(), a.toArray(), 1e-12, '∂/∂b');
    }));
  test('the graph is freed after grad() unless retainGraph', () =>
    scope(() => {
      const x = N(3).requiresGrad_();
      const y = x.exp().sum();
      const [g1] = grad(y, [x], { retainGraph: true });
      const [g2] = grad(y, [x]);
      assertClose(g1.toArray(), g2.toArray(), 0);
      assert.throws(() => grad(y, [x]), /backward through the graph a second time/);
    }));
  test('an unused input is an Error, or null with allowUnused', () =>
    scope(() => {
      const x = N(3).requiresGrad_();
      const unused = N(3).requiresGrad_();
      const y = x.square().sum();
      assert.throws(() => grad(y, [x, unused], { retainGraph: true }), /not have been used in the graph/);
      const [gx, gu] = grad(y, [x, unused], { allowUnused: true });
      assert.ok(gx !== null);
      assert.equal(gu, null);
    }));
  test('a gradient without createGraph is a constant; with it, it requires grad', () =>
    scope(() => {
      const x = N(3).requiresGrad_();
      assert.equal(grad(x.pow(3).sum(), [x])[0].requiresGrad, false);
      assert.equal(grad(x.pow(3).sum(), [x], { createGraph: true })[0].requiresGrad, true);
    }));
  test('lazy zeros from autograd read out as zeros: the second derivative of |x| (it crashed toArray once)', () =>
    scope(() => {
      const x = N(5).requiresGrad_();
      const [g] = grad(x.abs().sum(), [x], { createGraph: true });
      const [h] = grad(g.mul(N(5)).sum(), [x]);
      assert.deepEqual(h.toNumbers(), [0, 0, 0, 0, 0]);
      assert.equal(h.sum().item(), 0);
      assert.deepEqual(h.add(1).toNumbers(), [1, 1, 1, 1, 1]);
    }));
  test('third derivative by triple backward: d³/dx³ Σ x⁴ = 24x', () =>
    scope(() => {
      const x = N(3).requiresGrad_();
      const [g] = grad(x.pow(4).sum(), [x], { createGraph: true });
      const [h] = grad(g.sum(), [x], { createGraph: true });
      const [t] = grad(h.sum(), [x]);
      assertClose(t.toArray(), x.mul(24).toArray(), 1e-12, '24x');
    }));
});

describe('noGrad', () => {
  test('records nothing inside, restores the mode after, even when fn throws', () =>
    scope(() => {
      const x = N(3).requiresGrad_();
      assert.equal(isGradEnabled(), true);
      const y = noGrad(() => {
        assert.equal(isGradEnabled(), false);
        return x.mul(2);
      });
      assert.equal(y.requiresGrad, false);
      assert.equal(isGradEnabled(), true);
      assert.throws(
        () =>
          noGrad(() => {
            throw new Error('inside');
          }),
        /inside/,
      );
      assert.equal(isGradEnabled(), true);
      assert.equal(x.mul(2).requiresGrad, true);
    }));
  test('nested noGrad keeps recording off until the outermost returns', () =>
    scope(() => {
      noGrad(() => {
        noGrad(() => assert.equal(isGradEnabled(), false));
        assert.equal(isGradEnabled(), false);
      });
      assert.equal(isGradEnabled(), true);
    }));
  test('grad() of a graph recorded outside works when called inside noGrad', () =>
    scope(() => {
      const x = N(3).requiresGrad_();
      const y = x.square().sum();
      const [g] = noGrad(() => grad(y, [x]));
      assertClose(g.toArray(), x.mul(2).toArray(), 1e-12);
    }));
  test('parameter updates in noGrad leave leaves as leaves (an SGD step)', () =>
    scope(() => {
      const w = zeros([3], 'float64').requiresGrad_();
      const target = N(3);
      for (let step = 0; step < 200; step++) {
        scope(() => {
          const [g] = grad(w.sub(target).square().sum(), [w]);
          noGrad(() => w.add_(g, -0.1));
        });
      }
      assert.equal(w.requiresGrad, true);
      assertClose(w.toArray(), target.toArray(), 1e-10, 'w after gradient descent');
    }));
});
