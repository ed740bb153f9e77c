// The measures asked for at one model w, run in a fixed order, as one JSON-ready record
// (what `flatdist measure --json` prints). Each stochastic measure draws from its own
// generator, seeded from deriveSeed(seed, 'measure/<name>'), so adding or dropping a measure leaves the
// others' numbers unchanged.
import { Generator, type Tensor } from '../tensor/index.js';
import { deriveSeed } from '../util/seed.js';
import type { OnProgress } from '../util/reporter.js';
import { spectralDensity, type DensityOptions, type SpectralDensity } from './density.js';
import { topEigenvalues, type EigenOptions, type Eigenvalues } from './eigenvalues.js';
import type { Objective } from './objective.js';
import { optimizationError, type OptimizationError } from './optimization.js';
import { consensusDistance } from './risk.js';
import {
  gaussianSharpness,
  worstCaseSharpness,
  type GaussianSharpness,
  type GaussianSharpnessOptions,
  type WorstCaseSharpness,
  type WorstCaseSharpnessOptions,
} from './sharpness.js';
import { lossSlice1d, lossSlice2d, type LossSlice1d, type LossSlice2d, type SliceOptions } from './slices.js';
import { hutchinsonTrace, type HutchinsonOptions, type TraceEstimate } from './trace.js';

type WithoutGen<T> = Omit<T, 'gen'>;

export interface MeasureSpec {
  seed: number;
  /** λ, the weight decay the objective includes (so the report can give its data loss; default 0). */
  weightDecay?: number;
  /** J(w*) of a reference minimum, for the excess risk. */
  reference?: number;
  trace?: WithoutGen<HutchinsonOptions>;
  eigenvalues?: WithoutGen<EigenOptions> & { method?: 'power' | 'lanczos' };
  density?: WithoutGen<DensityOptions>;
  gaussian?: WithoutGen<GaussianSharpnessOptions>;
  worstCase?: WithoutGen<WorstCaseSharpnessOptions>;
  slice1d?: WithoutGen<SliceOptions>;
  slice2d?: WithoutGen<SliceOptions>;
  /** Told before and after each measure: (measures done, measures asked for, the measure running). */
  onProgress?: OnProgress;
}

/** Every agent's parameters stacked [K, …], with the weights p of the centroid (default uniform). */
export interface Agents {
  stacked: Tensor[];
  p?: ArrayLike<number>;
}

export interface MeasureReport {
  dimension: number;
  optimization: OptimizationError;
  consensusDistance?: number;
  trace?: TraceEstimate;
  eigenvalues?: Eigenvalues;
  density?: SpectralDensity;
  gaussian?: GaussianSharpness;
  worstCase?: WorstCaseSharpness;
  slice1d?: LossSlice1d;
  slice2d?: LossSlice2d;
}

const streams = ['trace', 'eigenvalues', 'density', 'gaussian', 'worstCase', 'slice1d', 'slice2d'] as const;
type Stream = (typeof streams)[number];
const generator = (seed: number, measure: Stream): Generator => new Generator(deriveSeed(seed, `measure/${measure}`));

/** Run the measures named in spec at params (one model), and the consensus distance of agents if given. */
export function measure(obj: Objective, params: Tensor[], spec: MeasureSpec, agents?: Agents): MeasureReport {
  const report: MeasureReport = {
    dimension: params.reduce((n, p) => n + p.numel, 0),
    optimization: optimizationError(obj, params, { reference: spec.reference, weightDecay: spec.weightDecay }),
  };
  if (agents) report.consensusDistance = consensusDistance(agents.stacked, agents.p);
  const asked = streams.filter((name) => spec[name] !== undefined);
  let done = 0;
  const starting = (name: Stream): void => spec.onProgress?.(done++, asked.length, `measuring ${name}`);
  if (spec.trace) {
    starting('trace');
    report.trace = hutchinsonTrace(obj, params, { ...spec.trace, gen: generator(spec.seed, 'trace') });
  }
  if (spec.eigenvalues) {
    starting('eigenvalues');
    report.eigenvalues = topEigenvalues(obj, params, { ...spec.eigenvalues, gen: generator(spec.seed, 'eigenvalues') });
  }
  if (spec.density) {
    starting('density');
    report.density = spectralDensity(obj, params, { ...spec.density, gen: generator(spec.seed, 'density') });
  }
  if (spec.gaussian) {
    starting('gaussian');
    report.gaussian = gaussianSharpness(obj, params, { ...spec.gaussian, gen: generator(spec.seed, 'gaussian') });
  }
  if (spec.worstCase) {
    starting('worstCase');
    report.worstCase = worstCaseSharpness(obj, params, { ...spec.worstCase, gen: generator(spec.seed, 'worstCase') });
  }
  if (spec.slice1d) {
    starting('slice1d');
    report.slice1d = lossSlice1d(obj, params, { ...spec.slice1d, gen: generator(spec.seed, 'slice1d') });
  }
  if (spec.slice2d) {
    starting('slice2d');
    report.slice2d = lossSlice2d(obj, params, { ...spec.slice2d, gen: generator(spec.seed, 'slice2d') });
  }
  if (asked.length > 0) spec.onProgress?.(done, asked.length, 'measured');
  return report;
}
