// The training loop: config → graph, data partition, model → steps of the
// unified recursion → run directory. All K agents live stacked in one process
// here; the process-per-agent runtime supplies its own Mixer and gather.
import { FormSchedule, localMixer, type Mixer } from '../algorithms/recursion.js';
import { momentumBuffers, type LocalOptions } from '../algorithms/local.js';
import { sgdStep } from '../algorithms/step.js';
import { DivergenceError } from '../errors.js';
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
import type { TrainConfig } from './config.js';
import { evaluateNetwork, trainingRisk, type Evaluation, type ObjectiveAtCentroid } from './evaluate.js';
import { splitRisk } from '../measures/index.js';
import { appendMetrics, paths, truncateMetrics } from './rundir.js';
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
  seconds: number;
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
  } else {
    const all = model.init(c.agents, new Generator(deriveSeed(c.seed, 'init')), { sameInit: c.sameInit });
    w = all.map((t) => keep(selectAgents(t, hosted, c.agents)));
    buffers = momentumBuffers(local, w);
    buffers?.forEach(keep);
  }
  // What was written past the step the run restarts from is written again: drop it, so no line appears twice.
  if (writer && o.resume) {
    truncateMetrics(c.out, start);
    discardCheckpointsAfter(out.checkpoints, start);
  }

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
      if (!writer) return;
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
    if (!Number.isFinite(batchLoss)) {
      next.forEach((t) => t.dispose());
      throw new DivergenceError(
        `training diverged at step ${n + 1} (batch loss ${batchLoss}) — lower --step-size; the last good checkpoint is kept in ${out.checkpoints}`,
      );
    }
    w.forEach((t) => t.dispose());
    w = next;
    const step = n + 1;
    o.progress?.step(step, total, batchLoss);
    const measuring = c.measureEvery !== null && (step % c.measureEvery === 0 || step === total);
    const evaluating = step % c.evalEvery === 0 || step === total || measuring;
    const checkpointing = step % c.checkpointEvery === 0 || step === total;
    if (evaluating || checkpointing) assertFinite(w, step, out.checkpoints);
    if (evaluating) {
      lastLine = evaluateNow(step, batchLossSum, mu, measuring);
      if (writer) appendMetrics(c.out, lastLine);
      o.progress?.evaluated(lastLine);
    }
    if (checkpointing) checkpoint(step);
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
    seconds: (Date.now() - started) / 1000,
  };
}

function assertFinite(w: Tensor[], step: number, checkpoints: string): void {
  const finite = noGrad(() => scope(() => w.every((t) => t.isfinite().all().item() === 1)));
  if (!finite)
    throw new DivergenceError(
      `parameters became NaN/Inf at step ${step} — lower --step-size; the last good checkpoint is kept in ${checkpoints}`,
    );
}

/** The rows of a stacked [K, ...] tensor for the hosted agents (the tensor itself when all are hosted). */
function selectAgents(t: Tensor, hosted: number[], K: number): Tensor {
  if (hosted.length === K) return t;
  return scope(() => t.indexSelect(0, fromArray(Int32Array.from(hosted))).contiguous());
}
