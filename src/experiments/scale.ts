// How big each suite is at each scale. quick answers all four claims in about a minute
// on two cores; full takes up to ninety, with enough replicas and seeds for
// every verdict's 95% interval; tiny exists for tests (seconds, numbers meaningless).
// cnn runs the trade-off suite alone, on LeNet-5 over Fashion-MNIST with K = 16 agents
// (Zhu et al., ICML 2023's setting, scaled to two cores); cnn-gpu is the same suite at
// full size for a GPU; cnn-tiny is cnn's test (seconds, numbers meaningless).
import type { EscapeSuiteSettings } from './escape-suite.js';
import type { ExcessSuiteSettings } from './excess-suite.js';
import type { NetworkSettings } from './network.js';
import type { ToySuiteSettings } from './toy-suite.js';
import type { TradeoffSettings } from './tradeoff-suite.js';

export const scales = ['tiny', 'quick', 'full', 'cnn', 'cnn-gpu', 'cnn-tiny'] as const;
export type Scale = (typeof scales)[number];

/** The suites a scale runs: the MLP scales all four, the convnet scales the trade-off suite alone. */
export interface ScaleSettings {
  network?: NetworkSettings;
  escape?: EscapeSuiteSettings;
  excess?: ExcessSuiteSettings;
  tradeoff: TradeoffSettings;
  toy?: ToySuiteSettings;
}

const topologies = ['ring', 'grid', 'erdos-renyi', 'complete'];

/**
 * The scale in a sentence for the top of the report: its sizes and what its 95% intervals
 * can resolve, so a quick report's verdicts are not read as the full scale's.
 */
export function describeScale(scale: Scale, s: ScaleSettings): string {
  const t = s.tradeoff;
  const power: Record<Scale, string> = {
    tiny: 'a test of the machinery only: its numbers mean nothing.',
    quick:
      "a first look: few replicas and seeds, so the 95% intervals are wide and many effects cannot be resolved — an 'inconclusive' here means 'not enough data at this scale', not a refutation. The verdicts to quote come from --full.",
    full: 'enough replicas and seeds to resolve the effects the claims are about; every verdict carries its 95% interval.',
    'cnn-tiny': 'a test of the machinery only: its numbers mean nothing.',
    cnn: `${t.seeds.length} seeds give t intervals with ${t.seeds.length - 1} degrees of freedom (half-widths of about 2.5 seed-to-seed standard deviations): an accuracy difference of a point or more between diffusion and centralized is resolved, a few tenths are not; the runs are short (${t.steps} steps), so they test the early phase of training, not converged networks — the full-size suite is --scale cnn-gpu.`,
    'cnn-gpu': `full training (${t.steps} steps on all of Fashion-MNIST) with ${t.seeds.length} seeds: enough to resolve accuracy differences of a few tenths of a point.`,
  };
  if (!s.escape || !s.excess || !s.toy) {
    const runs =
      t.seeds.length *
      t.batchSizes.length *
      t.algorithms.reduce((n, a) => n + (a === 'centralized' ? 1 : t.topologies.length), 0);
    return `${scale} scale — the trade-off suite only (the escape, excess-risk and 2-D suites are the MLP scales'): ${t.model === 'lenet' ? 'LeNet-5' : 'an MLP'} on ${t.datasets.join(', ')}, K = ${t.agents} agents, diffusion (ATC) over ${t.topologies.join(', ')} against centralized SGD, per-agent batch B = ${t.batchSizes.join(' and ')} (total K·B = ${t.batchSizes.map((b) => b * t.agents).join(' and ')}), ${t.seeds.length} seed${t.seeds.length === 1 ? '' : 's'}: ${runs} training runs of ${t.steps} steps (μ = ${t.stepSize}) from random initialization on ${t.trainSubset} training examples. Statistical power: ${power[scale]}`;
  }
  const sizes = `${s.escape.replicas} replicas per escape setting (B = ${s.escape.batchSizes.join(', ')}), ${s.excess.replicas} per excess-risk setting (${s.excess.topologies.length} topologies × ${s.excess.stepSizes.length} step sizes), ${t.seeds.length} seed${t.seeds.length === 1 ? '' : 's'} × ${t.batchSizes.length} batch sizes × ${t.algorithms.length} algorithms for the trade-off (${t.datasets.join(', ')}), ${s.toy.replicas} replicas in 2-D`;
  return `${scale} scale — ${sizes}. Statistical power: ${power[scale]}`;
}

export function scaleSettings(scale: Scale, dataDir?: string): ScaleSettings {
  if (scale === 'cnn' || scale === 'cnn-gpu' || scale === 'cnn-tiny') return { tradeoff: convnetTradeoff(scale) };
  const minimum = { batchSize: 1024, stepSize: 0.5, steps: 200, polishSteps: 1000, tolerance: 1e-5 };
  const network: NetworkSettings = {
    dataset: 'mnist',
    trainSubset: 8192,
    pool: 4,
    hidden: [8],
    agents: 8,
    partition: 'dirichlet:0.5',
    rank: 24,
    minimum,
    seed: 1,
  };
  const toyBase = {
    algorithms: ['centralized', 'consensus', 'atc'] as ToySuiteSettings['algorithms'],
    agents: 8,
    topology: 'ring',
    stepSize: 0.1,
    batchSize: 64,
    noise: 2,
    heterogeneity: 3,
    seed: 1,
  };
  const tradeoffBase: TradeoffSettings = {
    datasets: ['mnist'],
    trainSubset: 4000,
    testSubset: 2000,
    model: 'mlp',
    pool: 2,
    hidden: [32],
    agents: 8,
    topologies: ['ring'],
    partition: 'iid',
    algorithms: ['centralized', 'consensus', 'atc'],
    batchSizes: [8, 128],
    seeds: [1, 2, 3],
    steps: 500,
    stepSize: 0.1,
    measureSubset: 1000,
    traceProbes: 12,
    lanczosSteps: 20,
    sharpnessSigma: 0.02,
    sharpnessSamples: 8,
    bootstrap: 1000,
  };
  switch (scale) {
    case 'tiny':
      return {
        network: {
          ...network,
          trainSubset: 1024,
          hidden: [4],
          agents: 4,
          rank: 6,
          minimum: { ...minimum, batchSize: 64, steps: 20, polishSteps: 30 },
        },
        escape: {
          topology: 'ring',
          stepSize: 0.05,
          batchSizes: [8, 64],
          largeBatch: 64,
          steps: 10,
          recordEvery: 5,
          replicas: 3,
          seed: 11,
        },
        excess: {
          topologies: ['ring', 'complete'],
          stepSizes: [0.05],
          batchSize: 16,
          steps: 10,
          recordEvery: 5,
          replicas: 3,
          seed: 13,
        },
        tradeoff: {
          ...tradeoffBase,
          trainSubset: 512,
          testSubset: 256,
          pool: 4,
          hidden: [8],
          agents: 4,
          batchSizes: [4, 16],
          seeds: [1],
          steps: 20,
          measureSubset: 256,
          traceProbes: 4,
          lanczosSteps: 5,
          sharpnessSamples: 2,
          bootstrap: 200,
        },
        toy: { ...toyBase, starts: ['sharp'], replicas: 10, steps: 30 },
      };
    case 'quick':
      return {
        network,
        escape: {
          topology: 'ring',
          stepSize: 0.05,
          batchSizes: [16, 128, 1024],
          largeBatch: 128,
          steps: 80,
          recordEvery: 10,
          replicas: 6,
          seed: 11,
        },
        excess: {
          topologies,
          stepSizes: [0.02, 0.05],
          batchSize: 128,
          steps: 80,
          recordEvery: 10,
          replicas: 6,
          seed: 13,
        },
        tradeoff: tradeoffBase,
        toy: { ...toyBase, starts: ['sharp', 'uniform'], replicas: 100, steps: 300 },
      };
    case 'full':
      return {
        network: { ...network, trainSubset: 16384, rank: 48, minimum: { ...minimum, steps: 500, polishSteps: 4000 } },
        escape: {
          topology: 'ring',
          stepSize: 0.05,
          batchSizes: [16, 32, 64, 128, 256, 512, 1024],
          largeBatch: 256,
          steps: 200,
          recordEvery: 10,
          replicas: 32,
          seed: 11,
        },
        excess: {
          topologies,
          stepSizes: [0.01, 0.02, 0.05],
          batchSize: 256,
          steps: 300,
          recordEvery: 15,
          replicas: 24,
          seed: 13,
        },
        tradeoff: {
          ...tradeoffBase,
          datasets: dataDir ? ['mnist', 'fashion-mnist', 'cifar10'] : ['mnist', 'fashion-mnist'],
          dataDir,
          trainSubset: 10000,
          testSubset: 10000,
          hidden: [64],
          algorithms: ['centralized', 'consensus', 'atc', 'cta'],
          batchSizes: [8, 32, 128, 512],
          seeds: [1, 2, 3, 4, 5, 6],
          steps: 600,
          measureSubset: 2000,
          traceProbes: 30,
          lanczosSteps: 30,
          sharpnessSamples: 20,
          bootstrap: 2000,
        },
        toy: { ...toyBase, starts: ['sharp', 'uniform'], replicas: 500, steps: 600 },
      };
  }
}

/**
 * The convnet scales' trade-off suite: LeNet-5 over Fashion-MNIST (28×28, not pooled), K = 16 agents, diffusion (ATC)
 * over a ring, an exponential graph, a 4×4 grid and the complete graph against centralized SGD, per-agent batch
 * B = 64 and 512 (total batch 1024 and 8192, Zhu et al., ICML 2023), the same number of steps and step size for both,
 * from random initialization; the diffusion-centralized comparison is read at the large batch.
 *
 * cnn is sized for two CPU cores. One step of all 16 agents took 0.33 s at B = 64 and 1.09 s at B = 512 (LeNet-5,
 * measured with other work on the machine, load ≈ 4); a first whole run of 80 steps (load ≈ 5) took 12–15 s per
 * B = 64 unit and 70 s per B = 512 unit, evaluation and curvature included, 21 minutes for 3 seeds. With μ = 0.2,
 * 80 steps took diffusion at B = 64 to about 72% test accuracy: the suite spends the hour the scale is allowed on
 * 160 steps of μ = 0.2, the same for both batch sizes (15 × 160 × (0.15 + 0.85) s ≈ 40 min at that load) — still
 * the early phase of training, not convergence. cnn-gpu is the same suite at full size (all 60 000 training and
 * 10 000 test examples, 2000 steps, 5 seeds) for `--device cuda`.
 */
function convnetTradeoff(scale: 'cnn' | 'cnn-gpu' | 'cnn-tiny'): TradeoffSettings {
  const base: TradeoffSettings = {
    datasets: ['fashion-mnist'],
    model: 'lenet',
    trainSubset: 16384,
    testSubset: 2000,
    evalSubset: 1024,
    pool: 1,
    hidden: [],
    agents: 16,
    topologies: ['ring', 'exponential', 'grid', 'complete'],
    partition: 'iid',
    algorithms: ['centralized', 'atc'],
    batchSizes: [64, 512],
    largeBatch: 512,
    seeds: [1, 2, 3],
    steps: 160,
    stepSize: 0.2,
    measureSubset: 512,
    traceProbes: 10,
    lanczosSteps: 10,
    sharpnessSigma: 0.01,
    sharpnessSamples: 4,
    bootstrap: 1000,
  };
  switch (scale) {
    case 'cnn':
      return base;
    case 'cnn-gpu':
      return {
        ...base,
        trainSubset: 60000,
        testSubset: 10000,
        evalSubset: 10000,
        seeds: [1, 2, 3, 4, 5],
        steps: 2000,
        measureSubset: 4096,
        traceProbes: 30,
        lanczosSteps: 30,
        sharpnessSamples: 16,
        bootstrap: 2000,
      };
    case 'cnn-tiny':
      return {
        ...base,
        trainSubset: 512,
        testSubset: 128,
        evalSubset: 128,
        agents: 4,
        topologies: ['ring', 'complete'],
        batchSizes: [4, 16],
        largeBatch: 16,
        seeds: [1, 2],
        steps: 4,
        measureSubset: 64,
        traceProbes: 2,
        lanczosSteps: 3,
        sharpnessSamples: 2,
        bootstrap: 100,
      };
  }
}
