// The distributed trainer: `flatdist launch --nproc N` gives the metrics of the
// in-process run with the same seed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertCommunicationFigures, maxRelativeDifference, metrics } from './support/metrics.js';
import { cli } from './support/cli.js';

const small = [
  '--dataset',
  'mnist',
  '--train-subset',
  '3000',
  '--eval-subset',
  '1000',
  '--model',
  'mlp',
  '--hidden',
  '32',
  '--agents',
  '4',
  '--batch-size',
  '16',
  '--step-size',
  '0.1',
  '--steps',
  '40',
  '--eval-every',
  '10',
  '--seed',
  '7',
];
const scratch = mkdtempSync(join(tmpdir(), 'flatdist-dist-train-'));
test.after(() => rmSync(scratch, { recursive: true, force: true }));

function run(args: string[]): void {
  const r = spawnSync(process.execPath, [cli, ...args, '--json'], {
    encoding: 'utf8',
    env: { ...process.env, FLATDIST_TOKEN: 'train-test-token' },
  });
  assert.equal(r.status, 0, r.stderr);
}

for (const [algorithm, nproc] of [
  ['atc', 4],
  ['centralized', 2],
] as const) {
  test(`${algorithm}: ${nproc} processes give the in-process metrics (relative difference ≤ 1e-5)`, () => {
    const local = join(scratch, `${algorithm}-local`);
    const spread = join(scratch, `${algorithm}-dist`);
    run(['train', ...small, '--algorithm', algorithm, '--out', local]);
    run(['launch', '--nproc', String(nproc), '--timeout', '30', ...small, '--algorithm', algorithm, '--out', spread]);
    const { worst, field } = maxRelativeDifference(metrics(local), metrics(spread));
    assert.ok(worst <= 1e-5, `${field} differs by ${worst}`);
    assertCommunicationFigures(metrics(spread));
  });
}
