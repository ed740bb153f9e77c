// Evaluation of a network during training, on the run's objective (src/measures/risk.ts):
// the data loss and accuracy of every agent and of the centroid w_c = Σ_k p_k w_k, in one
// batched forward pass over K + 1 models; J(w_c) = data loss + (λ/2)‖w_c‖² and ‖∇J(w_c)‖;
// and the consensus distance (1/K) Σ_k ‖w_k − w_c‖².
import { cat, scope, type Tensor } from '../tensor/index.js';
import {
  centroid,
  consensusDistance,
  flat,
  globalRisk,
  riskAndGradient,
  riskObjective,
  stackedScores,
  type ModelRisk,
  type RiskDefinition,
} from '../measures/index.js';
import { deriveSeed } from '../util/seed.js';

export interface Score {
  /** The data loss Σ_i ω_i ℓ_i (no weight decay). */
  loss: number;
  accuracy: number;
}

export interface Evaluation {
  centroid: Score;
  agents: Score[];
}

/** J at the centroid, with what it is made of. */
export interface ObjectiveAtCentroid {
  /** λ. */
  weightDecay: number;
  /** J(w_c) = data loss + (λ/2)‖w_c‖² on the training examples scored. */
  centroid: number;
  /** ‖∇J(w_c)‖. */
  gradNorm: number;
}

/**
 * The training examples a run is scored on: J exactly when there are at most evalSubset of
 * them, a fixed stratified subset of about evalSubset beyond (globalRisk). Training metrics
 * and escape measurements of one config score the same examples.
 */
export function trainingRisk(d: RiskDefinition & { config: { evalSubset: number; seed: number } }): ModelRisk {
  return globalRisk(d, { maxExamples: d.config.evalSubset, seed: deriveSeed(d.config.seed, 'evaluation') });
}

export interface NetworkEvaluation {
  train: Evaluation;
  test: Evaluation;
  objective: ObjectiveAtCentroid;
  consensusDistance: number;
}

/** Scores of K stacked agents [K, …] and their centroid w_c (weights p) on the training and test risks' examples. */
export function evaluateNetwork(
  risks: { train: ModelRisk; test: ModelRisk },
  w: Tensor[],
  p: number[],
): NetworkEvaluation {
  const K = w[0].shape[0];
  return scope(() => {
    const wc = centroid(w, p);
    const all = w.map((t, i) => cat([t, wc[i].unsqueeze(0)], 0));
    const scored = (r: ModelRisk): { evaluation: Evaluation; risk: number[] } => {
      const { dataLoss, accuracy, risk } = stackedScores(r, all);
      const scores = dataLoss.map((loss, i) => ({ loss, accuracy: accuracy[i] }));
      return { evaluation: { centroid: scores[K], agents: scores.slice(0, K) }, risk };
    };
    const train = scored(risks.train);
    const { gradient } = riskAndGradient(riskObjective(risks.train), wc);
    return {
      train: train.evaluation,
      test: scored(risks.test).evaluation,
      objective: {
        weightDecay: risks.train.weightDecay,
        centroid: train.risk[K],
        gradNorm: flat(gradient).norm().item(),
      },
      consensusDistance: consensusDistance(w, p),
    };
  });
}
