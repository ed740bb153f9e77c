// hvps: several Hessian-vector products from one forward and gradient graph per chunk equal
// central differences of the exact gradient along each v (float64), over chunks, with weight decay, and with a
// parameter the loss does not reach (its Hessian block is zero).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Generator, liveTensors, randn, scope, type Tensor } from '../src/tensor/index.js';
import { flat, gradient, hessianAt, hvp, hvps, meanObjective, type Objective } from '../src/measures/index.js';

const gen = new Generator(11);
const x = randn([10, 3], gen, 'float64');
const y = randn([10], gen, 'float64');

/** A two-layer tanh regression over 10 examples in chunks of 4, λ = 0.1; params[2] is never used by the data loss. */
function objective(): Objective {
  const data = meanObjective(10, 4, (start, length) => (p: Tensor[]) => {
    const h = x.narrow(0, start, length).mm(p[0]).tanh();
    return h
      .matmul(p[1])
      .sub(y.narrow(0, start, length))
      .square()
      .mean();
  });
  const decay = { weight: 0.05, loss: (p: Tensor[]) => p.map((t) => t.square().sum()).reduce((a, b) => a.add(b)) };
  return { terms: [...data.terms, decay] };
}

/** (∇J(w + εv) − ∇J(w − εv)) / 2ε, flat: H v to O(ε²). */
function centralDifference(obj: Objective, params: Tensor[], v: Tensor[], eps = 1e-5): Tensor {
  const at = (s: number) =>
    flat(
      gradient(
        obj,
        params.map((p, j) => p.add(v[j].mul(s * eps))),
      ),
    );
  return at(1)
    .sub(at(-1))
    .div(2 * eps);
}

test("hvps of five vectors: each is the gradient's central difference along v, and hvp one at a time; chunks and weight decay", () =>
  scope(() => {
    const obj = objective();
    const g = new Generator(12);
    const params = [randn([3, 4], g, 'float64'), randn([4], g, 'float64'), randn([2], g, 'float64')];
    const vs = Array.from({ length: 5 }, () => params.map((p) => randn(p.shape, g, 'float64')));
    const batched = hvps(obj, params, vs);
    vs.forEach((v, i) => {
      const fd = centralDifference(obj, params, v);
      const e = flat(batched[i]).sub(fd).abs().amax().item() / fd.abs().amax().item();
      assert.ok(e < 1e-8, `probe ${i} against finite differences: ${e}`);
      assert.ok(
        flat(batched[i])
          .sub(flat(hvp(obj, params, v)))
          .abs()
          .amax()
          .item() < 1e-12,
        `probe ${i} alone`,
      );
      // The unused parameter sees only the decay: H v = 0.1 v there.
      assert.ok(batched[i][2].sub(v[2].mul(0.1)).abs().amax().item() < 1e-14);
    });
  }));

test("hessianAt keeps each chunk's graph for later calls within its budget, and gives hvps's products bit for bit", () =>
  scope(() => {
    const g = new Generator(13);
    const params = [randn([3, 4], g, 'float64'), randn([4], g, 'float64'), randn([2], g, 'float64')];
    const vs = Array.from({ length: 3 }, () => params.map((p) => randn(p.shape, g, 'float64')));
    const expected = hvps(objective(), params, vs).map(flat);
    // Each data chunk's graph estimated at 100 bytes: a budget of 250 keeps two of the three (and the decay's, unestimated).
    const obj = objective();
    obj.terms.forEach((term) => {
      if (term.data) term.graphBytes = 100;
    });
    for (const budgetBytes of [0, 250, 1e9]) {
      const before = liveTensors().count;
      const h = hessianAt(obj, params, { budgetBytes });
      for (let call = 0; call < 3; call++) {
        const got = scope(() => h.apply([vs[call], vs[(call + 1) % 3]]).map((hv) => flat(hv).toNumbers()));
        got.forEach((row, i) =>
          assert.deepEqual(row, expected[(call + i) % 3].toNumbers(), `budget ${budgetBytes}, call ${call}`),
        );
        const perTerm = h.perTerm([vs[call]], (hv) => flat(hv[0]).toNumbers());
        const sum = perTerm.reduce((a, row) => a.map((x, j) => x + row[j]));
        sum.forEach((x, j) => assert.ok(Math.abs(x - expected[call].toNumbers()[j]) < 1e-12, 'the terms sum to J'));
      }
      assert.equal(h.heldBytes, budgetBytes === 0 ? 0 : budgetBytes === 250 ? 200 : 300);
      h.dispose();
      assert.equal(liveTensors().count, before, 'dispose frees the graphs kept');
    }
  }));
