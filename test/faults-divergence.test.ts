// Divergence is caught however it shows (issue 11, case 6): a loss that is not finite, a consensus
// distance that is not, or a training loss past divergenceFactor × the initial loss. The run stops
// with one line (exit 2) naming the step and what happened, and speaks of a last checkpoint only
// when there is one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCheckpoint } from '../src/train/checkpoint.js';
import { defaults } from '../src/train/config.js';
import { divergence } from '../src/train/trainer.js';
import { assertUserError, flatdist, scratch } from './faults-support.js';

const dir = scratch('faults-divergence', test.after);

test('divergence(): the first value that is not finite, else a bounded one past F × the initial loss, else none', () => {
  const c = { divergenceFactor: 1000 };
  const loss = (value: number) => ({ what: 'the loss', value, bounded: true });
  const distance = (value: number) => ({ what: 'the consensus distance', value, bounded: false });
  assert.equal(divergence([loss(2), distance(Infinity)], 2.3, c), 'the consensus distance is Infinity');
  assert.equal(divergence([loss(Number.NaN)], 2.3, c), 'the loss is NaN');
  assert.equal(divergence([loss(2299), distance(1e30)], 2.3, c), null, 'finite, and within the bound');
  assert.match(divergence([loss(2301)], 2.3, c) ?? '', /^the loss 2\.30e\+3 exceeds 1000 × the initial loss 2\.30/);
  assert.equal(divergence([loss(1e9)], null, c), null, 'no bound before the initial loss is known');
  assert.equal(defaults.divergenceFactor, 1000);
});

const moons = ['train', '--dataset', 'two-moons', '--model', 'logistic', '--agents', '4', '--eval-every', '10'];

test('case 6: two-moons logistic at μ = 1e30 and 1e38 stop at step 2, exit 2, one line, and say no checkpoint was written', async () => {
  for (const mu of ['1e30', '1e38']) {
    const out = join(dir, `moons-${mu}`);
    const r = await flatdist([...moons, '--step-size', mu, '--out', out]);
    assertUserError(
      r,
      /^flatdist: training diverged at step 2: the batch loss (is Infinity|[\d.e+]+ exceeds 1000 × the initial loss [\d.]+ \(--divergence-factor\)) — lower --step-size \(μ = 1e\+3[08]\); no checkpoint was written$/,
      mu,
    );
    assert.ok(!existsSync(join(out, 'checkpoints', 'latest.json')), 'there is indeed none');
  }
});

test('case 6: MNIST MLP at μ = 50 stops within a few steps naming the last checkpoint, which is there', async () => {
  const out = join(dir, 'mnist-50');
  const r = await flatdist([
    'train',
    '--dataset',
    'mnist',
    '--train-subset',
    '2000',
    '--eval-subset',
    '500',
    '--hidden',
    '32',
    '--agents',
    '4',
    '--step-size',
    '50',
    '--checkpoint-every',
    '1',
    '--out',
    out,
  ]);
  const m = /training diverged at step (\d+): .* the last checkpoint, at step (\d+), is in (.*)$/.exec(r.stderr.trim());
  assertUserError(r, /training diverged at step \d+: the batch loss .* exceeds 1000 × the initial loss/);
  assert.ok(m, r.stderr);
  assert.ok(Number(m[1]) <= 10, `stopped at step ${m[1]}`);
  assert.equal(Number(m[2]), Number(m[1]) - 1, 'the checkpoint before the step that diverged');
  assert.equal(loadCheckpoint(out).step, Number(m[2]));
  const initial = (JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { initialLoss: number }).initialLoss;
  assert.ok(Math.abs(initial - Math.log(10)) < 0.2, `the initial loss ${initial} is about ln 10`);
});

test('case 6: --divergence-factor may change on resume (it only decides when to stop); it must exceed 1', async () => {
  const out = join(dir, 'factor');
  const args = [...moons, '--step-size', '0.5', '--steps', '20', '--checkpoint-every', '10', '--out', out];
  assert.equal((await flatdist(args)).status, 0);
  const r = await flatdist(['train', '--resume', out, '--steps', '30', '--divergence-factor', '1e6']);
  assert.equal(r.status, 0, r.stderr);
  const bad = await flatdist([...moons, '--divergence-factor', '1', '--out', join(dir, 'bad')]);
  assertUserError(bad, /--divergence-factor: must be a number > 1, got 1/);
});
