// What the escape and excess-risk suites share: the data split among K agents, a small
// MLP, the reference minimum w* (large-batch centralized SGD, then L-BFGS), and the
// linearized model estimated at w* — each a stored unit of work — and the theory's
// curves for a setting.
import { unifiedForm, type Algorithm } from '../algorithms/recursion.js';
import { combinationMatrix, makeGraph, spectrum, type Matrix } from '../graph/index.js';
import { makeModel, type Model } from '../models/index.js';
import { fromArray, keep, scope, type Tensor } from '../tensor/index.js';
import { linearizedModel, propagateMoments, steadyState, type LinearizedModel } from '../theory/index.js';
import { UserError } from '../errors.js';
import { deriveSeed } from '../train/seeds.js';
import { agentData, imageData, type AgentData } from './data.js';
import { linearize } from './linearize.js';
import { findMinimum, toTensors, type Minimum, type MinimumSettings } from './minimum.js';
import type { WorkStore } from './work.js';

export interface NetworkSettings {
  dataset: string;
  dataDir?: string;
  trainSubset: number;
  /** Average-pooling window on the images (4: MNIST's 28×28 → 7×7). */
  pool: number;
  hidden: number[];
  agents: number;
  partition: string;
  /** r, the dimension of the subspace the theory is computed in. */
  rank: number;
  minimum: Omit<MinimumSettings, 'seed'>;
  seed: number;
}

export interface LinearizationRecord {
  rank: number;
  eigenvalues: number[];
  traceShare: number;
  noiseTrace: number;
  heterogeneity: number;
  H: number[];
  d: number[];
  R: number[];
}

export interface Network {
  settings: NetworkSettings;
  model: Model;
  data: AgentData;
  wStar: Tensor[];
  minimum: Minimum;
  linearization: LinearizationRecord;
  theory: LinearizedModel;
}

export async function prepareNetwork(store: WorkStore, s: NetworkSettings): Promise<Network> {
  const images = imageData({ dataset: s.dataset, dataDir: s.dataDir, trainSubset: s.trainSubset, testSubset: 1, pool: s.pool, seed: s.seed });
  const data = agentData(images, s.agents, s.partition, s.seed);
  const model = makeModel({ model: 'mlp', inputShape: [images.features], classes: images.classes, hidden: s.hidden });
  const minimum = await store.unit('network/minimum', () => findMinimum(model, data, { ...s.minimum, seed: s.seed }));
  const wStar = toTensors(model, minimum.params).map(keep);
  const linearization = await store.unit('network/linearization', (): LinearizationRecord => {
    const l = linearize(model, data, wStar, s.rank);
    return scope(() => ({
      rank: l.rank, eigenvalues: l.eigenvalues, traceShare: l.traceShare, noiseTrace: l.noiseTrace, heterogeneity: l.heterogeneity,
      H: l.model.H.toNumbers(), d: l.model.d.toNumbers(), R: l.model.R.toNumbers(),
    }));
  });
  const { rank: r } = linearization;
  const K = s.agents;
  const theory = scope(() => {
    const m = linearizedModel(
      fromArray(Float64Array.from(linearization.H), [K, r, r]),
      fromArray(Float64Array.from(linearization.d), [K, r]),
      fromArray(Float64Array.from(linearization.R), [K, r, r]),
      fromArray(Float64Array.from(data.p)),
    );
    return m;
  });
  for (const t of [theory.H, theory.d, theory.R, theory.p]) keep(t);
  return { settings: s, model, data, wStar, minimum, linearization, theory };
}

/** The Metropolis combination matrix of a topology over K agents, with its mixing rate. */
export function networkMatrix(topology: string, K: number, seed: number): { A: Matrix; mixingRate: number } {
  const A = combinationMatrix('metropolis', makeGraph({ topology, agents: K, seed: deriveSeed(seed, 'graph') }));
  return { A, mixingRate: spectrum(A).lambda };
}

export interface Prediction {
  /** The exact linearized curves at the recorded steps (null where the recursion is unstable). */
  centroid: number[] | null;
  agents: number[] | null;
  /** Steady state n → ∞, or why there is none. */
  steady: { centroid: number; agents: number; spectralRadius: number } | { unavailable: string };
}

/** The theory's excess-risk curves at `steps` for an algorithm on A with step size μ and batch B. */
export function predict(network: Network, algorithm: Algorithm, A: Matrix, stepSize: number, batchSize: number, steps: number[]): Prediction {
  const K = network.settings.agents;
  return scope(() => {
    const form = unifiedForm(algorithm, fromArray(Float64Array.from(A.flat()), [K, K]));
    const settings = { form, stepSize, batchSize };
    let steady: Prediction['steady'];
    try {
      const st = steadyState(network.theory, settings);
      steady = { centroid: st.centroid, agents: st.agentAverage, spectralRadius: st.spectralRadius };
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      steady = { unavailable: e.message };
    }
    if ('unavailable' in steady) return { centroid: null, agents: null, steady };
    const curve = propagateMoments(network.theory, settings, Math.max(...steps));
    return { centroid: steps.map((n) => curve.centroid[n]), agents: steps.map((n) => curve.agentAverage[n]), steady };
  });
}
