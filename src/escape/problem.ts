// What the escape library needs to know about a run: the part of a training Setup that
// defines J = Σ_k p_k J_k and the recursion started at w*. A Setup (src/train) is one as
// it stands; the reproduction's suites build their own over pooled images and a chosen A.
import type { Matrix } from '../graph/index.js';
import type { Model } from '../models/index.js';
import type { Tensor } from '../tensor/index.js';
import type { TrainConfig } from '../train/config.js';

export interface EscapeProblem {
  config: Pick<TrainConfig, 'agents' | 'topology' | 'stepSize' | 'batchSize' | 'schedule' | 'weightDecay' | 'clipNorm' | 'momentum' | 'evalSubset' | 'seed'>;
  model: Model;
  /** The training examples: x [n, …], y [n]. */
  train: { x: Tensor; y: Tensor };
  /** Training-example indices held by each agent. */
  parts: number[][];
  /** p, the weights of J = Σ_k p_k J_k and of the centroid. */
  perron: number[];
  /** The combination matrix A at step n. */
  combination: (n: number) => Matrix;
  timeVarying: boolean;
}
