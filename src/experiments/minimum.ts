// The reference minimum w* of the escape and excess-risk suites, found as the paper
// does: large-batch centralized SGD from a random start, w_n = w_{n−1} − μ (1/K) Σ_k ∇̂J_k,
// then full-batch L-BFGS on J = Σ_k p_k J_k to bring ‖∇J‖ down.
import { unifiedForm, unifiedStep } from '../algorithms/recursion.js';
import { meanObjective, modelObjective, type Objective } from '../measures/index.js';
import { minimize } from '../escape/index.js';
import { Generator, fromArray, grad, keep, scope, type Tensor } from '../tensor/index.js';
import { agentLosses, type Model } from '../models/index.js';
import { deriveSeed } from '../train/seeds.js';
import type { AgentData } from './data.js';
import { replicaBatches } from './escape.js';
import { replicaMixer } from './replicas.js';

/** J(w) = Σ_k p_k J_k(w) over all training data, in chunks, as an Objective of one model. */
export function globalObjective(model: Model, data: AgentData, chunk = 4096): Objective {
  const n = data.y.shape[0];
  return {
    terms: meanObjective(n, chunk, (start, length) => (params) => {
      const logits = model.forward(params.map((p) => p.unsqueeze(0)), data.x.narrow(0, start, length).unsqueeze(0));
      const nll = logits.logSoftmax(2).gather(2, data.y.narrow(0, start, length).reshape([1, length, 1])).reshape([length]).neg();
      return nll.mul(data.weights.narrow(0, start, length)).sum();
    }).terms.map((t) => ({ weight: 1, loss: t.loss })),
  };
}

/** J_k(w), agent k's mean loss over its own data. */
export function agentObjective(model: Model, data: AgentData, k: number): Objective {
  return modelObjective(model, data.x.narrow(0, data.offsets[k], data.sizes[k]), data.y.narrow(0, data.offsets[k], data.sizes[k]));
}

export interface MinimumSettings {
  batchSize: number;
  stepSize: number;
  steps: number;
  /** At most this many L-BFGS steps after the SGD phase. */
  polishSteps: number;
  /** L-BFGS stops at ‖∇J‖ ≤ tolerance. */
  tolerance: number;
  seed: number;
}

export interface Minimum {
  /** w*, one array per parameter tensor (model.paramShapes). */
  params: number[][];
  risk: number;
  gradientNorm: number;
  /** J along the way, every tenth of the run. */
  history: { step: number; risk: number; gradientNorm: number }[];
  /** Why L-BFGS stopped: 'tolerance', 'max-steps' or 'no-decrease' (J's precision reached). */
  stopped: string;
}

export const toTensors = (model: Model, params: number[][]): Tensor[] => params.map((a, i) => fromArray(Float32Array.from(a), model.paramShapes[i]));

export function findMinimum(model: Model, data: AgentData, s: MinimumSettings): Minimum {
  const K = data.K;
  const objective = globalObjective(model, data);
  return scope(() => {
    let w = model.init(K, new Generator(deriveSeed(s.seed, 'minimum-init'))).map(keep);
    const form = unifiedForm('centralized', fromArray(Float32Array.from({ length: K * K }, () => 1 / K), [K, K]));
    const gen = new Generator(deriveSeed(s.seed, 'minimum-batches'));
    const mixer = replicaMixer(1);
    for (let n = 1; n <= s.steps; n++) {
      const next = scope(() => {
        const batch = replicaBatches(data, 1, s.batchSize, gen);
        return unifiedStep(w, (phi) => {
          const leaves = phi.map((t) => t.detach().requiresGrad_());
          return grad(agentLosses(model, leaves, batch.x, batch.y).sum(), leaves);
        }, form, s.stepSize, mixer);
      });
      w.forEach((t) => t.dispose());
      w = next.map(keep);
    }
    const one = w.map((t) => keep(t.select(0, 0).contiguous()));
    w.forEach((t) => t.dispose());
    const polished = minimize(objective, one, { method: 'lbfgs', tolerance: s.tolerance, maxSteps: s.polishSteps });
    one.forEach((t) => t.dispose());
    const params = polished.params.map((t) => t.toNumbers());
    polished.params.forEach((t) => t.dispose());
    const every = Math.max(1, Math.floor(polished.history.length / 10));
    const history = polished.history.filter((_, i) => i % every === 0 || i === polished.history.length - 1).map((h) => ({ step: s.steps + h.step, risk: h.risk, gradientNorm: h.gradientNorm }));
    return { params, risk: polished.risk, gradientNorm: polished.gradientNorm, history, stopped: polished.stopped };
  });
}
