// The theory's prediction for one algorithm as plain data: the exact escape curve,
// the exact steady state and the small-μ closed form side by side. A steady state or
// closed form that does not exist (unstable recursion, non-mixing network, H̄ not
// positive definite) is reported with the reason instead of failing the whole prediction.
import { scope } from '../tensor/index.js';
import { UserError } from '../errors.js';
import {
  propagateMoments,
  recursionMatrix,
  steadyState,
  type LinearizedModel,
  type LinearizedSettings,
} from './linearized.js';
import { closedForm, type ClosedForm } from './closedForm.js';
import { closedFormRelativeDifference, isUnavailable } from './closed-form-gap.js';
import { formatValue, textTable } from '../util/table.js';
import { fixed } from '../util/format.js';

export interface Unavailable {
  unavailable: string;
}

export interface EscapePrediction {
  stepSize: number;
  batchSize: number;
  /** ρ(ℱ), the spectral radius of the error recursion's matrix; the setting is stable iff ρ(ℱ) < 1. */
  spectralRadius: number;
  stable: boolean;
  /** Exact E J(w_{c,n}) − J(w*) and (1/K) Σ_k E J(w_{k,n}) − J(w*), n = 0..N. */
  curve: { centroid: number[]; agentAverage: number[] };
  /** Exact n → ∞ values, with ρ(ℱ). */
  steady: { centroid: number; agentAverage: number; spectralRadius: number } | Unavailable;
  closedForm: ClosedForm | Unavailable;
}

const attempt = <T>(f: () => T): T | Unavailable => {
  try {
    return f();
  } catch (e) {
    if (e instanceof UserError) return { unavailable: e.message };
    throw e;
  }
};

export { closedFormRelativeDifference, isUnavailable } from './closed-form-gap.js';

/**
 * A curve of an unstable recursion grows geometrically until float64 overflows and ∞ − ∞
 * turns it into NaN; past that point its value is +∞ (it diverges), not "not a number".
 */
const divergent = (xs: number[]): number[] => {
  const first = xs.findIndex((x) => !Number.isFinite(x));
  return first < 0 ? xs : xs.map((x, n) => (n < first ? x : Number.POSITIVE_INFINITY));
};

/** ρ(ℱ) within this of 1 is 1: directions where every H_k vanishes leave ℱ the identity there. */
const marginalTolerance = 1e-9;

/**
 * Everything the theory says about N steps from w* (every agent starting there). Where
 * ρ(ℱ) > 1 the recursion diverges: the curve is reported as it grows (+∞ once it
 * overflows). Where ρ(ℱ) = 1 (marginally stable: flat directions, such as a softmax's
 * shift invariance without weight decay) the curve is exact but nothing settles. In both
 * cases neither a steady state nor the small-μ closed form is given, and the reason says which.
 */
export function predictEscape(model: LinearizedModel, s: LinearizedSettings, steps: number): EscapePrediction {
  return scope(() => {
    const known = recursionMatrix(model, s);
    const rho = known.spectralRadius;
    const stable = rho < 1 - marginalTolerance;
    const unstable: Unavailable = {
      unavailable:
        rho > 1 + marginalTolerance
          ? `the linearized recursion is unstable at μ = ${s.stepSize} (ρ(ℱ) = ${rho.toPrecision(6)} > 1): it has no steady state and the small-μ closed form does not apply; take a smaller step size`
          : `the linearized recursion is marginally stable (ρ(ℱ) = 1): the Hessians vanish along some directions (e.g. a softmax's shift invariance), where nothing settles, so there is no steady state or closed form; weight decay (--weight-decay) curves every direction`,
    };
    const { centroid, agentAverage } = propagateMoments(model, s, steps);
    return {
      stepSize: s.stepSize,
      batchSize: s.batchSize,
      spectralRadius: rho,
      stable,
      curve: { centroid: divergent(centroid), agentAverage: divergent(agentAverage) },
      steady: stable
        ? attempt(() => {
            const st = steadyState(model, s, known);
            return { centroid: st.centroid, agentAverage: st.agentAverage, spectralRadius: st.spectralRadius };
          })
        : unstable,
      closedForm: stable ? attempt(() => closedForm(model, s)) : unstable,
    };
  });
}

/** A warning line per unstable setting, empty when every one is stable. */
export function instabilityWarnings(rows: { algorithm: string; prediction: EscapePrediction }[]): string[] {
  return rows
    .filter((r) => !r.prediction.stable)
    .map((r) => `${r.algorithm}: ${(r.prediction.steady as Unavailable).unavailable}`);
}

const cell = formatValue;

/**
 * Exact and closed-form predictions side by side, one line per algorithm: the curve's
 * last value (n = N), the exact steady state, the closed form and its relative difference
 * to the steady state, for the centroid and the agent average, with ρ(ℱ) and the mixing rate λ. Unavailable parts print as —; a line
 * below the table names each unstable setting.
 */
export function predictionTable(rows: { algorithm: string; prediction: EscapePrediction }[]): string {
  const header = [
    'algorithm',
    'centroid n=N',
    'steady',
    'closed form',
    'vs steady',
    'agents n=N',
    'steady',
    'closed form',
    'vs steady',
    'ρ(ℱ)',
    'λ',
  ];
  const lines = rows.map(({ algorithm, prediction: p }) => {
    const steady = isUnavailable(p.steady) ? undefined : p.steady;
    const closed = isUnavailable(p.closedForm) ? undefined : p.closedForm;
    const last = (xs: number[]): number | undefined => xs[xs.length - 1];
    const off = closedFormRelativeDifference(p);
    const relative = (x: number | undefined): string =>
      x === undefined ? '—' : `${x >= 0 ? '+' : ''}${(100 * x).toPrecision(3)}%`;
    return [
      algorithm,
      cell(last(p.curve.centroid)),
      cell(steady?.centroid),
      cell(closed?.centroid.total),
      relative(off?.centroid),
      cell(last(p.curve.agentAverage)),
      cell(steady?.agentAverage),
      cell(closed?.agentAverage.total),
      relative(off?.agentAverage),
      p.stable
        ? p.spectralRadius.toFixed(5)
        : `${p.spectralRadius.toPrecision(4)} (${p.spectralRadius > 1 + marginalTolerance ? 'unstable' : 'marginal'})`,
      closed ? fixed(closed.mixingRate, 4) : '—',
    ];
  });
  return [textTable(header, lines), ...instabilityWarnings(rows)].join('\n');
}
