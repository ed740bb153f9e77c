/*
 * Deterministic minimization of a risk J down to a gradient-norm tolerance, to find the
 * local minimizer w* that escape experiments start from.
 *
 *   gd:     w ← w − α ∇J(w), α by backtracking (Armijo: J(w − α∇J) ≤ J(w) − c α ‖∇J‖²),
 *           doubled after every accepted step so it tracks the largest stable step.
 *   lbfgs:  w ← w + α d,  d = −H_m ∇J(w) by the two-loop recursion over the last m pairs
 *           s = w_{n+1} − w_n, y = ∇J(w_{n+1}) − ∇J(w_n) (kept when sᵀy > 0), H_0 = sᵀy/yᵀy · I;
 *           α from 1 by Armijo backtracking (J(w + αd) ≤ J(w) + c α ∇Jᵀd).
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
const maxHalvings = 40;

interface Point {
  x: Tensor;
  g: Tensor;
  risk: number;
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
      for (const p of pairs.splice(0)) [p.s, p.y].forEach((t) => t.dispose());
      direction.copy_(at.g).mul_(-1);
      slope = -(gradientNorm ** 2);
    }
    let t = method === 'gd' ? alpha : pairs.length === 0 ? Math.min(1, 1 / gradientNorm) : 1;
    let next: Point | null = null;
    for (let h = 0; h < maxHalvings; h++) {
      const trial = evaluate(scope(() => at.x.add(direction.mul(t))));
      if (Number.isFinite(trial.risk) && trial.risk <= at.risk + armijo * t * slope) {
        next = trial;
        break;
      }
      trial.x.dispose();
      trial.g.dispose();
      t /= 2;
    }
    direction.dispose();
    if (next === null) {
      stopped = 'no-decrease';
      break;
    }
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
    at.x.dispose();
    at.g.dispose();
    at = next;
    gradientNorm = norm(at.g);
    const record = { step, risk: at.risk, gradientNorm, stepLength: t };
    history.push(record);
    o.onStep?.(record);
  }
  for (const p of pairs) [p.s, p.y].forEach((x) => x.dispose());
  const params = scope(() => unflat(at.x, start).map((p) => p.clone()));
  at.x.dispose();
  at.g.dispose();
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
