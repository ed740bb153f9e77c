/*
 * The objective a run minimizes, defined once (paper §II; the local step follows its gradient):
 *
 *   J_k(w) = (1/|D_k|) Σ_{n ∈ D_k} ℓ(f(w; x_n), y_n) + (λ/2)‖w‖²     agent k's local risk
 *   J(w)   = Σ_k p_k J_k(w)                                          the global risk
 *          = Σ_k (p_k/|D_k|) Σ_{n ∈ D_k} ℓ_n(w)  +  (λ/2)‖w‖²
 *            └──────────── data loss ───────────┘   └ decay ┘
 *
 * ℓ the cross-entropy, λ the weight decay (src/algorithms/local.ts adds λφ to each agent's
 * gradient, so the engine descends J), p the Perron vector of A (Σ_k p_k = 1). Every output
 * reports the data loss and J both; the Hessian of J is H + λI, H the data loss's.
 *
 * A ModelRisk is J over weighted examples, J(w) = Σ_i ω_i ℓ_i(w) + (λ/2)‖w‖² with Σ_i ω_i = 1:
 *   globalRisk  ω_i = p_k/|D_k| on every agent's part (J exactly), or p_k/|S_k| on a stratified
 *               subset S_k ⊂ D_k (an unbiased estimate of J, for large training sets);
 *   agentRisk   ω_i = 1/|D_k| on D_k (J_k);
 *   splitRisk   ω_i = 1/n on a data split (the test set).
 * riskObjective makes it an Objective of one model (exact ∇J and ∇²J v, objective.ts);
 * stackedScores evaluates many stacked models [S, …] in one pass.
 *
 * Over a network of K agents: the centroid w_c = Σ_k p_k w_k and the consensus distance
 * (1/K) Σ_k ‖w_k − w_c‖², both computed from differences to agent 1 (cancellation-safe).
 */
import {
  Generator,
  crossEntropy,
  fromArray,
  noGrad,
  randperm,
  scope,
  tensor,
  zeros,
  type Tensor,
} from '../tensor/index.js';
import { activationBytesPerExample, type Model } from '../models/index.js';
import type { Objective, ObjectiveTerm } from './objective.js';

/** What defines J: the model, the training examples, each agent's part D_k, p, and λ (a training Setup is one). */
export interface RiskDefinition {
  model: Model;
  /** The training examples: x [N, …], y int64 [N]. */
  train: { x: Tensor; y: Tensor };
  /** Training-example indices held by each agent. */
  parts: number[][];
  /** p, the weights of J = Σ_k p_k J_k and of the centroid. */
  perron: number[];
  config: { weightDecay: number };
}

/** J(w) = Σ_i ω_i ℓ(f(w; x_i), y_i) + (λ/2)‖w‖² over n examples of a data set; plain data apart from the data set's tensors. */
export interface ModelRisk {
  model: Model;
  /** The data set: x [N, …], y int64 [N]. */
  data: { x: Tensor; y: Tensor };
  /** The examples J sums over, as indices into the data set; null for all N in order. */
  index: Int32Array | null;
  /** n·ω_i for the n examples (mean one, so a plain mean has all ones and sums stay exact): J = (1/n) Σ_i weights_i ℓ_i + (λ/2)‖w‖². */
  weights: Float64Array;
  /** λ. */
  weightDecay: number;
}

/** The examples J is scored on: all of them, or a random subset of at most maxExamples drawn by Generator(seed). */
export interface Subset {
  maxExamples?: number;
  seed?: number;
}

/**
 * The global risk J = Σ_k p_k J_k. With at most `maxExamples` training examples (default all)
 * it is exact; beyond, each agent's part contributes a random share S_k (in proportion to
 * |D_k|, at least one example) weighted p_k/|S_k|.
 */
export function globalRisk(d: RiskDefinition, o: Subset = {}): ModelRisk {
  const { parts, perron } = d;
  const total = parts.reduce((n, part) => n + part.length, 0);
  const fraction = Math.min(1, (o.maxExamples ?? total) / total);
  const base = { model: d.model, data: d.train, weightDecay: d.config.weightDecay };
  if (fraction === 1) {
    const n = d.train.y.shape[0];
    const weights = new Float64Array(n);
    parts.forEach((part, k) => part.forEach((i) => (weights[i] += (n * perron[k]) / part.length)));
    return { ...base, index: null, weights };
  }
  const gen = new Generator(o.seed ?? 0);
  const chosen = parts.map((part) => {
    const size = Math.max(1, Math.round(part.length * fraction));
    if (size >= part.length) return Int32Array.from(part);
    const order = scope(() => randperm(part.length, gen).narrow(0, 0, size).toNumbers());
    return Int32Array.from(order, (i) => part[i]);
  });
  const n = chosen.reduce((m, ix) => m + ix.length, 0);
  return {
    ...base,
    index: Int32Array.from(chosen.flatMap((ix) => Array.from(ix))),
    weights: Float64Array.from(chosen.flatMap((ix, k) => Array.from(ix, () => (n * perron[k]) / ix.length))),
  };
}

/** J_k, agent k's local risk on its part D_k. */
export function agentRisk(d: RiskDefinition, k: number): ModelRisk {
  const part = d.parts[k];
  return {
    model: d.model,
    data: d.train,
    index: Int32Array.from(part),
    weights: new Float64Array(part.length).fill(1),
    weightDecay: d.config.weightDecay,
  };
}

/** The mean loss over a data split (+ (λ/2)‖w‖²): all its examples, or a uniform random subset. */
export function splitRisk(
  model: Model,
  data: { x: Tensor; y: Tensor },
  weightDecay: number,
  o: Subset = {},
): ModelRisk {
  const n = data.y.shape[0];
  const m = Math.min(n, o.maxExamples ?? n);
  const index =
    m === n
      ? null
      : Int32Array.from(
          scope(() =>
            randperm(n, new Generator(o.seed ?? 0))
              .narrow(0, 0, m)
              .toNumbers(),
          ),
        );
  return { model, data, index, weights: new Float64Array(m).fill(1), weightDecay };
}

/** Examples [start, start + length) of a risk: x in `dtype` [length, …], y [length], n·ω float64 [length]. */
function examples(
  r: ModelRisk,
  start: number,
  length: number,
  dtype: Tensor['dtype'],
): { x: Tensor; y: Tensor; weights: Tensor } {
  const at = r.index && fromArray(r.index.subarray(start, start + length));
  const x = at ? r.data.x.indexSelect(0, at) : r.data.x.narrow(0, start, length);
  const y = at ? r.data.y.indexSelect(0, at) : r.data.y.narrow(0, start, length);
  return { x: x.to(dtype), y, weights: fromArray(r.weights.subarray(start, start + length)) };
}

/** (λ/2)‖w‖² of each of S stacked models [S, …], in float64. */
export function decayTerms(stacked: Tensor[], weightDecay: number): number[] {
  const S = stacked[0].shape[0];
  if (weightDecay === 0) return new Array<number>(S).fill(0);
  return scope(() =>
    stacked
      .map((p) => p.to('float64').reshape([S, -1]).square().sum(1))
      .reduce((a, b) => a.add(b))
      .mul(weightDecay / 2)
      .toNumbers(),
  );
}

/**
 * J as an Objective of one model's parameters (paramShapes, any dtype; the data are cast
 * chunk by chunk), in chunks of `chunkSize` examples: risk, ∇J and ∇²J v come from objective.ts.
 * @throws RangeError when the risk has no examples or chunkSize is not positive.
 */
export function riskObjective(r: ModelRisk, chunkSize = 1000): Objective {
  const n = r.weights.length;
  if (!(n > 0 && chunkSize > 0))
    throw new RangeError(`riskObjective: ${n} examples in chunks of ${chunkSize}: both must be positive`);
  const terms: ObjectiveTerm[] = [];
  // A chunk's forward and gradient graph, estimated: the forward's activations, and about twice as much
  // again saved by the gradient's graph for the double backward.
  const graphBytesPerExample = 3 * activationBytesPerExample(r.model);
  for (let start = 0; start < n; start += chunkSize) {
    const length = Math.min(chunkSize, n - start);
    terms.push({
      weight: 1,
      graphBytes: length * graphBytesPerExample,
      data: { examples: length, share: r.weights.subarray(start, start + length).reduce((a, b) => a + b, 0) / n },
      loss: (params) => {
        const { x, y, weights } = examples(r, start, length, params[0].dtype);
        const logits = r.model.forward(
          params.map((p) => p.unsqueeze(0)),
          x.unsqueeze(0),
        );
        return crossEntropy(logits.reshape([length, r.model.classes]), y, 'none')
          .to('float64')
          .dot(weights)
          .div(n);
      },
    });
  }
  if (r.weightDecay > 0)
    terms.push({
      weight: r.weightDecay / 2,
      loss: (params) => params.map((p) => p.square().sum()).reduce((a, b) => a.add(b)),
    });
  return { terms };
}

/** Each model's data loss Σ ω_i ℓ_i, accuracy Σ ω_i [argmax f(w; x_i) = y_i], and J = data loss + (λ/2)‖w‖². */
export interface Scores {
  dataLoss: number[];
  accuracy: number[];
  risk: number[];
}

/** What the S models' forward passes over one evaluation chunk may hold: 256 MiB. */
export const evaluationBudgetBytes = 256 * 1024 ** 2;

/**
 * The scores of S stacked models [S, …] (float64 sums), in chunks sized so that the S
 * models' activations over a chunk stay within evaluationBudgetBytes.
 */
export function stackedScores(r: ModelRisk, stacked: Tensor[]): Scores {
  const S = stacked[0].shape[0];
  const n = r.weights.length;
  const perExample = activationBytesPerExample(r.model);
  const chunk = Math.max(1, Math.min(n, Math.floor(evaluationBudgetBytes / (S * perExample))));
  return noGrad(() =>
    scope(() => {
      const loss = zeros([S], 'float64');
      const hits = zeros([S], 'float64');
      for (let start = 0; start < n; start += chunk) {
        scope(() => {
          const len = Math.min(chunk, n - start);
          const { x, y, weights } = examples(r, start, len, stacked[0].dtype);
          const logits = r.model.forward(stacked, x.unsqueeze(0).expand([S, ...x.shape]));
          const losses = crossEntropy(logits.reshape([S * len, r.model.classes]), y.repeat([S]), 'none').reshape([
            S,
            len,
          ]);
          loss.add_(losses.to('float64').matmul(weights));
          hits.add_(
            logits
              .argmax(2)
              .eq(y.unsqueeze(0).expand([S, len]))
              .to('float64')
              .matmul(weights),
          );
        });
      }
      const dataLoss = loss.div(n).toNumbers();
      const decay = decayTerms(stacked, r.weightDecay);
      return { dataLoss, accuracy: hits.div(n).toNumbers(), risk: dataLoss.map((l, s) => l + decay[s]) };
    }),
  );
}

/** p as a [K, 1, …, 1] tensor that broadcasts against a stacked [K, …] parameter (uniform when not given). */
function weightsFor(K: number, like: Tensor, p: ArrayLike<number> | undefined): Tensor {
  const values = p === undefined ? Array.from({ length: K }, () => 1 / K) : Array.from(p);
  if (values.length !== K) throw new RangeError(`agent weights p have ${values.length} entries for K = ${K} agents`);
  const total = values.reduce((a, b) => a + b, 0);
  if (Math.abs(total - 1) > 1e-6)
    throw new RangeError(`agent weights p must sum to 1 (a Perron vector), they sum to ${total}`);
  return tensor(values, like.dtype).reshape([K, ...like.shape.slice(1).map(() => 1)]);
}

/**
 * The centroids w_{c,r} = Σ_k p_k w_{r,k} of R replicas of K agents stacked [R·K, …] (agent k
 * of replica r at row r·K + k): [R, …] per parameter. Computed as w_{r,1} + Σ_k p_k (w_{r,k} − w_{r,1}),
 * so identical agents give their common value exactly.
 * @throws RangeError when p does not have K entries summing to one.
 */
export function centroids(stacked: Tensor[], p?: ArrayLike<number>, replicas = 1): Tensor[] {
  return scope(() =>
    stacked.map((w) => {
      const K = w.shape[0] / replicas;
      const byReplica = w.reshape([replicas, K, ...w.shape.slice(1)]);
      const first = byReplica.narrow(1, 0, 1);
      return byReplica
        .sub(first)
        .mul(weightsFor(K, w, p).unsqueeze(0))
        .sum(1)
        .add(first.squeeze(1));
    }),
  );
}

/**
 * The centroid w_c = Σ_k p_k w_k of stacked [K, …] parameters: one model's parameters.
 * @throws RangeError when p does not have K entries summing to one.
 */
export const centroid = (stacked: Tensor[], p?: ArrayLike<number>): Tensor[] =>
  scope(() => centroids(stacked, p).map((t) => t.squeeze(0)));

/**
 * (1/K) Σ_k ‖w_k − w_c‖² over all parameter tensors, stacked [K, …]. From the differences
 * to agent 1, w_k − w_c = (w_k − w_1) − Σ_l p_l (w_l − w_1), so nearly equal agents lose no
 * digits to cancellation, and identical ones give exactly 0.
 * @throws RangeError when p does not have K entries summing to one.
 */
export function consensusDistance(stacked: Tensor[], p?: ArrayLike<number>): number {
  return scope(() => {
    const K = stacked[0].shape[0];
    return (
      stacked.reduce((s, w) => {
        const d = w.sub(w.narrow(0, 0, 1));
        return (
          s +
          d
            .sub(d.mul(weightsFor(K, w, p)).sum(0, true))
            .square()
            .sum()
            .item()
        );
      }, 0) / K
    );
  });
}
