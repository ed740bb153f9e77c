// Step-size schedules μ_n, n = 0, 1, …, N−1: plain functions of the step.
export type Schedule =
  | { kind: 'constant' }
  | { kind: 'step'; every: number; factor: number }
  | { kind: 'cosine'; final: number }
  | { kind: 'warmup'; steps: number; then: Exclude<Schedule, { kind: 'warmup' }> };

export function stepSizeAt(schedule: Schedule, mu: number, n: number, total: number): number {
  switch (schedule.kind) {
    case 'constant':
      return mu;
    case 'step':
      return mu * schedule.factor ** Math.floor(n / schedule.every);
    case 'cosine':
      return schedule.final + 0.5 * (mu - schedule.final) * (1 + Math.cos((Math.PI * n) / Math.max(1, total)));
    case 'warmup':
      return n < schedule.steps ? (mu * (n + 1)) / schedule.steps : stepSizeAt(schedule.then, mu, n - schedule.steps, total - schedule.steps);
  }
}
