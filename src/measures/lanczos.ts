// The Lanczos process with full reorthogonalization. From a start vector q_1 it
// builds an orthonormal basis Q_m of the Krylov space span{q_1, Hq_1, …, H^{m−1}q_1}
// in which H is tridiagonal:
//   H Q_m = Q_m T_m + β_m q_{m+1} e_mᵀ,   T_m = tridiag(β_{1..m−1}; α_{1..m}; β_{1..m−1}),
//   α_j = q_jᵀ H q_j,  β_j q_{j+1} = (I − Q_j Q_jᵀ) H q_j   (Gram–Schmidt twice, against all of Q_j).
// Eigenpairs (θ_i, s_i) of T_m are Ritz pairs of H with residual ‖H y_i − θ_i y_i‖ = β_m |s_i[m]|.
import { eigh, scope, stack, tensor, zeros, type Tensor } from '../tensor/index.js';

export interface Tridiagonal {
  /** Diagonal α_1..α_m. */
  alpha: number[];
  /** Off-diagonal β_1..β_{m−1}. */
  beta: number[];
  /** β_m, the norm of the part of H q_m outside the basis (0 when the Krylov space is invariant). */
  residual: number;
}

export interface RitzPairs {
  /** Ritz values θ_i, ascending. */
  values: number[];
  /** Squared first components s_i[1]², the Gauss quadrature weights for the start vector. */
  weights: number[];
  /** Residual bounds β_m |s_i[m]|, ascending with values. */
  residuals: number[];
}

/** T_m as a dense float64 matrix. */
const dense = (t: Tridiagonal): Tensor =>
  tensor(
    t.alpha.map((a, i) => t.alpha.map((_, j) => (i === j ? a : j === i + 1 ? t.beta[i] : i === j + 1 ? t.beta[j] : 0))),
    'float64',
  );

/** Eigen-decomposition of T_m (libtorch's eigh in float64) as Ritz values, quadrature weights and residuals. */
export function ritz(t: Tridiagonal): RitzPairs {
  return scope(() => {
    const m = t.alpha.length;
    const { values, vectors } = eigh(dense(t));
    return {
      values: values.toNumbers(),
      weights: vectors.select(0, 0).square().toNumbers(),
      residuals: vectors
        .select(0, m - 1)
        .abs()
        .mul(t.residual)
        .toNumbers(),
    };
  });
}

export interface LanczosOptions {
  /** At most this many steps (the Krylov dimension m); stops earlier if the space becomes invariant. */
  steps: number;
  /** Called after each step with T_j; returning true stops the process. */
  done?: (t: Tridiagonal) => boolean;
}

/** The Ritz vectors y_i = Q_m s_i as rows [m, M], in the order of ritz(t).values (ascending). */
export const ritzVectors = (t: Tridiagonal, basis: Tensor): Tensor =>
  scope(() => eigh(dense(t)).vectors.mT.to(basis.dtype).matmul(basis));

/** Lanczos from start (any nonzero flat vector; it is normalized) with H given as an operator on flat vectors. */
export const lanczos = (apply: (v: Tensor) => Tensor, start: Tensor, o: LanczosOptions): Tridiagonal =>
  scope(() => krylov(apply, start, o).t);

/** Lanczos keeping its basis Q_m, rows [m, M], for Ritz vectors. */
export function krylov(
  apply: (v: Tensor) => Tensor,
  start: Tensor,
  o: LanczosOptions,
): { t: Tridiagonal; basis: Tensor } {
  return scope(() => {
    const n = start.numel;
    const steps = Math.min(o.steps, n);
    const basis = zeros([steps, n], start.dtype);
    // Breakdown below this relative size: the Krylov space is (numerically) invariant.
    const eps = start.dtype === 'float64' ? 1e-10 : 1e-5;
    basis.select(0, 0).copy_(start.div(start.norm()));
    const alpha: number[] = [];
    const beta: number[] = [];
    for (let j = 0; ; j++) {
      const { a, b } = scope(() => {
        const q = basis.select(0, j);
        const hq = apply(q);
        const a = q.dot(hq).item();
        const qj = basis.narrow(0, 0, j + 1);
        let w = hq;
        for (let pass = 0; pass < 2; pass++) w = w.sub(qj.mT.matmul(qj.matmul(w)));
        const b = w.norm().item();
        if (b <= eps * hq.norm().item()) return { a, b: 0 };
        if (j + 1 < steps) basis.select(0, j + 1).copy_(w.div(b));
        return { a, b };
      });
      alpha.push(a);
      const t: Tridiagonal = { alpha: [...alpha], beta: [...beta], residual: b };
      if (b === 0 || j + 1 >= steps || (o.done?.(t) ?? false)) return { t, basis: basis.narrow(0, 0, j + 1) };
      beta.push(b);
    }
  });
}

/**
 * The rows of a [k, M] matrix made orthonormal, and to the rows of `against` [l, M] (orthonormal) if given,
 * by Gram–Schmidt twice; a row left with at most eps of its norm lies in the span of the others and is
 * dropped (null when none is left). The projection on `against` is done for the whole block at once
 * (A ← A − (A Qᵀ) Q, twice: four matrix products, rather than four matrix-vector products per row).
 */
export function orthonormalRows(a: Tensor, against?: Tensor): Tensor | null {
  return scope(() => {
    let rest = a;
    if (against) for (let pass = 0; pass < 2; pass++) rest = rest.sub(rest.matmul(against.mT).matmul(against));
    return independentRows(rest, a.norm(2, 1).toNumbers());
  });
}

/**
 * The rows of `rest` [k, M] made orthonormal among themselves by Gram–Schmidt twice, dropping a row left
 * with at most eps of sizes[j] (the norm the row had before it was projected off other vectors).
 */
export function independentRows(rest: Tensor, sizes: number[]): Tensor | null {
  return scope(() => {
    const eps = rest.dtype === 'float64' ? 1e-10 : 1e-5;
    const kept: Tensor[] = [];
    for (let j = 0; j < rest.shape[0]; j++) {
      let w = rest.select(0, j);
      if (kept.length > 0) {
        const q = stack(kept);
        for (let pass = 0; pass < 2; pass++) w = w.sub(q.mT.matmul(q.matmul(w)));
      }
      const left = w.norm().item();
      if (sizes[j] > 0 && left > eps * sizes[j]) kept.push(w.div(left));
    }
    return kept.length === 0 ? null : stack(kept);
  });
}
