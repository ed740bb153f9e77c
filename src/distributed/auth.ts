// Joining needs a shared token. The store carries no secret: rank 0 publishes a
// fresh nonce and its proof HMAC(token, nonce‖0); every other rank publishes its
// own proof HMAC(token, nonce‖r) and checks rank 0's; rank 0 checks every proof
// (see handshake.ts for the order of the join). So a wrong token fails on both
// sides within one round trip, naming the rank, instead of leaving the group to
// time out. The token itself never crosses the wire. (The store and Gloo's
// traffic are not encrypted: on a shared network, keep the store on a private
// interface.)
import { createHmac, timingSafeEqual } from 'node:crypto';
import { ConfigError } from '../errors.js';

const scheme = 'flatdist-join-v1';
export const authKeys = {
  nonce: 'flatdist/auth/nonce',
  proof: (rank: number) => `flatdist/auth/proof/${rank}`,
};

/** The token from --token, else FLATDIST_TOKEN; refuses to go on without one. */
export function resolveToken(option: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const token = option ?? env.FLATDIST_TOKEN;
  if (!token)
    throw new ConfigError(
      'token',
      'joining a group needs a shared token: pass --token or set FLATDIST_TOKEN to the same value in every process',
    );
  return token;
}

/** HMAC-SHA256(token, scheme|nonce|rank), hex. */
export function proof(token: string, nonce: string, rank: number): string {
  return createHmac('sha256', token).update(`${scheme}|${nonce}|${rank}`).digest('hex');
}

/** Whether a published proof is rank's proof of token, compared in constant time. */
export function proves(published: string, token: string, nonce: string, rank: number): boolean {
  const expected = proof(token, nonce, rank);
  return published.length === expected.length && timingSafeEqual(Buffer.from(published), Buffer.from(expected));
}
