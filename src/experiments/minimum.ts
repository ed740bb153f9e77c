// The reference minimum w* of the escape and excess-risk suites, found as the paper
// does: large-batch centralized SGD from a random start, w_n = w_{n−1} − μ (1/K) Σ_k ∇̂J_k,
// then full-batch L-BFGS on J = Σ_k p_k J_k to bring ‖∇J‖ down.
import { unifiedForm } from '../algorithms/recursion.js';
import { plainSgd } from '../algorithms/local.js';
import { sgdStep } from '../algorithms/step.js';
import { ReplacementSampler, gatherStacked } from '../data/index.js';
import { minimize, type EscapeProblem } from '../escape/index.js';
import { globalRisk, riskObjective } from '../measures/index.js';
import { Generator, fromArray, keep, scope, type Tensor } from '../tensor/index.js';
import { agentLosses, type Model } from '../models/index.js';
import { deriveSeed } from '../util/seed.js';

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

export const toTensors = (model: Model, params: number[][]): Tensor[] =>
  params.map((a, i) => fromArray(Float32Array.from(a), model.paramShapes[i]));

/** w* of J = Σ_k p_k J_k of the problem (its A, μ, B and seed are not used: the settings' are). */
export function findMinimum(problem: EscapeProblem, s: MinimumSettings): Minimum {
  const { model } = problem;
  const K = problem.parts.length;
  return scope(() => {
    let w = model.init(K, new Generator(deriveSeed(s.seed, 'minimum-init'))).map(keep);
    const form = unifiedForm(
      'centralized',
      Array.from({ length: K }, () => Array.from({ length: K }, () => 1 / K)),
    );
    const settings = { form, stepSize: s.stepSize, local: plainSgd, momentum: null };
    const sampler = new ReplacementSampler(problem.parts, s.batchSize, [deriveSeed(s.seed, 'minimum-batches')]);
    try {
      for (let n = 1; n <= s.steps; n++) {
        const next = scope(() => {
          const batch = gatherStacked(problem.train, sampler.next(), K, s.batchSize);
          return sgdStep(w, (phi) => agentLosses(model, phi, batch.x, batch.y), settings).w;
        });
        w.forEach((t) => t.dispose());
        w = next.map(keep);
      }
    } finally {
      sampler.dispose();
    }
    const one = w.map((t) => keep(t.select(0, 0).contiguous()));
    w.forEach((t) => t.dispose());
    const polished = minimize(riskObjective(globalRisk(problem)), one, {
      method: 'lbfgs',
      tolerance: s.tolerance,
      maxSteps: s.polishSteps,
    });
    one.forEach((t) => t.dispose());
    const params = polished.params.map((t) => t.toNumbers());
    polished.params.forEach((t) => t.dispose());
    const every = Math.max(1, Math.floor(polished.history.length / 10));
    const history = polished.history
      .filter((_, i) => i % every === 0 || i === polished.history.length - 1)
      .map((h) => ({ step: s.steps + h.step, risk: h.risk, gradientNorm: h.gradientNorm }));
    return { params, risk: polished.risk, gradientNorm: polished.gradientNorm, history, stopped: polished.stopped };
  });
}
