// Bringing every agent's state to every rank, for evaluation and checkpoints.
import { cat, fromArray, scope, zeros, type Tensor } from '../tensor/index.js';
import type { ProcessGroup } from './group.js';
import { hostedAgents } from './placement.js';

/**
 * Stacked parameters of the hosted agents ([h_r, ...] on rank r) → the stack of
 * all K agents ([K, ...], agent order) on every rank. Ranks hosting fewer agents
 * pad to the largest count, since allgather moves equal sizes.
 */
export function gatherAgents(group: ProcessGroup, owner: number[], w: Tensor[]): Tensor[] {
  const hosted = Array.from({ length: group.worldSize }, (_, r) => hostedAgents(owner, r));
  const widest = Math.max(...hosted.map((h) => h.length));
  const rowOf = owner.map((r, k) => r * widest + hosted[r].indexOf(k));
  return scope(() =>
    w.map((p) => {
      const rest = p.shape.slice(1);
      const padded =
        p.shape[0] === widest ? p.contiguous() : cat([p, zeros([widest - p.shape[0], ...rest], p.dtype)], 0);
      const all = cat(group.allgather(padded), 0);
      return all.indexSelect(0, fromArray(Int32Array.from(rowOf)));
    }),
  );
}

/** Every rank's JSON-serialisable value, in rank order. */
export function allgatherJson<T>(group: ProcessGroup, value: T): T[] {
  return scope(() => {
    const bytes = Buffer.from(JSON.stringify(value), 'utf8');
    const lengths = group.allgather(fromArray(Int32Array.of(bytes.length))).map((t) => t.item());
    const longest = Math.max(...lengths);
    const padded = new Int32Array(longest);
    padded.set(bytes);
    const all = group.allgather(fromArray(padded));
    return all.map(
      (t, r) => JSON.parse(Buffer.from(Array.from(t.toArray(), Number).slice(0, lengths[r])).toString('utf8')) as T,
    );
  });
}
