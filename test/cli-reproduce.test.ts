// reproduce checks every input it will read before the first unit of work: a wrong
// folder is a one-line error (exit 2) in about a second, and nothing is written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from './support/cli.js';

const scratch = mkdtempSync(join(tmpdir(), 'flatdist-reproduce-'));
test.after(() => rmSync(scratch, { recursive: true, force: true }));

for (const [name, flags, message] of [
  [
    'a missing CIFAR-10 folder at the full scale',
    ['--full', '--data-dir', join(scratch, 'nonexistent')],
    /data_batch_1\.bin: missing/,
  ],
  [
    '--data-dir at a scale that does not read it',
    ['--quick', '--data-dir', scratch],
    /--data-dir adds CIFAR-10 to the full trade-off suite only/,
  ],
  // No CUDA here, and no 100th GPU where there is: the same error train and measure give.
  [
    'a device libtorch does not see',
    ['--scale', 'cnn', '--device', 'cuda:99'],
    /^flatdist: --device: .* — use --device cpu$/,
  ],
  [
    'an unknown device',
    ['--scale', 'cnn', '--device', 'gpu'],
    /^flatdist: --device: unknown device 'gpu' — cpu, cuda or cuda:N$/,
  ],
] as const) {
  test(`reproduce refuses ${name} before it starts, writing nothing`, () => {
    const out = join(scratch, name.replace(/\W+/g, '-'));
    const r = spawnSync(process.execPath, [cli, 'reproduce', ...flags, '--out', out], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(r.status, 2, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.match(lines[lines.length - 1], message);
    assert.ok(!existsSync(out), 'no output folder');
  });
}
