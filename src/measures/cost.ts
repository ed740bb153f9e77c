// What a measure cost: Hessian-vector products, gradients and risk evaluations
// (each a full pass over the objective's chunks), and wall-clock seconds.
import { performance } from 'node:perf_hooks';

export interface Cost {
  hvps: number;
  gradients: number;
  evaluations: number;
  seconds: number;
}

/** Counts the work of one measure from its creation on. */
export class Meter {
  hvps = 0;
  gradients = 0;
  evaluations = 0;
  private readonly start = performance.now();

  cost(): Cost {
    return {
      hvps: this.hvps,
      gradients: this.gradients,
      evaluations: this.evaluations,
      seconds: (performance.now() - this.start) / 1000,
    };
  }
}
