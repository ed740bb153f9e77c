/*
 * The discrete Lyapunov equation of a stable linear recursion x_n = F x_{n−1} + noise
 * (noise covariance Q):
 *
 *   C = F C Fᵀ + Q,   C = Σ_{j≥0} F^j Q (F^j)ᵀ   (converges iff ρ(F) < 1)
 *
 * solved by doubling (Smith's accelerated iteration): C_0 = Q, F_0 = F,
 *   C_{i+1} = C_i + F_i C_i F_iᵀ,   F_{i+1} = F_i²,
 * so C_i sums the first 2^i terms — i ≈ log2(log ε / log ρ) matrix products,
 * instead of the O(1/(1−ρ)) steps of plain iteration. Float64, matmuls only.
 */
import { eigvals, scope, type Tensor } from '../tensor/index.js';
import { UserError } from '../errors.js';

/** ρ(F): the largest eigenvalue modulus of a square matrix. */
export function spectralRadius(F: Tensor): number {
  return scope(() => {
    const { real, imag } = eigvals(F);
    return real.square().add(imag.square()).sqrt().amax().item();
  });
}

export interface LyapunovOptions {
  /** Stop when the last doubling added less than tol (relative, Frobenius). */
  tol?: number;
  maxIterations?: number;
  /** A name for the recursion in the error raised when ρ(F) ≥ 1. */
  what?: string;
}

/** Throws a UserError naming ρ(F) unless the recursion is stable; returns ρ(F). F may be given by its ρ(F). */
export function requireStable(F: Tensor | number, what = 'the recursion'): number {
  const rho = typeof F === 'number' ? F : spectralRadius(F);
  if (!(rho < 1)) {
    throw new UserError(
      `${what} is unstable: ρ(F) = ${rho.toPrecision(6)} ≥ 1, so no steady state exists; take a smaller step size μ (or check that the Hessians are positive definite)`,
    );
  }
  return rho;
}

/**
 * The solution C of C = F C Fᵀ + Q. Q may carry leading batch dimensions ([..., n, n]):
 * one equation per batch entry, all with the same F.
 */
export function solveDiscreteLyapunov(F: Tensor, Q: Tensor, o: LyapunovOptions = {}): Tensor {
  const tol = o.tol ?? 1e-15;
  const maxIterations = o.maxIterations ?? 64;
  requireStable(F, o.what);
  return scope(() => {
    let C = Q;
    let Fi = F;
    for (let i = 0; i < maxIterations; i++) {
      const added = Fi.matmul(C).matmul(Fi.mT);
      C = C.add(added);
      const size = C.norm().item();
      if (added.norm().item() <= tol * size || size === 0) return C.add(C.mT).mul(0.5);
      Fi = Fi.matmul(Fi);
    }
    throw new UserError(
      `${o.what ?? 'the recursion'}: the Lyapunov doubling did not converge in ${maxIterations} iterations (ρ(F) too close to 1)`,
    );
  });
}
