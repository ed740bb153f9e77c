// Measures at a model w: flatness (trace, top eigenvalues, spectral density, sharpness,
// loss slices) and optimization error, all over an Objective with exact Hessian-vector
// products; the objective a run minimizes (risk.ts) is one.
export {
  type Objective,
  type ObjectiveTerm,
  meanObjective,
  risk,
  gradient,
  riskAndGradient,
  hvp,
  hvps,
  hessianOperator,
  hessianAt,
  hessianGraphBudgetBytes,
  type HessianAt,
  hessian,
} from './objective.js';
export { type Cost, Meter } from './cost.js';
export { flat, unflat, dimension } from './vector.js';
export {
  type HutchinsonOptions,
  type TraceEstimate,
  type TraceEstimator,
  traceEstimators,
  estimateTrace,
  hutchinsonTrace,
  hutchPlusPlusTrace,
} from './trace.js';
export { type Tridiagonal, type RitzPairs, lanczos, krylov, ritz, ritzVectors } from './lanczos.js';
export {
  type EigenOptions,
  type Eigenvalues,
  type EigenMethod,
  type SpectrumEnd,
  eigenMethods,
  spectrumEnds,
  powerEigenvalues,
  lanczosEigenvalues,
  extremeEigenvalues,
  topEigenvalues,
} from './eigenvalues.js';
export { type DataUncertainty, dataTerms, jackknife, examplesFor, termRisks, shuffledRisk } from './resampling.js';
export { type DensityOptions, type SpectralDensity, spectralDensity } from './density.js';
export {
  type GaussianSharpnessOptions,
  type GaussianSharpness,
  gaussianSharpness,
  type WorstCaseSharpnessOptions,
  type WorstCaseSharpness,
  worstCaseSharpness,
} from './sharpness.js';
export {
  type DirectionOptions,
  type SliceOptions,
  type LossSlice1d,
  type LossSlice2d,
  filterNormalizedDirection,
  lossSlice1d,
  lossSlice2d,
} from './slices.js';
export { type OptimizationError, optimizationError } from './optimization.js';
export {
  type RiskDefinition,
  type ModelRisk,
  type Subset,
  type Scores,
  globalRisk,
  agentRisk,
  splitRisk,
  riskObjective,
  stackedScores,
  evaluationBudgetBytes,
  decayTerms,
  centroids,
  centroid,
  consensusDistance,
} from './risk.js';
export { type MeasureSpec, type MeasureReport, type Agents, measure } from './suite.js';
