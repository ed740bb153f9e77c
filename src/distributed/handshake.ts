// The join, before Gloo sees a rank. Through the store, every rank
//   1. claims its rank (adds 1 at flatdist/join/claim/r): a second process with
//      the same rank is refused;
//   2. publishes its record: the world size it was given, the run it will train
//      (see agreedRun in run.ts) and the SHA-256 of that run in canonical JSON;
//   3. proves it holds the group's token (auth.ts).
// Rank 0 publishes its record, the nonce and its proof, then takes the ranks in
// turn: the proof, then the record against its own; it ends with a verdict ('ok',
// or the rank it refused and why). Every other rank publishes its record before
// its proof, so rank 0 never waits for a rank once one record tells it the group
// cannot form; each also checks rank 0's proof and record itself, then reads the
// verdict. A wrong token, another world size or another run thus stops every
// rank within one round trip, naming the rank and the fields that differ — before
// Gloo, whose rendezvous would stop with an internal assertion or a timeout.
// Last, each rank leaves a receipt, so that a rank hosting the store which cannot
// join keeps it open until the others have read why (awaitReceipts).
// examples/pytorch_agent.py joins the same way, key for key.
import { createHash, randomBytes } from 'node:crypto';
import { authKeys, proof, proves } from './auth.js';
import { DistError } from '../errors.js';
import { formatStoreAddress, type Store } from './store.js';
import { kebab } from '../train/fields.js';

export const joinKeys = {
  claim: (rank: number) => `flatdist/join/claim/${rank}`,
  record: (rank: number) => `flatdist/join/record/${rank}`,
  verdict: 'flatdist/join/verdict',
  receipt: (rank: number) => `flatdist/join/done/${rank}`,
};

/** What a rank brings to its group: the world size it was given and the run it will train. */
export interface JoinRecord {
  worldSize: number;
  /** SHA-256 (hex) of canonicalJson(run). */
  hash: string;
  run: Record<string, unknown>;
}

/** Rank 0's word: every rank may go on, or which rank it refused and why. */
type Verdict =
  | 'ok'
  | { refused: number; why: 'token' | 'no-record' | 'absent' }
  | { refused: number; why: 'run'; differences: string[] };

/** JSON with the keys of every object sorted: equal values give equal text, hence equal hashes. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    const keys = Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function joinRecord(worldSize: number, run: Record<string, unknown>): JoinRecord {
  return { worldSize, hash: createHash('sha256').update(canonicalJson(run)).digest('hex'), run };
}

const flag = (field: string): string => `--${kebab(field)}`;

/**
 * What two ranks' records disagree on, one entry per field, as
 * "--step-size: 0.1 on rank 0, 0.2 on rank 1" (values in canonical JSON). Empty when they agree.
 */
export function differences(a: JoinRecord, rankA: number, b: JoinRecord, rankB: number): string[] {
  const pair = (x: string, y: string): string => `${x} on rank ${rankA}, ${y} on rank ${rankB}`;
  const out: string[] = [];
  if (a.worldSize !== b.worldSize) out.push(`--world-size: ${pair(String(a.worldSize), String(b.worldSize))}`);
  if (a.hash === b.hash) return out;
  const show = (r: Record<string, unknown>, k: string): string => (k in r ? canonicalJson(r[k]) : '(absent)');
  const fields = [...new Set([...Object.keys(a.run), ...Object.keys(b.run)])].sort();
  const differing = fields.filter((k) => show(a.run, k) !== show(b.run, k));
  // Equal fields under unequal hashes: one side hashes differently (another implementation).
  if (differing.length === 0) out.push(`the run's hash: ${pair(a.hash, b.hash)}`);
  for (const k of differing) out.push(`${flag(k)}: ${pair(show(a.run, k), show(b.run, k))}`);
  return out;
}

const fix = 'start every process with the same train options and --world-size';

/** Waits for key (up to the store's timeout); a timeout says whose word never came. */
function awaitValue(store: Store, key: string, rank: number, awaited: string): string {
  try {
    return store.getString(key);
  } catch (e) {
    const why = e instanceof Error ? e.message.split('\n')[0] : String(e);
    throw new DistError(
      `rank ${rank}: no word from ${awaited} within ${store.timeoutMs / 1000} s (${why}) — is every process started, with --store ${formatStoreAddress(store.address)} and the same --world-size?`,
    );
  }
}

function parseRecord(text: string): JoinRecord | null {
  try {
    const r = JSON.parse(text) as Partial<JoinRecord>;
    return typeof r.worldSize === 'number' && typeof r.hash === 'string' && r.run !== null && typeof r.run === 'object'
      ? (r as JoinRecord)
      : null;
  } catch {
    return null;
  }
}

/**
 * This rank's part of the join (see the top of this file); returns when rank 0 has
 * accepted every rank.
 * @throws DistError when the rank is taken, a token is wrong, a rank's world size or run differs from rank 0's, or a rank never comes
 */
export function handshake(
  store: Store,
  rank: number,
  worldSize: number,
  token: string,
  run: Record<string, unknown>,
): void {
  if (store.add(joinKeys.claim(rank), 1) > 1) {
    throw new DistError(
      `rank ${rank}: another process already joined this group as rank ${rank} — give each process its own --rank`,
      rank,
    );
  }
  const mine = joinRecord(worldSize, run);
  store.set(joinKeys.record(rank), JSON.stringify(mine));
  try {
    if (rank === 0) lead(store, mine, token);
    else follow(store, rank, mine, token);
  } finally {
    try {
      store.set(joinKeys.receipt(rank), '1');
    } catch {
      // The store is gone, and with it whoever would read the receipt.
    }
  }
}

/**
 * For a rank that hosts the store and could not join: waits (up to the store's
 * timeout) for the receipt of every other rank that began the handshake, so each
 * reads why the group cannot form before the store closes.
 */
export function awaitReceipts(store: Store, rank: number, worldSize: number): void {
  try {
    const begun = Array.from({ length: worldSize }, (_, r) => r).filter(
      (r) => r !== rank && store.check([joinKeys.record(r)]),
    );
    store.wait(begun.map(joinKeys.receipt), store.timeoutMs);
  } catch {
    // A rank that died mid-handshake leaves no receipt; the store closes all the same.
  }
}

function lead(store: Store, mine: JoinRecord, token: string): void {
  const nonce = randomBytes(16).toString('hex');
  store.set(authKeys.nonce, nonce);
  store.set(authKeys.proof(0), proof(token, nonce, 0));
  // Every rank reads the verdict, so each one learns why the group cannot form.
  const refusal = (verdict: Exclude<Verdict, 'ok'>, message: string): DistError => {
    store.set(joinKeys.verdict, JSON.stringify(verdict));
    return new DistError(message, verdict.refused);
  };
  for (let r = 1; r < mine.worldSize; r++) {
    let published: string;
    try {
      published = awaitValue(store, authKeys.proof(r), 0, `rank ${r}`);
    } catch (e) {
      throw refusal({ refused: r, why: 'absent' }, (e as Error).message);
    }
    if (!proves(published, token, nonce, r)) {
      throw refusal(
        { refused: r, why: 'token' },
        `rank 0: rank ${r} presented a wrong token; give every process the same --token or FLATDIST_TOKEN`,
      );
    }
    // A rank's record precedes its proof on its one connection, so it is here by now, or never comes.
    const theirs = store.check([joinKeys.record(r)]) ? parseRecord(store.getString(joinKeys.record(r))) : null;
    if (theirs === null) {
      throw refusal(
        { refused: r, why: 'no-record' },
        `rank 0: rank ${r} joined without saying which run it trains (an older flatdist or pytorch_agent.py?); give every process the same version`,
      );
    }
    const diff = differences(mine, 0, theirs, r);
    if (diff.length > 0)
      throw refusal(
        { refused: r, why: 'run', differences: diff },
        `rank 0: rank ${r} disagrees with rank 0 on the run — ${diff.join('; ')}; ${fix}`,
      );
  }
  store.set(joinKeys.verdict, JSON.stringify('ok'));
}

const reasons: Record<Exclude<Verdict, 'ok'>['why'], string> = {
  token: 'which presented a wrong token',
  'no-record': 'which joined without a record of its run',
  absent: 'which did not join in time',
  run: 'which disagrees with rank 0 on the run',
};

function follow(store: Store, rank: number, mine: JoinRecord, token: string): void {
  const nonce = awaitValue(store, authKeys.nonce, rank, 'rank 0');
  store.set(authKeys.proof(rank), proof(token, nonce, rank));
  if (!proves(store.getString(authKeys.proof(0)), token, nonce, 0)) {
    throw new DistError(
      `rank ${rank}: wrong token — the store at ${formatStoreAddress(store.address)} belongs to a group with a different token; pass rank 0's --token or FLATDIST_TOKEN`,
      rank,
    );
  }
  const lead = parseRecord(store.getString(joinKeys.record(0)));
  if (lead === null)
    throw new DistError(
      `rank ${rank}: rank 0 published no readable record of its run; give every process the same flatdist version`,
      0,
    );
  const diff = differences(lead, 0, mine, rank);
  if (diff.length > 0)
    throw new DistError(`rank ${rank}: this rank disagrees with rank 0 on the run — ${diff.join('; ')}; ${fix}`, rank);
  const verdict = JSON.parse(
    awaitValue(store, joinKeys.verdict, rank, "rank 0's verdict (it waits for every rank to join)"),
  ) as Verdict;
  if (verdict === 'ok') return;
  const detail = verdict.why === 'run' ? ` — ${verdict.differences.join('; ')}` : '';
  throw new DistError(
    `rank ${rank}: rank 0 refused rank ${verdict.refused}, ${reasons[verdict.why]}${detail}; the group cannot form`,
    verdict.refused,
  );
}
