// NeighborMixer: across processes, each rank's rows of Aᵀ·W equal the in-process
// product, and only neighbouring ranks exchange rows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StoreServer, blockPlacement, exchangePlan } from '../src/distributed/index.js';
import { result, spawnRank } from './support/spawn.js';

const env = { FLATDIST_TOKEN: 'mixer-test-token' };
const K = 6;
const floatsPerAgent = 3 * 2 + 5; // the worker's two parameter tensors, float64

async function mix(N: number, matrix: string) {
  const server = StoreServer.listen('127.0.0.1', 0);
  try {
    const ranks = Array.from({ length: N }, (_, rank) =>
      spawnRank('mix', { rank, worldSize: N, host: '127.0.0.1', port: server.port, K, matrix, timeoutMs: 20000 }, env),
    );
    return (await Promise.all(ranks.map((r) => r.done))).map(result);
  } finally {
    server.close();
  }
}

// Rows a ring's rank must send: its agents with a neighbour on another rank, once per such rank.
function ringRowsSent(owner: number[], rank: number): number {
  let rows = 0;
  for (let l = 0; l < K; l++) {
    if (owner[l] !== rank) continue;
    const ranks = new Set([(l + 1) % K, (l + K - 1) % K].map((k) => owner[k]).filter((q) => q !== rank));
    rows += ranks.size;
  }
  return rows;
}

for (const N of [2, 3, 4]) {
  test(`ring of ${K} agents on ${N} processes: local columns of Aᵀ·W, neighbours only`, async () => {
    const owner = blockPlacement(K, N);
    for (const o of await mix(N, 'ring')) {
      const rank = o.rank as number;
      assert.ok((o.maxDiff as number) < 1e-12, `rank ${rank}: max difference ${o.maxDiff}`);
      assert.ok((o.gatherDiff as number) < 1e-12, `rank ${rank}: gathered difference ${o.gatherDiff}`);
      assert.equal(o.bytes, ringRowsSent(owner, rank) * floatsPerAgent * 8, `rank ${rank}: bytes sent`);
      assert.deepEqual(
        (o.json as { rank: number }[]).map((x) => x.rank),
        Array.from({ length: N }, (_, r) => r),
      );
    }
  });
}

test('a directed (left-stochastic, not symmetric) matrix sends rows one way only', async () => {
  const N = 3;
  const out = await mix(N, 'directed');
  for (const o of out) {
    assert.ok((o.maxDiff as number) < 1e-12);
    // Agent k listens to k+1: each rank sends its first agent's row to the previous rank, nothing else.
    assert.equal(o.bytes, floatsPerAgent * 8);
  }
});

test('averaging (centralized) goes through one allreduce of the local sums', async () => {
  const N = 3;
  for (const o of await mix(N, 'average')) {
    assert.ok((o.maxDiff as number) < 1e-12);
    // Ring allreduce volume of one agent's worth of parameters: 2(N−1)/N of the buffer.
    assert.equal(o.bytes, Math.round((2 * (N - 1) * floatsPerAgent * 8) / N));
  }
});

test('exchange plans are symmetric: what r sends q is what q expects from r', () => {
  const a = Array.from({ length: K * K }, (_, i) => ((i * 7) % 5 === 0 ? 0.2 : 0));
  const owner = blockPlacement(K, 4);
  const plans = [0, 1, 2, 3].map((r) => exchangePlan(a, owner, r));
  for (let r = 0; r < 4; r++) {
    for (const [q, positions] of plans[r].sendTo) {
      const mine = owner.flatMap((o, k) => (o === r ? [k] : []));
      assert.deepEqual(
        positions.map((p) => mine[p]),
        plans[q].recvFrom.get(r),
      );
    }
    for (const [q] of plans[r].recvFrom) assert.ok(plans[q].sendTo.has(r));
  }
});
