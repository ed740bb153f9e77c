// The training loop: config → graph, data partition, model → steps of the
// unified recursion → run directory. All K agents live stacked in one process
// here; the process-per-agent runtime supplies its own Mixer and gather.
import { FormSchedule, localMixer, type Mixer } from '../algorithms/recursion.js';
import { momentumBuffers, type LocalOptions } from '../algorithms/local.js';
import { sgdStep } from '../algorithms/step.js';
import { DivergenceError, UserError } from '../errors.js';
import type { SamplerState } from '../data/sampler.js';
import { agentLosses } from '../models/index.js';
import { Generator, fromArray, keep, noGrad, scope, type Tensor } from '../tensor/index.js';
import { makeFolder } from '../util/files.js';
import {
  checkCheckpoint,
  discardCheckpointsAfter,
  latestCheckpointPath,
  loadCheckpoint,
  saveCheckpoint,
} from './checkpoint.js';
import type { FieldChange, TrainConfig } from './config.js';
import { evaluateNetwork, trainingRisk, type Evaluation, type ObjectiveAtCentroid } from './evaluate.js';
import { splitRisk } from '../measures/index.js';
import {
  appendMetrics,
  elapsedAt,
  paths,
  readRunRecord,
  recordElapsed,
  recordInitialLoss,
  recordResume,
  truncateMetrics,
} from './rundir.js';
import { stepSizeAt } from './schedule.js';
import { curvatureMeter, type CurvatureLine } from './curvature.js';
import { deriveSeed } from '../util/seed.js';
import type { Setup } from './setup.js';

export interface Stats {
  mean: number;
  min: number;
  max: number;
}

export interface MetricsLine {
  step: number;
  epoch: number;
  stepSize: number;
  batchLoss: number;
  /** Data loss (no weight decay) and accuracy of the centroid and the agents: on the run's training examples (Σ_k p_k J_k, weighted), on the test split (mean). */
  train: { centroid: { loss: number; accuracy: number }; agents: { loss: Stats; accuracy: Stats } };
  test: { centroid: { loss: number; accuracy: number }; agents: { loss: Stats; accuracy: Stats } };
  /** J(w_c) = train.centroid.loss + (λ/2)‖w_c‖², the objective the run minimizes, and ‖∇J(w_c)‖, on the training examples scored. */
  objective: ObjectiveAtCentroid;
  /** (1/K) Σ_k ‖w_k − w_c‖². */
  consensusDistance: number;
  /** With --measure-every, at its steps: the curvature of the centroid (and agents), src/train/curvature.ts. */
  curvature?: CurvatureLine;
  /** Distributed runs: bytes each agent sent per step and the fraction of wall time spent communicating, since the last evaluation. */
  communication?: { bytesPerAgentPerStep: number; fraction: number };
}

export interface Summary {
  algorithm: string;
  agents: number;
  steps: number;
  /** The data loss at the centroid. */
  trainLoss: number;
  /** J(w_c) = trainLoss + (λ/2)‖w_c‖². */
  trainObjective: number;
  trainAccuracy: number;
  testLoss: number;
  testAccuracy: number;
  consensusDistance: number;
  /** The checkpoint step this invocation resumed from; null for a fresh run. */
  resumedFrom: number | null;
  /** Seconds of training of the whole run, earlier (resumed) parts included where recorded. */
  seconds: number;
  /** Seconds of the parts before this invocation: 0 for a fresh run, null when they were not recorded. */
  earlierSeconds: number | null;
}

export interface Progress {
  step(n: number, total: number, loss: number): void;
  evaluated(line: MetricsLine): void;
  done(): void;
}

export interface TrainOptions {
  resume?: boolean;
  progress?: Progress;
  /** Exchanges parameters between agents; all agents are local by default. */
  mixer?: Mixer;
  /** The agents this process hosts (default: all). */
  agents?: number[];
  /** Gathers every agent's parameters for evaluation (identity when all agents are local). */
  gatherAll?: (w: Tensor[]) => Tensor[];
  /** Gathers every agent's sampler state, in agent order, for a checkpoint. */
  gatherSamplerStates?: (states: SamplerState[]) => SamplerState[];
  /** Sums numbers over every process of a distributed run (identity in one process). */
  sumOverProcesses?: (xs: number[]) => number[];
  /** This process's cumulative communication: bytes sent and seconds spent in collectives. */
  communication?: () => { bytesSent: number; seconds: number };
  /** Whether this process writes the run directory (one process does in a distributed run). */
  writer?: boolean;
  /** A resume's changes to the recorded run (resumable fields only), for run.json's history. */
  changes?: FieldChange[];
  /** Stops the run after the current step (SIGINT): train rejects with Interrupted. */
  signal?: AbortSignal;
}

/** The run stopped on request (SIGINT) after `step`; its last checkpoint is at `lastCheckpoint` (null: none). */
export class Interrupted extends Error {
  constructor(
    readonly step: number,
    readonly lastCheckpoint: number | null,
  ) {
    super(`interrupted at step ${step}`);
    this.name = 'Interrupted';
  }
}

const stats = (xs: number[]): Stats => ({
  mean: xs.reduce((a, b) => a + b, 0) / xs.length,
  min: Math.min(...xs),
  max: Math.max(...xs),
});

function summarize(e: Evaluation): MetricsLine['train'] {
  return {
    centroid: e.centroid,
    agents: { loss: stats(e.agents.map((a) => a.loss)), accuracy: stats(e.agents.map((a) => a.accuracy)) },
  };
}

export function totalSteps(c: TrainConfig, trainSize: number): number {
  return c.epochs === null ? c.steps : Math.ceil((c.epochs * trainSize) / (c.agents * c.batchSize));
}

/**
 * Runs (or, with o.resume, continues from its latest checkpoint) the training of setup's run.
 * @throws DivergenceError when a loss or the consensus distance is not finite, or a training loss
 *   exceeds divergenceFactor × the initial loss
 * @throws Interrupted when o.signal is aborted
 */
export async function train(setup: Setup, o: TrainOptions = {}): Promise<Summary> {
  const started = Date.now();
  const { config: c, model } = setup;
  const hosted = o.agents ?? Array.from({ length: c.agents }, (_, k) => k);
  const mixer = o.mixer ?? localMixer;
  const gatherAll = o.gatherAll ?? ((w: Tensor[]) => w);
  const writer = o.writer ?? true;
  const gatherStates = o.gatherSamplerStates ?? ((s: SamplerState[]) => s);
  const sumOverProcesses = o.sumOverProcesses ?? ((xs: number[]) => xs);
  const out = paths(c.out);
  if (writer) makeFolder(out.checkpoints);
  const total = totalSteps(c, setup.train.y.shape[0]);
  const local: LocalOptions = { weightDecay: c.weightDecay, clipNorm: c.clipNorm, momentum: c.momentum };
  const p = setup.perron;
  const risks = { train: trainingRisk(setup), test: splitRisk(model, setup.test, c.weightDecay) };
  const samplers = hosted.map((k) => setup.sampler(k));
  const curvature = writer ? curvatureMeter(setup) : null;

  let w: Tensor[];
  let buffers: Tensor[] | null;
  let start = 0;
  const resumeFrom = o.resume ? latestCheckpointPath(out.checkpoints) : null;
  if (resumeFrom) {
    const ck = loadCheckpoint(resumeFrom);
    checkCheckpoint(ck, model, c.agents, true);
    w = ck.params.map((t) => keep(selectAgents(t, hosted, c.agents)));
    buffers = ck.momentum ? ck.momentum.map((t) => keep(selectAgents(t, hosted, c.agents))) : momentumBuffers(local, w);
    hosted.forEach((k, i) => samplers[i].restore(ck.samplers[k] as SamplerState));
    start = ck.step;
    if (total < start) {
      const asked = c.epochs === null ? `--steps ${c.steps}` : `--epochs ${c.epochs} (${total} steps)`;
      throw new UserError(
        `the run is at step ${start} already and ${asked} would end it before — give more to extend it`,
      );
    }
  } else {
    const all = model.init(c.agents, new Generator(deriveSeed(c.seed, 'init')), { sameInit: c.sameInit });
    w = all.map((t) => keep(selectAgents(t, hosted, c.agents)));
    buffers = momentumBuffers(local, w);
    buffers?.forEach(keep);
  }
  // What was written past the step the run restarts from is written again: drop it, so no line appears twice.
  const record = o.resume ? readRunRecord(c.out) : null;
  if (writer && o.resume) {
    truncateMetrics(c.out, start);
    discardCheckpointsAfter(out.checkpoints, start);
    recordResume(c.out, c, {
      at: new Date().toISOString(),
      step: start,
      changed: Object.fromEntries((o.changes ?? []).map((d) => [d.field, { from: d.from, to: d.to }])),
    });
  }
  const earlierSeconds = elapsedAt(record, start);
  const seconds = (): number | null =>
    earlierSeconds === null ? null : Math.round(1000 * earlierSeconds + Date.now() - started) / 1000;
  let lastCheckpoint: number | null = resumeFrom ? start : null;
  // The divergence bound's scale: the mean batch loss at w_0, as the run recorded it (else this invocation's first).
  let initialLoss: number | null = start > 0 && typeof record?.initialLoss === 'number' ? record.initialLoss : null;
  const diverged = (step: number, mu: number, reason: string): DivergenceError =>
    new DivergenceError(
      `training diverged at step ${step}: ${reason} — lower --step-size (μ = ${mu}); ${
        lastCheckpoint === null
          ? 'no checkpoint was written'
          : `the last checkpoint, at step ${lastCheckpoint}, is in ${out.checkpoints}`
      }`,
    );
  let lastYield = performance.now();

  let since = { step: start, time: performance.now(), ...(o.communication?.() ?? { bytesSent: 0, seconds: 0 }) };
  const forms = new FormSchedule(c.algorithm, setup.combination, setup.timeVarying);
  let lastLine: MetricsLine | null = null;

  /** Every agent's mean batch loss, and communication since the last evaluation, over all processes. */
  const networkStats = (
    step: number,
    localLossSum: number,
  ): { batchLoss: number; communication?: MetricsLine['communication'] } => {
    const now = { step, time: performance.now(), ...(o.communication?.() ?? { bytesSent: 0, seconds: 0 }) };
    const [lossSum, bytes, commSeconds, wallSeconds] = sumOverProcesses([
      localLossSum,
      now.bytesSent - since.bytesSent,
      now.seconds - since.seconds,
      (now.time - since.time) / 1000,
    ]);
    const steps = Math.max(1, step - since.step);
    since = now;
    const batchLoss = lossSum / c.agents;
    return o.communication
      ? {
          batchLoss,
          communication: { bytesPerAgentPerStep: bytes / (c.agents * steps), fraction: commSeconds / wallSeconds },
        }
      : { batchLoss };
  };

  const evaluateNow = (step: number, localLossSum: number, stepSize: number, measuring = false): MetricsLine =>
    scope(() => {
      const { batchLoss, communication } = networkStats(step, localLossSum);
      const all = gatherAll(w);
      const e = evaluateNetwork(risks, all, p);
      return {
        step,
        epoch: (step * c.agents * c.batchSize) / setup.train.y.shape[0],
        stepSize,
        batchLoss,
        train: summarize(e.train),
        test: summarize(e.test),
        objective: e.objective,
        consensusDistance: e.consensusDistance,
        ...(measuring && curvature ? { curvature: curvature(all) } : {}),
        ...(communication ? { communication } : {}),
      };
    });

  const checkpoint = (step: number): void =>
    scope(() => {
      // Gathering is collective: every process takes part, one writes.
      const all = gatherAll(w);
      const allBuffers = buffers ? gatherAll(buffers) : null;
      const states = gatherStates(samplers.map((s) => s.state()));
      lastCheckpoint = step;
      if (!writer) return;
      recordElapsed(c.out, step, seconds());
      saveCheckpoint(
        out.checkpoints,
        {
          step,
          paramNames: model.paramNames,
          params: all,
          momentum: allBuffers,
          perron: setup.perron,
          samplers: states,
          config: c,
        },
        c.keepCheckpoints,
      );
    });

  for (let n = start; n < total; n++) {
    const mu = stepSizeAt(c.schedule, c.stepSize, n, total);
    const settings = { form: forms.at(n), stepSize: mu, local, momentum: buffers, mixer };
    const { w: next, lossSum: batchLossSum } = scope(() => {
      const batch = setup.batch(samplers.map((s) => s.next()));
      return sgdStep(w, (phi) => agentLosses(model, phi, batch.x, batch.y), settings);
    });
    const batchLoss = batchLossSum / hosted.length;
    const step = n + 1;
    if (n === start) {
      // Every process takes part in this sum, whatever it read from run.json, so that none waits alone.
      const first = sumOverProcesses([batchLossSum])[0] / c.agents;
      initialLoss ??= first;
      if (writer && start === 0 && Number.isFinite(first)) recordInitialLoss(c.out, first);
    }
    const why = divergence([{ what: 'the batch loss', value: batchLoss, bounded: true }], initialLoss, c);
    if (why !== null) {
      next.forEach((t) => t.dispose());
      throw diverged(step, mu, why);
    }
    w.forEach((t) => t.dispose());
    w = next;
    o.progress?.step(step, total, batchLoss);
    const measuring = c.measureEvery !== null && (step % c.measureEvery === 0 || step === total);
    const evaluating = step % c.evalEvery === 0 || step === total || measuring;
    const checkpointing = step % c.checkpointEvery === 0 || step === total;
    if ((evaluating || checkpointing) && !allFinite(w)) throw diverged(step, mu, 'the parameters hold NaN or Inf');
    if (evaluating) {
      lastLine = evaluateNow(step, batchLossSum, mu, measuring);
      if (writer) appendMetrics(c.out, lastLine);
      o.progress?.evaluated(lastLine);
      const reason = divergence(
        [
          { what: "the centroid's training loss", value: lastLine.train.centroid.loss, bounded: true },
          { what: "an agent's training loss", value: lastLine.train.agents.loss.max, bounded: true },
          { what: "the centroid's test loss", value: lastLine.test.centroid.loss, bounded: false },
          { what: "an agent's test loss", value: lastLine.test.agents.loss.max, bounded: false },
          { what: 'the consensus distance', value: lastLine.consensusDistance, bounded: false },
        ],
        initialLoss,
        c,
      );
      if (reason !== null) throw diverged(step, mu, reason);
    }
    if (checkpointing) checkpoint(step);
    if (o.signal) {
      // A signal's handler runs only when the loop lets the event loop turn: every 50 ms.
      if (performance.now() - lastYield > 50) {
        await new Promise((resolve) => setImmediate(resolve));
        lastYield = performance.now();
      }
      if (o.signal.aborted) throw new Interrupted(step, lastCheckpoint);
    }
  }
  forms.dispose();
  o.progress?.done();
  if (lastLine === null)
    lastLine = evaluateNow(total, Number.NaN, stepSizeAt(c.schedule, c.stepSize, total - 1, total));
  return {
    algorithm: c.algorithm,
    agents: c.agents,
    steps: total,
    trainLoss: lastLine.train.centroid.loss,
    trainObjective: lastLine.objective.centroid,
    trainAccuracy: lastLine.train.centroid.accuracy,
    testLoss: lastLine.test.centroid.loss,
    testAccuracy: lastLine.test.centroid.accuracy,
    consensusDistance: lastLine.consensusDistance,
    resumedFrom: o.resume ? start : null,
    seconds: seconds() ?? (Date.now() - started) / 1000,
    earlierSeconds,
  };
}

const allFinite = (w: Tensor[]): boolean => noGrad(() => scope(() => w.every((t) => t.isfinite().all().item() === 1)));

/**
 * Why the run has diverged, or null: a value that is not finite, or a bounded one (a training loss)
 * above divergenceFactor × the initial loss. Costs a few comparisons: it reads numbers already computed.
 */
export function divergence(
  values: { what: string; value: number; bounded: boolean }[],
  initialLoss: number | null,
  c: Pick<TrainConfig, 'divergenceFactor'>,
): string | null {
  for (const v of values) if (!Number.isFinite(v.value)) return `${v.what} is ${v.value}`;
  if (initialLoss === null || !(initialLoss > 0)) return null;
  const bound = c.divergenceFactor * initialLoss;
  const over = values.find((v) => v.bounded && v.value > bound);
  return over
    ? `${over.what} ${over.value.toPrecision(3)} exceeds ${c.divergenceFactor} × the initial loss ${initialLoss.toPrecision(3)} (--divergence-factor)`
    : null;
}

/** The rows of a stacked [K, ...] tensor for the hosted agents (the tensor itself when all are hosted). */
function selectAgents(t: Tensor, hosted: number[], K: number): Tensor {
  if (hosted.length === K) return t;
  return scope(() => t.indexSelect(0, fromArray(Int32Array.from(hosted))).contiguous());
}
