// The training command, end to end: determinism, resume after SIGKILL, config
// errors that name the field, divergence that keeps the last good checkpoint.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCheckpoint } from '../src/train/checkpoint.js';
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
];

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, 'train', ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const scratch = mkdtempSync(join(tmpdir(), 'flatdist-train-'));
test.after(() => rmSync(scratch, { recursive: true, force: true }));

test('the same seed gives the same metrics.jsonl, byte for byte', () => {
  const [a, b] = [join(scratch, 'det-a'), join(scratch, 'det-b')];
  for (const out of [a, b]) {
    const r = run([
      ...small,
      '--algorithm',
      'consensus',
      '--steps',
      '40',
      '--eval-every',
      '10',
      '--seed',
      '7',
      '--out',
      out,
    ]);
    assert.equal(r.status, 0, r.stderr);
  }
  const ma = readFileSync(join(a, 'metrics.jsonl'), 'utf8');
  assert.equal(ma.trim().split('\n').length, 4);
  assert.equal(ma, readFileSync(join(b, 'metrics.jsonl'), 'utf8'));
});

test('a user matrix file equal to the rule’s matrix gives the same run', () => {
  const file = join(scratch, 'ring4.json');
  const third = 1 / 3;
  writeFileSync(
    file,
    JSON.stringify([
      [third, third, 0, third],
      [third, third, third, 0],
      [0, third, third, third],
      [third, 0, third, third],
    ]),
  );
  const [a, b] = [join(scratch, 'rule'), join(scratch, 'file')];
  assert.equal(run([...small, '--steps', '20', '--eval-every', '10', '--out', a]).status, 0);
  assert.equal(run([...small, '--steps', '20', '--eval-every', '10', '--matrix', file, '--out', b]).status, 0);
  assert.equal(readFileSync(join(a, 'metrics.jsonl'), 'utf8'), readFileSync(join(b, 'metrics.jsonl'), 'utf8'));
});

test('--json prints the final summary', () => {
  const r = run([
    ...small,
    '--algorithm',
    'diffusion',
    '--steps',
    '20',
    '--eval-every',
    '20',
    '--out',
    join(scratch, 'json'),
    '--json',
  ]);
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout) as Record<string, unknown>;
  for (const k of [
    'algorithm',
    'agents',
    'steps',
    'trainLoss',
    'trainAccuracy',
    'testLoss',
    'testAccuracy',
    'consensusDistance',
    'seconds',
  ])
    assert.ok(k in s, k);
  assert.equal(s.algorithm, 'atc');
  assert.equal(s.steps, 20);
});

test('a run killed with SIGKILL and resumed ends with the numbers of an uninterrupted one', async () => {
  const args = [
    ...small,
    '--algorithm',
    'atc',
    '--momentum',
    '0.5',
    '--steps',
    '400',
    '--eval-every',
    '50',
    '--checkpoint-every',
    '50',
    '--seed',
    '3',
  ];
  const whole = join(scratch, 'whole');
  assert.equal(run([...args, '--out', whole]).status, 0);

  const killed = join(scratch, 'killed');
  const child = spawn(process.execPath, [cli, 'train', ...args, '--out', killed], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  await new Promise<void>((resolve) => {
    child.stderr.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('step 100:')) child.kill('SIGKILL');
    });
    child.on('exit', () => resolve());
  });
  assert.equal(child.signalCode, 'SIGKILL', 'the run was killed before it finished');
  const resumed = run(['--resume', killed]);
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.equal(readFileSync(join(killed, 'metrics.jsonl'), 'utf8'), readFileSync(join(whole, 'metrics.jsonl'), 'utf8'));
});

test('a config error names the field and what is allowed, in one line, exit code 2', () => {
  for (const [flags, field] of [
    [['--agents', '0'], 'agents'],
    [['--algorithm', 'gossip'], 'algorithm'],
    [['--partition', 'random'], 'partition'],
    [['--topology', 'moebius'], 'topology'],
  ] as const) {
    const r = run([...small, ...flags, '--out', join(scratch, 'bad')]);
    assert.equal(r.status, 2, `${flags.join(' ')}: ${r.stderr}`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], new RegExp(field));
  }
});

test('a diverging run stops with a message and keeps its last good checkpoint', () => {
  const out = join(scratch, 'diverge');
  const r = run([
    ...small,
    '--step-size',
    '1e6',
    '--steps',
    '50',
    '--checkpoint-every',
    '1',
    '--eval-every',
    '1',
    '--out',
    out,
  ]);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /diverged|NaN/);
  const dir = join(out, 'checkpoints');
  if (existsSync(join(dir, 'latest.json'))) {
    const ck = loadCheckpoint(out);
    assert.ok(
      ck.params.every((t) => t.isfinite().all().item() === 1),
      'the kept checkpoint is finite',
    );
  }
  assert.ok(
    readdirSync(dir).every((f) => !f.includes('.tmp-')),
    'no partial files',
  );
});
