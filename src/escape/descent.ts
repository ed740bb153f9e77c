/*
 * Deterministic minimization of a risk J down to a gradient-norm tolerance, to find the
 * local minimizer w* that escape experiments start from.
 *
 *   gd:     w ← w − α ∇J(w), α by the same line search, tried first at twice the last accepted
 *           step so it tracks the largest stable step.
 *   lbfgs:  w ← w + α d,  d = −H_m ∇J(w) by the two-loop recursion over the last m pairs
 *           s = w_{n+1} − w_n, y = ∇J(w_{n+1}) − ∇J(w_n) (kept when sᵀy > 0), H_0 = sᵀy/yᵀy · I;
 *           α from 1 meeting the strong Wolfe conditions (Nocedal & Wright, eq. 3.7):
 *           J(w + αd) ≤ J(w) + c₁ α ∇Jᵀd and |∇J(w + αd)ᵀd| ≤ c₂ |∇Jᵀd|, c₁ = 1e-4, c₂ = 0.9.
 *
 * Both stop at ‖∇J(w)‖ ≤ tolerance, after maxSteps, or when no step along the direction
 * decreases J any more (the precision of J is reached): `converged` says which.
 * Every value is a full pass over the objective's chunks, so the result is deterministic.
 */
import { keep, scope, type DType, type Tensor } from '../tensor/index.js';
import { Meter, flat, riskAndGradient, unflat, type Cost, type Objective } from '../measures/index.js';
import type { MinimizeMethod } from './names.js';

export { minimizeMethods, type MinimizeMethod } from './names.js';

export interface MinimizeOptions {
  method?: MinimizeMethod;
  /** Stop when ‖∇J(w)‖ ≤ tolerance (default 1e-4). */
  tolerance?: number;
  /** At most this many accepted steps (default 1000). */
  maxSteps?: number;
  /** L-BFGS memory m (default 10). */
  memory?: number;
  /** Called after every accepted step. */
  onStep?: (s: MinimizeStep) => void;
}

export interface MinimizeStep {
  step: number;
  risk: number;
  gradientNorm: number;
  stepLength: number;
}

export interface MinimizeResult {
  method: MinimizeMethod;
  /** w*, shaped like the starting parameters, in their dtype (caller owns them). */
  params: Tensor[];
  risk: number;
  gradientNorm: number;
  steps: number;
  converged: boolean;
  /** Why it stopped: 'tolerance', 'max-steps' or 'no-decrease'. */
  stopped: 'tolerance' | 'max-steps' | 'no-decrease';
  /** ‖∇J‖ and J every accepted step (step 0 = the start). */
  history: MinimizeStep[];
  cost: Cost;
}

/** Detached copies of one model's parameters in the given dtype: a start for minimize (float64 for J to its last digits). */
export function asDtype(params: Tensor[], dtype: DType): Tensor[] {
  return params.map((p) => p.detach().to(dtype).clone());
}

const armijo = 1e-4;
/** Strong Wolfe curvature constant: |∇J(w + αd)ᵀd| ≤ c₂ |∇J(w)ᵀd| (0.9, as for quasi-Newton methods). */
const curvature = 0.9;
const maxEvaluations = 25;

interface Point {
  x: Tensor;
  g: Tensor;
  risk: number;
}

const dispose = (p: Point): void => {
  p.x.dispose();
  p.g.dispose();
};

/**
 * The minimizer of the cubic through (a, fa, ga) and (b, fb, gb), kept inside [a, b] away from
 * its ends; the midpoint where the cubic has none (Nocedal & Wright, eq. 3.59).
 */
function cubicStep(a: number, fa: number, ga: number, b: number, fb: number, gb: number): number {
  const [lo, hi] = a < b ? [a, b] : [b, a];
  const margin = 0.1 * (hi - lo);
  const d1 = ga + gb - (3 * (fa - fb)) / (a - b);
  const d2sq = d1 * d1 - ga * gb;
  if (Number.isFinite(fa) && Number.isFinite(fb) && d2sq >= 0) {
    const d2 = Math.sign(b - a) * Math.sqrt(d2sq);
    const t = b - (b - a) * ((gb + d2 - d1) / (gb - ga + 2 * d2));
    if (Number.isFinite(t) && t >= lo + margin && t <= hi - margin) return t;
  }
  return (lo + hi) / 2;
}

/**
 * A step α along d from `at` meeting the strong Wolfe conditions (Nocedal & Wright, Alg. 3.5
 * and 3.6: bracketing, then zoom by cubic interpolation). They make every L-BFGS pair
 * satisfy sᵀy > 0, so its curvature model stays positive definite. Null when no step
 * decreases J within `maxEvaluations` values of J (its float64 precision is reached).
 */
function wolfeStep(
  evaluate: (x: Tensor) => Point,
  at: Point,
  d: Tensor,
  slope0: number,
  t0: number,
): { point: Point; t: number } | null {
  const value = (t: number): { point: Point; slope: number } => {
    const point = evaluate(scope(() => at.x.add(d.mul(t))));
    return { point, slope: scope(() => point.g.dot(d).item()) };
  };
  const sufficient = (t: number, f: number): boolean => Number.isFinite(f) && f <= at.risk + armijo * t * slope0;
  const flat = (slope: number): boolean => Math.abs(slope) <= -curvature * slope0;
  // The best point meeting the sufficient decrease alone: the answer if the curvature condition never is.
  let best: { point: Point; t: number } | null = null;
  const consider = (point: Point, t: number): void => {
    if (sufficient(t, point.risk) && (best === null || point.risk < best.point.risk)) {
      if (best !== null) dispose(best.point);
      best = { point, t };
    } else dispose(point);
  };
  let lo = { t: 0, f: at.risk, slope: slope0 };
  let hi: { t: number; f: number; slope: number } | null = null;
  let t = t0;
  for (let evaluations = 0; evaluations < maxEvaluations; evaluations++) {
    const { point, slope } = value(t);
    const f = point.risk;
    if (!sufficient(t, f) || (hi === null && evaluations > 0 && f >= lo.f) || (hi !== null && f >= lo.f)) {
      hi = { t, f, slope };
    } else {
      if (flat(slope)) {
        if (best !== null) dispose((best as { point: Point }).point);
        return { point, t };
      }
      if (hi !== null && slope * (hi.t - lo.t) >= 0) hi = lo;
      else if (hi === null && slope >= 0) hi = lo;
      lo = { t, f, slope };
    }
    consider(point, t);
    if (hi === null) t *= 2;
    else {
      if (Math.abs(hi.t - lo.t) <= 1e-12 * Math.max(1, lo.t)) break;
      t = cubicStep(lo.t, lo.f, lo.slope, hi.t, hi.f, hi.slope);
    }
  }
  return best;
}

export function minimize(obj: Objective, start: Tensor[], o: MinimizeOptions = {}): MinimizeResult {
  const method = o.method ?? 'lbfgs';
  const tolerance = o.tolerance ?? 1e-4;
  const maxSteps = o.maxSteps ?? 1000;
  const memory = o.memory ?? 10;
  const meter = new Meter();
  const evaluate = (x: Tensor): Point =>
    scope(() => {
      const { risk, gradient } = riskAndGradient(obj, unflat(x, start), meter);
      return { x: keep(x), g: keep(flat(gradient)), risk };
    });
  const norm = (v: Tensor): number => scope(() => v.norm().item());
  const dot = (a: Tensor, b: Tensor): number => scope(() => a.dot(b).item());

  let at = evaluate(scope(() => flat(start).clone()));
  let gradientNorm = norm(at.g);
  const history: MinimizeStep[] = [{ step: 0, risk: at.risk, gradientNorm, stepLength: 0 }];
  const pairs: { s: Tensor; y: Tensor; rho: number }[] = [];
  const forget = (): void => {
    for (const p of pairs.splice(0)) [p.s, p.y].forEach((t) => t.dispose());
  };
  let alpha = 1;
  let stopped: MinimizeResult['stopped'] = 'max-steps';
  let step = 0;
  while (true) {
    if (gradientNorm <= tolerance) {
      stopped = 'tolerance';
      break;
    }
    if (step >= maxSteps) break;
    const direction = keep(scope(() => (method === 'gd' ? at.g.neg() : lbfgsDirection(at.g, pairs))));
    let slope = dot(at.g, direction);
    if (slope >= 0) {
      // Not a descent direction (curvature pairs gone stale): restart from steepest descent.
      forget();
      direction.copy_(at.g).mul_(-1);
      slope = -(gradientNorm ** 2);
    }
    const t0 = method === 'gd' ? alpha : pairs.length === 0 ? Math.min(1, 1 / gradientNorm) : 1;
    let found = wolfeStep(evaluate, at, direction, slope, t0);
    if (found === null && pairs.length > 0) {
      // The quasi-Newton direction found no decrease: try once more along −∇J before giving up.
      forget();
      direction.copy_(at.g).mul_(-1);
      found = wolfeStep(evaluate, at, direction, -(gradientNorm ** 2), Math.min(1, 1 / gradientNorm));
    }
    direction.dispose();
    if (found === null) {
      stopped = 'no-decrease';
      break;
    }
    const { point: next, t } = found;
    step++;
    if (method === 'gd') alpha = 2 * t;
    else {
      const s = keep(scope(() => next.x.sub(at.x)));
      const y = keep(scope(() => next.g.sub(at.g)));
      const sy = dot(s, y);
      if (sy > 1e-12 * norm(s) * norm(y)) {
        pairs.push({ s, y, rho: 1 / sy });
        const dropped = pairs.length > memory ? pairs.shift() : undefined;
        dropped?.s.dispose();
        dropped?.y.dispose();
      } else {
        s.dispose();
        y.dispose();
      }
    }
    dispose(at);
    at = next;
    gradientNorm = norm(at.g);
    const record = { step, risk: at.risk, gradientNorm, stepLength: t };
    history.push(record);
    o.onStep?.(record);
  }
  forget();
  const params = scope(() => unflat(at.x, start).map((p) => p.clone()));
  dispose(at);
  return {
    method,
    params,
    risk: at.risk,
    gradientNorm,
    steps: step,
    converged: stopped === 'tolerance',
    stopped,
    history,
    cost: meter.cost(),
  };
}

/** −H_m g by the two-loop recursion (Nocedal & Wright, Alg. 7.4). */
function lbfgsDirection(g: Tensor, pairs: { s: Tensor; y: Tensor; rho: number }[]): Tensor {
  let q = g.clone();
  const alphas: number[] = [];
  for (let i = pairs.length - 1; i >= 0; i--) {
    const a = pairs[i].rho * pairs[i].s.dot(q).item();
    alphas[i] = a;
    q = q.sub(pairs[i].y.mul(a));
  }
  if (pairs.length > 0) {
    const last = pairs[pairs.length - 1];
    q = q.mul(1 / (last.rho * last.y.dot(last.y).item()));
  }
  for (let i = 0; i < pairs.length; i++) {
    const b = pairs[i].rho * pairs[i].y.dot(q).item();
    q = q.add(pairs[i].s.mul(alphas[i] - b));
  }
  return q.neg();
}
