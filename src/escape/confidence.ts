// 95% confidence intervals for a mean over R independent seeds:
//   x̄ ± t_{0.975, R−1} · s/√R,
// Student's t with R − 1 degrees of freedom (the seeds' values are not assumed to be
// many), which tends to the normal 1.96 as R grows.

/** t_{0.975, ν} for ν = 1..30 (standard tables). */
const t975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
  2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086,
  2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/** The two-sided 95% quantile of Student's t with ν degrees of freedom. */
export function studentT975(nu: number): number {
  if (!(nu >= 1)) throw new RangeError(`studentT975: need at least one degree of freedom, got ${nu}`);
  if (nu <= 30) return t975[Math.floor(nu) - 1];
  // Cornish–Fisher expansion around the normal quantile; below 1e-3 off for ν > 30.
  const z = 1.959964;
  return z + (z ** 3 + z) / (4 * nu) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * nu ** 2);
}

export interface Interval {
  mean: number;
  /** s/√R, the standard error of the mean (0 for one seed). */
  stdError: number;
  /** [mean − half, mean + half] with half = t·stdError; the mean itself for one seed. */
  ci95: [number, number];
}

export function meanInterval(xs: number[]): Interval {
  const n = xs.length;
  if (n === 0) throw new RangeError('meanInterval: no values');
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { mean, stdError: 0, ci95: [mean, mean] };
  const stdError = Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1) / n);
  const half = studentT975(n - 1) * stdError;
  return { mean, stdError, ci95: [mean - half, mean + half] };
}
