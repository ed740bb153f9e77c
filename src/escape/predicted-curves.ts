// Predicted escape curves next to measured ones: the linearized theory (src/theory) run on
// the model estimated at w*, for the algorithms, μ, B and combination matrix of a setup.
import { unifiedForm, type Algorithm } from '../algorithms/recursion.js';
import { ConfigError } from '../errors.js';
import { scope } from '../tensor/index.js';
import { formatInterval, meanInterval, oneValue, type Interval, type MeanInterval } from '../stats/index.js';
import {
  instabilityWarnings,
  isUnavailable,
  predictEscape,
  predictionTable,
  type EscapePrediction,
  type LinearizedModel,
} from '../theory/index.js';
import { formatValue, textTable } from '../util/table.js';
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

// Exact zeros (n = 0, where every agent is at w*) print as 0.
const num = formatValue;
const interval = (i: Interval | null): string => (i === null ? '—' : formatInterval(i, 3));

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
  const lines = [textTable(header, rows)];
  if (result.seeds === 1) lines.push(`R = 1 seed: ${oneValue} — give --seeds 2 or more for 95% intervals`);
  if (predictions) lines.push('', predictionTable(predictions));
  return lines.join('\n');
}

/** The recorded points a late mean averages: n ≥ N/2, n > 0. */
export const lateSteps = (result: EscapeResult): number[] =>
  result.curves[0]?.points.map((p) => p.step).filter((n) => n > 0 && 2 * n >= result.steps) ?? [];

/** Per seed, the mean of its values at the late points (NaN-free points only), then mean and 95% CI over seeds. */
function lateMean(perSeed: number[][], indices: number[]): MeanInterval | null {
  const usable = indices.filter((i) => perSeed.every((seed) => Number.isFinite(seed[i])));
  if (usable.length === 0) return null;
  return meanInterval(perSeed.map((seed) => usable.reduce((s, i) => s + seed[i], 0) / usable.length));
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/**
 * The short summary: per algorithm, the late mean of E J − J(w*) over the recorded steps
 * n ≥ N/2 (each seed's average over those steps, then the mean over seeds with its 95% CI),
 * for the centroid and the agent average, with the theory's exact curve averaged over the
 * same steps and its steady state beside them.
 */
export function escapeSummary(result: EscapeResult, predictions?: PredictedCurve[]): string {
  const late = lateSteps(result);
  const header = [
    'algorithm',
    'centroid [95% CI]',
    ...(predictions ? ['theory', 'steady'] : []),
    'agents [95% CI]',
    ...(predictions ? ['theory', 'steady'] : []),
  ];
  const rows = result.curves.map((curve) => {
    const indices = curve.points.flatMap((p, i) => (late.includes(p.step) ? [i] : []));
    const p = predictions?.find((x) => x.algorithm === curve.algorithm)?.prediction;
    const steady = p && !isUnavailable(p.steady) ? p.steady : undefined;
    const theory = (xs: number[] | undefined, at: number | undefined): string[] =>
      predictions ? [xs ? num(mean(late.map((n) => xs[n]))) : '—', at === undefined ? '—' : num(at)] : [];
    return [
      curve.algorithm,
      interval(lateMean(curve.perSeed.centroid, indices)),
      ...theory(p?.curve.centroid, steady?.centroid),
      interval(lateMean(curve.perSeed.agentAverage, indices)),
      ...theory(p?.curve.agentAverage, steady?.agentAverage),
    ];
  });
  const span = late.length > 0 ? `n = ${late[0]}–${late[late.length - 1]}, ${late.length} recorded steps` : 'none';
  const warnings = predictions ? instabilityWarnings(predictions) : [];
  return [
    `late mean of E J − J(w*) (${span}; ${result.seeds === 1 ? 'one seed, no interval' : `mean over ${result.seeds} seeds, 95% CI`})${predictions ? ', theory over the same steps and its steady state' : ''}:`,
    textTable(header, rows),
    ...warnings,
  ].join('\n');
}
