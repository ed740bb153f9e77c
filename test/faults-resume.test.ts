// A resume continues the recorded run (issue 11, case 5): flags that would change it are refused,
// naming each with its recorded value, and change nothing; flags that only extend it are recorded
// in run.json's history. A run stopped by SIGINT says how to resume it (issue 16, case 6), and a
// resumed run's summary counts the whole run: its steps and its time, earlier parts included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resumableFields, runFields } from '../src/train/config.js';
import { infoOf } from '../src/train/fields.js';
import { assertUserError, flatdist, scratch, snapshot, start } from './faults-support.js';

const dir = scratch('faults-resume', test.after);

const moons = [
  'train',
  '--dataset',
  'two-moons',
  '--model',
  'mlp',
  '--hidden',
  '16',
  '--agents',
  '4',
  '--batch-size',
  '16',
  '--step-size',
  '0.1',
  '--eval-every',
  '10',
  '--checkpoint-every',
  '10',
];

interface RunJson {
  config: { steps: number; evalEvery: number; stepSize: number; hidden: number[] };
  resumes?: { at: string; step: number; changed: Record<string, { from: unknown; to: unknown }> }[];
  elapsed?: { step: number; seconds: number | null }[];
  initialLoss?: number;
}
const runJson = (out: string): RunJson => JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as RunJson;

interface Summary {
  steps: number;
  resumedFrom: number | null;
  seconds: number;
  earlierSeconds: number | null;
}

test('the schema marks which fields a resume may change: the run’s length, cadence, output and locations, nothing that shapes the trajectory', () => {
  assert.deepEqual([...resumableFields].sort(), [
    'checkpointEvery',
    'dataDir',
    'divergenceFactor',
    'epochs',
    'evalEvery',
    'keepCheckpoints',
    'out',
    'steps',
  ]);
  for (const f of ['stepSize', 'hidden', 'model', 'dataset', 'algorithm', 'topology', 'seed', 'batchSize', 'schedule'])
    assert.notEqual(infoOf(runFields[f as keyof typeof runFields]).resumable, true, f);
});

test('case 5: --resume with --step-size or --hidden (flag or config key) is refused naming each and its recorded value; nothing changes', async () => {
  const out = join(dir, 'recorded');
  const first = await flatdist([...moons, '--steps', '20', '--out', out]);
  assert.equal(first.status, 0, first.stderr);
  const before = snapshot(out);

  const flags = await flatdist(['train', '--resume', out, '--step-size', '0.9', '--hidden', '64', '--steps', '50']);
  assertUserError(
    flags,
    /--resume .* continues the recorded run, which --hidden 64 \(recorded: 16\), --step-size 0\.9 \(recorded: 0\.1\) would change — only --data-dir, --steps, .* may/,
    'flags',
  );
  const config = join(dir, 'change.yaml');
  writeFileSync(config, 'seed: 5\nalgorithm: consensus\n');
  const file = await flatdist(['train', '--resume', out, '--config', config]);
  assertUserError(
    file,
    /which .*change\.yaml: algorithm consensus \(recorded: atc\), .*change\.yaml: seed 5 \(recorded: 1\) would change/,
    'config file',
  );
  const launched = await flatdist(['launch', '--nproc', '2', '--resume', out, '--batch-size', '8']);
  assertUserError(launched, /--batch-size 8 \(recorded: 16\) would change/, 'launch');
  assert.deepEqual(snapshot(out), before, 'the refused resumes changed nothing in the run folder');
});

test('case 5: --resume with --steps and --eval-every extends the run; run.json records each resume, the fields changed from what to what, and the time', async () => {
  const out = join(dir, 'extended');
  const first = await flatdist([...moons, '--steps', '20', '--out', out]);
  assert.equal(first.status, 0, first.stderr);
  const longer = await flatdist(['train', '--resume', out, '--steps', '40', '--eval-every', '20', '--json']);
  assert.equal(longer.status, 0, longer.stderr);
  const again = await flatdist(['train', '--resume', out, '--steps', '50', '--json']);
  assert.equal(again.status, 0, again.stderr);

  const record = runJson(out);
  assert.equal(record.config.steps, 50, "run.json's config is the run's as resumed");
  assert.equal(record.config.evalEvery, 20);
  assert.deepEqual(
    record.resumes?.map((r) => ({ step: r.step, changed: r.changed })),
    [
      { step: 20, changed: { steps: { from: 20, to: 40 }, evalEvery: { from: 10, to: 20 } } },
      { step: 40, changed: { steps: { from: 40, to: 50 } } },
    ],
  );
  for (const r of record.resumes ?? []) assert.ok(!Number.isNaN(Date.parse(r.at)), r.at);
  const steps = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { step: number }).step);
  assert.deepEqual(steps, [10, 20, 40, 50], 'every 10 steps up to 20, then every 20, and the last step');

  // The summary speaks of the run: all 50 steps, and its time in all, the earlier parts included.
  const s = JSON.parse(again.stdout) as Summary;
  const before = JSON.parse(longer.stdout) as Summary;
  assert.equal(s.steps, 50);
  assert.equal(s.resumedFrom, 40);
  assert.equal(s.earlierSeconds, record.elapsed?.find((e) => e.step === 40)?.seconds);
  assert.ok(
    before.earlierSeconds !== null && before.earlierSeconds > 0 && before.seconds > before.earlierSeconds,
    'the first part is counted',
  );
  assert.ok(s.earlierSeconds !== null && s.earlierSeconds > before.earlierSeconds, 'both earlier parts are counted');
  assert.ok(s.earlierSeconds <= before.seconds, 'up to the checkpoint the run resumed from');
  assert.ok(s.seconds > s.earlierSeconds, `${s.seconds} s in all`);
});

test('case 5 (text): the resumed run’s summary gives the run’s steps and time, and this invocation’s share', async () => {
  const out = join(dir, 'summary');
  assert.equal((await flatdist([...moons, '--steps', '20', '--out', out])).status, 0);
  const r = await flatdist(['train', '--resume', out, '--steps', '30']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^atc: 30 steps, K = 4, [\d.]+ s \(resumed at step 20: 10 steps in [\d.]+ s now\)$/m);
  assert.match(r.stdout, /consensus distance/);
});

test('SIGINT: exit 130 with one line naming the step, the last checkpoint and the exact command that resumes; that command continues the run', async () => {
  const out = join(dir, 'interrupted run');
  const run = start([...moons, '--steps', '1000000', '--eval-every', '200', '--checkpoint-every', '200', '--out', out]);
  let sent = false;
  run.child.stderr?.on('data', (d: Buffer) => {
    if (!sent && /step 400:/.test(d.toString())) {
      sent = true;
      run.child.kill('SIGINT');
    }
  });
  const r = await run.done;
  assert.equal(r.status, 130, r.stderr);
  const line = r.stderr.trim().split('\n').at(-1) ?? '';
  const m =
    /^flatdist: interrupted at step (\d+) \(last checkpoint at step (\d+)(, steps \d+–\d+ are redone)?\) — continue with: flatdist train --resume '(.*)'$/.exec(
      line,
    );
  assert.ok(m, line);
  const [step, checkpoint] = [Number(m[1]), Number(m[2])];
  assert.ok(checkpoint >= 400 && checkpoint <= step, `checkpoint ${checkpoint}, step ${step}`);
  assert.equal(m[4], out, 'the folder, quoted for the shell (it holds a space)');
  assert.doesNotMatch(JSON.stringify(snapshot(out)), /run\.lock/, 'the lock is released');

  const resumed = await flatdist(['train', '--resume', m[4], '--steps', String(checkpoint + 20), '--json']);
  assert.equal(resumed.status, 0, resumed.stderr);
  const s = JSON.parse(resumed.stdout) as Summary;
  assert.equal(s.resumedFrom, checkpoint);
  assert.equal(s.steps, checkpoint + 20);
});

test('SIGINT to launch: the line names the last checkpoint and the launch command that resumes; that command continues the run over both processes', async () => {
  const out = join(dir, 'launched');
  const run = start([
    'launch',
    '--nproc',
    '2',
    '--port',
    '0',
    ...moons.slice(1),
    '--steps',
    '100000000',
    '--eval-every',
    '100000000',
    '--checkpoint-every',
    '20',
    '--out',
    out,
  ]);
  // A checkpoint gathers every agent's parameters: once one is written, both processes are training.
  const deadline = Date.now() + 60_000;
  while (!existsSync(join(out, 'checkpoints', 'latest.json'))) {
    assert.ok(run.child.exitCode === null && Date.now() < deadline, 'the launch checkpointed before it ended');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  run.child.kill('SIGINT');
  const r = await run.done;
  assert.equal(r.status, 130, r.stderr);
  const m =
    /^flatdist: launch interrupted \(last checkpoint at step (\d+)\) — continue with: (flatdist launch --nproc 2 --resume (.*))$/m.exec(
      r.stderr,
    );
  assert.ok(m, r.stderr);
  assert.equal(m[3], out);
  const last = Number(m[1]);
  const resumed = await flatdist(['launch', '--nproc', '2', '--resume', out, '--steps', String(last + 20), '--json']);
  assert.equal(resumed.status, 0, resumed.stderr);
  const s = JSON.parse(resumed.stdout) as Summary & { processes: number };
  assert.deepEqual([s.steps, s.resumedFrom, s.processes], [last + 20, last, 2]);
  assert.ok(s.earlierSeconds !== null && s.seconds > s.earlierSeconds, 'the summary counts the whole run');
});
