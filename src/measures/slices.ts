// Filter-normalized loss slices (Li, Xu, Taylor, Studer & Goldstein 2018):
//   f(α) = J(w + α d),   f(α, β) = J(w + α d₁ + β d₂),
// with each d drawn N(0, I) per parameter tensor, and every filter of it (a slice along
// filterDim: an output unit's row or a convolution's output channel) rescaled to the norm
// of the same filter of w, d_f ← d_f ‖w_f‖/‖d_f‖, so slices of differently scaled networks compare.
// One-dimensional tensors (biases, normalization) get d = 0 as in the paper, or are
// normalized elementwise with biases: 'filter'.
import { randn, scope, zeros, type Generator, type Tensor } from '../tensor/index.js';
import { Meter, type Cost } from './cost.js';
import { risk, type Objective } from './objective.js';
import { axpy } from './vector.js';

export interface DirectionOptions {
  gen: Generator;
  /** The dimension that indexes filters in tensors of two or more dimensions (default 0). */
  filterDim?: number;
  /** One-dimensional tensors: zero direction (default) or elementwise filter normalization. */
  biases?: 'zero' | 'filter';
}

/** A random filter-normalized direction shaped like params. */
export function filterNormalizedDirection(params: Tensor[], o: DirectionOptions): Tensor[] {
  const filterDim = o.filterDim ?? 0;
  // Every tensor draws its d, so the directions of the others do not depend on `biases`.
  return scope(() =>
    params.map((w) => {
      const d = randn(w.shape, o.gen, w.dtype);
      if (w.ndim <= 1 && (o.biases ?? 'zero') === 'zero') return zeros(w.shape, w.dtype);
      return scope(() => {
        const dim = w.ndim <= 1 ? 0 : filterDim;
        const rows = (t: Tensor) =>
          w.ndim === 0 ? t.reshape([1, 1]) : t.transpose(0, dim).reshape([w.shape[dim], -1]);
        const scale = rows(w)
          .norm(2, 1, true)
          .div(rows(d).norm(2, 1, true).clamp(1e-30));
        const scaled = rows(d).mul(scale);
        if (w.ndim === 0) return scaled.reshape([]);
        const moved = [...w.shape];
        [moved[0], moved[dim]] = [moved[dim], moved[0]];
        return scaled.reshape(moved).transpose(0, dim).contiguous();
      });
    }),
  );
}

export interface SliceOptions extends DirectionOptions {
  /** Range of α (and β) (default [-1, 1]). */
  from?: number;
  to?: number;
  /** Points per axis (default 21). */
  points?: number;
}

export interface LossSlice1d {
  alphas: number[];
  /** J(w + α d) for each α. */
  losses: number[];
  base: number;
  cost: Cost;
}

export interface LossSlice2d {
  alphas: number[];
  betas: number[];
  /** losses[i][j] = J(w + α_i d₁ + β_j d₂). */
  losses: number[][];
  base: number;
  cost: Cost;
}

const axis = (o: SliceOptions): number[] => {
  const from = o.from ?? -1;
  const to = o.to ?? 1;
  const n = o.points ?? 21;
  return Array.from({ length: n }, (_, i) => (n === 1 ? from : from + ((to - from) * i) / (n - 1)));
};

export function lossSlice1d(obj: Objective, params: Tensor[], o: SliceOptions): LossSlice1d {
  const meter = new Meter();
  return scope(() => {
    const d = filterNormalizedDirection(params, o);
    const alphas = axis(o);
    const losses = alphas.map((a) => scope(() => risk(obj, axpy(params, a, d), meter)));
    return { alphas, losses, base: risk(obj, params, meter), cost: meter.cost() };
  });
}

export function lossSlice2d(obj: Objective, params: Tensor[], o: SliceOptions): LossSlice2d {
  const meter = new Meter();
  return scope(() => {
    const d1 = filterNormalizedDirection(params, o);
    const d2 = filterNormalizedDirection(params, o);
    const alphas = axis(o);
    const betas = axis(o);
    const losses = alphas.map((a) => betas.map((b) => scope(() => risk(obj, axpy(axpy(params, a, d1), b, d2), meter))));
    return { alphas, betas, losses, base: risk(obj, params, meter), cost: meter.cost() };
  });
}
