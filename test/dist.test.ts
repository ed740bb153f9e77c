// c10d through the binding: a Gloo group of real processes on loopback computes
// what the collectives are defined to compute.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StoreServer } from '../src/distributed/index.js';
import { result, spawnRank } from './support/spawn.js';

const env = { FLATDIST_TOKEN: 'collectives-test-token' };

async function collectives(N: number) {
  const server = StoreServer.listen('127.0.0.1', 0);
  try {
    const ranks = Array.from({ length: N }, (_, rank) =>
      spawnRank('collectives', { rank, worldSize: N, host: '127.0.0.1', port: server.port, timeoutMs: 20000 }, env),
    );
    return (await Promise.all(ranks.map((r) => r.done))).map(result);
  } finally {
    server.close();
  }
}

for (const N of [2, 3, 4]) {
  test(`allreduce, allgather, broadcast and send/recv over ${N} processes`, async () => {
    const out = await collectives(N);
    const sum = (f: (r: number) => number) => Array.from({ length: N }, (_, r) => f(r)).reduce((a, b) => a + b, 0);
    for (const [rank, o] of out.entries()) {
      assert.equal(o.rank, rank);
      assert.deepEqual(o.allreduce, [sum((r) => r + 1), sum((r) => 10 * (r + 1)), sum((r) => -r)]);
      assert.deepEqual(
        o.allgather,
        Array.from({ length: N }, (_, r) => [r, r * r]),
      );
      assert.deepEqual(o.broadcast, [7, 8, 9]);
      const prev = (rank + N - 1) % N;
      assert.deepEqual(o.ring, [prev, 100 + prev]);
    }
  });
}

test('rank 0 can host the store on a port it picks and report it', async () => {
  const N = 2;
  const r0 = spawnRank(
    'collectives',
    { rank: 0, worldSize: N, host: '127.0.0.1', port: 0, serve: true, timeoutMs: 20000 },
    env,
  );
  const { listening } = await r0.line('listening');
  assert.ok(typeof listening === 'number' && listening > 0);
  const r1 = spawnRank(
    'collectives',
    { rank: 1, worldSize: N, host: '127.0.0.1', port: listening, timeoutMs: 20000 },
    env,
  );
  const [o0, o1] = (await Promise.all([r0.done, r1.done])).map(result);
  assert.deepEqual(o0.allreduce, [3, 30, -1]);
  assert.deepEqual(o1.allreduce, [3, 30, -1]);
});
