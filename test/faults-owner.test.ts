// One owner per run folder: a second writer is refused naming the first; a folder that holds
// a run is not merged into (--resume continues it, --overwrite replaces it); a stale lock of
// a dead process is taken over; --keep-checkpoints bounds the disk a run takes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { acquireLock, inheritedLockVariable } from '../src/util/lock.js';
import { assertUserError, flatdist, scratch, snapshot, start } from './faults-support.js';

const dir = scratch('faults-owner', test.after);
const moons = ['train', '--dataset', 'two-moons', '--model', 'mlp', '--hidden', '16', '--agents', '4', '--json'];
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const steps = (out: string): number[] =>
  readFileSync(join(out, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => (JSON.parse(l) as { step: number }).step);

test('case 3: a second train on a folder in use exits 2 naming the first (pid, host); the first run is whole', async () => {
  const out = join(dir, 'shared');
  const args = [...moons, '--steps', '400', '--eval-every', '20', '--checkpoint-every', '100', '--out', out];
  const first = start(args);
  const lock = join(out, 'run.lock');
  while (!(existsSync(lock) && readFileSync(lock, 'utf8').includes(`"pid":${first.child.pid},`))) await sleep(5);
  // Paused (still alive) while the second tries, so that it cannot finish first.
  first.child.kill('SIGSTOP');
  const second = await flatdist(args);
  first.child.kill('SIGCONT');
  assertUserError(
    second,
    new RegExp(
      `run\\.lock: the folder is in use by flatdist train \\(pid ${first.child.pid} on host ${hostname()}, since .*\\) — wait for it to finish`,
    ),
  );
  const r = await first.done;
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(
    steps(out),
    Array.from({ length: 20 }, (_, i) => 20 * (i + 1)),
    "one run's lines, each once",
  );
  assert.ok(!existsSync(lock), 'the lock is gone with its owner');
});

test('two train processes started at once on one folder: exactly one runs', async () => {
  const out = join(dir, 'race');
  const args = [...moons, '--steps', '60', '--eval-every', '20', '--out', out];
  const results = await Promise.all([flatdist(args), flatdist(args)]);
  assert.deepEqual(results.map((r) => r.status).sort(), [0, 2], results.map((r) => r.stderr).join('\n'));
  // The loser finds the winner running, or (when it starts late) the winner's finished run.
  assertUserError(
    results.find((r) => r.status === 2)!,
    /the folder is in use by flatdist train \(pid \d+|race holds a run already/,
  );
  assert.deepEqual(steps(out), [20, 40, 60]);
});

test('case 2: train into a folder holding a run is refused and changes nothing; --overwrite replaces the run', async () => {
  const out = join(dir, 'occupied');
  const mnist = await flatdist([
    'train',
    '--dataset',
    'mnist',
    '--train-subset',
    '1000',
    '--hidden',
    '8',
    '--agents',
    '4',
    '--steps',
    '20',
    '--eval-every',
    '10',
    '--checkpoint-every',
    '10',
    '--out',
    out,
    '--json',
  ]);
  assert.equal(mnist.status, 0, mnist.stderr);
  const before = snapshot(out);
  const moonsArgs = ['train', '--dataset', 'two-moons', '--steps', '5', '--out', out];
  const [refused, both] = await Promise.all([
    flatdist(moonsArgs),
    flatdist([...moonsArgs, '--resume', out, '--overwrite']),
  ]);
  assertUserError(
    refused,
    /occupied holds a run already \(run\.json, metrics\.jsonl, checkpoints\) — continue it with --resume .*, replace it with --overwrite, or give another --out/,
  );
  assertUserError(both, /--resume continues a run, --overwrite starts it over — give one of them/);
  assert.deepEqual(snapshot(out), before, 'the run is untouched');

  const replaced = await flatdist([...moonsArgs, '--overwrite']);
  assert.equal(replaced.status, 0, replaced.stderr);
  assert.deepEqual(
    readdirSync(join(out, 'checkpoints')).sort(),
    ['latest.json', 'step-00000005.safetensors'],
    'the old checkpoints are gone',
  );
  assert.deepEqual(steps(out), [5], 'metrics.jsonl holds the new run only');
  assert.equal(
    (JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { config: { dataset: string } }).config.dataset,
    'two-moons',
  );
});

test('a stale lock (its process is gone) is taken over with a note; a live one, or one from another host, is not', async () => {
  const lockIn = (name: string, owner: object): string => {
    const out = join(dir, name);
    mkdirSync(out, { recursive: true });
    writeFileSync(
      join(out, 'run.lock'),
      JSON.stringify({
        host: hostname(),
        started: '2026-01-01T00:00:00.000Z',
        command: 'flatdist train',
        token: 'x',
        startTicks: null,
        ...owner,
      }),
    );
    return out;
  };
  const gone = spawnSync('true').pid;
  const [stale, live, elsewhere] = [
    lockIn('stale', { pid: gone }),
    lockIn('live', { pid: process.pid }),
    lockIn('elsewhere', { pid: 1, host: 'elsewhere.example' }),
  ];
  const [s, l, e] = await Promise.all(
    [stale, live, elsewhere].map((out) => flatdist([...moons, '--steps', '5', '--out', out])),
  );
  assert.equal(s.status, 0, s.stderr);
  assert.match(
    s.stderr,
    new RegExp(
      `note: .*stale was held by flatdist train \\(pid ${gone} on host ${hostname()}, since 2026-01-01T00:00:00.000Z\\), which is no longer running — taken over`,
    ),
  );
  assertUserError(l, new RegExp(`in use by flatdist train \\(pid ${process.pid} on host`));
  assertUserError(
    e,
    /in use by flatdist train \(pid 1 on host elsewhere\.example, .*\), which cannot be checked from here — if that process is gone, delete .*elsewhere\/run\.lock/,
  );
});

test("--keep-checkpoints N keeps the last N checkpoints, latest.json's among them", async () => {
  const out = join(dir, 'keep');
  const [kept, bad] = await Promise.all([
    flatdist([
      ...moons,
      '--steps',
      '40',
      '--eval-every',
      '40',
      '--checkpoint-every',
      '5',
      '--keep-checkpoints',
      '3',
      '--out',
      out,
    ]),
    flatdist([...moons, '--keep-checkpoints', '0', '--out', join(dir, 'keep-0')]),
  ]);
  assert.equal(kept.status, 0, kept.stderr);
  assert.deepEqual(readdirSync(join(out, 'checkpoints')).sort(), [
    'latest.json',
    'step-00000030.safetensors',
    'step-00000035.safetensors',
    'step-00000040.safetensors',
  ]);
  assertUserError(bad, /--keep-checkpoints: must be at least 1, got 0/);
});

test('launch: a folder holding a run is refused before any process starts; a launched run releases its lock', async () => {
  const out = join(dir, 'launched');
  const args = [
    '--dataset',
    'two-moons',
    '--model',
    'mlp',
    '--hidden',
    '16',
    '--agents',
    '4',
    '--steps',
    '20',
    '--eval-every',
    '10',
    '--out',
    out,
    '--json',
  ];
  const first = await flatdist(['launch', '--nproc', '2', '--timeout', '20', ...args]);
  assert.equal(first.status, 0, first.stderr);
  assert.ok(!existsSync(join(out, 'run.lock')), "rank 0 shared the launcher's lock, and the launcher released it");
  assert.deepEqual(steps(out), [10, 20]);
  const began = Date.now();
  assertUserError(
    await flatdist(['launch', '--nproc', '2', '--timeout', '20', ...args]),
    /launched holds a run already/,
  );
  assert.ok(Date.now() - began < 15_000, 'refused at once, not after a rank timed out');
});

test('the lock in one process: a second take is refused naming this pid; one given the token (launch → rank 0) shares it; released, it is free', () => {
  const file = join(dir, 'lock-unit.lock');
  const lock = acquireLock(file, 'test');
  assert.throws(
    () => acquireLock(file, 'again'),
    new RegExp(`in use by test \\(pid ${process.pid} on host ${hostname()}`),
  );
  process.env[inheritedLockVariable] = lock.owner.token;
  try {
    const shared = acquireLock(file, 'rank 0');
    assert.equal(shared.owner.token, lock.owner.token);
    shared.release();
    assert.ok(existsSync(file), "the sharer does not release its parent's lock");
  } finally {
    delete process.env[inheritedLockVariable];
  }
  lock.release();
  assert.ok(!existsSync(file));
  acquireLock(file, 'later').release();
});
