// Joining needs a shared token. The store carries no secret: rank 0 publishes a
// fresh nonce and its proof HMAC(token, nonce‖0); every other rank publishes its
// own proof HMAC(token, nonce‖r) and checks rank 0's; rank 0 checks every proof
// and publishes a verdict before anyone joins the Gloo group. So a wrong token
// fails on both sides within one round trip, naming the rank, instead of
// leaving the group to time out. The token itself never crosses the wire. (The
// store and Gloo's traffic are not encrypted: on a shared network, keep the
// store on a private interface.)
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ConfigError, DistError } from '../errors.js';
import type { Store } from './store.js';

const scheme = 'flatdist-join-v1';
const authKeys = {
  nonce: 'flatdist/auth/nonce',
  proof: (rank: number) => `flatdist/auth/proof/${rank}`,
  verdict: 'flatdist/auth/verdict',
};

/** The token from --token, else FLATDIST_TOKEN; refuses to go on without one. */
export function resolveToken(option: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const token = option ?? env.FLATDIST_TOKEN;
  if (!token) throw new ConfigError('--token', 'joining a group needs a shared token: pass --token or set FLATDIST_TOKEN to the same value in every process');
  return token;
}

/** HMAC-SHA256(token, scheme|nonce|rank), hex. */
export function proof(token: string, nonce: string, rank: number): string {
  return createHmac('sha256', token).update(`${scheme}|${nonce}|${rank}`).digest('hex');
}

const same = (a: string, b: string): boolean => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/** Runs the token check for this rank; throws DistError when a token differs. */
export function authenticate(store: Store, rank: number, worldSize: number, token: string): void {
  const where = `the store at ${store.address.host}:${store.address.port}`;
  if (rank === 0) {
    const nonce = randomBytes(16).toString('hex');
    store.set(authKeys.nonce, nonce);
    store.set(authKeys.proof(0), proof(token, nonce, 0));
    for (let r = 1; r < worldSize; r++) {
      if (!same(store.getString(authKeys.proof(r)), proof(token, nonce, r))) {
        store.set(authKeys.verdict, `refused ${r}`);
        throw new DistError(`rank 0: rank ${r} presented a wrong token; give every process the same --token or FLATDIST_TOKEN`, r);
      }
    }
    store.set(authKeys.verdict, 'ok');
    return;
  }
  const nonce = store.getString(authKeys.nonce);
  store.set(authKeys.proof(rank), proof(token, nonce, rank));
  if (!same(store.getString(authKeys.proof(0)), proof(token, nonce, 0))) {
    throw new DistError(`rank ${rank}: wrong token — ${where} belongs to a group with a different token; pass rank 0's --token or FLATDIST_TOKEN`, rank);
  }
  const verdict = store.getString(authKeys.verdict);
  if (verdict !== 'ok') {
    const refused = Number(verdict.split(' ')[1]);
    throw new DistError(`rank ${rank}: rank 0 refused rank ${refused}, which presented a wrong token; the group cannot form`, refused);
  }
}
