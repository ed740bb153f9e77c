// Monte Carlo summaries shared by the stochastic measures.

/** Mean and standard error of the mean (0 for fewer than two samples). */
export function meanAndStdError(xs: number[]): { mean: number; stdError: number } {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { mean, stdError: 0 };
  const variance = xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1);
  return { mean, stdError: Math.sqrt(variance / n) };
}
