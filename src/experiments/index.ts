// Suites that test the paper's claims on real data, and the reproduction that runs them.
export { reproduce, type ReproduceOptions, type Reproduction } from './reproduction.js';
export { scales, scaleSettings, type Scale, type ScaleSettings } from './scale.js';
export type { Results, SuiteResult, SuiteId, Verdict, Status, Table, Figure, VegaLiteSpec } from '../report/results.js';
export { WorkStore } from './work.js';
export { escapeSuite, type EscapeSuiteSettings } from './escape-suite.js';
export { excessSuite, type ExcessSuiteSettings } from './excess-suite.js';
export { tradeoffSuite, type TradeoffSettings, type TradeoffRun } from './tradeoff-suite.js';
export { toySuite, type ToySuiteSettings } from './toy-suite.js';
export {
  prepareNetwork,
  predict,
  networkMatrix,
  escapeProblem,
  escapeCurves,
  type EscapeCurves,
  type Network,
  type NetworkSettings,
  type Prediction,
} from './network.js';
export { findMinimum, type Minimum, type MinimumSettings } from './minimum.js';
export { imageData, type ImageData } from './data.js';
export {
  defaultLandscape,
  toyRisk,
  toyRun,
  toyStarts,
  toyGrid,
  inFlatBasin,
  type ToyLandscape,
  type ToyRun,
  type ToyRunSettings,
} from './toy.js';
