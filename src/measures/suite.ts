// The measures asked for at one model w, run in a fixed order, as one JSON-ready record
// (what `flatdist measure --json` prints). Each stochastic measure draws from its own
// generator, seeded from deriveSeed(seed, 'measure/<name>'), so adding or dropping a measure leaves the
// others' numbers unchanged. Each value carries the estimator's uncertainty and, when the objective's
// terms are groups of examples, the data's apart (resampling.ts), with the examples a relative error
// targetRelativeError would need.
import { Generator, type Tensor } from '../tensor/index.js';
import { deriveSeed } from '../util/seed.js';
import type { OnProgress } from '../util/reporter.js';
import { spectralDensity, type DensityOptions, type SpectralDensity } from './density.js';
import { extremeEigenvalues, type EigenMethod, type EigenOptions, type Eigenvalues } from './eigenvalues.js';
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
import { estimateTrace, type HutchinsonOptions, type TraceEstimate } from './trace.js';

type WithoutGen<T> = Omit<T, 'gen' | 'targetRelativeError' | 'progress'>;

export interface MeasureSpec {
  seed: number;
  /** λ, the weight decay the objective includes (so the report can give its data loss; default 0). */
  weightDecay?: number;
  /** J(w*) of a reference minimum, for the excess risk. */
  reference?: number;
  /** The relative error to size each value's examples-needed (and, for the trace, probes-needed) hint for. */
  targetRelativeError?: number;
  /** Told as the long measures (trace, eigenvalues) advance: HVPs done, at most, and the measure's name. */
  progress?: OnProgress;
  trace?: WithoutGen<HutchinsonOptions>;
  /** Eigenvalues at the largest end (default), the smallest, or both. */
  eigenvalues?: Omit<WithoutGen<EigenOptions>, 'end'> & { method?: EigenMethod; end?: 'largest' | 'smallest' | 'both' };
  density?: WithoutGen<DensityOptions>;
  gaussian?: WithoutGen<GaussianSharpnessOptions>;
  worstCase?: WithoutGen<WorstCaseSharpnessOptions>;
  slice1d?: WithoutGen<SliceOptions>;
  slice2d?: WithoutGen<SliceOptions>;
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
  /** The largest eigenvalues. */
  eigenvalues?: Eigenvalues;
  /** The smallest (most negative) eigenvalues. */
  smallestEigenvalues?: Eigenvalues;
  density?: SpectralDensity;
  gaussian?: GaussianSharpness;
  worstCase?: WorstCaseSharpness;
  slice1d?: LossSlice1d;
  slice2d?: LossSlice2d;
}

type Stream =
  'trace' | 'eigenvalues' | 'smallestEigenvalues' | 'density' | 'gaussian' | 'worstCase' | 'slice1d' | 'slice2d';
const generator = (seed: number, measure: Stream): Generator => new Generator(deriveSeed(seed, `measure/${measure}`));

/** Run the measures named in spec at params (one model), and the consensus distance of agents if given. */
export function measure(obj: Objective, params: Tensor[], spec: MeasureSpec, agents?: Agents): MeasureReport {
  const report: MeasureReport = {
    dimension: params.reduce((n, p) => n + p.numel, 0),
    optimization: optimizationError(obj, params, { reference: spec.reference, weightDecay: spec.weightDecay }),
  };
  if (agents) report.consensusDistance = consensusDistance(agents.stacked, agents.p);
  const target = spec.targetRelativeError;
  if (spec.trace)
    report.trace = estimateTrace(obj, params, {
      ...spec.trace,
      gen: generator(spec.seed, 'trace'),
      targetRelativeError: target,
      progress: spec.progress && ((done, total) => spec.progress?.(done, total, 'trace')),
    });
  if (spec.eigenvalues) {
    const { end = 'largest', ...eigs } = spec.eigenvalues;
    for (const [side, stream] of [
      ['largest', 'eigenvalues'],
      ['smallest', 'smallestEigenvalues'],
    ] as const)
      if (end === side || end === 'both')
        report[stream] = extremeEigenvalues(obj, params, {
          ...eigs,
          end: side,
          gen: generator(spec.seed, stream),
          targetRelativeError: target,
          progress: spec.progress && ((done, total) => spec.progress?.(done, total, stream)),
        });
  }
  if (spec.density)
    report.density = spectralDensity(obj, params, { ...spec.density, gen: generator(spec.seed, 'density') });
  if (spec.gaussian)
    report.gaussian = gaussianSharpness(obj, params, {
      ...spec.gaussian,
      gen: generator(spec.seed, 'gaussian'),
      targetRelativeError: target,
    });
  if (spec.worstCase)
    report.worstCase = worstCaseSharpness(obj, params, {
      ...spec.worstCase,
      gen: generator(spec.seed, 'worstCase'),
      targetRelativeError: target,
    });
  if (spec.slice1d)
    report.slice1d = lossSlice1d(obj, params, { ...spec.slice1d, gen: generator(spec.seed, 'slice1d') });
  if (spec.slice2d)
    report.slice2d = lossSlice2d(obj, params, { ...spec.slice2d, gen: generator(spec.seed, 'slice2d') });
  return report;
}
