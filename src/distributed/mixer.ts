/*
 * The combination step across processes. With stacked parameters W (one row
 * per agent) and a combination matrix A (a_{lk}: the weight agent k gives
 * agent l, columns summing to one), agent k needs
 *
 *   w_k ← Σ_{l ∈ N_k} a_{lk} w_l,
 *
 * i.e. the columns of Aᵀ·W for the agents this rank hosts. Rank r sends rank q
 * the rows of its agents l with a_{lk} ≠ 0 for some agent k of q, and receives
 * the rows it needs likewise: point to point, only between neighbouring ranks,
 * one message per neighbour carrying every parameter tensor. When A = 11ᵀ/K
 * (centralized) every agent needs every row, and one allreduce of the local sums
 * gives (1/K) Σ_l w_l instead.
 */
import type { Mixer } from '../algorithms/recursion.js';
import { cat, fromArray, scope, zeros, type Tensor } from '../tensor/index.js';
import type { ProcessGroup } from './group.js';
import { hostedAgents } from './placement.js';

const exchangeTag = 0x6d6978; // 'mix'

/** Who sends which rows to whom for one combination matrix. */
export interface ExchangePlan {
  /** rank → positions (in this rank's stack) of the rows it needs from us. */
  sendTo: Map<number, number[]>;
  /** rank → the agents whose rows we need from it, in increasing order. */
  recvFrom: Map<number, number[]>;
}

/** The exchange rank needs for A (row-major K×K entries); zero weights exchange nothing. */
export function exchangePlan(a: ArrayLike<number>, owner: number[], rank: number): ExchangePlan {
  const K = owner.length;
  const mine = hostedAgents(owner, rank);
  const sendTo = new Map<number, number[]>();
  const recvFrom = new Map<number, number[]>();
  const add = (m: Map<number, number[]>, q: number, x: number): void => {
    const list = m.get(q) ?? [];
    if (list[list.length - 1] !== x) list.push(x);
    m.set(q, list);
  };
  mine.forEach((l, pos) => {
    for (let k = 0; k < K; k++) if (owner[k] !== rank && a[l * K + k] !== 0) add(sendTo, owner[k], pos);
  });
  for (let l = 0; l < K; l++) {
    if (owner[l] === rank) continue;
    if (mine.some((k) => a[l * K + k] !== 0)) add(recvFrom, owner[l], l);
  }
  return { sendTo, recvFrom };
}

function isAveraging(a: ArrayLike<number>, K: number): boolean {
  for (let i = 0; i < a.length; i++) if (Math.abs(a[i] - 1 / K) > 1e-6 / K) return false;
  return true;
}

export class NeighborMixer implements Mixer {
  /** The agents this rank hosts, in the order of its stacked rows. */
  readonly hosted: number[];
  /** Bytes this rank sent in the last mix and in all mixes so far. */
  lastBytesSent = 0;
  totalBytesSent = 0;
  /** Combination steps done (one per training step for the named algorithms). */
  mixes = 0;

  constructor(
    private readonly group: ProcessGroup,
    private readonly owner: number[],
  ) {
    this.hosted = hostedAgents(owner, group.rank);
  }

  mix(A: Tensor, w: Tensor[]): Tensor[] {
    const K = this.owner.length;
    if (A.shape[0] !== K || A.shape[1] !== K)
      throw new Error(`NeighborMixer: A is [${A.shape}], expected [${K}, ${K}]`);
    for (const p of w)
      if (p.shape[0] !== this.hosted.length)
        throw new Error(
          `NeighborMixer: a parameter stack has ${p.shape[0]} rows, this rank hosts ${this.hosted.length} agents`,
        );
    const a = Array.from(A.toArray(), Number);
    const before = this.group.stats.bytesSent;
    const out = isAveraging(a, K) ? this.average(w, K) : this.neighbours(A, a, w);
    this.lastBytesSent = this.group.stats.bytesSent - before;
    this.totalBytesSent += this.lastBytesSent;
    this.mixes += 1;
    return out;
  }

  private average(w: Tensor[], K: number): Tensor[] {
    return scope(() => {
      const sums = cat(
        w.map((p) => p.sum(0).reshape([-1])),
        0,
      );
      this.group.allreduce(sums);
      let offset = 0;
      return w.map((p) => {
        const rest = p.shape.slice(1);
        const n = rest.reduce((x, y) => x * y, 1);
        const mean = sums
          .narrow(0, offset, n)
          .div(K)
          .reshape([1, ...rest]);
        offset += n;
        return mean.expand(p.shape).contiguous();
      });
    });
  }

  private neighbours(A: Tensor, a: number[], w: Tensor[]): Tensor[] {
    const plan = exchangePlan(a, this.owner, this.group.rank);
    const index = (xs: number[]): Tensor => fromArray(Int32Array.from(xs));
    const widths = w.map((p) => p.numel / p.shape[0]);
    const dtype = w[0].dtype;
    if (w.some((p) => p.dtype !== dtype))
      throw new Error('NeighborMixer: every parameter tensor must have the same dtype');
    return scope(() => {
      const sends = [...plan.sendTo].map(([to, rows]) => ({
        to,
        tensor: cat(
          w.map((p) => p.indexSelect(0, index(rows)).reshape([-1])),
          0,
        ),
      }));
      const recvs = [...plan.recvFrom].map(([from, agents]) => ({
        from,
        agents,
        tensor: zeros([agents.length * widths.reduce((x, y) => x + y, 0)], dtype),
      }));
      this.group.exchange(sends, recvs, exchangeTag);
      const available = [...this.hosted, ...recvs.flatMap((r) => r.agents)];
      const weights = A.indexSelect(0, index(available)).indexSelect(1, index(this.hosted)).to(dtype);
      return w.map((p, i) => {
        const received = recvs.map((r) => {
          const offset = r.agents.length * widths.slice(0, i).reduce((x, y) => x + y, 0);
          return r.tensor.narrow(0, offset, r.agents.length * widths[i]).reshape([r.agents.length, widths[i]]);
        });
        const rows = cat([p.reshape([p.shape[0], widths[i]]), ...received], 0);
        return weights.mT.mm(rows).reshape(p.shape);
      });
    });
  }
}
