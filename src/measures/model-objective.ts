// The objective of a flatdist Model on a data set: J(w) = (1/N) Σ_n ℓ(f(w; x_n), y_n),
// cross-entropy, visited in chunks. Models run on stacked [K, …] parameters; one model
// is the K = 1 stack, so the measures see plain per-model shapes.
import { crossEntropy, type Tensor } from '../tensor/index.js';
import type { Model } from '../models/index.js';
import { meanObjective, type Objective } from './objective.js';

/** x [N, ...inputShape], y int64 class indices [N]; params of one model, shaped model.paramShapes. */
export function modelObjective(model: Model, x: Tensor, y: Tensor, chunkSize = 1000): Objective {
  const n = y.shape[0];
  if (x.shape[0] !== n) throw new RangeError(`modelObjective: ${x.shape[0]} inputs but ${n} labels`);
  return meanObjective(n, chunkSize, (start, length) => (params) => {
    const logits = model.forward(params.map((p) => p.unsqueeze(0)), x.narrow(0, start, length).unsqueeze(0));
    return crossEntropy(logits.reshape([length, model.classes]), y.narrow(0, start, length));
  });
}
