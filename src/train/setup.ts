// Everything a run is made of, derived deterministically from its config: the
// graph and its combination matrices, the data and its partition across agents,
// the model, and each agent's batch stream. Every process of a distributed run
// computes the same Setup.
import {
  loadDataset,
  partition,
  parsePartition,
  labelHistogram,
  AgentSampler,
  datasetTensors,
  gatherBatch,
  type DatasetTensors,
} from '../data/index.js';
import { combinationSchedule, fromMatrixFile, makeGraph, type Graph, type Matrix } from '../graph/index.js';
import { spectrum as analyze, type Spectrum } from '../graph/spectrum.js';
import { activationBytesPerExample, makeModel, type Model } from '../models/index.js';
import { useDevice, type Tensor } from '../tensor/index.js';
import type { TrainConfig } from './config.js';
import { deriveSeed } from '../util/seed.js';
import { requireMatrixFits, requireRunFits, runMemory } from './memory.js';

export interface Setup {
  config: TrainConfig;
  graph: Graph;
  /** The combination matrix A at step n (constant unless the topology is time-varying). */
  combination: (n: number) => Matrix;
  timeVarying: boolean;
  spectrum: Spectrum;
  /** Weights of the centroid w_c = Σ_k p_k w_k: the Perron vector of A. */
  perron: number[];
  model: Model;
  train: DatasetTensors;
  test: DatasetTensors;
  /** Training-example indices held by each agent. */
  parts: number[][];
  /**
   * Where the training examples come from: the data set, its splits' sizes, and (for a subset) their indices in its
   * training split. Absent when they are derived features (pooled images) rather than a data set's own examples.
   */
  source?: { dataset: string; trainSplit: number; testSplit: number; trainIndices: Int32Array | null };
  labelHistogram: number[][];
  sampler(agent: number): AgentSampler;
  batch(indices: Int32Array[]): { x: Tensor; y: Tensor };
}

/**
 * Makes config.device the device of every tensor from here on, so that the data moves there once.
 * @throws UserError when the run cannot fit in memory (src/train/memory.ts), before anything large is built,
 *   or when the device is not there (ConfigError('device')).
 */
export function prepare(config: TrainConfig): Setup {
  const c = config;
  useDevice(c.device);
  requireMatrixFits(c.agents);
  const graph = makeGraph({
    topology: c.topology,
    agents: c.agents,
    seed: deriveSeed(c.seed, 'graph'),
    file: c.edges ?? undefined,
    p: c.edgeProbability ?? undefined,
    radius: c.radius ?? undefined,
    rows: c.rows ?? undefined,
  });
  const userMatrix = c.matrix === null ? null : fromMatrixFile(c.matrix, graph);
  const combination = userMatrix ? () => userMatrix : combinationSchedule(c.rule, graph);
  const timeVarying = graph.name === 'one-peer-exponential';
  const spectrum = analyze(combination(0));
  const data = loadDataset(c.dataset, {
    dataDir: c.dataDir ?? undefined,
    trainSubset: c.trainSubset ?? undefined,
    seed: deriveSeed(c.seed, 'subset'),
  });
  const parts = partition(
    data.train.y,
    data.train.classes,
    c.agents,
    parsePartition(c.partition),
    deriveSeed(c.seed, 'partition'),
  );
  const model = makeModel({
    model: c.model,
    inputShape: data.train.shape,
    classes: data.train.classes,
    hidden: c.hidden,
    activation: c.activation,
  });
  requireRunFits(
    runMemory({
      agents: c.agents,
      batchSize: c.batchSize,
      parameterCount: model.parameterCount,
      activationBytesPerExample: activationBytesPerExample(model),
    }),
  );
  const train = datasetTensors(data.train);
  return {
    config: c,
    graph,
    combination,
    timeVarying,
    spectrum,
    perron: spectrum.perron,
    model,
    train,
    test: datasetTensors(data.test),
    parts,
    source: {
      dataset: c.dataset,
      trainSplit: data.train.origin?.n ?? data.train.n,
      testSplit: data.test.origin?.n ?? data.test.n,
      trainIndices: data.train.origin?.indices ?? null,
    },
    labelHistogram: labelHistogram(data.train.y, parts, data.train.classes),
    sampler: (k) => new AgentSampler(parts[k], c.batchSize, c.seed, k),
    batch: (indices) => gatherBatch(train, indices),
  };
}
