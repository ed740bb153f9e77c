// When a process dies, the others stop within the timeout with an error naming it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StoreServer } from '../src/distributed/index.js';
import { spawnRank, type Running } from './support/spawn.js';

const env = { FLATDIST_TOKEN: 'faults-test-token' };
const timeoutMs = 5000;

async function killOne(ranks: Running[], victim: number) {
  await Promise.all(ranks.map((r) => r.line('joined')));
  await new Promise((resolve) => setTimeout(resolve, 300));
  const killedAt = Date.now();
  ranks[victim].child.kill('SIGKILL');
  const finished = await Promise.all(ranks.map((r) => r.done));
  return { finished, killedAt, stoppedAt: Date.now() };
}

test('a killed rank: the survivors stop within the timeout, naming it', async () => {
  const server = StoreServer.listen();
  try {
    const ranks = [0, 1, 2].map((rank) =>
      spawnRank('steps', { rank, worldSize: 3, host: '127.0.0.1', port: server.port, timeoutMs }, env),
    );
    const { finished, killedAt, stoppedAt } = await killOne(ranks, 2);
    assert.equal(finished[2].signal, 'SIGKILL');
    for (const f of finished.slice(0, 2)) {
      assert.equal(f.code, 1);
      assert.match(f.stderr, /DistError: rank [01]: allreduce failed: .* — rank 2 is gone/);
    }
    assert.ok(stoppedAt - killedAt < timeoutMs + 3000, `survivors took ${stoppedAt - killedAt} ms`);
  } finally {
    server.close();
  }
});

test('the rank that hosts the store dies: the others say so', async () => {
  const r0 = spawnRank('steps', { rank: 0, worldSize: 3, host: '127.0.0.1', port: 0, serve: true, timeoutMs }, env);
  const port = (await r0.line('listening')).listening as number;
  const others = [1, 2].map((rank) =>
    spawnRank('steps', { rank, worldSize: 3, host: '127.0.0.1', port, timeoutMs }, env),
  );
  const { finished, killedAt, stoppedAt } = await killOne([r0, ...others], 0);
  for (const f of finished.slice(1)) {
    assert.equal(f.code, 1);
    assert.match(f.stderr, /rank 0, which hosted it, is gone/);
  }
  assert.ok(stoppedAt - killedAt < timeoutMs + 3000, `survivors took ${stoppedAt - killedAt} ms`);
});
