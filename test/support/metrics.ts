// Comparing two runs' metrics.jsonl field by field (for runs that should agree).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export type Line = Record<string, unknown>;

export const metrics = (out: string): Line[] =>
  readFileSync(join(out, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Line);

function leaves(o: unknown, prefix = '', out: Record<string, number> = {}): Record<string, number> {
  for (const [k, v] of Object.entries(o as Record<string, unknown>)) {
    if (typeof v === 'object' && v !== null) leaves(v, `${prefix}${k}.`, out);
    else out[prefix + k] = v as number;
  }
  return out;
}

/**
 * The largest relative difference over the fields of a's lines (a distributed run's
 * lines add communication figures, so pass the in-process run as a); values below
 * 1e-9 count as 1e-9, since a centralized run's consensus distance is float32
 * rounding noise (~1e-14).
 */
export function maxRelativeDifference(a: Line[], b: Line[]): { worst: number; field: string } {
  assert.equal(a.length, b.length);
  let worst = 0;
  let field = '';
  a.forEach((line, i) => {
    const [x, y] = [leaves(line), leaves(b[i])];
    for (const k of Object.keys(x)) {
      const d = Math.abs(x[k] - y[k]) / Math.max(Math.abs(x[k]), 1e-9);
      if (d > worst) [worst, field] = [d, `step ${String(line.step)} ${k}`];
    }
  });
  return { worst, field };
}

/** Every line of a distributed run carries its communication figures: bytes sent, and a fraction of wall time in (0, 1]. */
export function assertCommunicationFigures(lines: Line[]): void {
  for (const line of lines) {
    const comm = (line as { communication?: { bytesPerAgentPerStep: number; fraction: number } }).communication;
    assert.ok(comm && comm.bytesPerAgentPerStep > 0 && comm.fraction > 0 && comm.fraction <= 1, JSON.stringify(comm));
  }
}
