/*
 * Escape from a local minimizer w*, measured with the real engine. Every agent starts at
 * w*; each algorithm runs N steps of training (sgdStep with the config's μ, B, graph,
 * combination rule and local options, each agent drawing batches from its own part), over
 * R seeds; recorded every m steps:
 *
 *   centroid:      E J(w_{c,n}) − J(w*),               w_{c,n} = Σ_k p_k w_{k,n}
 *   agent average: (1/K) Σ_k E J(w_{k,n}) − J(w*),
 *
 * each a mean over the seeds with a 95% confidence interval (Student's t, R − 1 degrees of
 * freedom, on the seeds' standard error). Faster escape = larger values.
 *
 * J is the objective the minimum was found for, J = Σ_k p_k J_k + (λ/2)‖w‖² (src/measures/risk.ts),
 * scored on the training set's examples when there are at most `evalSubset` of them — then
 * J is exact and w* is its minimizer, so no first-order term pollutes J(w) − J(w*). Larger
 * training sets are scored on a fixed stratified subset of about `evalSubset` examples (an
 * unbiased estimate of J, whose own gradient at w* is not zero — prefer a --train-subset
 * small enough to be scored whole); J(w*) on every example is reported beside it. Every
 * seed, step and algorithm is scored on the same examples.
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
 * runs of one algorithm are simulated at once: R·K agents stacked, agent k of replica r at
 * row r·K + k, combined within each replica (replicaMixer), one forward/backward pass per
 * step for all of them.
 */
import { FormSchedule, replicaMixer, type Algorithm } from '../algorithms/recursion.js';
import { momentumBuffers, type LocalOptions } from '../algorithms/local.js';
import { sgdStep } from '../algorithms/step.js';
import { AgentSampler, ReplacementSampler, epochDraws, gatherStacked, type StackedDraws } from '../data/index.js';
import { ConfigError, DivergenceError } from '../errors.js';
import { centroids, globalRisk, stackedScores, type ModelRisk } from '../measures/index.js';
import { agentLosses, type Model } from '../models/index.js';
import { cat, keep, scope, type Tensor } from '../tensor/index.js';
import { trainingRisk } from '../train/evaluate.js';
import { deriveSeed } from '../util/seed.js';
import { meanInterval, type MeanInterval } from '../stats/index.js';
import { samplings, type Sampling } from './names.js';
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
  /** 'replacement' (default): independent uniform batches; 'epochs': the engine's random reshuffling. */
  sampling?: Sampling;
  /** Called after every step of every algorithm. */
  progress?: (algorithm: Algorithm, step: number, steps: number) => void;
}

export { samplings, type Sampling } from './names.js';

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

/** J(w*) = data loss + (λ/2)‖w*‖² on a set of examples. */
export interface ObjectiveAt {
  risk: number;
  dataLoss: number;
  weightDecay: number;
  examples: number;
}

export interface EscapeResult {
  sampling: Sampling;
  /** J(w*) on every training example: the objective the minimum was found for. */
  objective: ObjectiveAt;
  /** J(w*) on the examples the curves are scored on (equal to objective.risk when they are all of them). */
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
  const fits =
    params.length === model.paramShapes.length &&
    params.every((p, i) => p.numel === model.paramShapes[i].reduce((a, b) => a * b, 1));
  if (!fits) {
    throw new ConfigError(
      'model',
      `the minimum's parameters [${params.map((p) => `[${p.shape.join(',')}]`).join(' ')}] do not fit ${model.name} [${model.paramShapes.map((s) => `[${s.join(',')}]`).join(' ')}] — use the model flags the minimum was found with`,
    );
  }
  return params.map((p, i) => p.reshape(model.paramShapes[i]));
}

/** J(w*), its data loss and λ on a risk's examples, in float64. */
function objectiveAt(risk: ModelRisk, wStar: Tensor[]): ObjectiveAt {
  const scores = scope(() =>
    stackedScores(
      risk,
      wStar.map((p) => p.to('float64').unsqueeze(0)),
    ),
  );
  return {
    risk: scores.risk[0],
    dataLoss: scores.dataLoss[0],
    weightDecay: risk.weightDecay,
    examples: risk.weights.length,
  };
}

interface Run {
  setup: EscapeProblem;
  /** w* (float32, paramShapes). */
  start: Tensor[];
  evaluation: ModelRisk;
  /** J(w*) on the evaluation set, in the dtype the iterates are scored in. */
  reference: number;
  replicas: number;
  steps: number;
  marks: Set<number>;
  withAgents: Set<number>;
  sampling: Sampling;
  progress?: EscapeOptions['progress'];
}

export function runEscape(setup: EscapeProblem, wStar: Tensor[], o: EscapeOptions): EscapeResult {
  const { config: c, model } = setup;
  const R = o.seeds;
  const N = o.steps;
  if (!(Number.isInteger(N) && N >= 1)) throw new ConfigError('steps', `must be a positive integer, got ${N}`);
  if (!(Number.isInteger(R) && R >= 1)) throw new ConfigError('seeds', `must be a positive integer, got ${R}`);
  const every = o.every ?? Math.max(1, Math.floor(N / 20));
  if (!(Number.isInteger(every) && every >= 1))
    throw new ConfigError('every', `must be a positive integer, got ${every}`);
  if (c.schedule.kind !== 'constant')
    throw new ConfigError(
      'schedule',
      `escape runs at a constant step size μ; got the schedule '${c.schedule.kind}' — drop --schedule`,
    );
  if (o.algorithms.length === 0) throw new ConfigError('algorithms', 'name at least one algorithm');
  const sampling = o.sampling ?? 'replacement';
  if (!samplings.includes(sampling))
    throw new ConfigError('sampling', `unknown sampling '${String(sampling)}' — one of ${samplings.join(', ')}`);
  const marks = (o.record ?? recordedSteps(N, every)).filter((n) => n <= N);
  // Everything made here but the kept iterates is freed when the scope closes, on errors too.
  return scope(() => {
    const evaluation = trainingRisk(setup);
    const whole = globalRisk(setup);
    const start = singleModel(model, wStar).map((p) => p.detach().to('float32').contiguous());
    const reference = stackedScores(
      evaluation,
      start.map((p) => p.unsqueeze(0)),
    ).risk[0];
    const objective = objectiveAt(whole, start);
    const run: Run = {
      setup,
      start,
      evaluation,
      reference,
      replicas: R,
      steps: N,
      marks: new Set(marks),
      withAgents: new Set(o.recordAgents ?? marks),
      sampling,
      progress: o.progress,
    };
    const curves = o.algorithms.map((algorithm) => escapeCurve(run, algorithm));
    return {
      sampling,
      objective,
      reference,
      evaluationExamples: evaluation.weights.length,
      agents: c.agents,
      stepSize: c.stepSize,
      batchSize: c.batchSize,
      steps: N,
      seeds: R,
      every,
      curves,
    };
  });
}

/** One algorithm's R runs from w*, scored at the recorded steps. */
function escapeCurve(run: Run, algorithm: Algorithm): EscapeCurve {
  const { setup, replicas: R, steps: N } = run;
  const { config: c, model } = setup;
  const K = c.agents;
  const began = Date.now();
  const local: LocalOptions = { weightDecay: c.weightDecay, clipNorm: c.clipNorm, momentum: c.momentum };
  const mixer = replicaMixer(R);
  const draw = run.sampling === 'epochs' ? epochSampling(setup, R) : replacementSampling(setup, R);
  let w = run.start.map((t) =>
    keep(
      scope(() =>
        t
          .unsqueeze(0)
          .expand([R * K, ...t.shape])
          .contiguous(),
      ),
    ),
  );
  const buffers = momentumBuffers(local, w);
  buffers?.forEach(keep);
  const forms = new FormSchedule(algorithm, setup.combination, setup.timeVarying);
  const points: EscapePoint[] = [];
  const perSeed = {
    centroid: Array.from({ length: R }, (): number[] => []),
    agentAverage: Array.from({ length: R }, (): number[] => []),
  };
  const record = (n: number): void => {
    const agents = run.withAgents.has(n);
    const risks = scope(() => {
      const wc = centroids(w, setup.perron, R);
      return stackedScores(run.evaluation, agents ? w.map((t, j) => cat([t, wc[j]], 0)) : wc).risk;
    });
    if (!risks.every(Number.isFinite))
      throw new DivergenceError(
        `${algorithm} diverged within ${n} steps of w* (J = ${risks.find((x) => !Number.isFinite(x))}) — lower --step-size`,
      );
    const offset = agents ? R * K : 0;
    // At n = 0 every agent is at w*: the excess is 0 by definition (scored, Σ_k p_k w* differs from w* in its last bits).
    const excess = (x: number): number => (n === 0 ? 0 : x - run.reference);
    const centroid = Array.from({ length: R }, (_, r) => excess(risks[offset + r]));
    const agentAverage = agents
      ? Array.from({ length: R }, (_, r) => excess(risks.slice(r * K, (r + 1) * K).reduce((a, b) => a + b, 0) / K))
      : null;
    for (let r = 0; r < R; r++) {
      perSeed.centroid[r].push(centroid[r]);
      perSeed.agentAverage[r].push(agentAverage ? agentAverage[r] : Number.NaN);
    }
    points.push({
      step: n,
      centroid: meanInterval(centroid),
      agentAverage: agentAverage && meanInterval(agentAverage),
    });
  };
  try {
    if (run.marks.has(0)) record(0);
    for (let n = 0; n < N; n++) {
      const settings = { form: forms.at(n), stepSize: c.stepSize, local, momentum: buffers, mixer };
      const next = scope(() => {
        const batch = gatherStacked(setup.train, draw.next(), R * K, c.batchSize);
        return sgdStep(w, (phi) => agentLosses(model, phi, batch.x, batch.y), settings).w;
      });
      next.forEach(keep);
      w.forEach((t) => t.dispose());
      w = next;
      if (run.marks.has(n + 1)) record(n + 1);
      run.progress?.(algorithm, n + 1, N);
    }
  } finally {
    w.forEach((t) => t.dispose());
    buffers?.forEach((t) => t.dispose());
    forms.dispose();
    draw.dispose();
  }
  return { algorithm, points, perSeed, seconds: (Date.now() - began) / 1000 };
}

/** Seed r's batch streams with replacement (the same for every algorithm). */
function replacementSampling(setup: EscapeProblem, R: number): StackedDraws {
  return new ReplacementSampler(
    setup.parts,
    setup.config.batchSize,
    Array.from({ length: R }, (_, r) => deriveSeed(setup.config.seed, `escape/${r}`)),
  );
}

/** Seed r's batch streams by the engine's random reshuffling, agent by agent. */
function epochSampling(setup: EscapeProblem, R: number): StackedDraws {
  const { config: c, parts } = setup;
  return epochDraws(
    Array.from(
      { length: R * c.agents },
      (_, i) =>
        new AgentSampler(
          parts[i % c.agents],
          c.batchSize,
          deriveSeed(c.seed, `escape/${Math.floor(i / c.agents)}`),
          i % c.agents,
        ),
    ),
  );
}
