/*
 * Escape from a local minimizer w*, measured with the real engine. Every agent starts at
 * w*; each algorithm runs N steps of the unified recursion (unifiedStep with the config's
 * μ, B, graph and combination rule, each agent drawing batches from its own part), over
 * R seeds; recorded every m steps:
 *
 *   centroid:      E J(w_{c,n}) − J(w*),               w_{c,n} = Σ_k p_k w_{k,n}
 *   agent average: (1/K) Σ_k E J(w_{k,n}) − J(w*),
 *
 * each a mean over the seeds with a 95% confidence interval (Student's t, R − 1 degrees of
 * freedom, on the seeds' standard error). Faster escape = larger values.
 *
 * J is the global risk the minimum was found for, J = Σ_k p_k J_k (+ (λ/2)‖w‖² with weight
 * decay λ), evaluated on a fixed evaluation set: every agent's examples, weighted p_k/N_k,
 * when the training set has at most `evalSubset` examples — then J is exact and w* is its
 * minimizer, so no first-order term pollutes J(w) − J(w*). Larger training sets are scored
 * on a fixed subset of about `evalSubset` examples drawn from each agent's part in
 * proportion to its size (weights p_k/|S_k|): an unbiased estimate of J, whose own gradient
 * at w* is not zero — prefer a --train-subset small enough to be scored whole. Every seed,
 * step and algorithm is scored on the same examples.
 *
 * Batches. By default each agent draws its B examples uniformly with replacement from its
 * part, independently at every step: the gradient noise is then independent over steps
 * with covariance R_k/B, exactly the linearized theory's model. The training engine's own
 * sampling ('epochs': random reshuffling, without replacement) makes the noise of the steps
 * of one epoch sum to zero, so over more than an epoch it escapes markedly less than the
 * theory says; it is available to measure that effect.
 *
 * Seed r fixes every agent's batch stream (one generator per replica, drawing all K
 * agents' batches at once); the algorithms share them (common random numbers), so their
 * differences are measured with less noise than their levels. The R runs of one algorithm
 * are simulated at once: R·K agents stacked, agent k of replica r at row r·K + k, combined
 * within each replica (the block-diagonal I_R ⊗ A, applied as R batched products Aᵀ·W_r),
 * one forward/backward pass per step for all of them.
 */
import { unifiedForm, type Algorithm, type Mixer, type UnifiedForm } from '../algorithms/recursion.js';
import { momentumBuffers, type LocalOptions } from '../algorithms/local.js';
import { sgdStep } from '../algorithms/step.js';
import { AgentSampler } from '../data/index.js';
import { ConfigError, DivergenceError } from '../errors.js';
import { agentLosses, type Model } from '../models/index.js';
import { Generator, cat, crossEntropy, fromArray, keep, noGrad, rand, randperm, scope, zeros, type Tensor } from '../tensor/index.js';
import type { Split } from '../train/evaluate.js';
import { deriveSeed } from '../util/seed.js';
import { meanInterval, type MeanInterval } from '../stats/index.js';
import type { EscapeProblem } from './problem.js';

export interface EscapeOptions {
  algorithms: Algorithm[];
  /** N, steps per run. */
  steps: number;
  /** R, independent runs (seeds) per algorithm. */
  seeds: number;
  /** Record every m steps (and at n = 0 and n = N); default max(1, ⌊N/20⌋). */
  every?: number;
  /** The steps n ≤ N to record at, in place of every m-th. */
  record?: number[];
  /** The recorded steps at which the agents' risks are evaluated too (K times the centroid's cost; default all). */
  recordAgents?: number[];
  /** The examples J is measured on, with their weights (default escapeEvaluation(setup)). */
  evaluation?: WeightedSplit;
  /** 'replacement' (default): independent uniform batches; 'epochs': the engine's random reshuffling. */
  sampling?: Sampling;
  /** Called after every step of every algorithm. */
  progress?: (algorithm: Algorithm, step: number, steps: number) => void;
}

export type Sampling = 'replacement' | 'epochs';
export const samplings: readonly Sampling[] = ['replacement', 'epochs'];

/**
 * B training indices for every agent of R replicas, drawn uniformly with replacement from
 * the agent's part, independently at every step: ⌊u·N_k⌋ for u ~ U[0, 1) in float64, from
 * one generator per replica. next() gives [R·K·B] indices, replica by replica, agent by agent.
 */
export class ReplacementSampler {
  private readonly gens: Generator[];
  private readonly order: Tensor;
  private readonly sizes: Tensor;
  private readonly last: Tensor;
  private readonly offsets: Tensor;

  constructor(parts: ArrayLike<number>[], readonly batchSize: number, seeds: (number | bigint)[]) {
    if (parts.some((part) => part.length === 0)) throw new ConfigError('partition', 'an agent holds no data');
    const sizes = parts.map((part) => part.length);
    this.gens = seeds.map((seed) => new Generator(seed));
    this.order = keep(fromArray(Int32Array.from(parts.flatMap((part) => Array.from(part)))));
    this.sizes = keep(fromArray(Float64Array.from(sizes), [sizes.length, 1]));
    this.last = keep(fromArray(Int32Array.from(sizes, (n) => n - 1), [sizes.length, 1]));
    this.offsets = keep(fromArray(Int32Array.from(sizes, (_, k) => sizes.slice(0, k).reduce((a, b) => a + b, 0)), [sizes.length, 1]));
  }

  next(): Tensor {
    return scope(() => {
      const K = this.sizes.shape[0];
      // The floor is the truncation to int64; minimum() guards u·N_k rounding up to N_k.
      const local = this.gens.map((gen) => rand([K, this.batchSize], gen, 'float64').mul(this.sizes).to('int64').minimum(this.last).add(this.offsets).reshape([-1]));
      return this.order.indexSelect(0, cat(local, 0));
    });
  }

  dispose(): void {
    for (const t of [this.order, this.sizes, this.last, this.offsets]) t.dispose();
  }
}

/** The batches of stacked agents from flat indices [S·B]: x [S, B, …], y [S, B]. */
export function gatherStacked(train: { x: Tensor; y: Tensor }, index: Tensor, agents: number, batchSize: number): { x: Tensor; y: Tensor } {
  return scope(() => ({
    x: train.x.indexSelect(0, index).reshape([agents, batchSize, ...train.x.shape.slice(1)]),
    y: train.y.indexSelect(0, index).reshape([agents, batchSize]),
  }));
}

/** R independent networks of K agents stacked as R·K: the combination mixes within each replica only. */
export function replicaMixer(replicas: number): Mixer {
  return {
    mix(A, w) {
      const At = A.mT;
      return w.map((p) => At.matmul(p.reshape([replicas, A.shape[0], -1])).reshape(p.shape));
    },
  };
}

/** Each replica's centroid w_{c,r} = Σ_k p_k w_{r,k} of stacked [R·K, …] parameters: [R, …]. */
export function replicaCentroids(w: Tensor[], replicas: number, p: Tensor): Tensor[] {
  return w.map((t) => {
    const K = t.shape[0] / replicas;
    return p.reshape([1, 1, K]).matmul(t.reshape([replicas, K, -1])).reshape([replicas, ...t.shape.slice(1)]);
  });
}

export interface EscapePoint {
  step: number;
  /** E J(w_{c,n}) − J(w*) over the seeds. */
  centroid: MeanInterval;
  /** (1/K) Σ_k E J(w_{k,n}) − J(w*) over the seeds; null where the agents were not evaluated. */
  agentAverage: MeanInterval | null;
}

export interface EscapeCurve {
  algorithm: Algorithm;
  points: EscapePoint[];
  /** Each seed's values at the recorded points, [seed][point]: for paired comparisons across algorithms (NaN where not evaluated). */
  perSeed: { centroid: number[][]; agentAverage: number[][] };
  seconds: number;
}

export interface EscapeResult {
  sampling: Sampling;
  /** J(w*) on the evaluation set. */
  reference: number;
  evaluationExamples: number;
  agents: number;
  stepSize: number;
  batchSize: number;
  steps: number;
  seeds: number;
  every: number;
  curves: EscapeCurve[];
}

/** Steps at which the curves are recorded: 0, m, 2m, …, and N. */
export function recordedSteps(steps: number, every: number): number[] {
  const out: number[] = [];
  for (let n = 0; n < steps; n += every) out.push(n);
  out.push(steps);
  return out;
}

/** One model's parameters (shaped paramShapes, or [1, …]) checked against the model and reshaped to paramShapes. */
export function singleModel(model: Model, params: Tensor[]): Tensor[] {
  const fits = params.length === model.paramShapes.length && params.every((p, i) => p.numel === model.paramShapes[i].reduce((a, b) => a * b, 1));
  if (!fits) {
    throw new ConfigError('model', `the minimum's parameters [${params.map((p) => `[${p.shape.join(',')}]`).join(' ')}] do not fit ${model.name} [${model.paramShapes.map((s) => `[${s.join(',')}]`).join(' ')}] — use the model flags the minimum was found with`);
  }
  return params.map((p, i) => p.reshape(model.paramShapes[i]));
}

/** Examples with weights summing to one: J(w) = Σ_i weight_i ℓ(f(w; x_i), y_i) (+ (λ/2)‖w‖²). */
export interface WeightedSplit extends Split {
  /** float64 [n]. */
  weights: Tensor;
  /** λ, the weight decay in J. */
  weightDecay: number;
}

/** The evaluation set of J = Σ_k p_k J_k: each agent's examples (all, or a share of evalSubset) weighted p_k/|S_k|. */
export function escapeEvaluation(setup: EscapeProblem): WeightedSplit {
  const { config: c, parts, perron, train } = setup;
  const total = parts.reduce((n, part) => n + part.length, 0);
  const fraction = Math.min(1, c.evalSubset / total);
  const gen = new Generator(deriveSeed(c.seed, 'escape-evaluation'));
  return scope(() => {
    const chosen = parts.map((part) => {
      const size = Math.max(1, Math.round(part.length * fraction));
      if (size >= part.length) return Int32Array.from(part);
      const order = randperm(part.length, gen).narrow(0, 0, size).toNumbers();
      return Int32Array.from(order, (i) => part[i]);
    });
    const index = fromArray(Int32Array.from(chosen.flatMap((ix) => Array.from(ix))));
    const weights = Float64Array.from(chosen.flatMap((ix, k) => Array.from(ix, () => perron[k] / ix.length)));
    return { x: train.x.indexSelect(0, index), y: train.y.indexSelect(0, index), weights: fromArray(weights), weightDecay: c.weightDecay };
  });
}

/**
 * J of S stacked models [S, …] on a weighted split, in float64 sums over chunks sized so
 * that the S copies of a chunk's inputs stay small.
 */
export function stackedRisks(model: Model, params: Tensor[], split: WeightedSplit): number[] {
  const S = params[0].shape[0];
  const n = split.y.shape[0];
  const perExample = split.x.numel / n;
  const chunk = Math.max(1, Math.min(n, Math.floor(2 ** 23 / (S * perExample))));
  return noGrad(() =>
    scope(() => {
      const total = zeros([S], 'float64');
      for (let start = 0; start < n; start += chunk) {
        scope(() => {
          const len = Math.min(chunk, n - start);
          const x = split.x.narrow(0, start, len).to(params[0].dtype);
          const y = split.y.narrow(0, start, len);
          const logits = model.forward(params, x.unsqueeze(0).expand([S, ...x.shape]));
          const losses = crossEntropy(logits.reshape([S * len, model.classes]), y.repeat([S]), 'none').reshape([S, len]);
          total.add_(losses.to('float64').matmul(split.weights.narrow(0, start, len)));
        });
      }
      if (split.weightDecay > 0) total.add_(params.map((p) => p.to('float64').reshape([S, -1]).square().sum(1)).reduce((a, b) => a.add(b)).mul(split.weightDecay / 2));
      return total.toNumbers();
    }),
  );
}

export function runEscape(setup: EscapeProblem, wStar: Tensor[], o: EscapeOptions): EscapeResult {
  const { config: c, model } = setup;
  const K = c.agents;
  const R = o.seeds;
  const N = o.steps;
  if (!(Number.isInteger(N) && N >= 1)) throw new ConfigError('steps', `must be a positive integer, got ${N}`);
  if (!(Number.isInteger(R) && R >= 1)) throw new ConfigError('seeds', `must be a positive integer, got ${R}`);
  const every = o.every ?? Math.max(1, Math.floor(N / 20));
  if (!(Number.isInteger(every) && every >= 1)) throw new ConfigError('every', `must be a positive integer, got ${every}`);
  if (c.schedule.kind !== 'constant') throw new ConfigError('schedule', `escape runs at a constant step size μ; got the schedule '${c.schedule.kind}' — drop --schedule`);
  if (o.algorithms.length === 0) throw new ConfigError('algorithms', 'name at least one algorithm');
  const sampling = o.sampling ?? 'replacement';
  if (!samplings.includes(sampling)) throw new ConfigError('sampling', `unknown sampling '${String(sampling)}' — one of ${samplings.join(', ')}`);
  const marks = (o.record ?? recordedSteps(N, every)).filter((n) => n <= N);
  const withAgents = new Set(o.recordAgents ?? marks);
  // Everything made here but the kept iterates is freed when the scope closes, on errors too.
  return scope(() => {
    const evaluation = o.evaluation ?? escapeEvaluation(setup);
    const start = singleModel(model, wStar).map((p) => p.detach().to('float32').contiguous());
    const reference = stackedRisks(model, start.map((p) => p.unsqueeze(0)), evaluation)[0];
    const local: LocalOptions = { weightDecay: c.weightDecay, clipNorm: c.clipNorm, momentum: c.momentum };
    const pK = fromArray(Float32Array.from(setup.perron));
    const mixer = replicaMixer(R);
    const steps = new Set(marks);

    const curves = o.algorithms.map((algorithm): EscapeCurve => {
      const began = Date.now();
      const draw = sampling === 'epochs' ? epochDraws(setup, R) : replacementDraws(setup, R);
      let w = start.map((t) => keep(scope(() => t.unsqueeze(0).expand([R * K, ...t.shape]).contiguous())));
      const buffers = momentumBuffers(local, w);
      buffers?.forEach(keep);
      let form: UnifiedForm | null = null;
      const points: EscapePoint[] = [];
      const perSeed = { centroid: Array.from({ length: R }, (): number[] => []), agentAverage: Array.from({ length: R }, (): number[] => []) };
      const record = (n: number): void => {
        const agents = withAgents.has(n);
        const risks = scope(() => {
          const centroids = replicaCentroids(w, R, pK);
          return stackedRisks(model, agents ? w.map((t, j) => cat([t, centroids[j]], 0)) : centroids, evaluation);
        });
        if (!risks.every(Number.isFinite)) throw new DivergenceError(`${algorithm} diverged within ${n} steps of w* (J = ${risks.find((x) => !Number.isFinite(x))}) — lower --step-size`);
        const offset = agents ? R * K : 0;
        const centroid = Array.from({ length: R }, (_, r) => risks[offset + r] - reference);
        const agentAverage = agents ? Array.from({ length: R }, (_, r) => risks.slice(r * K, (r + 1) * K).reduce((a, b) => a + b, 0) / K - reference) : null;
        for (let r = 0; r < R; r++) {
          perSeed.centroid[r].push(centroid[r]);
          perSeed.agentAverage[r].push(agentAverage ? agentAverage[r] : Number.NaN);
        }
        points.push({ step: n, centroid: meanInterval(centroid), agentAverage: agentAverage && meanInterval(agentAverage) });
      };
      try {
        if (steps.has(0)) record(0);
        for (let n = 0; n < N; n++) {
          if (form === null || setup.timeVarying) {
            for (const X of form ? [form.Ao, form.A1, form.A2] : []) X?.dispose();
            const At = setup.combination(n);
            form = scope(() => unifiedForm(algorithm, At));
            for (const X of [form.Ao, form.A1, form.A2]) if (X) keep(X);
          }
          const settings = { form, stepSize: c.stepSize, local, momentum: buffers, mixer };
          const next = scope(() => {
            const batch = gatherStacked(setup.train, draw.next(), R * K, c.batchSize);
            return sgdStep(w, (phi) => agentLosses(model, phi, batch.x, batch.y), settings).w;
          });
          next.forEach(keep);
          w.forEach((t) => t.dispose());
          w = next;
          if (steps.has(n + 1)) record(n + 1);
          o.progress?.(algorithm, n + 1, N);
        }
      } finally {
        w.forEach((t) => t.dispose());
        buffers?.forEach((t) => t.dispose());
        for (const X of form ? [form.Ao, form.A1, form.A2] : []) X?.dispose();
        draw.dispose();
      }
      return { algorithm, points, perSeed, seconds: (Date.now() - began) / 1000 };
    });
    return { sampling, reference, evaluationExamples: evaluation.y.shape[0], agents: K, stepSize: c.stepSize, batchSize: c.batchSize, steps: N, seeds: R, every, curves };
  });
}

/** Seed r's batch streams with replacement (the same for every algorithm). */
function replacementDraws(setup: EscapeProblem, R: number): { next(): Tensor; dispose(): void } {
  return new ReplacementSampler(setup.parts, setup.config.batchSize, Array.from({ length: R }, (_, r) => deriveSeed(setup.config.seed, `escape/${r}`)));
}

/** Seed r's batch streams by the engine's random reshuffling, agent by agent. */
function epochDraws(setup: EscapeProblem, R: number): { next(): Tensor; dispose(): void } {
  const { config: c, parts } = setup;
  const samplers = Array.from({ length: R * c.agents }, (_, i) => new AgentSampler(parts[i % c.agents], c.batchSize, deriveSeed(c.seed, `escape/${Math.floor(i / c.agents)}`), i % c.agents));
  return {
    next: () => {
      const flat = new Int32Array(samplers.length * c.batchSize);
      samplers.forEach((s, i) => flat.set(s.next(), i * c.batchSize));
      return fromArray(flat);
    },
    dispose: () => undefined,
  };
}
