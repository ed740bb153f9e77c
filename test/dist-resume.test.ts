// Faults in a distributed run: a killed process stops the others with an error
// naming it; the processes checkpoint at common steps, so `--resume` restarts
// everyone from the last one and ends where an uninterrupted run ends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StoreServer } from '../src/distributed/index.js';
import { spawnProcess } from './support/spawn.js';
import { cli } from './support/cli.js';
import { untilExists } from './support/wait.js';

const env = { FLATDIST_TOKEN: 'resume-test-token' };
const args = [
  '--dataset',
  'mnist',
  '--train-subset',
  '3000',
  '--eval-subset',
  '500',
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
  '--algorithm',
  'consensus',
  '--momentum',
  '0.5',
  '--steps',
  '300',
  '--eval-every',
  '50',
  '--checkpoint-every',
  '50',
  '--seed',
  '5',
];
const scratch = mkdtempSync(join(tmpdir(), 'flatdist-dist-resume-'));
test.after(() => rmSync(scratch, { recursive: true, force: true }));

const launch = (extra: string[]) =>
  spawnSync(process.execPath, [cli, 'launch', '--nproc', '2', '--timeout', '20', ...extra, '--json'], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });

test('kill one process mid-run, resume everyone from the last common checkpoint, end as an uninterrupted run', async () => {
  const whole = join(scratch, 'whole');
  const w = launch([...args, '--out', whole]);
  assert.equal(w.status, 0, w.stderr);

  const killed = join(scratch, 'killed');
  const server = StoreServer.listen();
  const agents = [0, 1].map((rank) =>
    spawnProcess(
      process.execPath,
      [
        cli,
        'agent',
        '--rank',
        String(rank),
        '--world-size',
        '2',
        '--store',
        `127.0.0.1:${server.port}`,
        '--timeout',
        '20',
        ...args,
        '--out',
        killed,
        '--json',
      ],
      env,
    ),
  );
  const firstCheckpoint = join(killed, 'checkpoints', 'latest.json');
  await untilExists(firstCheckpoint, agents);
  agents[1].child.kill('SIGKILL');
  const [r0] = await Promise.all(agents.map((a) => a.done));
  server.close();
  assert.equal(r0.code, 2);
  assert.match(r0.stderr, /rank 1 is gone/);
  const common = JSON.parse(readFileSync(firstCheckpoint, 'utf8')) as { step: number };
  assert.ok(common.step < 300, 'the run was stopped before its end');
  assert.ok(!readdirSync(join(killed, 'checkpoints')).some((f) => f.includes('.tmp')), 'no partial files');

  const r = launch(['--resume', killed]);
  assert.equal(r.status, 0, r.stderr);
  // Every number but the wall-clock communication fraction is the same.
  const withoutTime = (dir: string): unknown[] =>
    readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => {
        const { communication, ...rest } = JSON.parse(l) as {
          communication: { bytesPerAgentPerStep: number; fraction: number };
        };
        return { ...rest, bytesPerAgentPerStep: communication.bytesPerAgentPerStep };
      });
  assert.deepEqual(withoutTime(killed), withoutTime(whole));
});
