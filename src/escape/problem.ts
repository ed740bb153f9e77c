// What the escape library needs to know about a run: what defines J = Σ_k p_k J_k + (λ/2)‖w‖²
// (a RiskDefinition, src/measures/risk.ts) and the recursion started at w*. A Setup (src/train)
// is one as it stands; the reproduction's suites build their own over pooled images and a chosen A.
import type { Matrix } from '../graph/index.js';
import type { RiskDefinition } from '../measures/index.js';
import type { TrainConfig } from '../train/config.js';

export interface EscapeProblem extends RiskDefinition {
  config: Pick<
    TrainConfig,
    | 'agents'
    | 'topology'
    | 'stepSize'
    | 'batchSize'
    | 'schedule'
    | 'weightDecay'
    | 'clipNorm'
    | 'momentum'
    | 'evalSubset'
    | 'seed'
  >;
  /** The combination matrix A at step n. */
  combination: (n: number) => Matrix;
  timeVarying: boolean;
}
