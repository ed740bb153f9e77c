/*
 * The unified recursion (Sayed 2014) over K agents, step size μ, and
 * combination matrices A_o, A_1, A_2 (a_{lk}: the weight agent k gives agent l;
 * columns sum to one):
 *
 *   φ_{k,n-1} = Σ_l a_{1,lk} w_{l,n-1}
 *   ψ_{k,n}   = Σ_l a_{o,lk} φ_{l,n-1} − μ ∇̂J_k(φ_{k,n-1})
 *   w_{k,n}   = Σ_l a_{2,lk} ψ_{l,n}
 *
 * Its named instances:
 *   consensus (DSGD)   A_o = A,        A_1 = A_2 = I
 *   diffusion CTA      A_1 = A,        A_o = A_2 = I
 *   diffusion ATC      A_2 = A,        A_o = A_1 = I
 *   non-cooperative    A_o = A_1 = A_2 = I
 *   centralized        A_2 = 11ᵀ/K,    A_o = A_1 = I — from a common start this is
 *                      w_n = w_{n-1} − μ (1/K) Σ_k ∇̂J_k(w_{n-1}), SGD with batch K·B.
 *
 * Agents' parameters are stacked: each tensor is [K, ...]. Σ_l a_{lk} w_l for
 * every k at once is Aᵀ·W, one matrix product per parameter tensor.
 */
import { Tensor, full, keep, neighbourStep, scope, tensor, type DType, type NeighbourPlan } from '../tensor/index.js';
import type { Matrix } from '../graph/index.js';

import type { Algorithm } from './names.js';

export { algorithms, type Algorithm } from './names.js';

/** A combination matrix as a [K, K] tensor, or null for the identity (no exchange). */
export type Combination = Tensor | null;

export interface UnifiedForm {
  Ao: Combination;
  A1: Combination;
  A2: Combination;
}

/** Averaging over all agents, (1/K)11ᵀ, in A's dtype. */
export function averaging(K: number, like: Tensor): Tensor {
  return full([K, K], 1 / K, like.dtype);
}

/**
 * (A_o, A_1, A_2) of an algorithm for the combination matrix A: a plain [K][K] matrix
 * (a_{lk} at A[l][k]), made a tensor of `dtype`, or a [K, K] tensor used as it is.
 */
export function unifiedForm(algorithm: Algorithm, combination: Matrix | Tensor, dtype: DType = 'float32'): UnifiedForm {
  const A = combination instanceof Tensor ? combination : tensor(combination, dtype);
  switch (algorithm) {
    case 'consensus':
      return { Ao: A, A1: null, A2: null };
    case 'cta':
      return { Ao: null, A1: A, A2: null };
    case 'atc':
      return { Ao: null, A1: null, A2: A };
    case 'noncooperative':
      return { Ao: null, A1: null, A2: null };
    case 'centralized':
      return { Ao: null, A1: null, A2: averaging(A.shape[0], A) };
  }
}

/** The forms of an algorithm over a combination schedule A(n): made once for a fixed A, anew at every step for a time-varying one. */
export class FormSchedule {
  private form: UnifiedForm | null = null;

  constructor(
    readonly algorithm: Algorithm,
    readonly combination: (n: number) => Matrix,
    readonly timeVarying: boolean,
  ) {}

  /** The form at step n: its tensors live until the next step that changes it, or dispose(). */
  at(n: number): UnifiedForm {
    if (this.form === null || this.timeVarying) {
      this.dispose();
      const form = scope(() => unifiedForm(this.algorithm, this.combination(n)));
      for (const A of [form.Ao, form.A1, form.A2]) if (A) keep(A);
      this.form = form;
    }
    return this.form;
  }

  dispose(): void {
    for (const A of this.form ? [this.form.Ao, this.form.A1, this.form.A2] : []) A?.dispose();
    this.form = null;
  }
}

/** Computes Σ_l a_{lk} w_l for the agents a process holds: Aᵀ·W in one process, a neighbour exchange across processes. */
export interface Mixer {
  mix(A: Tensor, w: Tensor[]): Tensor[];
  /**
   * Σ_l a_{lk} ψ_l with ψ = (−μ g) + b, in one pass where the mixer can: the same numbers as
   * mix(A, ψ), or null where it cannot (unifiedStep then forms ψ and mixes it).
   */
  step?(A: Tensor, base: Tensor[], g: Tensor[], stepSize: number): Tensor[] | null;
}

/**
 * The neighbour-only combination replaces Aᵀ·W when A has at most maxDensity·K² nonzeros, they form
 * at most maxRunsPerAgent·K runs, and K ≥ minAgents. Measured on the MLP's 203,530 parameters per
 * agent, one thread (bench/README.md, "Sparse combination"): on a ring the product costs 4.6 ms at
 * K = 16 and the runs about as much; from K = 32 the runs win (2.8× at K = 64, 6× at K = 256).
 * Below K = 32 the dense product stays, so small networks keep Aᵀ·W's exact bits.
 */
export const sparseCombination = { maxDensity: 0.25, minAgents: 32, maxRunsPerAgent: 2 };

const plans = new WeakMap<Tensor, NeighbourPlan | null>();

/** The neighbour plan of A (read from A once: a WeakMap on the tensor), or null where the dense product is used. */
function neighbourPlan(A: Tensor): NeighbourPlan | null {
  const cached = plans.get(A);
  if (cached !== undefined) return cached;
  const K = A.shape[0];
  const o = sparseCombination;
  let plan: NeighbourPlan | null = null;
  if (K >= o.minAgents) {
    const a = Array.from(A.toArray(), Number);
    const nonzeros = a.reduce((n, x) => n + (x !== 0 ? 1 : 0), 0);
    if (nonzeros <= o.maxDensity * K * K) {
      const runs: NeighbourPlan['runs'] = [];
      // Shift s = l − k (mod K), so a ring's wrap-around neighbours extend the same run order.
      for (let s = 1; s < K && runs.length <= o.maxRunsPerAgent * K; s++) {
        let open: NeighbourPlan['runs'][number] | null = null;
        for (let k = 0; k < K; k++) {
          const l = (k + s) % K;
          const c = a[l * K + k];
          if (open && c === open.weight && l === open.from + open.length && k === open.to + open.length) open.length++;
          else open = null;
          if (!open && c !== 0) runs.push((open = { from: l, to: k, length: 1, weight: c }));
        }
      }
      const diagonal = Array.from({ length: K }, (_, k) => a[k * K + k]);
      if (runs.length <= o.maxRunsPerAgent * K)
        plan = { diagonal: diagonal.every((x) => x === diagonal[0]) ? diagonal[0] : diagonal, runs };
    }
  }
  plans.set(A, plan);
  return plan;
}

/** Whether localMixer and replicaMixer combine through the neighbours for A, rather than by the dense product. */
export const usesNeighbours = (A: Tensor): boolean => neighbourPlan(A) !== null;

/**
 * Σ_l a_{lk} w_l along the agents' axis of W ([K, M], or [R, K, M] for R replicas), through agent k's
 * neighbours only, for a sparse A. The nonzeros off the diagonal
 * are grouped into runs — agents k0 … k0+n−1 that each take the same weight c from the agent a
 * fixed shift s away (l = k + s) — and
 *   w ← diag(a_kk)·W,  then for every run  w[k0 : k0+n] += c · W[k0+s : k0+s+n]
 * (slices along the agents' axis, one fused multiply-add each, no gathers): a ring is the
 * diagonal and four runs, an exponential graph two runs per shift, a hypercube about 2K runs; about 2·(d+1)·K·M flops and
 * memory passes for d neighbours against the dense product's 2·K²·M flops. The sums run in
 * that order, so they equal Aᵀ·W to float round-off, not to the bit. In the ATC step the plan goes,
 * as plain data, to one native pass over column blocks (neighbourStep, native/combine.cc) that forms ψ
 * and combines it with the same roundings in the same order; this loop stays for what that pass does
 * not take (a GPU, non-contiguous tensors, the other algorithms' combinations).
 */
function neighbourSum(plan: NeighbourPlan, W: Tensor, dtype: DType): Tensor {
  const axis = W.ndim - 2;
  const out =
    typeof plan.diagonal === 'number'
      ? W.mul(plan.diagonal)
      : W.mul(
          tensor(
            plan.diagonal.map((x) => [x]),
            dtype,
          ),
        );
  for (const r of plan.runs) out.narrow(axis, r.to, r.length).add_(W.narrow(axis, r.from, r.length), r.weight);
  return out;
}

/**
 * ψ = (−μ g) + b and Σ_l a_{lk} ψ_l in one native pass (neighbourStep), each stack viewed as R
 * networks of K agents, [R, K, M]; null where A takes the dense product or a tensor does not fit the pass.
 */
function neighbourStepAll(A: Tensor, base: Tensor[], g: Tensor[], stepSize: number, replicas: number): Tensor[] | null {
  const plan = neighbourPlan(A);
  if (plan === null) return null;
  const K = A.shape[0];
  const out: Tensor[] = [];
  for (const [i, b] of base.entries()) {
    const w = neighbourStep(b.reshape([replicas, K, -1]), g[i].reshape([replicas, K, -1]), stepSize, plan);
    if (w === null) return null;
    out.push(w.reshape(b.shape));
  }
  return out;
}

/** All K agents in this process: Aᵀ·W per parameter tensor, through the neighbours only when A is sparse. */
export const localMixer: Mixer = {
  mix(A, w) {
    const plan = neighbourPlan(A);
    const At = A.mT;
    return w.map((p) => {
      const K = p.shape[0];
      const W = p.reshape([K, -1]);
      return (plan ? neighbourSum(plan, W, A.dtype) : At.mm(W)).reshape(p.shape);
    });
  },
  step: (A, base, g, stepSize) => neighbourStepAll(A, base, g, stepSize, 1),
};

/**
 * R independent networks of K agents stacked as R·K rows (agent k of replica r at row r·K + k):
 * the combination mixes within each replica only, the block-diagonal I_R ⊗ A applied as R
 * batched products Aᵀ·W_r, or through the neighbours of a sparse A.
 */
export function replicaMixer(replicas: number): Mixer {
  return {
    mix(A, w) {
      const plan = neighbourPlan(A);
      const K = A.shape[0];
      // bmm with Aᵀ expanded over the replicas: matmul([K, K], [R, K, M]) folds the replicas into the
      // rows of a transposed copy instead, twice the time (R = 4, K = 8, MLP: 21 → 10 ms of CPU).
      const At = A.mT.unsqueeze(0).expand([replicas, K, K]);
      return w.map((p) => {
        const W = p.reshape([replicas, K, -1]);
        return (plan ? neighbourSum(plan, W, A.dtype) : At.bmm(W)).reshape(p.shape);
      });
    },
    step: (A, base, g, stepSize) => neighbourStepAll(A, base, g, stepSize, replicas),
  };
}

export function combine(A: Combination, w: Tensor[], mixer: Mixer = localMixer): Tensor[] {
  return A === null ? w : mixer.mix(A, w);
}

/**
 * One step of the unified recursion. `gradient(φ)` returns the stacked stochastic
 * gradients ∇̂J_k(φ_k) (or any local update direction built from them); w is not modified.
 */
export function unifiedStep(
  w: Tensor[],
  gradient: (phi: Tensor[]) => Tensor[],
  form: UnifiedForm,
  stepSize: number,
  mixer: Mixer = localMixer,
): Tensor[] {
  return scope(() => {
    const phi = combine(form.A1, w, mixer);
    const g = gradient(phi);
    const base = combine(form.Ao, phi, mixer);
    // ψ and its combination in one pass where the mixer can (a sparse A2 on the CPU).
    const fused = form.A2 === null ? null : (mixer.step?.(form.A2, base, g, stepSize) ?? null);
    if (fused) return fused;
    // (−μ g) + b in place of b − μ g: the same numbers, one pass and one allocation fewer.
    const psi = base.map((b, i) => g[i].mul(-stepSize).add_(b));
    return combine(form.A2, psi, mixer);
  });
}
