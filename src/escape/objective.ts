// The risks the escape experiments are about, as Objectives (src/measures) of one
// model's parameters, in any dtype (inputs are cast chunk by chunk, so a float64
// minimization or estimate needs no float64 copy of the data set):
//
//   J_k(w) = (1/|D_k|) Σ_{n ∈ D_k} ℓ(f(w; x_n), y_n) + (λ/2)‖w‖²    agent k's local risk
//   J(w)   = Σ_k p_k J_k(w)                                       the global risk, p the Perron vector
//
// λ the config's weight decay, so ∇J_k is what the engine's local step follows.
// For an IID partition into equal parts and uniform p, J is the training risk.
import { fromArray, type DType, type Tensor } from '../tensor/index.js';
import { agentLosses, type Model } from '../models/index.js';
import type { Objective, ObjectiveTerm } from '../measures/index.js';
import type { EscapeProblem } from './problem.js';

export interface ObjectiveOptions {
  /** Examples per chunk (one chunk's graph lives at a time). */
  chunkSize?: number;
}

/** The mean cross-entropy of one model over the examples `indices` of data, as chunk terms weighted by `weight`. */
export function exampleTerms(model: Model, data: { x: Tensor; y: Tensor }, indices: ArrayLike<number>, weight: number, o: ObjectiveOptions = {}): ObjectiveTerm[] {
  const chunk = o.chunkSize ?? 1000;
  const count = indices.length;
  const terms: ObjectiveTerm[] = [];
  for (let start = 0; start < count; start += chunk) {
    const length = Math.min(chunk, count - start);
    const index = Int32Array.from({ length }, (_, i) => indices[start + i]);
    terms.push({
      weight: (weight * length) / count,
      loss: (params) => {
        const at = fromArray(index);
        const x = data.x.indexSelect(0, at).to(params[0].dtype).unsqueeze(0);
        const y = data.y.indexSelect(0, at).unsqueeze(0);
        return agentLosses(model, params.map((p) => p.unsqueeze(0)), x, y).sum();
      },
    });
  }
  return terms;
}

/** (λ/2)‖w‖² as a term, or none when λ = 0. */
function decayTerms(lambda: number, weight: number): ObjectiveTerm[] {
  if (lambda === 0) return [];
  return [{ weight: weight * (lambda / 2), loss: (params) => params.map((p) => p.square().sum()).reduce((a, b) => a.add(b)) }];
}

/** J_k, agent k's local risk on its part of the training set. */
export function agentObjective(setup: EscapeProblem, k: number, o: ObjectiveOptions = {}): Objective {
  return { terms: [...exampleTerms(setup.model, setup.train, setup.parts[k], 1, o), ...decayTerms(setup.config.weightDecay, 1)] };
}

/** J = Σ_k p_k J_k over the agents' parts. */
export function globalObjective(setup: EscapeProblem, o: ObjectiveOptions = {}): Objective {
  const terms = setup.parts.flatMap((part, k) => exampleTerms(setup.model, setup.train, part, setup.perron[k], o));
  return { terms: [...terms, ...decayTerms(setup.config.weightDecay, 1)] };
}

/** One model's parameters [1, …] or [...] in the given dtype, detached copies. */
export function asDtype(params: Tensor[], dtype: DType): Tensor[] {
  return params.map((p) => p.detach().to(dtype).clone());
}
