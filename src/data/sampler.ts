// Mini-batches for K agents. Agent k draws from its own part D_k with its own
// generator, seeded from (run seed, 'batches', k) alone — so a process that hosts only some of
// the agents draws, for each of them, exactly the batches the single-process
// simulator draws. Sampling is without replacement in epochs: the agent's stream
// of indices is a concatenation of independent random permutations of its part
// (libtorch's randperm), cut into consecutive batches of B; a batch may straddle
// two epochs, so every batch has exactly B examples even when B does not divide |D_k|.
// For stacked replicas of a network (the escape runner): the same epochs side by side, or
// batches drawn with replacement, independently at every step (ReplacementSampler).
import { ConfigError } from '../errors.js';
import { deriveSeed } from '../util/seed.js';
import { Generator, cat, fromArray, keep, rand, randperm, scope, type Tensor } from '../tensor/index.js';
import type { Dataset } from './dataset.js';

/** Everything needed to continue an agent's batch stream exactly; plain JSON. */
export interface SamplerState {
  agent: number;
  size: number;
  batchSize: number;
  /** Epochs begun before the current one. */
  epoch: number;
  /** Position in the current epoch's permutation. */
  cursor: number;
  /** Base64 of the generator state from which the current epoch's permutation was drawn. */
  generator: string;
}

export class AgentSampler {
  private readonly part: Int32Array;
  private readonly gen: Generator;
  private order = new Int32Array(0);
  private epochStart: Uint8Array = new Uint8Array(0);
  private cursor = 0;
  private epochsBegun = 0;

  /** `seed` is the run's seed: agent k's stream is Generator(deriveSeed(seed, 'batches', k)). */
  constructor(
    part: ArrayLike<number>,
    readonly batchSize: number,
    readonly seed: number | bigint,
    readonly agent: number,
  ) {
    if (part.length === 0) throw new ConfigError('partition', `agent ${agent} holds no data`);
    if (!Number.isInteger(batchSize) || batchSize < 1)
      throw new ConfigError('batchSize', `must be a positive integer, got ${batchSize}`);
    this.part = Int32Array.from(part);
    this.gen = new Generator(deriveSeed(seed, 'batches', agent));
    this.beginEpoch();
  }

  /** Completed passes over the agent's data. */
  get epoch(): number {
    return this.epochsBegun - 1;
  }

  /** The next B dataset indices of this agent. */
  next(): Int32Array {
    const batch = new Int32Array(this.batchSize);
    for (let i = 0; i < batch.length; i++) {
      if (this.cursor === this.order.length) this.beginEpoch();
      batch[i] = this.order[this.cursor++];
    }
    return batch;
  }

  state(): SamplerState {
    return {
      agent: this.agent,
      size: this.part.length,
      batchSize: this.batchSize,
      epoch: this.epochsBegun - 1,
      cursor: this.cursor,
      generator: Buffer.from(this.epochStart).toString('base64'),
    };
  }

  restore(s: SamplerState): void {
    if (s.agent !== this.agent || s.size !== this.part.length || s.batchSize !== this.batchSize) {
      throw new ConfigError(
        'resume',
        `sampler state of agent ${s.agent} (|D| = ${s.size}, B = ${s.batchSize}) does not fit agent ${this.agent} (|D| = ${this.part.length}, B = ${this.batchSize})`,
      );
    }
    if (!Number.isInteger(s.cursor) || s.cursor < 0 || s.cursor > s.size)
      throw new ConfigError('resume', `sampler cursor ${s.cursor} outside 0..${s.size}`);
    this.gen.state = new Uint8Array(Buffer.from(s.generator, 'base64'));
    this.epochsBegun = s.epoch;
    this.beginEpoch();
    this.cursor = s.cursor;
  }

  private beginEpoch(): void {
    this.epochStart = this.gen.state;
    const perm = scope(() => randperm(this.part.length, this.gen).toNumbers());
    this.order = Int32Array.from(perm, (i) => this.part[i]);
    this.cursor = 0;
    this.epochsBegun++;
  }
}

/** Samplers for the given agents (all by default), each on its own (seed, 'batches', k) stream. */
export function agentSamplers(
  parts: number[][],
  batchSize: number,
  seed: number | bigint,
  agents: number[] = parts.map((_, k) => k),
): AgentSampler[] {
  return agents.map((k) => new AgentSampler(parts[k], batchSize, seed, k));
}

/** A classification dataset as tensors, made once: x float32 [n, ...shape], y int64 [n]. */
export interface DatasetTensors {
  x: Tensor;
  y: Tensor;
  shape: number[];
  classes: number;
  n: number;
}

/** The dataset as tensors. They outlive any scope (keep); dispose() them when done. */
export function datasetTensors(ds: Dataset): DatasetTensors {
  return {
    x: keep(fromArray(ds.x, [ds.n, ...ds.shape])),
    y: keep(fromArray(ds.y, [ds.n])),
    shape: ds.shape,
    classes: ds.classes,
    n: ds.n,
  };
}

/** The batches of S stacked agents from flat dataset indices [S·B]: x [S, B, …], y [S, B]. */
export function gatherStacked(
  data: { x: Tensor; y: Tensor },
  index: Tensor,
  agents: number,
  batchSize: number,
): { x: Tensor; y: Tensor } {
  return scope(() => ({
    x: data.x.indexSelect(0, index).reshape([agents, batchSize, ...data.x.shape.slice(1)]),
    y: data.y.indexSelect(0, index).reshape([agents, batchSize]),
  }));
}

/** The batches of K agents at once, one indexSelect each: x [K, B, ...shape], y int64 [K, B]. */
export function gatherBatch(data: DatasetTensors, indices: Int32Array[]): { x: Tensor; y: Tensor } {
  const K = indices.length;
  if (K === 0) throw new RangeError('gatherBatch: no agents');
  const B = indices[0].length;
  if (indices.some((b) => b.length !== B))
    throw new RangeError(`gatherBatch: agents' batch sizes differ (${indices.map((b) => b.length).join(', ')})`);
  const flat = new Int32Array(K * B);
  indices.forEach((b, k) => flat.set(b, k * B));
  return scope(() => gatherStacked(data, fromArray(flat), K, B));
}

/** Batch indices for S stacked agents, step after step: next() gives [S·B] dataset indices, agent by agent. */
export interface StackedDraws {
  next(): Tensor;
  dispose(): void;
}

/** Epoch samplers (AgentSampler) of S stacked agents, drawing side by side. */
export function epochDraws(samplers: AgentSampler[]): StackedDraws {
  return {
    next: () => {
      const B = samplers[0].batchSize;
      const flat = new Int32Array(samplers.length * B);
      samplers.forEach((s, i) => flat.set(s.next(), i * B));
      return fromArray(flat);
    },
    dispose: () => undefined,
  };
}

/**
 * B indices for every agent of R replicas, drawn uniformly with replacement from the
 * agent's part, independently at every step: ⌊u·N_k⌋ for u ~ U[0, 1) in float64, from one
 * generator per replica. next() gives [R·K·B] indices, replica by replica, agent by agent.
 */
export class ReplacementSampler implements StackedDraws {
  private readonly gens: Generator[];
  private readonly order: Tensor;
  private readonly sizes: Tensor;
  private readonly last: Tensor;
  private readonly offsets: Tensor;

  constructor(
    parts: ArrayLike<number>[],
    readonly batchSize: number,
    seeds: (number | bigint)[],
  ) {
    if (parts.some((part) => part.length === 0)) throw new ConfigError('partition', 'an agent holds no data');
    const sizes = parts.map((part) => part.length);
    this.gens = seeds.map((seed) => new Generator(seed));
    this.order = keep(fromArray(Int32Array.from(parts.flatMap((part) => Array.from(part)))));
    this.sizes = keep(fromArray(Float64Array.from(sizes), [sizes.length, 1]));
    this.last = keep(
      fromArray(
        Int32Array.from(sizes, (n) => n - 1),
        [sizes.length, 1],
      ),
    );
    this.offsets = keep(
      fromArray(
        Int32Array.from(sizes, (_, k) => sizes.slice(0, k).reduce((a, b) => a + b, 0)),
        [sizes.length, 1],
      ),
    );
  }

  next(): Tensor {
    return scope(() => {
      const K = this.sizes.shape[0];
      // The floor is the truncation to int64; minimum() guards u·N_k rounding up to N_k.
      const local = this.gens.map((gen) =>
        rand([K, this.batchSize], gen, 'float64')
          .mul(this.sizes)
          .to('int64')
          .minimum(this.last)
          .add(this.offsets)
          .reshape([-1]),
      );
      return this.order.indexSelect(0, cat(local, 0));
    });
  }

  dispose(): void {
    for (const t of [this.order, this.sizes, this.last, this.offsets]) t.dispose();
  }
}
