// Numerical checks shared by the tensor tests: autograd against central finite
// differences in float64, and closeness of arrays.
import assert from 'node:assert/strict';
import { Generator, fromArray, grad, noGrad, randn, scope, type Tensor } from '../../src/tensor/index.js';

/** Asserts |actual_i − expected_i| ≤ tol·max(1, |expected_i|) for every i. */
export function assertClose(
  actual: ArrayLike<number | bigint>,
  expected: ArrayLike<number | bigint>,
  tol = 1e-6,
  what = 'values',
): void {
  assert.equal(actual.length, expected.length, `${what}: length ${actual.length} ≠ ${expected.length}`);
  for (let i = 0; i < actual.length; i++) {
    const a = Number(actual[i]);
    const e = Number(expected[i]);
    const ok = Math.abs(a - e) <= tol * Math.max(1, Math.abs(e)) || (Number.isNaN(a) && Number.isNaN(e)) || a === e;
    assert.ok(ok, `${what}[${i}]: got ${a}, expected ${e} (tol ${tol})`);
  }
}

/** The elements of a tensor as plain numbers. */
export const numbers = (t: Tensor): number[] => t.toNumbers();

export interface GradCheckOptions {
  /** Finite-difference step. */
  h?: number;
  /** Relative tolerance (absolute below magnitude 1). */
  tol?: number;
  /** Seed of the random projection. */
  seed?: number;
}

/**
 * Checks the gradients autograd gives for L(x_1..x_n) = ⟨P, f(x_1..x_n)⟩, P a fixed
 * random projection of f's output, against central differences
 * (L(x + h e_i) − L(x − h e_i)) / 2h for every element of every input.
 * Inputs must be float64; they are copied, never modified.
 */
export function gradCheck(f: (...xs: Tensor[]) => Tensor, inputs: Tensor[], o: GradCheckOptions = {}): void {
  const h = o.h ?? 1e-6;
  const tol = o.tol ?? 1e-6;
  scope(() => {
    for (const x of inputs) assert.equal(x.dtype, 'float64', 'gradCheck needs float64 inputs');
    const leaves = inputs.map((x) => x.detach().clone().requiresGrad_());
    const out = f(...leaves);
    const P = randn(out.shape, new Generator(o.seed ?? 1234), 'float64');
    const grads = grad(out.mul(P).sum(), leaves);
    const bases = inputs.map((x) => Float64Array.from(x.toArray() as Float64Array));
    // L at the inputs with input k replaced by the given elements.
    const L = (k: number, elements: Float64Array): number =>
      scope(() =>
        noGrad(() =>
          f(...inputs.map((x, j) => (j === k ? fromArray(elements, x.shape) : x)))
            .mul(P)
            .sum()
            .item(),
        ),
      );
    bases.forEach((base, k) => {
      const g = grads[k].toArray();
      assert.deepEqual(grads[k].shape, inputs[k].shape, `gradient ${k} has the input's shape`);
      for (let i = 0; i < base.length; i++) {
        const plus = base.slice();
        const minus = base.slice();
        plus[i] += h;
        minus[i] -= h;
        const fd = (L(k, plus) - L(k, minus)) / (2 * h);
        const ag = Number(g[i]);
        assert.ok(
          Math.abs(ag - fd) <= tol * Math.max(1, Math.abs(fd)),
          `input ${k}, element ${i}: autograd ${ag}, finite difference ${fd}`,
        );
      }
    });
  });
}

/**
 * Checks second derivatives by double backward: for L = ⟨P, f(x)⟩ and a random
 * direction v over all inputs, Hv = ∇⟨∇L, v⟩ (grad with createGraph, then grad
 * again) against the central difference of gradients (∇L(x + hv) − ∇L(x − hv)) / 2h.
 * A gradient that does not depend on the inputs (a linear f) stands for Hv = 0.
 */
export function hvpCheck(f: (...xs: Tensor[]) => Tensor, inputs: Tensor[], o: GradCheckOptions = {}): void {
  const h = o.h ?? 1e-5;
  const tol = o.tol ?? 1e-6;
  scope(() => {
    const gen = new Generator(o.seed ?? 4321);
    const P = scope(() => randn(noGrad(() => f(...inputs)).shape, gen, 'float64'));
    const v = inputs.map((x) => randn(x.shape, gen, 'float64'));
    const gradients = (xs: Tensor[], createGraph: boolean): Tensor[] => {
      const leaves = xs.map((x) => x.detach().clone().requiresGrad_());
      return [
        ...leaves,
        ...grad(
          f(...leaves)
            .mul(P)
            .sum(),
          leaves,
          { createGraph },
        ),
      ];
    };
    const lg = gradients(inputs, true);
    const leaves = lg.slice(0, inputs.length);
    const g = lg.slice(inputs.length);
    const dependent = g
      .map((gi, i) => (gi.requiresGrad ? gi.mul(v[i]).sum() : null))
      .filter((t): t is Tensor => t !== null);
    const hv =
      dependent.length === 0
        ? inputs.map(() => null)
        : grad(
            dependent.reduce((a, b) => a.add(b)),
            leaves,
            { allowUnused: true },
          );
    const shifted = (sign: number): Tensor[] =>
      gradients(
        inputs.map((x, i) => x.add(v[i].mul(sign * h))),
        false,
      ).slice(inputs.length);
    const plus = shifted(1);
    const minus = shifted(-1);
    inputs.forEach((x, i) => {
      const fd = plus[i]
        .sub(minus[i])
        .div(2 * h)
        .toArray();
      const ag = hv[i] === null ? new Float64Array(x.numel) : hv[i].toArray();
      for (let j = 0; j < fd.length; j++) {
        const a = Number(ag[j]);
        const d = Number(fd[j]);
        assert.ok(
          Math.abs(a - d) <= tol * Math.max(1, Math.abs(d)),
          `input ${i}, element ${j}: double backward ${a}, difference of gradients ${d}`,
        );
      }
    });
  });
}
