// Sharpness of J around w.
// Gaussian (average-case):  S_σ = E_u[J(w+u)] − J(w),  u ~ N(0, σ²I)  (≈ σ²/2 · Tr ∇²J(w) for small σ),
//   by Monte Carlo over antithetic pairs ½(J(w+u) + J(w−u)) − J(w): the same expectation, without
//   the odd terms (∇Jᵀu, …) that would otherwise dominate the variance away from a minimum.
// Worst-case: S_ρ = max_{‖δ‖≤ρ} J(w+δ) − J(w), by projected normalized gradient ascent
//   δ ← Π_ρ(δ + η ρ ∇J(w+δ)/‖∇J(w+δ)‖),  Π_ρ the projection on the ball of radius ρ,
//   started at ρ∇J(w)/‖∇J(w)‖ (a random direction if ∇J(w) = 0); ρ absolute or relative to ‖w‖.
//   At a minimum of a quadratic, S_ρ = ½ρ²λ_max.
// Each has the estimator's uncertainty (Gaussian: the Monte Carlo standard error) apart from the data's:
// a jackknife over groups of examples of the per-group sharpness at the same perturbations (for the
// worst case, at the maximizer found: its first-order change with the data), resampling.ts.
import { randn, scope, type Generator, type Tensor } from '../tensor/index.js';
import { Meter, type Cost } from './cost.js';
import { riskAndGradient, type Objective } from './objective.js';
import { jackknife, termRisks, type DataUncertainty } from './resampling.js';
import { meanAndStdError } from '../stats/index.js';
import { axpy, flat, norm, unflat } from './vector.js';

export interface GaussianSharpnessOptions {
  sigma: number;
  gen: Generator;
  /** Monte Carlo samples (antithetic pairs count as one; default 20). */
  samples?: number;
  /** Use antithetic pairs ±u (default true). */
  antithetic?: boolean;
  /** The relative error to size the examples-needed hint for. */
  targetRelativeError?: number;
}

export interface GaussianSharpness {
  mean: number;
  /** The estimator's (Monte Carlo) standard error. */
  stdError: number;
  /** The data's uncertainty, or null when the objective has fewer than two groups of examples. */
  data: DataUncertainty | null;
  samples: number;
  sigma: number;
  /** J(w). */
  base: number;
  cost: Cost;
}

export function gaussianSharpness(obj: Objective, params: Tensor[], o: GaussianSharpnessOptions): GaussianSharpness {
  const samples = o.samples ?? 20;
  const antithetic = o.antithetic ?? true;
  const meter = new Meter();
  const baseTerms = termRisks(obj, params, meter);
  const base = baseTerms.reduce((a, b) => a + b, 0);
  const perTerm: number[][] = [];
  for (let s = 0; s < samples; s++) {
    perTerm.push(
      scope(() => {
        const u = unflat(randn([params.reduce((n, p) => n + p.numel, 0)], o.gen, params[0].dtype).mul(o.sigma), params);
        const plus = termRisks(obj, axpy(params, 1, u), meter);
        const minus = antithetic ? termRisks(obj, axpy(params, -1, u), meter) : plus;
        return plus.map((p, t) => (p + minus[t]) / 2 - baseTerms[t]);
      }),
    );
  }
  const values = perTerm.map((row) => row.reduce((a, b) => a + b, 0));
  const contributions = baseTerms.map((_, t) => perTerm.reduce((sum, row) => sum + row[t], 0) / samples);
  return {
    ...meanAndStdError(values),
    data: jackknife(obj, contributions, o.targetRelativeError, perTerm),
    samples,
    sigma: o.sigma,
    base,
    cost: meter.cost(),
  };
}

export interface WorstCaseSharpnessOptions {
  rho: number;
  /** Radius ρ·‖w‖ instead of ρ (default false). */
  relative?: boolean;
  gen: Generator;
  /** Ascent steps at most (default 50). */
  steps?: number;
  /** η, the step length as a fraction of the radius (default 1). */
  stepSize?: number;
  /** Stop when a step changes the value by at most tol times it (default 1e-6). */
  tol?: number;
  /** The relative error to size the examples-needed hint for. */
  targetRelativeError?: number;
}

export interface WorstCaseSharpness {
  /** The largest J(w+δ) − J(w) found. */
  value: number;
  /** The data's uncertainty at the maximizer found, or null when the objective has fewer than two groups of examples. */
  data: DataUncertainty | null;
  radius: number;
  /** ‖δ‖ of the maximizer found. */
  deltaNorm: number;
  steps: number;
  /** J(w+δ) − J(w) after each step, for convergence. */
  history: number[];
  base: number;
  cost: Cost;
}

export function worstCaseSharpness(obj: Objective, params: Tensor[], o: WorstCaseSharpnessOptions): WorstCaseSharpness {
  const meter = new Meter();
  const radius = o.relative ? o.rho * norm(params) : o.rho;
  const maxSteps = o.steps ?? 50;
  const eta = o.stepSize ?? 1;
  const tol = o.tol ?? 1e-6;
  return scope(() => {
    // δ as a flat vector; ascend along g, or a random direction where g vanishes.
    const project = (d: Tensor): Tensor => {
      const size = d.norm().item();
      return size > radius ? d.mul(radius / size) : d;
    };
    const first = riskAndGradient(obj, params, meter);
    const base = first.risk;
    let g = flat(first.gradient);
    if (g.norm().item() === 0) g = randn(g.shape, o.gen, g.dtype);
    let delta = g.mul(radius / g.norm().item());
    const history: number[] = [];
    let best = { value: -Infinity, deltaNorm: 0, delta: delta.clone() };
    for (let step = 1; step <= maxSteps; step++) {
      const next = scope(() => {
        const at = riskAndGradient(obj, axpy(params, 1, unflat(delta, params)), meter);
        const value = at.risk - base;
        const grad = flat(at.gradient);
        const size = grad.norm().item();
        return { value, delta: size === 0 ? delta.clone() : project(delta.add(grad.mul((eta * radius) / size))) };
      });
      history.push(next.value);
      if (next.value > best.value) {
        best.delta.dispose();
        best = { value: next.value, deltaNorm: delta.norm().item(), delta: delta.clone() };
      }
      delta.dispose();
      delta = next.delta;
      const previous = history[history.length - 2];
      if (previous !== undefined && Math.abs(next.value - previous) <= tol * Math.abs(next.value)) break;
    }
    const at = termRisks(obj, axpy(params, 1, unflat(best.delta, params)), meter);
    const baseTerms = termRisks(obj, params, meter);
    return {
      value: best.value,
      data: jackknife(
        obj,
        at.map((v, t) => v - baseTerms[t]),
        o.targetRelativeError,
      ),
      radius,
      deltaNorm: best.deltaNorm,
      steps: history.length,
      history,
      base,
      cost: meter.cost(),
    };
  });
}
