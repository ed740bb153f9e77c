// What a run and an escape record must not overstate (issue 11, cases 16 and the run record):
// one seed gives no interval, said in the table and in JSON (null bounds with the reason); run.json
// records the model, and a TorchScript module by its absolute path and SHA-256, so measure and
// --resume work from any folder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatInterval, meanInterval, percentileInterval, sign } from '../src/stats/index.js';
import { packageRoot } from '../src/util/package.js';
import { cli, flatdist, scratch } from './faults-support.js';

const dir = scratch('faults-record', test.after);

test('one value gives no interval: NaN bounds (null in JSON), the reason, inconclusive, printed as the value alone', () => {
  const one = meanInterval([0.25]);
  assert.equal(one.estimate, 0.25);
  assert.ok(Number.isNaN(one.lo) && Number.isNaN(one.hi) && Number.isNaN(one.stdError));
  assert.match(one.none ?? '', /n = 1: one value has no spread/);
  assert.deepEqual(JSON.parse(JSON.stringify(one)), {
    estimate: 0.25,
    stdError: null,
    lo: null,
    hi: null,
    none: one.none,
  });
  assert.equal(sign(one), 0, 'neither above nor below zero: inconclusive');
  assert.equal(formatInterval(one), '2.50e-1 (no interval: n = 1)');
  const two = meanInterval([0.25, 0.35]);
  assert.ok(two.lo < 0.25 && two.hi > 0.35 && two.none === undefined, 'two values give one');
  assert.ok(Number.isNaN(percentileInterval(1, [Number.NaN, Infinity]).lo), 'no finite replicate, no interval');
});

test('case 16: escape --seeds 1 prints each value without an interval and says why; escape.jsonl holds null bounds with the reason', async () => {
  const minimum = join(dir, 'minimum');
  const m = await flatdist([
    'minimize',
    '--dataset',
    'gaussian-mixture',
    '--train-subset',
    '500',
    '--model',
    'logistic',
    '--agents',
    '4',
    '--weight-decay',
    '0.01',
    '--out',
    minimum,
    '--json',
  ]);
  assert.equal(m.status, 0, m.stderr);
  const out = join(dir, 'escape');
  const r = await flatdist([
    'escape',
    '--minimum',
    minimum,
    '--seeds',
    '1',
    '--steps',
    '10',
    '--table',
    'full',
    '--out',
    out,
  ]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^atc +10 +[\d.e+-]+ \(no interval: n = 1\) +[\d.e+-]+ \(no interval: n = 1\)$/m);
  assert.match(r.stdout, /^R = 1 seed: n = 1: one value has no spread, so no interval — give --seeds 2 or more/m);
  assert.doesNotMatch(r.stdout, /\[[^\]]*, [^\]]*\]/, 'no interval is printed');
  const lines = readFileSync(join(out, 'escape.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { centroid: { lo: null; hi: null; none: string } });
  for (const l of lines)
    assert.deepEqual([l.centroid.lo, l.centroid.hi, /n = 1/.test(l.centroid.none)], [null, null, true]);
});

const python = '/usr/bin/python3';
const torchMissing: string | false =
  spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0
    ? false
    : 'needs PyTorch (python3-torch)';

test(
  'run.json records the model; a TorchScript module by absolute path and SHA-256, so measure and --resume work from another folder',
  { skip: torchMissing },
  async () => {
    const plain = join(dir, 'mlp');
    const r = await flatdist([
      'train',
      '--dataset',
      'two-moons',
      '--hidden',
      '8',
      '--agents',
      '2',
      '--steps',
      '2',
      '--out',
      plain,
    ]);
    assert.equal(r.status, 0, r.stderr);
    const mlp = JSON.parse(readFileSync(join(plain, 'run.json'), 'utf8')) as { model: unknown };
    assert.deepEqual(mlp.model, { name: 'mlp 2-8-2 relu', parameters: 2 * 8 + 8 + 8 * 2 + 2 });

    const models = join(dir, 'models');
    const exported = spawnSync(
      python,
      [join(packageRoot(), 'examples', 'export_models.py'), 'export', '--out', models],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(exported.status, 0, exported.stderr);
    // Trained from `dir` with a relative path; measured and resumed from elsewhere.
    const train = spawnSync(
      process.execPath,
      [
        cli,
        'train',
        '--dataset',
        'mnist',
        '--train-subset',
        '256',
        '--eval-subset',
        '256',
        '--model',
        'torchscript:models/cnn.pt',
        '--agents',
        '2',
        '--batch-size',
        '8',
        '--steps',
        '2',
        '--out',
        'cnn',
      ],
      { cwd: dir, encoding: 'utf8' },
    );
    assert.equal(train.status, 0, train.stderr);
    const run = join(dir, 'cnn');
    const record = JSON.parse(readFileSync(join(run, 'run.json'), 'utf8')) as {
      config: { model: string };
      model: { name: string; parameters: number; source: { path: string; sha256: string } };
    };
    const module = join(models, 'cnn.pt');
    assert.equal(record.config.model, `torchscript:${module}`, 'the config holds the absolute path');
    assert.deepEqual(record.model.source, {
      path: module,
      sha256: createHash('sha256').update(readFileSync(module)).digest('hex'),
    });
    assert.ok(record.model.parameters > 0);

    const elsewhere = join(dir, 'elsewhere');
    mkdirSync(elsewhere);
    const measure = spawnSync(process.execPath, [cli, 'measure', run, '--measures', 'trace', '--max-probes', '2'], {
      cwd: elsewhere,
      encoding: 'utf8',
    });
    assert.equal(measure.status, 0, measure.stderr);
    assert.match(measure.stdout, /runs in eval mode .*the curvature is that of its eval-mode function/);
    const resumed = spawnSync(process.execPath, [cli, 'train', '--resume', run, '--steps', '3'], {
      cwd: elsewhere,
      encoding: 'utf8',
    });
    assert.equal(resumed.status, 0, resumed.stderr);
  },
);
