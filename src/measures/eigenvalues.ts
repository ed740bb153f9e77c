// The eigenvalues at either end of the Hessian's spectrum, H = ∇²J(w), two ways. For the smallest
// (most negative: the escape directions of a saddle) both run on −H.
// Block Lanczos with full reorthogonalization (Golub & Underwood 1977; Saad 2011, Numerical Methods for
// Large Eigenvalue Problems, §6.2): from b = k random orthonormal vectors V_1, the block Krylov space
// span{V_1, HV_1, …, H^{s−1}V_1} with orthonormal basis Q (each new block H V_j orthogonalized against all
// of Q twice; rows that fall in its span are dropped: the space is then invariant). Rayleigh–Ritz on it,
//   QᵀHQ = S Θ Sᵀ,  y_i = Q s_i,  residual ‖Hy_i − θ_i y_i‖ = ‖(HQ)s_i − θ_i Q s_i‖ (computed, not bounded),
// until the k extreme Ritz values have residual ≤ tol·‖H‖ (‖H‖ estimated by the largest |θ|). One
// Krylov space from a single vector holds one vector of each eigenspace; b = k starting vectors hold up
// to k, so the top k are right whatever their multiplicities. Each block's b HVPs share one pass over the data.
// Power iteration with deflation (as PyHessian), for i = 1..k:
//   v ← P_i H v / ‖P_i H v‖,  λ_i = vᵀHv,  P_i = I − Σ_{j<i} u_j u_jᵀ,
// until ‖P_i H v − λ_i v‖ ≤ tol·|λ_i|: the eigenvalues of largest magnitude. For the smallest, the
// same on σI − H with σ the largest magnitude (then the most negative eigenvalue is the largest).
// Each value has two uncertainties apart: the estimator's (the residual ‖Hv − θv‖, a bound on the
// distance to an eigenvalue) and the data's, a jackknife over groups of examples of the Rayleigh
// quotients vᵀH_g v (the first-order change of a simple eigenvalue with the data, resampling.ts).
import { eigh, fromArray, randn, scope, stack, tensor, zeros, type Generator, type Tensor } from '../tensor/index.js';
import { Meter, type Cost } from './cost.js';
import { independentRows, orthonormalRows } from './lanczos.js';
import { hessianAt, type HessianAt, type Objective } from './objective.js';
import { dataTerms, jackknife, type DataUncertainty } from './resampling.js';
import { dimension, flat, unflat } from './vector.js';

export const spectrumEnds = ['largest', 'smallest'] as const;
export type SpectrumEnd = (typeof spectrumEnds)[number];
export const eigenMethods = ['lanczos', 'power'] as const;
export type EigenMethod = (typeof eigenMethods)[number];

export interface EigenOptions {
  k: number;
  gen: Generator;
  /** Which end of the spectrum (default largest). */
  end?: SpectrumEnd;
  /** Relative residual at which an eigenvalue counts as converged (default 1e-3; Lanczos: relative to ‖H‖). */
  tol?: number;
  /** Power: iterations per eigenvalue (default 100). Lanczos: most dimensions of the block Krylov space (default max(15k, 60), at most M). */
  maxIterations?: number;
  /** The relative error to size the examples-needed hint for. */
  targetRelativeError?: number;
  /** Called after each Hessian-vector product with those done and an upper bound on them. */
  progress?: (done: number, total: number) => void;
}

export interface Eigenvalues {
  method: EigenMethod;
  end: SpectrumEnd;
  /** From the end outwards: descending for the largest (by magnitude for power iteration), ascending for the smallest. */
  values: number[];
  /** The estimator's error: ‖Hv − θv‖ of each value's vector (power: of the deflated operator). */
  residuals: number[];
  converged: boolean[];
  /** The data's uncertainty of each value, or null when the objective has fewer than two groups of examples. */
  data: (DataUncertainty | null)[];
  /** Power: iterations spent on each value. Lanczos: the dimension of the block Krylov space. */
  iterations: number[];
  /** Lanczos: the block size b (= k); power: 1. */
  blockSize: number;
  cost: Cost;
}

interface Found {
  value: number;
  residual: number;
  converged: boolean;
  iterations: number;
  vector: Tensor;
}

/** The data's uncertainty of each Rayleigh quotient vᵀHv (one pass over the data for all vectors). */
function rayleighData(obj: Objective, params: Tensor[], vectors: Tensor[], hessian: HessianAt, target?: number) {
  if (dataTerms(obj).index.length < 2) return vectors.map(() => null);
  const vs = vectors.map((v) => unflat(v, params));
  const perTerm = hessian.perTerm(vs, (hv) => hv.map((h, i) => flat(h).dot(vectors[i]).item()));
  return vectors.map((_, i) =>
    jackknife(
      obj,
      perTerm.map((row) => row[i]),
      target,
    ),
  );
}

function report(
  obj: Objective,
  params: Tensor[],
  o: EigenOptions,
  method: EigenMethod,
  found: Found[],
  blockSize: number,
  meter: Meter,
  hessian: HessianAt,
): Eigenvalues {
  const end = o.end ?? 'largest';
  const sign = end === 'smallest' ? -1 : 1;
  return scope(() => {
    const data = rayleighData(
      obj,
      params,
      found.map((f) => f.vector),
      hessian,
      o.targetRelativeError,
    );
    return {
      method,
      end,
      values: found.map((f) => sign * f.value),
      residuals: found.map((f) => f.residual),
      converged: found.map((f) => f.converged),
      // vᵀH_g v of H itself, so already of the values' sign.
      data,
      iterations: found.map((f) => f.iterations),
      blockSize,
      cost: meter.cost(),
    };
  });
}

/** The top min(k, d) eigenpairs of the symmetrized d×d matrix t, descending: θ and the eigenvectors as rows [·, d] in t's dtype. */
function topPairs(t: Tensor, k: number): { theta: number[]; s: Tensor } {
  return scope(() => {
    const d = t.shape[0];
    const { values, vectors } = eigh(t.add(t.mT).mul(0.5).to('float64'));
    const all = values.toNumbers();
    const top = Array.from({ length: Math.min(k, d) }, (_, i) => d - 1 - i);
    return {
      theta: top.map((i) => all[i]),
      s: vectors.indexSelect(1, fromArray(Int32Array.from(top))).mT.to(t.dtype),
    };
  });
}

export function lanczosEigenvalues(obj: Objective, params: Tensor[], o: EigenOptions): Eigenvalues {
  const tol = o.tol ?? 1e-3;
  const m = dimension(params);
  const k = Math.min(o.k, m);
  const maxDimension = Math.min(o.maxIterations ?? Math.max(15 * k, 60), m);
  const sign = (o.end ?? 'largest') === 'smallest' ? -1 : 1;
  const meter = new Meter();
  const dtype = params[0].dtype;
  const hessian = hessianAt(obj, params, { meter });
  try {
    return scope(() => {
      // Q and HQ row by row in place (the first d rows are the basis so far), and T = QᵀHQ, which grows by
      // a block's rows and columns. Per block, four products with the [d, M] basis: T's new columns
      // C = (HQ_new) Qᵀ, which are also the first Gram–Schmidt pass R = HQ_new − C Q, and the second
      // pass on R. R = (I − QQᵀ) H Q_new is the block Krylov residual: H Q = Q T + R E_newᵀ, so a Ritz
      // pair (θ, s) of T has ‖H Q s − θ Q s‖ = ‖Rᵀ s_new‖ (s_new: s's entries on the newest block), the
      // test to stop on; the reported residuals are computed from Q s and HQ s once at the end.
      const basis = zeros([maxDimension, m], dtype);
      const images = zeros([maxDimension, m], dtype);
      const t = zeros([maxDimension, maxDimension], dtype);
      let d = 0;
      let block = orthonormalRows(randn([k, m], o.gen, dtype));
      let scale = 0;
      while (block) {
        const rows = block;
        const b = rows.shape[0];
        const next = scope(() => {
          const applied = hessian.apply(Array.from({ length: b }, (_, i) => unflat(rows.select(0, i), params)));
          basis.narrow(0, d, b).copy_(rows);
          const hq = images.narrow(0, d, b);
          hq.copy_(stack(applied.map((hv) => flat(hv).mul(sign))));
          const q = basis.narrow(0, 0, d + b);
          const c = hq.matmul(q.mT);
          t.narrow(0, d, b)
            .narrow(1, 0, d + b)
            .copy_(c);
          t.narrow(0, 0, d + b)
            .narrow(1, d, b)
            .copy_(c.mT);
          const first = hq.sub(c.matmul(q));
          const residual = first.sub(first.matmul(q.mT).matmul(q));
          const { theta, s } = topPairs(t.narrow(0, 0, d + b).narrow(1, 0, d + b), k);
          scale = Math.max(scale, ...theta.map(Math.abs));
          const tail = s.narrow(1, d, b);
          const bounds = tail.matmul(residual.matmul(residual.mT)).mul(tail).sum(1).clamp(0).sqrt().toNumbers();
          const done = theta.length === k && bounds.every((r) => r <= tol * scale);
          return { residual, sizes: hq.norm(2, 1).toNumbers(), done };
        });
        d += b;
        o.progress?.(meter.hvps, maxDimension);
        if (next.done || d >= maxDimension) break;
        const fresh = independentRows(next.residual, next.sizes);
        block = fresh && d + fresh.shape[0] > maxDimension ? fresh.narrow(0, 0, maxDimension - d) : fresh;
      }
      const q = basis.narrow(0, 0, d);
      const { theta, s } = topPairs(t.narrow(0, 0, d).narrow(1, 0, d), k);
      scale = Math.max(scale, ...theta.map(Math.abs));
      const y = s.matmul(q);
      const residuals = s
        .matmul(images.narrow(0, 0, d))
        .sub(y.mul(tensor(theta, dtype).unsqueeze(1)))
        .norm(2, 1)
        .toNumbers();
      const found: Found[] = theta.map((value, j) => ({
        value,
        residual: residuals[j],
        converged: residuals[j] <= tol * scale,
        iterations: d,
        vector: y.select(0, j),
      }));
      return report(obj, params, o, 'lanczos', found, k, meter, hessian);
    });
  } finally {
    hessian.dispose();
  }
}

export function powerEigenvalues(obj: Objective, params: Tensor[], o: EigenOptions): Eigenvalues {
  const tol = o.tol ?? 1e-3;
  const maxIterations = o.maxIterations ?? 100;
  const meter = new Meter();
  const session = hessianAt(obj, params, { meter });
  const hessian = (v: Tensor): Tensor => scope(() => flat(session.apply([unflat(v, params)])[0]));
  const m = dimension(params);
  const k = Math.min(o.k, m);
  const smallest = (o.end ?? 'largest') === 'smallest';
  const bound = (smallest ? k + 1 : k) * maxIterations;
  const run = (apply: (v: Tensor) => Tensor, count: number): Found[] => {
    const found: Found[] = [];
    const deflate = (x: Tensor): Tensor => found.reduce((y, f) => y.sub(f.vector.mul(f.vector.dot(y))), x);
    for (let i = 0; i < count; i++) {
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
          o.progress?.(meter.hvps, bound);
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
      found.push({ value: lambda, residual, converged: residual <= tol * Math.abs(lambda), iterations, vector: v });
    }
    return found;
  };
  try {
    return scope(() => {
      if (!smallest) return report(obj, params, o, 'power', run(hessian, k), 1, meter, session);
      // σ = |λ|max makes σI − H positive semidefinite with its largest eigenvalue σ − λ_min.
      const sigma = Math.abs(run(hessian, 1)[0].value);
      const shifted = run((v) => scope(() => v.mul(sigma).sub(hessian(v))), k);
      // Back to H's eigenvalues, negated as report() expects for the smallest end.
      const found = shifted.map((f) => ({ ...f, value: f.value - sigma }));
      return report(obj, params, { ...o, end: 'smallest' }, 'power', found, 1, meter, session);
    });
  } finally {
    session.dispose();
  }
}

/** The k eigenvalues at o.end (default largest) by the named method (default Lanczos). */
export function extremeEigenvalues(
  obj: Objective,
  params: Tensor[],
  o: EigenOptions & { method?: EigenMethod },
): Eigenvalues {
  return (o.method ?? 'lanczos') === 'power' ? powerEigenvalues(obj, params, o) : lanczosEigenvalues(obj, params, o);
}

/** The top k eigenvalues (extremeEigenvalues at the largest end). */
export const topEigenvalues = (
  obj: Objective,
  params: Tensor[],
  o: EigenOptions & { method?: EigenMethod },
): Eigenvalues => extremeEigenvalues(obj, params, { ...o, end: o.end ?? 'largest' });
