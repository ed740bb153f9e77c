// Wire compatibility: a PyTorch process (torch.distributed, backend gloo) takes a
// rank of a flatdist group and computes the same results.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StoreServer } from '../src/distributed/index.js';
import { result, spawnProcess, spawnRank } from './support/spawn.js';
import { pytorchAgent as agent } from './support/cli.js';

const python = '/usr/bin/python3';
const env = { FLATDIST_TOKEN: 'pytorch-test-token' };
const timeoutMs = 30000;

function pythonRank(rank: number, N: number, port: number, mode: string, token = env.FLATDIST_TOKEN) {
  return spawnProcess(
    python,
    [
      agent,
      '--rank',
      String(rank),
      '--world-size',
      String(N),
      '--store',
      `127.0.0.1:${port}`,
      '--mode',
      mode,
      '--timeout',
      '30',
    ],
    { FLATDIST_TOKEN: token },
  );
}

test('flatdist rank 0 and a PyTorch rank 1: allreduce, allgather, broadcast, send/recv', async () => {
  const server = StoreServer.listen();
  try {
    const runs = [
      spawnRank('collectives', { rank: 0, worldSize: 2, host: '127.0.0.1', port: server.port, timeoutMs }, env),
      pythonRank(1, 2, server.port, 'selftest'),
    ];
    const [o0, o1] = (await Promise.all(runs.map((r) => r.done))).map(result);
    for (const o of [o0, o1]) {
      assert.deepEqual(o.allreduce, [3, 30, -1]);
      assert.deepEqual(o.allgather, [
        [0, 0],
        [1, 1],
      ]);
      assert.deepEqual(o.broadcast, [7, 8, 9]);
    }
    assert.deepEqual(o0.ring, [1, 101]);
    assert.deepEqual(o1.ring, [0, 100]);
  } finally {
    server.close();
  }
});

test('a PyTorch rank between two flatdist ranks: a ring combination step matches Aᵀ·W', async () => {
  const server = StoreServer.listen();
  try {
    const N = 3;
    const runs = [
      spawnRank(
        'mix',
        { rank: 0, worldSize: N, host: '127.0.0.1', port: server.port, K: 6, matrix: 'ring', gather: false, timeoutMs },
        env,
      ),
      pythonRank(1, N, server.port, 'mix'),
      spawnRank(
        'mix',
        { rank: 2, worldSize: N, host: '127.0.0.1', port: server.port, K: 6, matrix: 'ring', gather: false, timeoutMs },
        env,
      ),
    ];
    const out = (await Promise.all(runs.map((r) => r.done))).map(result);
    for (const o of out) assert.ok((o.maxDiff as number) < 1e-12, `rank ${o.rank}: ${o.maxDiff}`);
  } finally {
    server.close();
  }
});

test('a PyTorch process with the wrong token is refused', async () => {
  const server = StoreServer.listen();
  try {
    const runs = [
      spawnRank('collectives', { rank: 0, worldSize: 2, host: '127.0.0.1', port: server.port, timeoutMs }, env),
      pythonRank(1, 2, server.port, 'selftest', 'not-the-token'),
    ];
    const [r0, r1] = await Promise.all(runs.map((r) => r.done));
    assert.match(r0.stderr, /rank 1 presented a wrong token/);
    assert.match(r1.stderr, /rank 1: wrong token/);
  } finally {
    server.close();
  }
});
