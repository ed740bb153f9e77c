// The top eigenvalues of the Hessian H = ∇²J(w), two ways.
// Power iteration with deflation, for i = 1..k:
//   v ← P_i H v / ‖P_i H v‖,  λ_i = vᵀHv,  P_i = I − Σ_{j<i} u_j u_jᵀ (projection off the found u_j),
// until the residual of the deflated operator ‖P_i H v − λ_i v‖ ≤ tol·|λ_i| (the plain residual
// ‖Hv − λ_i v‖ cannot fall below the error left in the u_j): the eigenvalues of largest magnitude.
// Lanczos (full reorthogonalization) from a random start: the k largest Ritz values of T_m,
// grown until their residuals β_m|s_i[m]| ≤ tol·|θ_i|: the algebraically largest eigenvalues.
import { randn, scope, type Generator, type Tensor } from '../tensor/index.js';
import { Meter, type Cost } from './cost.js';
import { lanczos, ritz } from './lanczos.js';
import { hessianOperator, type Objective } from './objective.js';
import { dimension } from './vector.js';

export interface EigenOptions {
  k: number;
  gen: Generator;
  /** Relative residual at which an eigenvalue counts as converged (default 1e-3). */
  tol?: number;
  /** Power: iterations per eigenvalue (default 100). Lanczos: Krylov dimension (default max(4k, 40), at most M). */
  maxIterations?: number;
}

export interface Eigenvalues {
  method: 'power' | 'lanczos';
  /** Descending (by magnitude for power iteration, by value for Lanczos). */
  values: number[];
  /** Power: ‖P_i H v − λ_i v‖ (deflated operator). Lanczos: the Ritz residual bound β_m|s_i[m]|. */
  residuals: number[];
  converged: boolean[];
  /** Power: iterations spent on each value. Lanczos: the Krylov dimension reached (the same for all). */
  iterations: number[];
  cost: Cost;
}

export function powerEigenvalues(obj: Objective, params: Tensor[], o: EigenOptions): Eigenvalues {
  const tol = o.tol ?? 1e-3;
  const maxIterations = o.maxIterations ?? 100;
  const meter = new Meter();
  const apply = hessianOperator(obj, params, meter);
  const m = dimension(params);
  const out: Eigenvalues = {
    method: 'power',
    values: [],
    residuals: [],
    converged: [],
    iterations: [],
    cost: meter.cost(),
  };
  scope(() => {
    const found: Tensor[] = [];
    const deflate = (x: Tensor): Tensor => found.reduce((y, u) => y.sub(u.mul(u.dot(y))), x);
    for (let i = 0; i < Math.min(o.k, m); i++) {
      let v = scope(() => {
        const x = deflate(randn([m], o.gen, params[0].dtype));
        return x.div(x.norm());
      });
      let lambda = 0;
      let residual = Infinity;
      let iterations = 0;
      while (iterations < maxIterations) {
        iterations++;
        const step = scope(() => {
          const next = deflate(apply(v));
          const lambda = v.dot(next).item();
          const residual = next.sub(v.mul(lambda)).norm().item();
          const size = next.norm().item();
          return { lambda, residual, next: residual <= tol * Math.abs(lambda) || size === 0 ? null : next.div(size) };
        });
        lambda = step.lambda;
        residual = step.residual;
        if (step.next === null) break;
        v.dispose();
        v = step.next;
      }
      found.push(v);
      out.values.push(lambda);
      out.residuals.push(residual);
      out.converged.push(residual <= tol * Math.abs(lambda));
      out.iterations.push(iterations);
    }
  });
  out.cost = meter.cost();
  return out;
}

export function lanczosEigenvalues(obj: Objective, params: Tensor[], o: EigenOptions): Eigenvalues {
  const tol = o.tol ?? 1e-3;
  const m = dimension(params);
  const k = Math.min(o.k, m);
  const steps = Math.min(o.maxIterations ?? Math.max(4 * k, 40), m);
  const meter = new Meter();
  const apply = hessianOperator(obj, params, meter);
  const top = (t: Parameters<typeof ritz>[0]) => {
    const r = ritz(t);
    const n = r.values.length;
    const idx = Array.from({ length: Math.min(k, n) }, (_, i) => n - 1 - i);
    const values = idx.map((i) => r.values[i]);
    const residuals = idx.map((i) => r.residuals[i]);
    return { values, residuals, converged: values.map((v, i) => residuals[i] <= tol * Math.abs(v)) };
  };
  const t = scope(() =>
    lanczos(apply, randn([m], o.gen, params[0].dtype), {
      steps,
      done: (t) => t.alpha.length >= k && top(t).converged.every(Boolean),
    }),
  );
  const r = top(t);
  return { method: 'lanczos', ...r, iterations: r.values.map(() => t.alpha.length), cost: meter.cost() };
}

/** Top-k eigenvalues by the named method. */
export function topEigenvalues(
  obj: Objective,
  params: Tensor[],
  o: EigenOptions & { method?: 'power' | 'lanczos' },
): Eigenvalues {
  return (o.method ?? 'lanczos') === 'power' ? powerEigenvalues(obj, params, o) : lanczosEigenvalues(obj, params, o);
}
