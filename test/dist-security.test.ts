// The store listens on loopback unless told otherwise, joining needs the shared
// token, and a stranger's bytes on the store's port leave the group working.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import { ConfigError } from '../src/errors.js';
import { StoreServer, resolveToken } from '../src/distributed/index.js';
import { result, spawnRank } from './support/spawn.js';

const open = (host: string, port: number): Promise<Socket> =>
  new Promise((resolve, reject) => {
    const s = connect({ host, port }, () => resolve(s));
    s.on('error', reject);
  });

const u64 = (n: bigint): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(n);
  return b;
};

async function group(N: number, port: number, tokens: string[], timeoutMs = 20000) {
  const ranks = tokens
    .slice(0, N)
    .map((token, rank) =>
      spawnRank('collectives', { rank, worldSize: N, host: '127.0.0.1', port, timeoutMs }, { FLATDIST_TOKEN: token }),
    );
  return Promise.all(ranks.map((r) => r.done));
}

test('the store listens on 127.0.0.1 only: another address of this machine is refused', async (t) => {
  const external = Object.values(networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal);
  if (!external) return t.skip('this machine has no non-loopback IPv4 address');
  const server = StoreServer.listen();
  try {
    await assert.rejects(open(external.address, server.port), /ECONNREFUSED/);
    (await open('127.0.0.1', server.port)).destroy();
  } finally {
    server.close();
  }
});

test("a stranger's bytes on the store's port do not stop the group", async () => {
  const server = StoreServer.listen();
  const port = server.port;
  try {
    // Random bytes, then gone.
    const a = await open('127.0.0.1', port);
    a.end(randomBytes(4096));
    // Half a SET (a key said to be 1 MB long), held open: the server must not wait on it.
    const held = await open('127.0.0.1', port);
    held.write(Buffer.concat([Buffer.of(0), u64(1_000_000n), Buffer.from('0123456789')]));
    // Lengths no store should allocate, and a query byte the protocol lacks.
    const b = await open('127.0.0.1', port);
    b.end(Buffer.concat([Buffer.of(2), u64(1n << 62n)]));
    const c = await open('127.0.0.1', port);
    c.end(Buffer.concat([Buffer.of(0), u64(4n), Buffer.from('/key'), u64(1n << 40n)]));
    const d = await open('127.0.0.1', port);
    d.end(Buffer.of(200, 1, 2, 3));
    const started = Date.now();
    const [r0, r1] = await group(2, port, ['same-token', 'same-token']);
    assert.deepEqual(result(r0).allreduce, [3, 30, -1]);
    assert.deepEqual(result(r1).allreduce, [3, 30, -1]);
    assert.ok(Date.now() - started < 15000);
    held.destroy();
  } finally {
    server.close();
  }
});

test('a wrong token is refused on both sides within seconds, naming the rank', async () => {
  const server = StoreServer.listen();
  try {
    const [r0, r1] = await group(2, server.port, ['right-token', 'wrong-token'], 30000);
    assert.equal(r0.code, 1);
    assert.equal(r1.code, 1);
    assert.match(r0.stderr, /DistError: rank 0: rank 1 presented a wrong token/);
    assert.match(r1.stderr, /DistError: rank 1: wrong token/);
    assert.ok(r0.ms < 10000 && r1.ms < 10000, `took ${r0.ms} and ${r1.ms} ms with a 30 s timeout`);
  } finally {
    server.close();
  }
});

test('one wrong joiner: the others are told which rank it was', async () => {
  const server = StoreServer.listen();
  try {
    const [r0, r1, r2] = await group(3, server.port, ['t', 't', 'not-t'], 30000);
    assert.match(r0.stderr, /rank 2 presented a wrong token/);
    assert.match(r1.stderr, /rank 0 refused rank 2/);
    assert.match(r2.stderr, /rank 2: wrong token/);
    assert.ok(Math.max(r0.ms, r1.ms, r2.ms) < 10000);
  } finally {
    server.close();
  }
});

test('no token, no join: --token or FLATDIST_TOKEN is required', () => {
  assert.throws(
    () => resolveToken(undefined, {}),
    (e: unknown) => e instanceof ConfigError && /--token.*FLATDIST_TOKEN/.test(e.message),
  );
  assert.equal(resolveToken(undefined, { FLATDIST_TOKEN: 'x' }), 'x');
  assert.equal(resolveToken('y', { FLATDIST_TOKEN: 'x' }), 'y');
});
