// The statistics the verdicts rest on: means with Student-t 95% intervals, least-squares
// regression with R², and percentile bootstrap intervals (resampling runs with replacement).
// Linear algebra is libtorch's (float64 solves); only the bookkeeping is here.
import { Generator, fromArray, randint, scope, solve, type Tensor } from '../tensor/index.js';

export interface Interval {
  estimate: number;
  lo: number;
  hi: number;
}

const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
export const mean = (xs: number[]): number => sum(xs) / xs.length;

/** Sample standard deviation (n − 1); 0 for fewer than two values. */
export function std(xs: number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(sum(xs.map((x) => (x - m) ** 2)) / (xs.length - 1));
}

/** The standard normal quantile Φ⁻¹(p), by Acklam's rational approximation (relative error < 1.2e-9). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normalQuantile: p must be in (0, 1), got ${p}`);
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const low = 0.02425;
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  if (p > 1 - low) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

/**
 * Student's t quantile with df degrees of freedom: exact for df = 1, 2; otherwise the
 * Cornish–Fisher expansion in 1/df (Abramowitz & Stegun 26.7.5), within 1e-3 for df ≥ 3 at p = 0.975.
 */
export function tQuantile(p: number, df: number): number {
  if (df === 1) return Math.tan(Math.PI * (p - 0.5));
  if (df === 2) return (2 * p - 1) * Math.sqrt(2 / (4 * p * (1 - p)));
  const z = normalQuantile(p);
  const z2 = z * z;
  const g1 = (z * (z2 + 1)) / 4;
  const g2 = (z * ((5 * z2 + 16) * z2 + 3)) / 96;
  const g3 = (z * (((3 * z2 + 19) * z2 + 17) * z2 - 15)) / 384;
  const g4 = (z * ((((79 * z2 + 776) * z2 + 1482) * z2 - 1920) * z2 - 945)) / 92160;
  return z + g1 / df + g2 / df ** 2 + g3 / df ** 3 + g4 / df ** 4;
}

/** The mean with its two-sided 95% Student-t interval (a point for a single value). */
export function meanInterval(xs: number[], level = 0.95): Interval {
  if (xs.length === 0) throw new RangeError('meanInterval: no values');
  const m = mean(xs);
  if (xs.length < 2) return { estimate: m, lo: m, hi: m };
  const half = tQuantile(0.5 + level / 2, xs.length - 1) * (std(xs) / Math.sqrt(xs.length));
  return { estimate: m, lo: m - half, hi: m + half };
}

/** Whether an interval lies wholly above (1), wholly below (−1) zero, or straddles it (0). */
export const sign = (i: Interval): -1 | 0 | 1 => (i.lo > 0 ? 1 : i.hi < 0 ? -1 : 0);

export interface Fit {
  /** Intercept first, then one coefficient per predictor. */
  coefficients: number[];
  r2: number;
  n: number;
}

/** Predictors as columns [n][p] → the design matrix [n, 1 + p] with a column of ones (float64). */
function design(columns: number[][]): Tensor {
  const n = columns[0]?.length ?? 0;
  const p = columns.length;
  const data = new Float64Array(n * (p + 1));
  for (let i = 0; i < n; i++) {
    data[i * (p + 1)] = 1;
    for (let j = 0; j < p; j++) data[i * (p + 1) + j + 1] = columns[j][i];
  }
  return fromArray(data, [n, p + 1]);
}

/**
 * Least squares y ≈ X β for a batch of designs X [b, n, q] and targets y [b, n]: β from the
 * normal equations (XᵀX + εI)β = Xᵀy (ε a tiny ridge, so a degenerate bootstrap resample
 * stays solvable), and R² = 1 − SS_res/SS_tot for each.
 */
function batchedFit(X: Tensor, y: Tensor): { beta: Tensor; r2: Tensor } {
  return scope(() => {
    const q = X.shape[2];
    const Xt = X.mT;
    const gram = Xt.bmm(X);
    const ridge = gram.amax().item() * 1e-12;
    const eye = fromArray(Float64Array.from({ length: q * q }, (_, i) => (i % (q + 1) === 0 ? ridge : 0)), [q, q]);
    const beta = solve(gram.add(eye), Xt.bmm(y.unsqueeze(2)));
    const residual = y.sub(X.bmm(beta).squeeze(2));
    const centred = y.sub(y.mean([1], true));
    const r2 = residual.square().sum([1]).div(centred.square().sum([1])).neg().add(1);
    return { beta: beta.squeeze(2), r2 };
  });
}

/** Ordinary least squares of y on the predictors (columns), with an intercept. */
export function leastSquares(predictors: number[][], y: number[]): Fit {
  checkShapes(predictors, y);
  return scope(() => {
    const { beta, r2 } = batchedFit(design(predictors).unsqueeze(0), fromArray(Float64Array.from(y), [1, y.length]));
    return { coefficients: beta.toNumbers(), r2: r2.item(), n: y.length };
  });
}

function checkShapes(predictors: number[][], y: number[]): void {
  if (predictors.some((c) => c.length !== y.length)) throw new RangeError(`leastSquares: every predictor needs ${y.length} values`);
  if (y.length < predictors.length + 2) throw new RangeError(`leastSquares: ${y.length} observations cannot fit ${predictors.length} predictors and an intercept with a residual`);
}

export interface BootstrapFit extends Fit {
  /** 95% percentile intervals over resamples of the observations. */
  r2Interval: Interval;
  coefficientIntervals: Interval[];
  resamples: number;
}

const percentile = (sorted: number[], q: number): number => {
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
};

/** The percentile interval of bootstrap replicates around a point estimate. */
export function percentileInterval(estimate: number, replicates: number[], level = 0.95): Interval {
  const finite = replicates.filter(Number.isFinite).sort((a, b) => a - b);
  if (finite.length === 0) return { estimate, lo: estimate, hi: estimate };
  return { estimate, lo: percentile(finite, (1 - level) / 2), hi: percentile(finite, (1 + level) / 2) };
}

/** Row indices of `resamples` bootstrap resamples of n observations: int64 [resamples, n]. */
function resampleIndices(n: number, resamples: number, seed: number): Tensor {
  return randint(0, n, [resamples, n], new Generator(seed));
}

/** Least squares with percentile-bootstrap 95% intervals for R² and every coefficient (all resamples solved in one batch). */
export function bootstrapLeastSquares(predictors: number[][], y: number[], o: { resamples?: number; seed: number }): BootstrapFit {
  checkShapes(predictors, y);
  const resamples = o.resamples ?? 2000;
  const fit = leastSquares(predictors, y);
  return scope(() => {
    const X = design(predictors);
    const Y = fromArray(Float64Array.from(y));
    const idx = resampleIndices(y.length, resamples, o.seed);
    const Xb = X.indexSelect(0, idx.reshape([-1])).reshape([resamples, y.length, X.shape[1]]);
    const Yb = Y.indexSelect(0, idx.reshape([-1])).reshape([resamples, y.length]);
    const { beta, r2 } = batchedFit(Xb, Yb);
    const betas = beta.toNumbers();
    const q = X.shape[1];
    return {
      ...fit,
      r2Interval: percentileInterval(fit.r2, r2.toNumbers()),
      coefficientIntervals: fit.coefficients.map((c, j) => percentileInterval(c, Array.from({ length: resamples }, (_, b) => betas[b * q + j]))),
      resamples,
    };
  });
}

/** Percentile-bootstrap interval of a statistic of paired samples (resampling the pairs' indices). */
export function bootstrapStatistic(n: number, statistic: (indices: number[]) => number, o: { resamples?: number; seed: number }): Interval {
  const resamples = o.resamples ?? 2000;
  const all = Array.from({ length: n }, (_, i) => i);
  const idx = scope(() => resampleIndices(n, resamples, o.seed).toNumbers());
  const replicates = Array.from({ length: resamples }, (_, b) => statistic(idx.slice(b * n, (b + 1) * n)));
  return percentileInterval(statistic(all), replicates);
}

/** Wilson score 95% interval of a proportion of successes out of n. */
export function proportionInterval(successes: number, n: number, level = 0.95): Interval {
  const z = normalQuantile(0.5 + level / 2);
  const p = successes / n;
  const denom = 1 + (z * z) / n;
  const centre = (p + (z * z) / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / denom;
  return { estimate: p, lo: Math.max(0, centre - half), hi: Math.min(1, centre + half) };
}
