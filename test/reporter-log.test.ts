// Progress in a log (stderr not a terminal): plain `label: n/N (t s)` lines — the first with
// work done, then one every ten seconds, and the last — and no line for a step that has only
// begun, so a run of short units (reproduce's) prints one line per unit, not two.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { reporter } from '../src/util/reporter.js';

/** A log file's stream (not a terminal) and the lines written to it. */
function log(): { stream: NodeJS.WriteStream; lines: () => string[] } {
  let written = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      written += chunk.toString();
      done();
    },
  }) as unknown as NodeJS.WriteStream;
  return { stream, lines: () => written.split('\n').filter((l) => l !== '') };
}

test('in a log, a step that has only begun prints nothing; its first progress and its end print a line each', () => {
  const { stream, lines } = log();
  const r = reporter({ stream, after: 0 });
  for (const unit of ['tradeoff/atc-ring-b64-s0', 'tradeoff/atc-ring-b64-s1']) {
    r.update(0, 1, unit);
    r.end();
    r.log(`  done ${unit} (0.8 s)`);
  }
  for (const n of [0, 1, 2, 3, 4]) r.update(n, 4, 'steps');
  r.end();
  assert.deepEqual(
    lines().map((l) => l.replace(/^(steps: \d+\/4) \(.+ s\)$/, '$1')),
    ['  done tradeoff/atc-ring-b64-s0 (0.8 s)', '  done tradeoff/atc-ring-b64-s1 (0.8 s)', 'steps: 1/4', 'steps: 4/4'],
  );
});

test('a command that ends within its first two seconds writes no progress to a log', () => {
  const { stream, lines } = log();
  const r = reporter({ stream });
  for (let n = 1; n <= 100; n++) r.update(n, 100, 'steps');
  r.end();
  assert.deepEqual(lines(), []);
});
