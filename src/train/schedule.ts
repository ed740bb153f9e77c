// Step-size schedules μ_n, n = 0, 1, …, N−1: plain functions of the step, and their spellings.
import { ConfigError } from '../errors.js';

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
      return n < schedule.steps
        ? (mu * (n + 1)) / schedule.steps
        : stepSizeAt(schedule.then, mu, n - schedule.steps, total - schedule.steps);
  }
}

/** How a schedule is spelled on the command line; YAML and run.json also take the object form. */
export const scheduleSpellings = 'constant | step:EVERY:FACTOR | cosine[:FINAL] | warmup:STEPS[:SCHEDULE]';

const bad = (what: string): ConfigError => new ConfigError('schedule', `${what} — expected ${scheduleSpellings}`);

function whole(name: string, v: unknown): number {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1)
    throw bad(`${name} must be a whole number ≥ 1, got ${JSON.stringify(v)}`);
  return n;
}

function nonNegative(name: string, v: unknown): number {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0)
    throw bad(`${name} must be a number ≥ 0, got ${JSON.stringify(v)}`);
  return n;
}

/**
 * A schedule from its command-line spelling ("step:100:0.5", "warmup:50:cosine") or its
 * object form ({ kind: 'step', every: 100, factor: 0.5 }, as run.json holds it).
 * Defaults: factor 0.1, final 0, a warm-up followed by constant.
 * @throws ConfigError('schedule') naming the part that is wrong.
 */
export function parseSchedule(v: unknown): Schedule {
  if (typeof v === 'string') {
    const [kind, a, ...rest] = v.split(':');
    switch (kind) {
      case 'constant':
        if (a === undefined) return { kind };
        break;
      case 'step':
        if (rest.length <= 1)
          return { kind, every: whole('every', a ?? ''), factor: nonNegative('factor', rest[0] ?? '0.1') };
        break;
      case 'cosine':
        if (rest.length === 0) return { kind, final: nonNegative('final', a ?? '0') };
        break;
      case 'warmup':
        return warmup(whole('steps', a ?? ''), rest.join(':') || 'constant');
    }
  } else if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    switch (o.kind) {
      case 'constant':
        return { kind: 'constant' };
      case 'step':
        return { kind: 'step', every: whole('every', o.every), factor: nonNegative('factor', o.factor ?? 0.1) };
      case 'cosine':
        return { kind: 'cosine', final: nonNegative('final', o.final ?? 0) };
      case 'warmup':
        return warmup(whole('steps', o.steps), o.then ?? 'constant');
    }
  }
  throw bad(`cannot read ${JSON.stringify(v)}`);
}

function warmup(steps: number, then: unknown): Schedule {
  const after = parseSchedule(then);
  if (after.kind === 'warmup') throw bad('a warm-up cannot follow a warm-up');
  return { kind: 'warmup', steps, then: after };
}
