// Minimum and escape: find w* (minimize), measure escape from it with the real engine over
// seeds (runEscape), and predict it with the linearized theory estimated at w*.
export {
  type MinimizeMethod,
  minimizeMethods,
  type MinimizeOptions,
  type MinimizeStep,
  type MinimizeResult,
  minimize,
  asDtype,
} from './descent.js';
export type { EscapeProblem } from './problem.js';
export {
  type EscapeOptions,
  type Sampling,
  samplings,
  type EscapePoint,
  type EscapeCurve,
  type ObjectiveAt,
  type EscapeResult,
  recordedSteps,
  singleModel,
  runEscape,
} from './run.js';
export { type EstimateOptions, type LinearizedEstimate, topSubspace, estimateLinearized } from './estimate.js';
export { type PredictedCurve, predictEscapeCurves, escapeSummary, escapeTable, lateSteps } from './predicted-curves.js';
export {
  type MinimumRecord,
  type Minimum,
  minimumFile,
  saveMinimum,
  loadMinimum,
  checkMinimum,
} from './saved-minimum.js';
