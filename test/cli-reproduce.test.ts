// reproduce checks every input it will read before the first unit of work: a wrong
// folder is a one-line error (exit 2) in about a second, and nothing is written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from './support/cli.js';
import { spawnProcess, within } from './support/spawn.js';

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

for (const [signal, status] of [
  ['SIGTERM', 143],
  ['SIGINT', 130],
] as const) {
  test(`${signal} stops reproduce between units: exit ${status}, the lock released, the finished units reused next time`, async () => {
    const out = join(scratch, `stopped-${signal}`);
    const run = spawnProcess(process.execPath, [cli, 'reproduce', '--tiny', '--out', out]);
    await within(run.stderrMatch(/done network\/minimum/), 60_000, 'the first unit');
    run.child.kill(signal);
    const stopped = await within(run.done, 60_000, 'reproduce to stop');
    assert.equal(stopped.code, status, stopped.stderr);
    assert.match(
      stopped.stderr,
      new RegExp(
        `flatdist: reproduce stopped by ${signal}; finished units are kept in .*work/ — continue with: flatdist reproduce --tiny --out `,
      ),
    );
    assert.ok(!existsSync(join(out, 'reproduce.lock')), 'the lock is released');
    assert.ok(!existsSync(join(out, 'report.html')), 'no report from a stopped run');
    const again = spawnSync(process.execPath, [cli, 'reproduce', '--tiny', '--out', out, '--json'], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    assert.equal(again.status, 0, again.stderr);
    const { computed, reused } = JSON.parse(again.stdout) as { computed: number; reused: number };
    assert.ok(reused >= 1, `the units finished before ${signal} are reused (${reused} reused, ${computed} computed)`);
  });
}
