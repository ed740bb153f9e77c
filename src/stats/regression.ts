// Least-squares regression with R², and percentile-bootstrap intervals (resampling
// observations with replacement) for its coefficients and for any statistic of paired samples.
// Linear algebra is libtorch's (float64 solves); only the bookkeeping is here.
import { Generator, fromArray, randint, scope, solve, type Tensor } from '../tensor/index.js';
import { percentileInterval, type Interval } from './intervals.js';

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
    const eye = fromArray(
      Float64Array.from({ length: q * q }, (_, i) => (i % (q + 1) === 0 ? ridge : 0)),
      [q, q],
    );
    const beta = solve(gram.add(eye), Xt.bmm(y.unsqueeze(2)));
    const residual = y.sub(X.bmm(beta).squeeze(2));
    const centred = y.sub(y.mean([1], true));
    const r2 = residual
      .square()
      .sum([1])
      .div(centred.square().sum([1]))
      .neg()
      .add(1);
    return { beta: beta.squeeze(2), r2 };
  });
}

/**
 * Ordinary least squares of y on the predictors (columns), with an intercept.
 * @throws RangeError when a predictor's length differs from y's, or there are too few observations for a residual.
 */
export function leastSquares(predictors: number[][], y: number[]): Fit {
  checkShapes(predictors, y);
  return scope(() => {
    const { beta, r2 } = batchedFit(design(predictors).unsqueeze(0), fromArray(Float64Array.from(y), [1, y.length]));
    return { coefficients: beta.toNumbers(), r2: r2.item(), n: y.length };
  });
}

function checkShapes(predictors: number[][], y: number[]): void {
  if (predictors.some((c) => c.length !== y.length))
    throw new RangeError(`leastSquares: every predictor needs ${y.length} values`);
  if (y.length < predictors.length + 2)
    throw new RangeError(
      `leastSquares: ${y.length} observations cannot fit ${predictors.length} predictors and an intercept with a residual`,
    );
}

export interface BootstrapFit extends Fit {
  /** 95% percentile intervals over resamples of the observations. */
  r2Interval: Interval;
  coefficientIntervals: Interval[];
  resamples: number;
}

/** Row indices of `resamples` bootstrap resamples of n observations: int64 [resamples, n]. */
function resampleIndices(n: number, resamples: number, seed: number): Tensor {
  return randint(0, n, [resamples, n], new Generator(seed));
}

/**
 * Least squares with percentile-bootstrap 95% intervals for R² and every coefficient (all resamples solved in one batch).
 * @throws RangeError as leastSquares.
 */
export function bootstrapLeastSquares(
  predictors: number[][],
  y: number[],
  o: { resamples?: number; seed: number },
): BootstrapFit {
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
      coefficientIntervals: fit.coefficients.map((c, j) =>
        percentileInterval(
          c,
          Array.from({ length: resamples }, (_, b) => betas[b * q + j]),
        ),
      ),
      resamples,
    };
  });
}

/** Percentile-bootstrap interval of a statistic of paired samples (resampling the pairs' indices). */
export function bootstrapStatistic(
  n: number,
  statistic: (indices: number[]) => number,
  o: { resamples?: number; seed: number },
): Interval {
  const resamples = o.resamples ?? 2000;
  const all = Array.from({ length: n }, (_, i) => i);
  const idx = scope(() => resampleIndices(n, resamples, o.seed).toNumbers());
  const replicates = Array.from({ length: resamples }, (_, b) => statistic(idx.slice(b * n, (b + 1) * n)));
  return percentileInterval(statistic(all), replicates);
}
