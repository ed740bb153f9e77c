// A group agrees on its run before Gloo sees it: every rank publishes the world
// size it was given and its run (with a hash) at join, and a difference stops
// every rank with a one-line error naming the field and each rank's value.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../src/util/package.js';
import { FileSystemError } from '../src/errors.js';
import { StoreServer, canonicalJson, differences, joinRecord } from '../src/distributed/index.js';
import { agreedRun } from '../src/distributed/training.js';
import { makeConfig } from '../src/train/config.js';
import { result, spawnProcess, spawnRank, type Finished } from './support/spawn.js';
import { cli } from './support/cli.js';

const python = '/usr/bin/python3';
const env = { FLATDIST_TOKEN: 'join-test-token' };
const small = ['--dataset', 'two-moons', '--model', 'logistic', '--agents', '4', '--steps', '5', '--timeout', '30'];
const scratch = mkdtempSync(join(tmpdir(), 'flatdist-dist-join-'));
test.after(() => rmSync(scratch, { recursive: true, force: true }));

/** `flatdist agent` processes of one group (a store this test serves), each with its world size and extra flags. */
async function group(name: string, ranks: { worldSize: number; flags?: string[] }[]): Promise<Finished[]> {
  const server = StoreServer.listen();
  try {
    const runs = ranks.map(({ worldSize, flags = [] }, rank) =>
      spawnProcess(
        process.execPath,
        [
          cli,
          'agent',
          '--rank',
          String(rank),
          '--world-size',
          String(worldSize),
          '--store',
          `127.0.0.1:${server.port}`,
          ...small,
          ...flags,
          '--out',
          join(scratch, name),
        ],
        env,
      ),
    );
    return await Promise.all(runs.map((r) => r.done));
  } finally {
    server.close();
  }
}

/** A refused rank: exit 2 and one line that says why. */
function refused(f: Finished, message: RegExp): void {
  assert.equal(f.code, 2, f.stderr);
  assert.equal(f.stderr.trim().split('\n').length, 1, f.stderr);
  assert.match(f.stderr, message);
}

test('canonical JSON does not depend on key order; the hash covers every field', () => {
  assert.equal(canonicalJson({ b: [1, { d: null, c: 1e-7 }], a: 'x' }), '{"a":"x","b":[1,{"c":1e-7,"d":null}]}');
  assert.equal(joinRecord(2, { a: 1, b: 2 }).hash, joinRecord(2, { b: 2, a: 1 }).hash);
  assert.notEqual(joinRecord(2, { a: 1, b: 2 }).hash, joinRecord(2, { a: 1, b: 3 }).hash);
});

test('the run a group agrees on: every config field and --resume, but not where a machine keeps data or writes', () => {
  const c = makeConfig({ stepSize: 0.1 });
  const agreed = (rank: number, config = c, resume = false) =>
    [joinRecord(2, agreedRun(config, resume)), rank] as const;
  assert.deepEqual(differences(...agreed(0), ...agreed(1, { ...c, out: 'elsewhere', dataDir: '/mnt/mnist' })), []);
  assert.deepEqual(differences(...agreed(0), ...agreed(1, makeConfig({ stepSize: 0.2, schedule: 'cosine' }), true)), [
    '--resume: false on rank 0, true on rank 1',
    '--schedule: {"kind":"constant"} on rank 0, {"final":0,"kind":"cosine"} on rank 1',
    '--step-size: 0.1 on rank 0, 0.2 on rank 1',
  ]);
  assert.deepEqual(differences(joinRecord(2, { a: 1 }), 0, joinRecord(3, { b: 1 }), 2), [
    '--world-size: 2 on rank 0, 3 on rank 2',
    '--a: 1 on rank 0, (absent) on rank 2',
    '--b: (absent) on rank 0, 1 on rank 2',
  ]);
});

test('a TorchScript model is agreed by its file’s content: the same module at two paths agrees, another at one path does not', () => {
  const [here, there, other] = ['here.pt', 'there.pt', 'other.pt'].map((f) => join(scratch, f));
  writeFileSync(here, 'the same module bytes');
  writeFileSync(there, 'the same module bytes');
  writeFileSync(other, 'another module');
  const agreed = (path: string, rank: number) =>
    [joinRecord(2, agreedRun(makeConfig({ model: `torchscript:${path}` }), false)), rank] as const;
  assert.deepEqual(differences(...agreed(here, 0), ...agreed(there, 1)), []);
  const [refused] = differences(...agreed(here, 0), ...agreed(other, 1));
  assert.match(
    refused,
    /^--model: "?torchscript:sha256:[0-9a-f]{64}"? on rank 0, "?torchscript:sha256:[0-9a-f]{64}"? on rank 1$/,
  );
  assert.throws(
    () => agreedRun(makeConfig({ model: `torchscript:${join(scratch, 'missing.pt')}` }), false),
    (e: unknown) =>
      e instanceof FileSystemError && /missing\.pt: no such file — give the path of a module/.test(e.message),
  );
});

test('two agents with different --step-size: both refuse, naming --step-size and both values; nothing is written', async () => {
  const [r0, r1] = await group('step-size', [
    { worldSize: 2, flags: ['--step-size', '0.1'] },
    { worldSize: 2, flags: ['--step-size', '0.2'] },
  ]);
  refused(
    r0,
    /^flatdist: rank 0: rank 1 disagrees with rank 0 on the run — --step-size: 0\.1 on rank 0, 0\.2 on rank 1; start every process/,
  );
  refused(
    r1,
    /^flatdist: rank 1: this rank disagrees with rank 0 on the run — --step-size: 0\.1 on rank 0, 0\.2 on rank 1; start every process/,
  );
  assert.ok(!existsSync(join(scratch, 'step-size')), 'no run folder');
});

test('ranks that disagree on the world size (2 vs 3, either way) are named before Gloo sees them', async () => {
  const [[a0, a1, a2], [b0, b1]] = await Promise.all([
    group('world-2-3-3', [{ worldSize: 2 }, { worldSize: 3 }, { worldSize: 3 }]),
    group('world-3-2', [{ worldSize: 3 }, { worldSize: 2 }]),
  ]);
  refused(a0, /rank 0: rank 1 disagrees with rank 0 on the run — --world-size: 2 on rank 0, 3 on rank 1;/);
  refused(a1, /rank 1: this rank disagrees with rank 0 on the run — --world-size: 2 on rank 0, 3 on rank 1;/);
  refused(a2, /rank 2: this rank disagrees with rank 0 on the run — --world-size: 2 on rank 0, 3 on rank 2;/);
  refused(b0, /rank 0: rank 1 disagrees with rank 0 on the run — --world-size: 3 on rank 0, 2 on rank 1;/);
  refused(b1, /rank 1: this rank disagrees with rank 0 on the run — --world-size: 3 on rank 0, 2 on rank 1;/);
});

test('a rank that agrees with rank 0 is told which other rank was refused, and why', async () => {
  const [r0, r1, r2] = await group('third', [
    { worldSize: 3 },
    { worldSize: 3 },
    { worldSize: 3, flags: ['--seed', '9'] },
  ]);
  refused(r0, /rank 0: rank 2 disagrees with rank 0 on the run — --seed: 1 on rank 0, 9 on rank 2;/);
  refused(
    r1,
    /rank 1: rank 0 refused rank 2, which disagrees with rank 0 on the run — --seed: 1 on rank 0, 9 on rank 2; the group cannot form/,
  );
  refused(r2, /rank 2: this rank disagrees with rank 0 on the run — --seed: 1 on rank 0, 9 on rank 2;/);
});

test('rank 0 hosting the store keeps it open until the rank it refused has read why', async () => {
  const r0 = spawnProcess(
    process.execPath,
    [
      cli,
      'agent',
      '--rank',
      '0',
      '--world-size',
      '2',
      '--serve',
      '--store',
      '127.0.0.1:0',
      ...small,
      '--out',
      join(scratch, 'served'),
    ],
    env,
  );
  const [, port] = await r0.stderrMatch(/store listening on 127\.0\.0\.1:(\d+)/);
  const r1 = spawnProcess(
    process.execPath,
    [
      cli,
      'agent',
      '--rank',
      '1',
      '--world-size',
      '2',
      '--store',
      `127.0.0.1:${port}`,
      ...small,
      '--hidden',
      '8',
      '--seed',
      '3',
      '--out',
      join(scratch, 'served'),
    ],
    env,
  );
  const [f0, f1] = await Promise.all([r0.done, r1.done]);
  assert.equal(f0.code, 2, f0.stderr);
  assert.match(
    f0.stderr,
    /rank 0: rank 1 disagrees with rank 0 on the run — --hidden: \[256\] on rank 0, \[8\] on rank 1; --seed: 1 on rank 0, 3 on rank 1;/,
  );
  refused(
    f1,
    /rank 1: this rank disagrees with rank 0 on the run — --hidden: \[256\] on rank 0, \[8\] on rank 1; --seed: 1 on rank 0, 3 on rank 1;/,
  );
});

test('a second process with a rank already taken is refused; the group goes on without it', async () => {
  const server = StoreServer.listen();
  try {
    const rank = (r: number) =>
      spawnRank('collectives', { rank: r, worldSize: 2, host: '127.0.0.1', port: server.port, timeoutMs: 30000 }, env);
    const [r0, ...ones] = await Promise.all([rank(0), rank(1), rank(1)].map((r) => r.done));
    assert.deepEqual(result(r0).allreduce, [3, 30, -1]);
    const [taken] = ones.filter((f) => f.code !== 0);
    assert.equal(ones.filter((f) => f.code === 0).length, 1);
    assert.match(
      taken.stderr,
      /DistError: rank 1: another process already joined this group as rank 1 — give each process its own --rank/,
    );
  } finally {
    server.close();
  }
});

const torchMissing =
  spawnSync(python, ['-c', "import importlib.util, sys; sys.exit(importlib.util.find_spec('torch') is None)"])
    .status !== 0;

test(
  'a PyTorch rank with another --step-size: both sides refuse, naming it',
  { skip: torchMissing && `${python} has no torch module` },
  async () => {
    const server = StoreServer.listen();
    try {
      const mnist = [
        '--dataset',
        'mnist',
        '--train-subset',
        '200',
        '--model',
        'mlp',
        '--hidden',
        '8',
        '--agents',
        '2',
        '--steps',
        '5',
      ];
      const group = (rank: number) => [
        '--rank',
        String(rank),
        '--world-size',
        '2',
        '--store',
        `127.0.0.1:${server.port}`,
        '--timeout',
        '30',
        ...mnist,
      ];
      const [r0, r1] = await Promise.all([
        spawnProcess(
          process.execPath,
          [cli, 'agent', ...group(0), '--step-size', '0.1', '--out', join(scratch, 'pytorch')],
          env,
        ).done,
        spawnProcess(
          python,
          [join(packageRoot(), 'examples', 'pytorch_agent.py'), ...group(1), '--mode', 'train', '--step-size', '0.2'],
          env,
        ).done,
      ]);
      refused(r0, /rank 0: rank 1 disagrees with rank 0 on the run — --step-size: 0\.1 on rank 0, 0\.2 on rank 1;/);
      assert.equal(r1.code, 1, r1.stderr);
      assert.match(
        r1.stderr,
        /rank 1: this rank disagrees with rank 0 on the run — --step-size: 0\.1 on rank 0, 0\.2 on rank 1;/,
      );
    } finally {
      server.close();
    }
  },
);

test('a store that never answers: one line naming the store and the timeout, no libtorch log lines', async () => {
  const server = StoreServer.listen();
  const port = server.port;
  server.close();
  const r = await spawnProcess(
    process.execPath,
    [
      cli,
      'agent',
      '--rank',
      '1',
      '--world-size',
      '2',
      '--store',
      `127.0.0.1:${port}`,
      ...small,
      '--timeout',
      '3',
      '--out',
      join(scratch, 'no-store'),
    ],
    env,
  ).done;
  assert.equal(r.code, 2, r.stderr);
  assert.deepEqual(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`store at 127\\.0\\.0\\.1:${port}: .*timed out`));
});
