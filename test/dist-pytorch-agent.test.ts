// A PyTorch process as a full training agent of a flatdist group: rank 1 runs
// examples/pytorch_agent.py (torch.distributed, backend gloo, gradients by
// torch.autograd), ranks 0 and 2 run `flatdist agent`, and the run directory
// rank 0 writes holds the metrics and checkpoint of the in-process `flatdist train`.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scope } from '../src/tensor/index.js';
import { StoreServer } from '../src/distributed/index.js';
import { loadCheckpoint } from '../src/train/checkpoint.js';
import { result, spawnProcess } from './support/spawn.js';
import { assertCommunicationFigures, maxRelativeDifference, metrics, type Line } from './support/metrics.js';
import { cli, pytorchAgent as agent } from './support/cli.js';
import { untilExists } from './support/wait.js';

const python = '/usr/bin/python3';
const env = { FLATDIST_TOKEN: 'pytorch-agent-test-token' };
// Finding the module, not importing it (a second of CPU), is enough to decide.
const torchMissing =
  spawnSync(python, ['-c', "import importlib.util, sys; sys.exit(importlib.util.find_spec('torch') is None)"])
    .status !== 0;
const skip = torchMissing ? `${python} has no torch module (apt-get install python3-torch)` : false;
const scratch = mkdtempSync(join(tmpdir(), 'flatdist-pytorch-agent-'));
test.after(() => rmSync(scratch, { recursive: true, force: true }));

interface Runs {
  /** Run folders: in process, and over flatdist ranks 0, 2 and the PyTorch rank 1. */
  local: string;
  spread: string;
  /** With allFlatdist: the same three processes, all flatdist (`flatdist launch --nproc 3`). */
  flatdistOnly: string;
  /** What the PyTorch rank reported. */
  pytorch: Line;
}

/** The runs of one config (a JSON file, then flags), side by side. */
async function runAll(
  name: string,
  config: Record<string, unknown>,
  flags: string[] = [],
  allFlatdist = false,
): Promise<Runs> {
  const file = join(scratch, `${name}.json`);
  writeFileSync(file, JSON.stringify(config));
  const local = join(scratch, `${name}-local`);
  const spread = join(scratch, `${name}-dist`);
  const flatdistOnly = join(scratch, `${name}-flatdist`);
  const server = StoreServer.listen();
  try {
    const group = (rank: number) => [
      '--rank',
      String(rank),
      '--world-size',
      '3',
      '--store',
      `127.0.0.1:${server.port}`,
      '--timeout',
      '30',
      '--config',
      file,
      ...flags,
    ];
    const flatdist = (rank: number) =>
      spawnProcess(process.execPath, [cli, 'agent', ...group(rank), '--out', spread, '--json'], env);
    const runs = [
      spawnProcess(process.execPath, [cli, 'train', '--config', file, ...flags, '--out', local, '--json']),
      flatdist(0),
      spawnProcess(python, [agent, ...group(1), '--mode', 'train'], env),
      flatdist(2),
      ...(allFlatdist
        ? [
            spawnProcess(
              process.execPath,
              [
                cli,
                'launch',
                '--nproc',
                '3',
                '--timeout',
                '30',
                '--config',
                file,
                ...flags,
                '--out',
                flatdistOnly,
                '--json',
              ],
              env,
            ),
          ]
        : []),
    ];
    const done = await Promise.all(runs.map((p) => p.done));
    for (const f of done) assert.equal(f.code, 0, f.stderr);
    return { local, spread, flatdistOnly, pytorch: result(done[2]) };
  } finally {
    server.close();
  }
}

/** Largest |a − b| over the stacked parameters of two checkpoints, momentum included. */
function checkpointDifference(a: string, b: string): number {
  const [x, y] = [loadCheckpoint(a), loadCheckpoint(b)];
  const pairs = [...x.params.map((t, i) => [t, y.params[i]]), ...(x.momentum ?? []).map((t, i) => [t, y.momentum![i]])];
  assert.equal(pairs.length, y.params.length + (y.momentum?.length ?? 0));
  return Math.max(...pairs.map(([s, t]) => scope(() => s.sub(t).abs().amax().item())));
}

const base = {
  dataset: 'mnist',
  trainSubset: 2000,
  evalSubset: 1000,
  model: 'mlp',
  hidden: [32],
  batchSize: 16,
  stepSize: 0.1,
  steps: 20,
  evalEvery: 10,
  seed: 7,
};

/** The distributed run equals the in-process one: metrics and checkpoint within 1e-5 (relative), and optionally the batch streams exactly. */
function assertSameRun(t: TestContext, local: string, spread: string, o: { samplers: boolean }): void {
  const { worst, field } = maxRelativeDifference(metrics(local), metrics(spread));
  t.diagnostic(`largest relative difference ${worst.toExponential(2)} (${field})`);
  assert.ok(worst <= 1e-5, `${field} differs by ${worst}`);
  if (o.samplers) assert.deepEqual(loadCheckpoint(spread).samplers, loadCheckpoint(local).samplers);
  const gap = checkpointDifference(local, spread);
  t.diagnostic(`checkpoints differ by ${gap.toExponential(2)} at most`);
  assert.ok(gap <= 1e-5, `checkpoints differ by ${gap}`);
}

test(
  'ATC with momentum and weight decay, K = 6 on a ring: a PyTorch rank between two flatdist ranks trains to the in-process metrics, and to the bits of three flatdist ranks',
  { skip },
  async (t) => {
    const { local, spread, flatdistOnly, pytorch } = await runAll(
      'atc',
      { ...base, agents: 6, algorithm: 'atc', momentum: 0.5, weightDecay: 1e-3 },
      [],
      true,
    );
    assert.deepEqual(pytorch.agents, [2, 3]);
    assert.equal(pytorch.steps, 20);
    // The checkpoint holds what the PyTorch rank sent: its agents' parameters, momentum and batch streams.
    assertSameRun(t, local, spread, { samplers: true });
    assertCommunicationFigures(metrics(spread));
    // Against three flatdist processes the PyTorch rank is indistinguishable: same libtorch, same operations, same bits.
    const withoutCommunication = (lines: Line[]) => lines.map(({ communication: _, ...rest }) => rest);
    assert.deepEqual(withoutCommunication(metrics(spread)), withoutCommunication(metrics(flatdistOnly)));
    assert.equal(checkpointDifference(flatdistOnly, spread), 0);
    assert.deepEqual(loadCheckpoint(spread).samplers, loadCheckpoint(flatdistOnly).samplers);
  },
);

test(
  'consensus with clipping, a cosine schedule and a shards partition, K = 4 in uneven blocks: the PyTorch rank hosts one agent',
  { skip },
  async (t) => {
    const { local, spread, pytorch } = await runAll(
      'consensus',
      { ...base, agents: 4, partition: 'shards:2', topology: 'star', rule: 'uniform' },
      ['--algorithm', 'consensus', '--clip-norm', '1', '--schedule', 'cosine:0.01'],
    );
    assert.deepEqual(pytorch.agents, [2]);
    assertSameRun(t, local, spread, { samplers: true });
  },
);

test('centralized (an allreduce per step), K = 3, one agent per process', { skip }, async (t) => {
  const { local, spread, pytorch } = await runAll('centralized', {
    ...base,
    agents: 3,
    algorithm: 'centralized',
    schedule: 'warmup:5:step:10:0.5',
  });
  assert.deepEqual(pytorch.agents, [1]);
  assertSameRun(t, local, spread, { samplers: false });
});

test('the PyTorch rank killed mid-run: the flatdist ranks stop, naming rank 1', { skip }, async () => {
  const file = join(scratch, 'killed.json');
  writeFileSync(file, JSON.stringify({ ...base, agents: 3, steps: 100000, evalEvery: 100000, checkpointEvery: 5 }));
  const out = join(scratch, 'killed');
  const server = StoreServer.listen();
  try {
    const group = (rank: number) => [
      '--rank',
      String(rank),
      '--world-size',
      '3',
      '--store',
      `127.0.0.1:${server.port}`,
      '--timeout',
      '20',
      '--config',
      file,
    ];
    const runs = [
      spawnProcess(process.execPath, [cli, 'agent', ...group(0), '--out', out, '--json'], env),
      spawnProcess(python, [agent, ...group(1), '--mode', 'train'], env),
      spawnProcess(process.execPath, [cli, 'agent', ...group(2), '--out', out, '--json'], env),
    ];
    // A checkpoint gathers every rank's agents: once one is written, the PyTorch rank is training.
    await untilExists(join(out, 'checkpoints', 'latest.json'), runs);
    runs[1].child.kill('SIGKILL');
    const [r0, , r2] = await Promise.all(runs.map((r) => r.done));
    for (const r of [r0, r2]) {
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /rank 1 is gone/);
    }
  } finally {
    server.close();
  }
});
