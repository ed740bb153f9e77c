// What the escape and excess-risk suites share: the data split among K agents, a small
// MLP, the reference minimum w* (large-batch centralized SGD, then L-BFGS), and the
// linearized model estimated at w* — each a stored unit of work — and the theory's
// curves for a setting.
import { unifiedForm, type Algorithm } from '../algorithms/recursion.js';
import { partition, parsePartition } from '../data/index.js';
import { estimateLinearized, runEscape, type EscapeOptions, type EscapeProblem } from '../escape/index.js';
import { combinationMatrix, makeGraph, spectrum, type Matrix } from '../graph/index.js';
import { makeModel, type Model } from '../models/index.js';
import { fromArray, keep, scope, type Tensor } from '../tensor/index.js';
import { linearizedModel, propagateMoments, steadyState, type LinearizedModel } from '../theory/index.js';
import { UserError } from '../errors.js';
import { deriveSeed } from '../util/seed.js';
import { imageData } from './data.js';
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
  /** r, the dimension of the subspace the theory is computed in (of H̄'s exact top eigenvectors). */
  rank: number;
  minimum: Omit<MinimumSettings, 'seed'>;
  seed: number;
}

export interface LinearizationRecord {
  rank: number;
  /** The top eigenvalues of H̄, descending (at most 20). */
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
  /** The pooled training images: x [n, F], y [n]. */
  train: { x: Tensor; y: Tensor };
  /** The examples each agent holds; J = Σ_k p_k J_k with p uniform. */
  parts: number[][];
  wStar: Tensor[];
  minimum: Minimum;
  linearization: LinearizationRecord;
  theory: LinearizedModel;
}

/** The network's escape problem on A (columns summing to one) at step size μ, batch B and seed: every run's J is the whole training set's. */
export function escapeProblem(
  network: Pick<Network, 'model' | 'train' | 'parts'>,
  A: Matrix,
  stepSize: number,
  batchSize: number,
  seed: number,
): EscapeProblem {
  const K = network.parts.length;
  return {
    config: {
      agents: K,
      topology: 'given',
      stepSize,
      batchSize,
      schedule: { kind: 'constant' },
      weightDecay: 0,
      clipNorm: null,
      momentum: 0,
      evalSubset: network.train.y.shape[0],
      seed,
    },
    model: network.model,
    train: network.train,
    parts: network.parts,
    perron: network.parts.map(() => 1 / K),
    combination: () => A,
    timeVarying: false,
  };
}

export interface EscapeCurves {
  algorithm: Algorithm;
  steps: number[];
  /** [replica][record]: J(w_{c,n}) − J(w*). */
  centroid: number[][];
  /** [replica][record]: (1/K) Σ_k J(w_{k,n}) − J(w*), NaN where not evaluated. */
  agents: number[][];
  seconds: number;
}

/** One algorithm's escape from w* (runEscape), per replica, as the suites store it. */
export function escapeCurves(
  problem: EscapeProblem,
  wStar: Tensor[],
  algorithm: Algorithm,
  o: Omit<EscapeOptions, 'algorithms'>,
): EscapeCurves {
  const [curve] = runEscape(problem, wStar, { ...o, algorithms: [algorithm] }).curves;
  return {
    algorithm,
    steps: curve.points.map((p) => p.step),
    centroid: curve.perSeed.centroid,
    agents: curve.perSeed.agentAverage,
    seconds: curve.seconds,
  };
}

export async function prepareNetwork(store: WorkStore, s: NetworkSettings): Promise<Network> {
  const images = imageData({
    dataset: s.dataset,
    dataDir: s.dataDir,
    trainSubset: s.trainSubset,
    testSubset: 1,
    pool: s.pool,
    seed: s.seed,
  });
  const K = s.agents;
  const parts = partition(
    images.train.labels,
    images.classes,
    K,
    parsePartition(s.partition),
    deriveSeed(s.seed, 'partition'),
  );
  const model = makeModel({ model: 'mlp', inputShape: [images.features], classes: images.classes, hidden: s.hidden });
  const base = { model, train: { x: images.train.x, y: images.train.y }, parts };
  // A, μ and B do not enter J, w* or the linearized model.
  const problem = escapeProblem(
    base,
    combinationMatrix('metropolis', makeGraph({ topology: 'complete', agents: K })),
    s.minimum.stepSize,
    s.minimum.batchSize,
    s.seed,
  );
  const minimum = await store.unit('network/minimum', () => findMinimum(problem, { ...s.minimum, seed: s.seed }));
  const wStar = toTensors(model, minimum.params).map(keep);
  const linearization = await store.unit('network/linearization', (): LinearizationRecord =>
    scope(() => {
      const e = estimateLinearized(problem, wStar, { maxFull: 0, maxExplicit: 4096, rank: s.rank, curvatures: 20 });
      return {
        rank: e.rank,
        eigenvalues: e.curvatures,
        traceShare: e.traceCaptured?.fraction ?? 1,
        noiseTrace: e.model.R.mul(e.model.p.reshape([K, 1, 1]))
          .sum(0)
          .trace()
          .item(),
        heterogeneity: e.model.d.square().sum().item() / K,
        H: e.model.H.toNumbers(),
        d: e.model.d.toNumbers(),
        R: e.model.R.toNumbers(),
      };
    }),
  );
  const { rank: r } = linearization;
  const theory = scope(() =>
    linearizedModel(
      fromArray(Float64Array.from(linearization.H), [K, r, r]),
      fromArray(Float64Array.from(linearization.d), [K, r]),
      fromArray(Float64Array.from(linearization.R), [K, r, r]),
      fromArray(Float64Array.from(problem.perron)),
    ),
  );
  for (const t of [theory.H, theory.d, theory.R, theory.p]) keep(t);
  return { settings: s, ...base, wStar, minimum, linearization, theory };
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
export function predict(
  network: Network,
  algorithm: Algorithm,
  A: Matrix,
  stepSize: number,
  batchSize: number,
  steps: number[],
): Prediction {
  return scope(() => {
    const form = unifiedForm(algorithm, A, 'float64');
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
