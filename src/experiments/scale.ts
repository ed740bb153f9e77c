// How big each suite is at each scale. quick answers all four claims in about five
// minutes on two cores; full takes up to ninety, with enough replicas and seeds for
// every verdict's 95% interval; tiny exists for tests (seconds, numbers meaningless).
import type { EscapeSuiteSettings } from './escape-suite.js';
import type { ExcessSuiteSettings } from './excess-suite.js';
import type { NetworkSettings } from './network.js';
import type { ToySuiteSettings } from './toy-suite.js';
import type { TradeoffSettings } from './tradeoff-suite.js';

export const scales = ['tiny', 'quick', 'full'] as const;
export type Scale = (typeof scales)[number];

export interface ScaleSettings {
  network: NetworkSettings;
  escape: EscapeSuiteSettings;
  excess: ExcessSuiteSettings;
  tradeoff: TradeoffSettings;
  toy: ToySuiteSettings;
}

const topologies = ['ring', 'grid', 'erdos-renyi', 'complete'];

/**
 * The scale in a sentence for the top of the report: its sizes and what its 95% intervals
 * can resolve, so a quick report's verdicts are not read as the full scale's.
 */
export function describeScale(scale: Scale, s: ScaleSettings): string {
  const sizes = `${s.escape.replicas} replicas per escape setting (B = ${s.escape.batchSizes.join(', ')}), ${s.excess.replicas} per excess-risk setting (${s.excess.topologies.length} topologies × ${s.excess.stepSizes.length} step sizes), ${s.tradeoff.seeds.length} seed${s.tradeoff.seeds.length === 1 ? '' : 's'} × ${s.tradeoff.batchSizes.length} batch sizes × ${s.tradeoff.algorithms.length} algorithms for the trade-off (${s.tradeoff.datasets.join(', ')}), ${s.toy.replicas} replicas in 2-D`;
  const power = {
    tiny: 'a test of the machinery only: its numbers mean nothing.',
    quick:
      "a first look: few replicas and seeds, so the 95% intervals are wide and many effects cannot be resolved — an 'inconclusive' here means 'not enough data at this scale', not a refutation. The verdicts to quote come from --full.",
    full: 'enough replicas and seeds to resolve the effects the claims are about; every verdict carries its 95% interval.',
  }[scale];
  return `${scale} scale — ${sizes}. Statistical power: ${power}`;
}

export function scaleSettings(scale: Scale, dataDir?: string): ScaleSettings {
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
    pool: 2,
    hidden: [32],
    agents: 8,
    topology: 'ring',
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
