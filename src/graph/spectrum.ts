// Spectral analysis of a combination matrix, in float64 through libtorch's linalg.
//
//   Perron vector p:  A p = p, 1ᵀp = 1, p > 0 (p = 1/K when A is doubly stochastic)
//   mixing rate:      λ = ρ(A − p1ᵀ) — how fast A^n approaches p1ᵀ; spectral gap 1 − λ
import { eigvals, scope, solve, tensor, type Tensor } from '../tensor/index.js';
import { UserError } from '../errors.js';
import type { Matrix } from './matrix.js';
import { columnSumTolerance } from './validate.js';

const asTensor = (A: Matrix): Tensor => tensor(A, 'float64');

/** ρ(M): the largest eigenvalue modulus of a square float64 tensor. */
const spectralRadius = (M: Tensor): number =>
  scope(() => {
    const { real, imag } = eigvals(M);
    return real.square().add(imag.square()).sqrt().amax().item();
  });

/**
 * The Perron vector: 1/K exactly when A is doubly stochastic (so equal matrices give equal
 * weights to the last bit, however they were made); otherwise solves (A − I)p = 0 with
 * 1ᵀp = 1 by replacing the last (redundant, since 1ᵀ(A − I) = 0) equation with the normalization.
 */
export function perronVector(A: Matrix): number[] {
  const K = A.length;
  if (isDoublyStochastic(A)) return new Array<number>(K).fill(1 / K);
  const system = A.map((row, l) =>
    l === K - 1 ? new Array<number>(K).fill(1) : row.map((a, k) => a - (l === k ? 1 : 0)),
  );
  const rhs = Array.from({ length: K }, (_, l) => [l === K - 1 ? 1 : 0]);
  try {
    return scope(() => solve(asTensor(system), asTensor(rhs)).toNumbers());
  } catch (e) {
    throw new UserError(
      `the combination matrix has no unique Perron vector (its graph is disconnected?): ${(e as Error).message.split('\n')[0]}`,
    );
  }
}

/** λ = ρ(A − p1ᵀ), p the Perron vector (computed when not given). */
export function mixingRate(A: Matrix, p: number[] = perronVector(A)): number {
  return scope(() => spectralRadius(asTensor(A.map((row, l) => row.map((a) => a - p[l])))));
}

/**
 * The per-step mixing rate of a time-varying sequence A_0, …, A_{τ−1} repeated periodically:
 * λ = ρ(Φ − p1ᵀ)^{1/τ}, Φ = A_0 A_1 ⋯ A_{τ−1} the product over one period and p its Perron vector.
 */
export function periodicMixingRate(As: Matrix[]): number {
  if (As.length === 0) throw new UserError('a time-varying combination needs at least one matrix per period');
  const product = scope(() =>
    As.slice(1)
      .reduce((P, A) => P.matmul(asTensor(A)), asTensor(As[0]))
      .toNumbers(),
  );
  const K = As[0].length;
  const Phi = Array.from({ length: K }, (_, l) => product.slice(l * K, (l + 1) * K));
  const rho = mixingRate(Phi);
  // Below round-off Φ is exactly p1ᵀ; the τ-th root would blow the noise up to ~1e-6.
  return rho < 1e-12 ? 0 : rho ** (1 / As.length);
}

/** Columns sum to one (Aᵀ1 = 1) and no entry is negative. */
export function isLeftStochastic(A: Matrix, tol = columnSumTolerance): boolean {
  return (
    A.every((row) => row.every((a) => a >= 0)) &&
    A.every((_, k) => Math.abs(A.reduce((s, row) => s + row[k], 0) - 1) <= tol)
  );
}

/** Left-stochastic and rows summing to one as well (A1 = 1). */
export function isDoublyStochastic(A: Matrix, tol = columnSumTolerance): boolean {
  return isLeftStochastic(A, tol) && A.every((row) => Math.abs(row.reduce((s, a) => s + a, 0) - 1) <= tol);
}

export const isSymmetric = (A: Matrix, tol = 0): boolean =>
  A.every((row, l) => row.every((a, k) => Math.abs(a - A[k][l]) <= tol));

export interface Spectrum {
  perron: number[];
  lambda: number;
  spectralGap: number;
  leftStochastic: boolean;
  doublyStochastic: boolean;
  symmetric: boolean;
}

export function spectrum(A: Matrix): Spectrum {
  const perron = perronVector(A);
  const lambda = mixingRate(A, perron);
  return {
    perron,
    lambda,
    spectralGap: 1 - lambda,
    leftStochastic: isLeftStochastic(A),
    doublyStochastic: isDoublyStochastic(A),
    symmetric: isSymmetric(A),
  };
}
