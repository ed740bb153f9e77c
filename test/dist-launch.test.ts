// `flatdist launch` supervises its agents: a SIGTERM or SIGINT to it stops them
// before it exits with 128 + the signal; a launcher killed outright (kill -9)
// leaves no agent behind; a busy port is a user error with a hint, and port 0
// picks a free one that the agents learn.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StoreServer } from '../src/distributed/index.js';
import { ended, spawnProcess, within, type Running } from './support/spawn.js';
import { untilExists } from './support/wait.js';
import { cli } from './support/cli.js';

const env = { FLATDIST_TOKEN: 'launch-test-token' };
// A run that only a signal ends, checkpointing early so the test knows it is training.
const endless = [
  '--dataset',
  'two-moons',
  '--model',
  'logistic',
  '--agents',
  '2',
  '--steps',
  '100000000',
  '--eval-every',
  '100000000',
  '--checkpoint-every',
  '20',
];
const scratch = mkdtempSync(join(tmpdir(), 'flatdist-dist-launch-'));
test.after(() => rmSync(scratch, { recursive: true, force: true }));

interface Launched {
  launcher: Running;
  port: number;
  agents: number[];
}

/** `launch --nproc 2 --port 0` of the endless run, once both agents are training. */
async function launchEndless(name: string): Promise<Launched> {
  const out = join(scratch, name);
  const launcher = spawnProcess(
    process.execPath,
    [cli, 'launch', '--nproc', '2', '--port', '0', '--timeout', '30', ...endless, '--out', out, '--json'],
    env,
  );
  const [, port, pids] = await within(
    launcher.stderrMatch(/store listening on 127\.0\.0\.1:(\d+); ranks 0\.\.1 are processes (\d+), (\d+)/),
    30_000,
    'the launcher to start its agents',
  );
  // A checkpoint gathers every agent's parameters: once one is written, both processes are training.
  await untilExists(join(out, 'checkpoints', 'latest.json'), [launcher]);
  return { launcher, port: Number(port), agents: pids.split(', ').map(Number) };
}

for (const [signal, code] of [
  ['SIGTERM', 143],
  ['SIGINT', 130],
] as const) {
  test(`${signal} to the launcher stops both agents; then the launcher exits ${code}`, async () => {
    const { launcher, port, agents } = await launchEndless(signal);
    assert.ok(port > 0, '--port 0 picked a port, and the agents joined through it');
    launcher.child.kill(signal);
    const f = await within(launcher.done, 30_000, `the launcher to exit after ${signal}`);
    assert.equal(f.code, code, f.stderr);
    assert.match(f.stderr, new RegExp(`flatdist: launch: ${signal} — the 2 agent processes stopped`));
    // The launcher waited for its agents, so none is left to write to the run folder.
    for (const pid of agents) assert.ok(ended(pid), `agent process ${pid} is still running`);
  });
}

test('kill -9 of the launcher: both agents stop within seconds, each saying why', async (t) => {
  const { launcher, agents } = await launchEndless('kill9');
  const killedAt = Date.now();
  launcher.child.kill('SIGKILL');
  // The agents hold the launcher's stdout and stderr: they are closed once both agents have ended.
  const f = await within(launcher.closed, 30_000, 'the agents to stop after their launcher was killed');
  const ms = Date.now() - killedAt;
  t.diagnostic(`the agents stopped ${ms} ms after their launcher was killed`);
  for (const pid of agents) assert.ok(ended(pid), `agent process ${pid} is still running`);
  for (const rank of [0, 1])
    assert.match(
      f.stderr,
      new RegExp(
        `flatdist: rank ${rank}: the launcher \\(process ${launcher.child.pid}\\) is gone — stopping this agent`,
      ),
    );
  assert.ok(ms < 5000, `the agents took ${ms} ms to stop`);
});

test('a port in use is a user error with a hint (exit 2): launch --port and agent --serve', async () => {
  const taken = StoreServer.listen();
  try {
    const few = [
      '--dataset',
      'two-moons',
      '--model',
      'logistic',
      '--agents',
      '2',
      '--steps',
      '5',
      '--out',
      join(scratch, 'busy'),
    ];
    const [launch, agent] = await Promise.all([
      spawnProcess(process.execPath, [cli, 'launch', '--nproc', '2', '--port', String(taken.port), ...few], env).done,
      spawnProcess(
        process.execPath,
        [cli, 'agent', '--rank', '0', '--world-size', '2', '--serve', '--store', `127.0.0.1:${taken.port}`, ...few],
        env,
      ).done,
    ]);
    const inUse = `cannot serve the store on 127.0.0.1:${taken.port}: Address already in use — another process listens there; pick another port, or 0 for a free one`;
    assert.equal(launch.code, 2, launch.stderr);
    assert.equal(launch.stderr, `flatdist: --port: ${inUse}\n`);
    assert.equal(agent.code, 2, agent.stderr);
    assert.equal(agent.stderr, `flatdist: --store: ${inUse}\n`);
  } finally {
    taken.close();
  }
});
