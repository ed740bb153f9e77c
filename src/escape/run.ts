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
 * Seed r fixes every agent's batch stream; the algorithms share them (common random
 * numbers), so their differences are measured with less noise than their levels. The R
 * runs of one algorithm are simulated at once: R·K agents stacked, combined by the
 * block-diagonal I_R ⊗ A, one forward/backward pass per step for all of them.
 */
import { unifiedForm, unifiedStep, type Algorithm, type UnifiedForm } from '../algorithms/recursion.js';
import { localDirection, momentumBuffers, type LocalOptions } from '../algorithms/local.js';
import { AgentSampler } from '../data/index.js';
import { ConfigError, DivergenceError } from '../errors.js';
import { agentLosses, type Model } from '../models/index.js';
import { Generator, cat, crossEntropy, eye, fromArray, grad, keep, kron, noGrad, randint, randperm, scope, zeros, type Tensor } from '../tensor/index.js';
import type { Split } from '../train/evaluate.js';
import { deriveSeed } from '../train/seeds.js';
import type { Setup } from '../train/setup.js';
import { meanInterval, type Interval } from './confidence.js';

export interface EscapeOptions {
  algorithms: Algorithm[];
  /** N, steps per run. */
  steps: number;
  /** R, independent runs (seeds) per algorithm. */
  seeds: number;
  /** Record every m steps (and at n = 0 and n = N); default max(1, ⌊N/20⌋). */
  every?: number;
  /** The examples J is measured on, with their weights (default escapeEvaluation(setup)). */
  evaluation?: WeightedSplit;
  /** 'replacement' (default): independent uniform batches; 'epochs': the engine's random reshuffling. */
  sampling?: Sampling;
  /** Called after every step of every algorithm. */
  progress?: (algorithm: Algorithm, step: number, steps: number) => void;
}

export type Sampling = 'replacement' | 'epochs';
export const samplings: readonly Sampling[] = ['replacement', 'epochs'];

/** B indices of a part drawn uniformly with replacement, from the sampler's own generator. */
export class ReplacementSampler {
  private readonly gen: Generator;
  private readonly part: Int32Array;

  constructor(part: ArrayLike<number>, readonly batchSize: number, seed: number | bigint) {
    if (part.length === 0) throw new ConfigError('partition', 'an agent holds no data');
    this.part = Int32Array.from(part);
    this.gen = new Generator(seed);
  }

  next(): Int32Array {
    const draws = scope(() => randint(0, this.part.length, [this.batchSize], this.gen).toNumbers());
    return Int32Array.from(draws, (i) => this.part[i]);
  }
}

export interface EscapePoint {
  step: number;
  /** E J(w_{c,n}) − J(w*) over the seeds. */
  centroid: Interval;
  /** (1/K) Σ_k E J(w_{k,n}) − J(w*) over the seeds. */
  agentAverage: Interval;
}

export interface EscapeCurve {
  algorithm: Algorithm;
  points: EscapePoint[];
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
export function escapeEvaluation(setup: Setup): WeightedSplit {
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

/** The unified form of an algorithm for R independent networks of K agents: each matrix becomes I_R ⊗ A. */
function blockForm(algorithm: Algorithm, A: Tensor, R: number): UnifiedForm {
  const f = unifiedForm(algorithm, A);
  const block = (X: Tensor | null): Tensor | null => (X === null ? null : kron(eye(R, X.dtype), X));
  return { Ao: block(f.Ao), A1: block(f.A1), A2: block(f.A2) };
}

export function runEscape(setup: Setup, wStar: Tensor[], o: EscapeOptions): EscapeResult {
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
  // Everything made here but the kept iterates is freed when the scope closes, on errors too.
  return scope(() => {
    const evaluation = o.evaluation ?? escapeEvaluation(setup);
    const start = singleModel(model, wStar).map((p) => p.detach().to('float32').contiguous());
    const reference = stackedRisks(model, start.map((p) => p.unsqueeze(0)), evaluation)[0];
    const local: LocalOptions = { weightDecay: c.weightDecay, clipNorm: c.clipNorm, momentum: c.momentum };
    const p = setup.perron;
    const steps = new Set(recordedSteps(N, every));

    const curves = o.algorithms.map((algorithm): EscapeCurve => {
      const began = Date.now();
      const samplers = Array.from({ length: R * K }, (_, i) => {
      const [r, k] = [Math.floor(i / K), i % K];
      return sampling === 'epochs'
        ? new AgentSampler(setup.parts[k], c.batchSize, deriveSeed(c.seed, 'escape', r), k)
        : new ReplacementSampler(setup.parts[k], c.batchSize, deriveSeed(c.seed, `escape/${r}`, k));
    });
      let w = start.map((t) => keep(scope(() => t.unsqueeze(0).expand([R * K, ...t.shape]).contiguous())));
      const buffers = momentumBuffers(local, w);
      buffers?.forEach(keep);
      const pK = scope(() => fromArray(Float32Array.from(p), [1, 1, K]));
      keep(pK);
      let form: UnifiedForm | null = null;
      const points: EscapePoint[] = [];
      const record = (n: number): void => {
        const risks = scope(() => {
          const centroids = w.map((t) => t.reshape([R, K, -1]).mul(pK.reshape([1, K, 1])).sum(1).reshape([R, ...t.shape.slice(1)]));
          return stackedRisks(model, w.map((t, j) => cat([t, centroids[j]], 0)), evaluation);
        });
        if (!risks.every(Number.isFinite)) throw new DivergenceError(`${algorithm} diverged within ${n} steps of w* (J = ${risks.find((x) => !Number.isFinite(x))}) — lower --step-size`);
        const centroid = Array.from({ length: R }, (_, r) => risks[R * K + r] - reference);
        const agentAverage = Array.from({ length: R }, (_, r) => risks.slice(r * K, (r + 1) * K).reduce((a, b) => a + b, 0) / K - reference);
        points.push({ step: n, centroid: meanInterval(centroid), agentAverage: meanInterval(agentAverage) });
      };
      try {
        record(0);
        for (let n = 0; n < N; n++) {
          if (form === null || setup.timeVarying) {
            for (const X of form ? [form.Ao, form.A1, form.A2] : []) X?.dispose();
            const At = setup.combination(n);
            form = scope(() => blockForm(algorithm, fromArray(Float32Array.from(At.flat()), [K, K]), R));
            for (const X of [form.Ao, form.A1, form.A2]) if (X) keep(X);
          }
          const f = form;
          const next = scope(() => {
            const batch = setup.batch(samplers.map((s) => s.next()));
            return unifiedStep(
              w,
              (phi) => {
                const leaves = phi.map((t) => t.detach().requiresGrad_());
                const g = grad(agentLosses(model, leaves, batch.x, batch.y).sum(), leaves);
                return localDirection(g, leaves, local, buffers);
              },
              f,
              c.stepSize,
            );
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
        pK.dispose();
      }
      return { algorithm, points, seconds: (Date.now() - began) / 1000 };
    });
    return { sampling, reference, evaluationExamples: evaluation.y.shape[0], agents: K, stepSize: c.stepSize, batchSize: c.batchSize, steps: N, seeds: R, every, curves };
  });
}
