// How far the small-μ closed form is from the exact steady state, apart from the tensor code
// so that the command line can say it without loading libtorch.
import type { EscapePrediction, Unavailable } from './predict.js';

export const isUnavailable = (x: object): x is Unavailable => 'unavailable' in x;

/**
 * (closed form − steady) / steady for the centroid and the agent average: the closed form's
 * relative error as an approximation of the exact n → ∞ value; null where either does not exist.
 */
export function closedFormRelativeDifference(p: EscapePrediction): { centroid: number; agentAverage: number } | null {
  if (isUnavailable(p.steady) || isUnavailable(p.closedForm)) return null;
  return {
    centroid: (p.closedForm.centroid.total - p.steady.centroid) / p.steady.centroid,
    agentAverage: (p.closedForm.agentAverage.total - p.steady.agentAverage) / p.steady.agentAverage,
  };
}
