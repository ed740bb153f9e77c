// The global risk as a sum over data chunks, and its exact derivatives:
//   J(w) = Σ_i weight_i · loss_i(w),   ∇J(w) = Σ_i weight_i ∇loss_i(w),
//   ∇²J(w) v = Σ_i weight_i ∇_w ⟨∇loss_i(w), v⟩   (double backward, never finite differences).
// One chunk's graph lives at a time, so memory stays bounded; chunks are visited
// in order, so results are deterministic.
import { grad, keep, noGrad, scope, zeros, type Tensor } from '../tensor/index.js';
import type { Meter } from './cost.js';
import { flat, unflat } from './vector.js';

export interface ObjectiveTerm {
  weight: number;
  /** A scalar loss of one model's parameter tensors (a plain list, any shapes). */
  loss: (params: Tensor[]) => Tensor;
  /**
   * The examples the term sums over, absent for a term without data (weight decay): their count and
   * their share Σ_{i∈term} ω_i / Σ_i ω_i of the data's weight — what resampling the data needs (resampling.ts).
   */
  data?: { examples: number; share: number };
  /** About how many bytes the term's forward and gradient graph hold (what keeping it costs, see HessianAt); absent: small. */
  graphBytes?: number;
}

export interface Objective {
  terms: ObjectiveTerm[];
}

/**
 * The objective of a mean loss over `count` examples visited in chunks of `chunkSize`:
 * lossOn(start, length) must return the mean loss over examples [start, start + length).
 * Each chunk is weighted by its share length/count, so J is the mean over all examples.
 */
export function meanObjective(
  count: number,
  chunkSize: number,
  lossOn: (start: number, length: number) => (params: Tensor[]) => Tensor,
): Objective {
  if (!(count > 0 && chunkSize > 0))
    throw new RangeError(`meanObjective: count (${count}) and chunkSize (${chunkSize}) must be positive`);
  const terms: ObjectiveTerm[] = [];
  for (let start = 0; start < count; start += chunkSize) {
    const length = Math.min(chunkSize, count - start);
    terms.push({
      weight: length / count,
      loss: lossOn(start, length),
      data: { examples: length, share: length / count },
    });
  }
  return { terms };
}

/** Fresh leaves sharing the parameters' storage, so derivatives are taken with respect to them. */
const leaves = (params: Tensor[]): Tensor[] => params.map((p) => p.detach().requiresGrad_());

/** ∇ of a scalar with respect to leaves, with zeros where it does not depend on a leaf. */
function gradOrZeros(y: Tensor, xs: Tensor[], o: { createGraph?: boolean; retainGraph?: boolean } = {}): Tensor[] {
  if (!y.requiresGrad) return xs.map((x) => zeros(x.shape, x.dtype));
  return grad(y, xs, {
    createGraph: o.createGraph ?? false,
    retainGraph: o.retainGraph ?? o.createGraph ?? false,
    allowUnused: true,
  }).map((g, j) => g ?? zeros(xs[j].shape, xs[j].dtype));
}

/** J(w). */
export function risk(obj: Objective, params: Tensor[], meter?: Meter): number {
  if (meter) meter.evaluations++;
  return noGrad(() => obj.terms.reduce((s, term) => s + term.weight * scope(() => term.loss(params).item()), 0));
}

/** ∇J(w), shaped like params. */
export function gradient(obj: Objective, params: Tensor[], meter?: Meter): Tensor[] {
  return riskAndGradient(obj, params, meter).gradient;
}

/** J(w) and ∇J(w) in one pass over the chunks. */
export function riskAndGradient(obj: Objective, params: Tensor[], meter?: Meter): { risk: number; gradient: Tensor[] } {
  if (meter) meter.gradients++;
  return scope(() => {
    let value = 0;
    const total = params.map((p) => zeros(p.shape, p.dtype));
    for (const term of obj.terms) {
      scope(() => {
        const xs = leaves(params);
        const loss = term.loss(xs);
        value += term.weight * loss.item();
        gradOrZeros(loss, xs).forEach((g, j) => total[j].add_(g, term.weight));
      });
    }
    return { risk: value, gradient: total };
  });
}

/** ∇²J(w) v, exact, by double backward, summed over the chunks. */
export function hvp(obj: Objective, params: Tensor[], v: Tensor[], meter?: Meter): Tensor[] {
  return hvps(obj, params, [v], meter)[0];
}

/** A term's leaves and the parts of its gradient that depend on w (the rest carry no Hessian block). */
interface TermGraph {
  xs: Tensor[];
  /** ∇T's parts with a graph, and their indices into the parameters. */
  g: Tensor[];
  live: number[];
}

/** A term's forward pass and first backward (∇T with its graph); null when T has no Hessian. */
function termGraph(term: ObjectiveTerm, params: Tensor[]): TermGraph | null {
  const xs = leaves(params);
  const loss = term.loss(xs);
  if (!loss.requiresGrad) return null;
  const g = grad(loss, xs, { createGraph: true, allowUnused: true });
  const live = g.flatMap((gj, j) => (gj !== null && gj.requiresGrad ? [j] : []));
  return live.length === 0 ? null : { xs, g: live.map((j) => g[j] as Tensor), live };
}

/** Zeros shaped like params, one list per v. */
const zerosFor = (params: Tensor[], vs: Tensor[][]): Tensor[][] =>
  vs.map(() => params.map((p) => zeros(p.shape, p.dtype)));

/**
 * totals[i] += weight·∇²T(w) vs[i] through a built graph: one double backward per v, v passed as the
 * gradient's output gradient (no ⟨∇T, v⟩ node). `retain` keeps the graph after the last v.
 */
function addProducts(graph: TermGraph | null, weight: number, vs: Tensor[][], retain: boolean, totals: Tensor[][]) {
  if (graph === null) return;
  vs.forEach((v, i) =>
    scope(() => {
      const hv = grad(graph.g, graph.xs, {
        gradOutputs: graph.live.map((j) => v[j]),
        retainGraph: retain || i + 1 < vs.length,
        allowUnused: true,
      });
      hv.forEach((h, j) => {
        if (h !== null) totals[i][j].add_(h, weight);
      });
    }),
  );
}

/**
 * ∇²J(w) v for several v in one pass over the chunks: each chunk's forward pass and first
 * backward (∇loss_i with its graph) are built once and serve every v, which then costs one
 * double backward. Memory: one chunk's graph at a time (its activations and the gradient's graph),
 * plus the |vs| results and the caller's |vs| vectors, 2·|vs|·M numbers.
 */
export function hvps(obj: Objective, params: Tensor[], vs: Tensor[][], meter?: Meter): Tensor[][] {
  if (meter) meter.hvps += vs.length;
  return scope(() => {
    const totals = zerosFor(params, vs);
    for (const term of obj.terms) scope(() => addProducts(termGraph(term, params), term.weight, vs, false, totals));
    return totals;
  });
}

/** What the gradient graphs a HessianAt keeps between calls may hold, by the terms' estimates: 512 MiB. */
export const hessianGraphBudgetBytes = 512 * 1024 ** 2;

/**
 * ∇²J at one w, applied to many vectors (Lanczos, power iteration, Hutchinson's passes, SLQ): each
 * chunk's forward pass and gradient graph is built on first use and kept for every later call, while
 * the graphs kept stay within a budget (by the terms' graphBytes estimates; default
 * hessianGraphBudgetBytes); chunks beyond it are rebuilt on every call, as hvps does. dispose() frees
 * the graphs. Results are those of hvps, bit for bit.
 */
export interface HessianAt {
  /** ∇²J(w) v for every v. */
  apply(vs: Tensor[][]): Tensor[][];
  /** reduce(term t's share ∇²T_t(w) v for every v) for every term t, one term's products held at a time. */
  perTerm<R>(vs: Tensor[][], reduce: (hv: Tensor[][]) => R): R[];
  /** The bytes of the graphs kept, by the terms' estimates. */
  readonly heldBytes: number;
  dispose(): void;
}

export function hessianAt(
  obj: Objective,
  params: Tensor[],
  o: { meter?: Meter; budgetBytes?: number } = {},
): HessianAt {
  const budget = o.budgetBytes ?? hessianGraphBudgetBytes;
  const held = new Map<number, TermGraph | null>();
  let heldBytes = 0;
  /** totals[i] += weight·∇²T_t vs[i]: through the kept graph, keeping it if it fits, or a graph built for this call. */
  const add = (t: number, vs: Tensor[][], totals: Tensor[][]): void => {
    const term = obj.terms[t];
    if (!held.has(t) && heldBytes + (term.graphBytes ?? 0) <= budget) {
      const graph = scope(() => {
        const built = termGraph(term, params);
        if (built) [...built.xs, ...built.g].forEach((x) => keep(x));
        return built;
      });
      held.set(t, graph);
      heldBytes += term.graphBytes ?? 0;
    }
    const graph = held.get(t);
    if (graph !== undefined) addProducts(graph, term.weight, vs, true, totals);
    else scope(() => addProducts(termGraph(term, params), term.weight, vs, false, totals));
  };
  return {
    apply(vs) {
      if (o.meter) o.meter.hvps += vs.length;
      return scope(() => {
        const totals = zerosFor(params, vs);
        obj.terms.forEach((_, t) => add(t, vs, totals));
        return totals;
      });
    },
    perTerm(vs, reduce) {
      if (o.meter) o.meter.hvps += vs.length;
      return obj.terms.map((_, t) =>
        scope(() => {
          const totals = zerosFor(params, vs);
          add(t, vs, totals);
          return reduce(totals);
        }),
      );
    },
    get heldBytes() {
      return heldBytes;
    },
    dispose() {
      for (const graph of held.values()) if (graph) [...graph.xs, ...graph.g].forEach((x) => x.dispose());
      held.clear();
      heldBytes = 0;
    },
  };
}

/** The Hessian as an operator on flat vectors of R^M (what Krylov methods need), the graph rebuilt for every product. */
export function hessianOperator(obj: Objective, params: Tensor[], meter?: Meter): (v: Tensor) => Tensor {
  return (v) => scope(() => flat(hvp(obj, params, unflat(v, params), meter)));
}

/**
 * The explicit M×M Hessian, column j = ∇²J(w) e_j (M Hessian-vector products, `columnsPerPass`
 * per pass over the data): for small models, and to check the stochastic estimators.
 */
export function hessian(obj: Objective, params: Tensor[], o: { meter?: Meter; columnsPerPass?: number } = {}): Tensor {
  const perPass = o.columnsPerPass ?? 16;
  return scope(() => {
    const m = params.reduce((s, p) => s + p.numel, 0);
    const dtype = params[0].dtype;
    const h = zeros([m, m], dtype);
    for (let first = 0; first < m; first += perPass) {
      scope(() => {
        const count = Math.min(perPass, m - first);
        const es = Array.from({ length: count }, (_, c) => {
          const e = zeros([m], dtype);
          e.narrow(0, first + c, 1).add_(1);
          return unflat(e, params);
        });
        hvps(obj, params, es, o.meter).forEach((col, c) => h.select(1, first + c).copy_(flat(col)));
      });
    }
    return h;
  });
}
