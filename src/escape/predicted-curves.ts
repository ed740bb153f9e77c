// Predicted escape curves next to measured ones: the linearized theory (src/theory) run on
// the model estimated at w*, for the algorithms, μ, B and combination matrix of a setup.
import { unifiedForm, type Algorithm } from '../algorithms/recursion.js';
import { ConfigError } from '../errors.js';
import { scope } from '../tensor/index.js';
import { formatInterval, oneValue, type Interval } from '../stats/index.js';
import { predictEscape, predictionTable, type EscapePrediction, type LinearizedModel } from '../theory/index.js';
import type { EscapeProblem } from './problem.js';
import type { EscapeResult } from './run.js';

export interface PredictedCurve {
  algorithm: Algorithm;
  prediction: EscapePrediction;
}

/** Exact curves n = 0..N, steady states and closed forms for each algorithm, at the setup's μ, B and A. */
export function predictEscapeCurves(
  setup: EscapeProblem,
  model: LinearizedModel,
  algorithms: Algorithm[],
  steps: number,
): PredictedCurve[] {
  const { config: c } = setup;
  if (setup.timeVarying)
    throw new ConfigError('topology', `the theory needs a fixed combination matrix; '${c.topology}' changes with n`);
  return scope(() => {
    const A = setup.combination(0);
    return algorithms.map((algorithm) => ({
      algorithm,
      prediction: predictEscape(
        model,
        { form: unifiedForm(algorithm, A, 'float64'), stepSize: c.stepSize, batchSize: c.batchSize },
        steps,
      ),
    }));
  });
}

const num = (x: number): string => x.toExponential(3);
const interval = (i: Interval | null): string => (i ? formatInterval(i, 3) : '—');

/**
 * Measured (mean [95% CI]) and, when given, predicted E J − J(w*) at each recorded step,
 * for the centroid and the agent average, one block per algorithm; then the theory's
 * steady states and closed forms (predictionTable).
 */
export function escapeTable(result: EscapeResult, predictions?: PredictedCurve[]): string {
  const header = [
    'algorithm',
    'n',
    'centroid measured [95% CI]',
    ...(predictions ? ['predicted'] : []),
    'agents measured [95% CI]',
    ...(predictions ? ['predicted'] : []),
  ];
  const rows: string[][] = [];
  for (const curve of result.curves) {
    const p = predictions?.find((x) => x.algorithm === curve.algorithm)?.prediction;
    for (const point of curve.points) {
      const predicted = (xs: number[] | undefined): string[] =>
        predictions ? [xs && point.step < xs.length ? num(xs[point.step]) : '—'] : [];
      rows.push([
        curve.algorithm,
        String(point.step),
        interval(point.centroid),
        ...predicted(p?.curve.centroid),
        interval(point.agentAverage),
        ...predicted(p?.curve.agentAverage),
      ]);
    }
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const lines = [header, ...rows].map((r) =>
    r
      .map((x, i) => x.padEnd(widths[i]))
      .join('  ')
      .trimEnd(),
  );
  if (result.seeds === 1) lines.push(`R = 1 seed: ${oneValue} — give --seeds 2 or more for 95% intervals`);
  if (predictions) lines.push('', predictionTable(predictions));
  return lines.join('\n');
}
