// The theory's prediction for one algorithm as plain data: the exact escape curve,
// the exact steady state and the small-μ closed form side by side. A steady state or
// closed form that does not exist (unstable recursion, non-mixing network, H̄ not
// positive definite) is reported with the reason instead of failing the whole prediction.
import { scope } from '../tensor/index.js';
import { UserError } from '../errors.js';
import { propagateMoments, steadyState, type LinearizedModel, type LinearizedSettings } from './linearized.js';
import { closedForm, type ClosedForm } from './closedForm.js';

export interface Unavailable {
  unavailable: string;
}

export interface EscapePrediction {
  stepSize: number;
  batchSize: number;
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

export const isUnavailable = (x: object): x is Unavailable => 'unavailable' in x;

/** Everything the theory says about N steps from w* (every agent starting there). */
export function predictEscape(model: LinearizedModel, s: LinearizedSettings, steps: number): EscapePrediction {
  return scope(() => {
    const { centroid, agentAverage } = propagateMoments(model, s, steps);
    return {
      stepSize: s.stepSize,
      batchSize: s.batchSize,
      curve: { centroid, agentAverage },
      steady: attempt(() => {
        const st = steadyState(model, s);
        return { centroid: st.centroid, agentAverage: st.agentAverage, spectralRadius: st.spectralRadius };
      }),
      closedForm: attempt(() => closedForm(model, s)),
    };
  });
}

const cell = (x: number | undefined): string => (x === undefined ? '—' : x.toExponential(3));

/**
 * Exact and closed-form predictions side by side, one line per algorithm: the curve's
 * last value (n = N), the exact steady state and the closed form, for the centroid and
 * the agent average, with ρ(ℱ) and the mixing rate λ. Unavailable parts print as —.
 */
export function predictionTable(rows: { algorithm: string; prediction: EscapePrediction }[]): string {
  const header = ['algorithm', 'centroid n=N', 'steady', 'closed form', 'agents n=N', 'steady', 'closed form', 'ρ(ℱ)', 'λ'];
  const lines = rows.map(({ algorithm, prediction: p }) => {
    const steady = isUnavailable(p.steady) ? undefined : p.steady;
    const closed = isUnavailable(p.closedForm) ? undefined : p.closedForm;
    const last = (xs: number[]): number | undefined => xs[xs.length - 1];
    return [
      algorithm,
      cell(last(p.curve.centroid)),
      cell(steady?.centroid),
      cell(closed?.centroid.total),
      cell(last(p.curve.agentAverage)),
      cell(steady?.agentAverage),
      cell(closed?.agentAverage.total),
      steady ? steady.spectralRadius.toFixed(5) : '—',
      closed ? closed.mixingRate.toFixed(4) : '—',
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  return [header, ...lines].map((l) => l.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd()).join('\n');
}
