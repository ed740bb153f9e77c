// kill -9 at any moment loses nothing that was written and duplicates nothing: every file in
// the run folder is complete (a checkpoint is the uninterrupted run's, byte for byte), and a
// resumed run ends with the uninterrupted run's metrics.jsonl and checkpoints, byte for byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { flatdist, scratch, snapshot, start, type Running } from './faults-support.js';

const dir = scratch('faults-kill', test.after);

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `ready` holds (polling every 2 ms) or the process ends; true when it holds. */
async function until(run: Running, ready: () => boolean): Promise<boolean> {
  let ended = false;
  void run.done.then(() => (ended = true));
  while (!ended) {
    if (ready()) return true;
    await sleep(2);
  }
  return false;
}

const lockedBy = (out: string, pid: number | undefined): boolean => {
  try {
    return (JSON.parse(readFileSync(join(out, 'run.lock'), 'utf8')) as { pid: number }).pid === pid;
  } catch {
    return false;
  }
};

test('case 4: killed after the first evaluation, before the first checkpoint; the resumed run writes the step-30 line once', async () => {
  const args = [
    'train',
    '--dataset',
    'mnist',
    '--train-subset',
    '2000',
    '--hidden',
    '64',
    '--agents',
    '4',
    '--batch-size',
    '50',
    '--eval-every',
    '30',
    '--checkpoint-every',
    '70',
    '--steps',
    '80',
    '--json',
  ];
  const [killed, whole] = [join(dir, 'case4'), join(dir, 'case4-whole')];
  const uninterrupted = flatdist([...args, '--out', whole]);
  // The window between the two is about a second; a machine too busy to kill within it gets another try.
  for (let attempt = 1; ; attempt++) {
    const run = start([...args, '--out', killed, ...(attempt > 1 ? ['--overwrite'] : [])]);
    assert.ok(
      await until(
        run,
        () =>
          existsSync(join(killed, 'metrics.jsonl')) &&
          readFileSync(join(killed, 'metrics.jsonl'), 'utf8').endsWith('\n'),
      ),
      'the first evaluation was written',
    );
    run.child.kill('SIGKILL');
    assert.equal((await run.done).signal, 'SIGKILL');
    if (!existsSync(join(killed, 'checkpoints', 'latest.json'))) break;
    assert.ok(attempt < 3, 'killed before the first checkpoint');
  }
  assert.match(readFileSync(join(killed, 'metrics.jsonl'), 'utf8'), /^\{"step":30,/);

  const resumed = await flatdist(['train', '--resume', killed, '--json']);
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.match(
    resumed.stderr,
    /note: .* no longer running — taken over/,
    'the stale lock of the killed run is taken over',
  );
  assert.equal((await uninterrupted).status, 0);
  const lines = readFileSync(join(killed, 'metrics.jsonl'), 'utf8');
  assert.deepEqual(
    lines
      .split('\n')
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as { step: number }).step),
    [30, 60, 80],
  );
  assert.equal(lines, readFileSync(join(whole, 'metrics.jsonl'), 'utf8'));
});

/** A deterministic stream of uniform numbers in [0, 1) (mulberry32), so a failing campaign can be replayed. */
function uniform(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('kill -9 at 20 random moments, each resumed: every file stays complete, and the run ends byte for byte as an uninterrupted one', async (t) => {
  const args = [
    'train',
    '--dataset',
    'two-moons',
    '--model',
    'mlp',
    '--hidden',
    '32',
    '--agents',
    '4',
    '--batch-size',
    '16',
    '--momentum',
    '0.5',
    '--algorithm',
    'consensus',
    '--steps',
    '300',
    '--eval-every',
    '10',
    '--checkpoint-every',
    '5',
    '--seed',
    '9',
    '--json',
  ];
  // The uninterrupted run is written where the campaign runs, then moved aside: run.json and
  // the checkpoints' metadata record the folder, so both must have the same one.
  const out = join(dir, 'run');
  const ref = join(dir, 'reference');
  const w = await flatdist([...args, '--out', out]);
  assert.equal(w.status, 0, w.stderr);
  const seconds = (JSON.parse(w.stdout) as { seconds: number }).seconds;
  renameSync(out, ref);
  const refLines = readFileSync(join(ref, 'metrics.jsonl'), 'utf8').split('\n').slice(0, -1);
  const refCheckpoints = snapshot(join(ref, 'checkpoints'));

  const seed = Number(process.env.FAULTS_SEED ?? Date.now() % 2 ** 31);
  t.diagnostic(`kill moments from seed ${seed} (replay with FAULTS_SEED=${seed})`);
  const next = uniform(seed);
  const moments: number[] = [];
  let takeovers = 0;
  while (moments.length < 20) {
    const fresh = !existsSync(join(out, 'run.json'));
    const run = start(fresh ? [...args, '--out', out] : ['train', '--resume', out, '--json']);
    // Kill a random time after the process owns the folder: in training, evaluation, a checkpoint write or the resume's clean-up.
    const owned = await until(run, () => lockedBy(out, run.child.pid));
    // Up to 1/25 of the run each: twenty kills reach about 40% of it, and each resume repeats a few steps.
    const delay = next() * seconds * 40;
    if (owned) await sleep(delay);
    run.child.kill('SIGKILL');
    const r = await run.done;
    if (/taken over/.test(r.stderr)) takeovers++;
    assert.notEqual(r.status, 2, r.stderr);
    if (r.signal !== 'SIGKILL') break; // it finished first: the campaign ends early, and the check below tells
    moments.push(Math.round(delay));

    // Every checkpoint file is complete: the uninterrupted run's, byte for byte; latest.json names one of them.
    const checkpoints = snapshot(join(out, 'checkpoints'));
    for (const [file, hash] of Object.entries(checkpoints)) {
      if (file.includes('.tmp-') || file === 'latest.json') continue;
      assert.equal(hash, refCheckpoints[file], `${file} after the kill at ${moments.length}`);
    }
    if (checkpoints['latest.json'] !== undefined) {
      const { file } = JSON.parse(readFileSync(join(out, 'checkpoints', 'latest.json'), 'utf8')) as { file: string };
      assert.ok(file in checkpoints, `latest.json names ${file}, which is there`);
    }
    // metrics.jsonl holds the uninterrupted run's lines, in order (lines past the last checkpoint are cut at resume).
    if (existsSync(join(out, 'metrics.jsonl'))) {
      const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8').split('\n').slice(0, -1);
      assert.deepEqual(lines, refLines.slice(0, lines.length), `metrics.jsonl after the kill at ${moments.length}`);
    }
  }
  t.diagnostic(`killed after ${moments.join(', ')} ms in the folder; ${takeovers} stale locks taken over`);
  assert.equal(moments.length, 20, `20 kills before the run ended (got ${moments.length})`);
  assert.ok(takeovers >= 10, `the killed processes' locks were taken over (${takeovers} times)`);

  const last = await flatdist(['train', '--resume', out, '--json']);
  assert.equal(last.status, 0, last.stderr);
  assert.equal(readFileSync(join(out, 'metrics.jsonl'), 'utf8'), readFileSync(join(ref, 'metrics.jsonl'), 'utf8'));
  assert.deepEqual(
    snapshot(join(out, 'checkpoints')),
    refCheckpoints,
    'every checkpoint, and latest.json, byte for byte',
  );
  assert.deepEqual(
    readdirSync(out).sort(),
    ['checkpoints', 'metrics.jsonl', 'run.json'],
    'no lock or temporary file left',
  );
});
