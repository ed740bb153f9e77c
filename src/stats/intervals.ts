// Means, quantiles and confidence intervals: the one place flatdist computes them.
//
//   mean x̄ = (1/n) Σ x_i,  sample standard deviation s (n − 1),  standard error s/√n
//   Student-t interval of a mean: x̄ ± t_{(1+level)/2, n−1} · s/√n
//   Wilson score interval of a proportion (Wilson 1927)
//   percentile interval of bootstrap replicates (Efron & Tibshirani 1993, §13.3)
import { exponential } from '../util/format.js';

/**
 * A point estimate with a two-sided confidence interval [lo, hi]. Where the data give no interval
 * (a mean of one value) the bounds are NaN — null in JSON — and `none` says why.
 */
export interface Interval {
  estimate: number;
  lo: number;
  hi: number;
  /** Why there is no interval (the bounds are NaN); absent when there is one. */
  none?: string;
}

/** The interval of a mean over independent values, with its standard error s/√n (NaN for one value). */
export interface MeanInterval extends Interval {
  stdError: number;
}

/** Why one value gives no interval of its mean. */
export const oneValue = 'n = 1: one value has no spread, so no interval';

const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

export const mean = (xs: number[]): number => sum(xs) / xs.length;

/** Sample standard deviation (n − 1); 0 for fewer than two values. */
export function std(xs: number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(sum(xs.map((x) => (x - m) ** 2)) / (xs.length - 1));
}

/** Mean and standard error of the mean s/√n (0 for fewer than two values). */
export function meanAndStdError(xs: number[]): { mean: number; stdError: number } {
  return { mean: mean(xs), stdError: std(xs) / Math.sqrt(xs.length) };
}

/**
 * The standard normal quantile Φ⁻¹(p), by Acklam's rational approximation (relative error < 1.2e-9).
 * @throws RangeError when p is outside (0, 1).
 */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normalQuantile: p must be in (0, 1), got ${p}`);
  const a = [
    -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239,
  ];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const low = 0.02425;
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (
      (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
      ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
    );
  }
  if (p > 1 - low) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) /
    (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
  );
}

/**
 * Student's t quantile with df degrees of freedom: exact for df = 1, 2; otherwise the
 * Cornish–Fisher expansion in 1/df (Abramowitz & Stegun 26.7.5), within 1e-3 for df ≥ 3 at p = 0.975.
 * @throws RangeError when df < 1 or p is outside (0, 1).
 */
export function tQuantile(p: number, df: number): number {
  if (!(df >= 1)) throw new RangeError(`tQuantile: need at least one degree of freedom, got ${df}`);
  if (!(p > 0 && p < 1)) throw new RangeError(`tQuantile: p must be in (0, 1), got ${p}`);
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

/**
 * The mean with its two-sided Student-t interval at `level` (default 95%), and its standard
 * error. One value has no spread: its bounds and standard error are NaN (null in JSON), with the reason.
 * An interval with NaN bounds straddles nothing: sign() calls it inconclusive.
 * @throws RangeError for no values.
 */
export function meanInterval(xs: number[], level = 0.95): MeanInterval {
  if (xs.length === 0) throw new RangeError('meanInterval: no values');
  const { mean: m, stdError } = meanAndStdError(xs);
  if (xs.length < 2) return { estimate: m, stdError: Number.NaN, lo: Number.NaN, hi: Number.NaN, none: oneValue };
  const half = tQuantile(0.5 + level / 2, xs.length - 1) * stdError;
  return { estimate: m, stdError, lo: m - half, hi: m + half };
}

/**
 * `estimate [lo, hi]` in exponential notation with `digits` digits after the point; `estimate (no interval: n = 1)`
 * without one; exact zeros as 0, and an interval that is exactly [0, 0] around 0 as 0 alone.
 */
export const formatInterval = (i: Interval, digits = 2): string =>
  i.estimate === 0 && i.lo === 0 && i.hi === 0
    ? '0'
    : i.none !== undefined
      ? `${exponential(i.estimate, digits)} (no interval: ${i.none.split(':')[0]})`
      : `${exponential(i.estimate, digits)} [${exponential(i.lo, digits)}, ${exponential(i.hi, digits)}]`;

/** Whether an interval lies wholly above (1), wholly below (−1) zero, or straddles it (0). */
export const sign = (i: Interval): -1 | 0 | 1 => (i.lo > 0 ? 1 : i.hi < 0 ? -1 : 0);

const percentile = (sorted: number[], q: number): number => {
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
};

/** The percentile interval of bootstrap replicates around a point estimate (non-finite replicates dropped; none when none is left). */
export function percentileInterval(estimate: number, replicates: number[], level = 0.95): Interval {
  const finite = replicates.filter(Number.isFinite).sort((a, b) => a - b);
  if (finite.length === 0) return { estimate, lo: Number.NaN, hi: Number.NaN, none: 'no finite bootstrap replicate' };
  return { estimate, lo: percentile(finite, (1 - level) / 2), hi: percentile(finite, (1 + level) / 2) };
}

/** Wilson score interval of a proportion of successes out of n, at `level` (default 95%). */
export function proportionInterval(successes: number, n: number, level = 0.95): Interval {
  const z = normalQuantile(0.5 + level / 2);
  const p = successes / n;
  const denom = 1 + (z * z) / n;
  const centre = (p + (z * z) / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / denom;
  return { estimate: p, lo: Math.max(0, centre - half), hi: Math.min(1, centre + half) };
}
