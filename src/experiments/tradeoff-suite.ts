// Suite 3: the trade-off between flatness and optimization error. Every algorithm is
// trained by the engine (train()) from random initialization over batch sizes and seeds;
// at each run's final centroid w_c we measure test accuracy, flatness (Hutchinson
// Tr ∇²J, λ_max by Lanczos, Gaussian sharpness) and optimization error (J(w_c), ‖∇J(w_c)‖).
// Accuracy is regressed (least squares, log10 predictors) on each measure alone and on
// flatness and optimization error together, with percentile-bootstrap 95% intervals;
// and diffusion's accuracy is compared with the others', paired by (batch size, seed).
import { combine, reading, readingLabel } from './verdict.js';
import type { Algorithm } from '../algorithms/recursion.js';
import { AgentSampler, gatherBatch, partition, parsePartition, labelHistogram } from '../data/index.js';
import { combinationSchedule, makeGraph, spectrum } from '../graph/index.js';
import {
  centroid,
  gaussianSharpness,
  globalRisk,
  hutchinsonTrace,
  optimizationError,
  riskObjective,
  topEigenvalues,
} from '../measures/index.js';
import { makeModel } from '../models/index.js';
import { algorithmLabel, scatterPanels, type Row } from '../report/charts.js';
import { Generator, scope } from '../tensor/index.js';
import { loadCheckpoint } from '../train/checkpoint.js';
import { makeConfig } from '../train/config.js';
import { writeRunRecord, environment } from '../train/rundir.js';
import { deriveSeed } from '../util/seed.js';
import type { Setup } from '../train/setup.js';
import { train } from '../train/trainer.js';
import { makeFolder } from '../util/files.js';
import { imageData, type ImageData } from './data.js';
import type { Figure, Status, SuiteResult, Table } from '../report/results.js';
import {
  bootstrapLeastSquares,
  bootstrapStatistic,
  leastSquares,
  mean,
  meanInterval,
  type BootstrapFit,
  type Interval,
} from '../stats/index.js';
import type { WorkStore } from './work.js';

export interface TradeoffSettings {
  datasets: string[];
  dataDir?: string;
  trainSubset: number;
  testSubset: number;
  pool: number;
  hidden: number[];
  agents: number;
  topology: string;
  partition: string;
  algorithms: Algorithm[];
  batchSizes: number[];
  seeds: number[];
  steps: number;
  stepSize: number;
  /** Training examples the flatness measures are taken over. */
  measureSubset: number;
  traceProbes: number;
  lanczosSteps: number;
  sharpnessSigma: number;
  sharpnessSamples: number;
  bootstrap: number;
}

export interface TradeoffRun {
  dataset: string;
  algorithm: Algorithm;
  batch: number;
  seed: number;
  testAccuracy: number;
  testLoss: number;
  trainLoss: number;
  gradNorm: number;
  trace: number;
  traceStdError: number;
  lambdaMax: number;
  sharpness: number;
  sharpnessStdError: number;
  consensusDistance: number;
  seconds: number;
}

function setupFor(
  images: ImageData,
  s: TradeoffSettings,
  algorithm: Algorithm,
  batchSize: number,
  seed: number,
  out: string,
): Setup {
  const config = makeConfig({
    dataset: images.name,
    model: 'mlp',
    hidden: s.hidden,
    algorithm,
    topology: s.topology,
    agents: s.agents,
    partition: s.partition,
    batchSize,
    stepSize: s.stepSize,
    steps: s.steps,
    evalEvery: s.steps,
    checkpointEvery: s.steps,
    evalSubset: images.train.n,
    seed,
    out,
  });
  const graph = makeGraph({ topology: s.topology, agents: s.agents, seed: deriveSeed(seed, 'graph') });
  const combination = combinationSchedule(config.rule, graph);
  const spec = spectrum(combination(0));
  const parts = partition(
    images.train.labels,
    images.classes,
    s.agents,
    parsePartition(s.partition),
    deriveSeed(seed, 'partition'),
  );
  const tensors = (x: ImageData['train']) => ({
    x: x.x,
    y: x.y,
    shape: [images.features],
    classes: images.classes,
    n: x.n,
  });
  const trainTensors = tensors(images.train);
  return {
    config,
    graph,
    combination,
    timeVarying: false,
    spectrum: spec,
    perron: spec.perron,
    model: makeModel({ model: 'mlp', inputShape: [images.features], classes: images.classes, hidden: s.hidden }),
    train: trainTensors,
    test: tensors(images.test),
    parts,
    labelHistogram: labelHistogram(images.train.labels, parts, images.classes),
    sampler: (k) => new AgentSampler(parts[k], batchSize, seed, k),
    batch: (indices) => gatherBatch(trainTensors, indices),
  };
}

async function trainAndMeasure(
  store: WorkStore,
  id: string,
  images: ImageData,
  s: TradeoffSettings,
  algorithm: Algorithm,
  batch: number,
  seed: number,
): Promise<TradeoffRun> {
  const out = store.scratch(id);
  makeFolder(out);
  const setup = setupFor(images, s, algorithm, batch, seed, out);
  writeRunRecord(out, {
    config: setup.config,
    environment: environment(),
    started: new Date().toISOString(),
    note: `flatdist reproduce, trade-off suite, ${images.name} pooled ${s.pool}×${s.pool}`,
  });
  const summary = await train(setup, { resume: true });
  const ck = loadCheckpoint(out);
  const measured = scope(() => {
    const wc = centroid(ck.params, ck.perron);
    // The run's objective J: on a stratified subset for the curvature measures, on every example for J and ‖∇J‖.
    const objective = riskObjective(
      globalRisk(setup, { maxExamples: s.measureSubset, seed: deriveSeed(seed, 'measure-subset') }),
    );
    const full = riskObjective(globalRisk(setup), 4096);
    const gen = (purpose: string): Generator => new Generator(deriveSeed(seed, purpose));
    const trace = hutchinsonTrace(objective, wc, {
      gen: gen('trace'),
      maxProbes: s.traceProbes,
      minProbes: Math.min(10, s.traceProbes),
      relTol: 0.02,
    });
    const eig = topEigenvalues(objective, wc, {
      k: 1,
      gen: gen('eigen'),
      method: 'lanczos',
      maxIterations: s.lanczosSteps,
    });
    const sharp = gaussianSharpness(objective, wc, {
      sigma: s.sharpnessSigma,
      gen: gen('sharpness'),
      samples: s.sharpnessSamples,
    });
    const opt = optimizationError(full, wc, { weightDecay: setup.config.weightDecay });
    return {
      trace: trace.mean,
      traceStdError: trace.stdError,
      lambdaMax: eig.values[0],
      sharpness: sharp.mean,
      sharpnessStdError: sharp.stdError,
      trainLoss: opt.risk,
      gradNorm: opt.gradientNorm,
    };
  });
  ck.params.forEach((t) => t.dispose());
  ck.momentum?.forEach((t) => t.dispose());
  return {
    dataset: images.name,
    algorithm,
    batch,
    seed,
    testAccuracy: summary.testAccuracy,
    testLoss: summary.testLoss,
    consensusDistance: summary.consensusDistance,
    seconds: summary.seconds,
    ...measured,
  };
}

interface Regression {
  dataset: string;
  model: string;
  predictors: string[];
  fit: BootstrapFit;
}

const measures = [
  { key: 'trace', label: 'Hessian trace', kind: 'flatness' },
  { key: 'lambdaMax', label: 'λ_max', kind: 'flatness' },
  { key: 'sharpness', label: 'Gaussian sharpness', kind: 'flatness' },
  { key: 'trainLoss', label: 'train loss', kind: 'optimization error' },
  { key: 'gradNorm', label: 'gradient norm', kind: 'optimization error' },
] as const;
type MeasureKey = (typeof measures)[number]['key'];

const log10 = (x: number): number => Math.log10(Math.max(x, 1e-12));

/** What the regressions and comparisons say, dataset by dataset, in plain words. */
function interpret(
  regressions: Regression[],
  gains: { dataset: string; gain: Interval }[],
  diffusion: { dataset: string; versus: string; difference: Interval }[],
): string {
  const perDataset = gains.map(({ dataset, gain }) => {
    const rs = regressions.filter((r) => r.dataset === dataset && r.predictors.length === 1);
    const best = (kind: string): Regression =>
      rs
        .filter((r) => measures.find((m) => m.key === r.predictors[0])!.kind === kind)
        .reduce((a, b) => (b.fit.r2 > a.fit.r2 ? b : a));
    const flat = best('flatness');
    const opt = best('optimization error');
    const verdict =
      gain.lo > 0
        ? 'together they explain clearly more than either alone: both matter'
        : gain.hi < 0
          ? 'adding the other does not pay for its extra parameter'
          : 'the gain from using both is within noise';
    return `On ${dataset}, the best flatness measure (${flat.model}) explains R² = ${flat.fit.r2.toFixed(2)} of the accuracy and the best optimization-error measure (${opt.model}) R² = ${opt.fit.r2.toFixed(2)}; ${verdict}.`;
  });
  const better = diffusion.filter((d) => d.difference.lo > 0).map((d) => algorithmLabel(d.versus));
  const worse = diffusion.filter((d) => d.difference.hi < 0).map((d) => algorithmLabel(d.versus));
  const accuracy =
    diffusion.length === 0
      ? ''
      : better.length === diffusion.length
        ? ' Diffusion is the most accurate against every other algorithm.'
        : ` ${better.length ? `Diffusion is more accurate than ${better.join(', ')}` : 'Diffusion is not more accurate than any other algorithm'} with 95% confidence${worse.length ? `, and less accurate than ${worse.join(', ')}` : ''}; the other differences are within noise.`;
  return `${perDataset.join(' ')}${accuracy}`;
}

export async function tradeoffSuite(store: WorkStore, s: TradeoffSettings): Promise<SuiteResult> {
  const started = Date.now();
  const runs: TradeoffRun[] = [];
  for (const dataset of s.datasets) {
    const images = imageData({
      dataset,
      dataDir: dataset === 'cifar10' ? s.dataDir : undefined,
      trainSubset: s.trainSubset,
      testSubset: s.testSubset,
      pool: s.pool,
      seed: 1,
    });
    for (const seed of s.seeds)
      for (const batch of s.batchSizes)
        for (const algorithm of s.algorithms) {
          const id = `tradeoff/${dataset}-${algorithm}-b${batch}-s${seed}`;
          runs.push(await store.unit(id, () => trainAndMeasure(store, id, images, s, algorithm, batch, seed)));
        }
  }
  const labels = s.algorithms.map(algorithmLabel);
  const regressions: Regression[] = [];
  const gains: { dataset: string; gain: Interval; best: string }[] = [];
  const diffusion: { dataset: string; versus: string; difference: Interval }[] = [];
  const tables: Table[] = [];
  const figures: Figure[] = [];
  for (const dataset of s.datasets) {
    const rs = runs.filter((r) => r.dataset === dataset);
    const y = rs.map((r) => 100 * r.testAccuracy);
    const column = (k: MeasureKey): number[] => rs.map((r) => log10(r[k]));
    const fit = (predictors: MeasureKey[], name: string): Regression => ({
      dataset,
      model: name,
      predictors,
      fit: bootstrapLeastSquares(predictors.map(column), y, { resamples: s.bootstrap, seed: 17 }),
    });
    const singles = measures.map((m) => fit([m.key], m.label));
    const bothFit = fit(['trace', 'trainLoss'], 'Hessian trace + train loss');
    regressions.push(...singles, bothFit);
    const bestSingle = singles.reduce((a, b) => (b.fit.r2 > a.fit.r2 ? b : a));
    // Adjusted R², 1 − (1 − R²)(n − 1)/(n − p − 1): a second predictor must earn its place, so the gain can be negative.
    const adjusted = (keys: MeasureKey[], idx: number[]): number => {
      const r2 = leastSquares(
        keys.map((k) => idx.map((i) => log10(rs[i][k]))),
        idx.map((i) => y[i]),
      ).r2;
      return 1 - ((1 - r2) * (idx.length - 1)) / (idx.length - keys.length - 1);
    };
    const gain = bootstrapStatistic(
      rs.length,
      (idx) => adjusted(['trace', 'trainLoss'], idx) - Math.max(adjusted(['trace'], idx), adjusted(['trainLoss'], idx)),
      { resamples: Math.min(s.bootstrap, 1000), seed: 23 },
    );
    gains.push({ dataset, gain, best: bestSingle.model });
    tables.push({
      title: `${dataset}: test accuracy (%) regressed on log10 of each measure, and on flatness and optimization error together (${rs.length} runs)`,
      columns: [
        'predictors',
        'kind',
        'R²',
        'R² 95% interval',
        'slope(s) (accuracy points per decade)',
        'slope 95% intervals',
      ],
      rows: [...singles, bothFit].map((g) => [
        g.model,
        g.predictors.length > 1 ? 'both' : measures.find((m) => m.key === g.predictors[0])!.kind,
        g.fit.r2,
        `[${g.fit.r2Interval.lo.toFixed(3)}, ${g.fit.r2Interval.hi.toFixed(3)}]`,
        g.fit.coefficients
          .slice(1)
          .map((c) => c.toFixed(2))
          .join(', '),
        g.fit.coefficientIntervals
          .slice(1)
          .map((c) => `[${c.lo.toFixed(2)}, ${c.hi.toFixed(2)}]`)
          .join(', '),
      ]),
      note: `Adjusted-R² gain of both over the better of trace alone and train loss alone: ${gain.estimate.toFixed(3)} [${gain.lo.toFixed(3)}, ${gain.hi.toFixed(3)}] (paired bootstrap).`,
    });
    const groups: (string | number)[][] = [];
    for (const algorithm of s.algorithms)
      for (const batch of s.batchSizes) {
        const g = rs.filter((r) => r.algorithm === algorithm && r.batch === batch);
        if (g.length === 0) continue;
        const acc = meanInterval(g.map((r) => 100 * r.testAccuracy));
        groups.push([
          algorithmLabel(algorithm),
          batch,
          g.length,
          `${acc.estimate.toFixed(2)} [${acc.lo.toFixed(2)}, ${acc.hi.toFixed(2)}]`,
          mean(g.map((r) => r.trace)),
          mean(g.map((r) => r.lambdaMax)),
          mean(g.map((r) => r.sharpness)),
          mean(g.map((r) => r.trainLoss)),
          mean(g.map((r) => r.gradNorm)),
        ]);
      }
    tables.unshift({
      title: `${dataset}: every algorithm and batch size (means over ${s.seeds.length} seeds)`,
      columns: [
        'algorithm',
        'B',
        'runs',
        'test accuracy % [95%]',
        'Tr ∇²J',
        'λ_max',
        'Gaussian sharpness',
        'train loss',
        '‖∇J‖',
      ],
      rows: groups,
    });
    if (s.algorithms.includes('atc')) {
      for (const other of s.algorithms.filter((a) => a !== 'atc')) {
        const pairs = rs
          .filter((r) => r.algorithm === 'atc')
          .map((r) => {
            const o = rs.find((q) => q.algorithm === other && q.batch === r.batch && q.seed === r.seed);
            return o ? 100 * (r.testAccuracy - o.testAccuracy) : null;
          })
          .filter((x): x is number => x !== null);
        diffusion.push({ dataset, versus: other, difference: meanInterval(pairs) });
      }
    }
    const rows: Row[] = rs.map((r) => ({
      algorithm: algorithmLabel(r.algorithm),
      batch: r.batch,
      seed: r.seed,
      accuracy: 100 * r.testAccuracy,
      trace: r.trace,
      lambdaMax: r.lambdaMax,
      sharpness: Math.max(r.sharpness, 1e-6),
      trainLoss: r.trainLoss,
      gradNorm: r.gradNorm,
    }));
    figures.push(
      {
        id: `tradeoff-flatness-${dataset}`,
        title: `${dataset}: accuracy against flatness`,
        caption: `${dataset}: test accuracy of each run's centroid against the flatness of the point it reached (log scales; dashed: least-squares line). Colour: algorithm; shape: batch size.`,
        spec: scatterPanels(
          rows,
          { field: 'accuracy', title: 'test accuracy (%)' },
          [
            { field: 'trace', title: 'Tr ∇²J (Hutchinson)', log: true },
            { field: 'lambdaMax', title: 'λ_max (Lanczos)', log: true },
            { field: 'sharpness', title: 'Gaussian sharpness', log: true },
          ],
          labels,
        ),
      },
      {
        id: `tradeoff-optimization-${dataset}`,
        title: `${dataset}: accuracy against optimization error`,
        caption: `${dataset}: test accuracy against the optimization error at the centroid: training loss J(w_c) and gradient norm ‖∇J(w_c)‖ (log scales).`,
        spec: scatterPanels(
          rows,
          { field: 'accuracy', title: 'test accuracy (%)' },
          [
            { field: 'trainLoss', title: 'train loss J(w_c)', log: true },
            { field: 'gradNorm', title: '‖∇J(w_c)‖', log: true },
          ],
          labels,
        ),
      },
    );
  }
  // Two parts per dataset: both measures needed (a positive adjusted-R² gain), diffusion ahead of each other algorithm.
  const status: Status = combine([
    ...gains.map((g) => reading(g.gain)),
    ...diffusion.map((d) => reading(d.difference)),
  ]);
  const statement =
    [
      ...gains.map(
        (g) =>
          `${g.dataset}: flatness and optimization error together explain R² = ${regressions.find((r) => r.dataset === g.dataset && r.predictors.length === 2)!.fit.r2.toFixed(2)} of test accuracy, an adjusted-R² gain of ${g.gain.estimate >= 0 ? '+' : ''}${g.gain.estimate.toFixed(2)} [${g.gain.lo.toFixed(2)}, ${g.gain.hi.toFixed(2)}] over the better of trace and train loss alone (${readingLabel[reading(g.gain)]})`,
      ),
      ...diffusion.map(
        (d) =>
          `diffusion (ATC) − ${algorithmLabel(d.versus)}: ${d.difference.estimate >= 0 ? '+' : ''}${d.difference.estimate.toFixed(2)} [${d.difference.lo.toFixed(2)}, ${d.difference.hi.toFixed(2)}] accuracy points (${d.dataset}; ${readingLabel[reading(d.difference)]})`,
      ),
    ].join('; ') + '.';
  return {
    id: 'tradeoff',
    title: 'Flatness, optimization error and accuracy',
    claim:
      'Final accuracy depends on both the flatness of the minimum and the optimization error; diffusion strikes the better balance, so it gives the better accuracy.',
    method: `${s.algorithms.length} algorithms × batch sizes ${s.batchSizes.join(', ')} × ${s.seeds.length} seeds, trained by the engine for ${s.steps} steps (μ = ${s.stepSize}, ${s.agents} agents on a ${s.topology}, ${s.partition} partition, MLP ${s.hidden.join('-')} on ${s.pool}×${s.pool}-pooled images, ${s.trainSubset} training examples). At the final centroid: Hutchinson trace (≤ ${s.traceProbes} probes) and Lanczos λ_max on ${s.measureSubset} training examples, Gaussian sharpness (σ = ${s.sharpnessSigma}, ${s.sharpnessSamples} antithetic samples), J and ‖∇J‖ on the whole training subset, accuracy on ${s.testSubset} test examples. Regressions use log10 of each measure; intervals are percentile bootstraps over runs (${s.bootstrap} resamples); accuracy differences are paired by batch size and seed (t intervals).`,
    verdict: { status, statement },
    interpretation: interpret(regressions, gains, diffusion),
    settings: { ...s },
    tables,
    figures,
    data: {
      runs,
      regressions: regressions.map((r) => ({
        dataset: r.dataset,
        model: r.model,
        predictors: r.predictors,
        r2: r.fit.r2,
        r2Interval: r.fit.r2Interval,
        coefficients: r.fit.coefficients,
        coefficientIntervals: r.fit.coefficientIntervals,
      })),
      gains,
      diffusion,
    },
    seconds: (Date.now() - started) / 1000,
  };
}
