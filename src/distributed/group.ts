// A process group over Gloo, the engine torch.distributed uses on CPUs: one
// process per rank, rendezvous through the store, then point-to-point and
// collective operations on CPU tensors. Every call blocks until done; a failure
// (timeout, a peer gone, a wrong token, a disagreement on the run) is a
// DistError that names the rank.
import { hostname } from 'node:os';
import { ConfigError, DistError } from '../errors.js';
import { wrap, type Tensor } from '../tensor/tensor.js';
import { awaitReceipts, handshake } from './handshake.js';
import { distNative, type DeviceKind, type NativeProcessGroup } from './c10d.js';
import { Store, StoreServer, aliveKey, formatStoreAddress, goneKey, type StoreAddress } from './store.js';

/** Sixty seconds, as torch.distributed's Gloo default. */
export const defaultTimeoutMs = 60_000;

/** Where Gloo's sockets listen: the address a host name resolves to, or a network interface. */
export type Device = { hostname: string } | { interface: string };

export interface JoinOptions {
  rank: number;
  worldSize: number;
  /** The store to join; with serve, the address to listen on (port 0 picks one). */
  store: StoreAddress;
  token: string;
  /**
   * What every rank must agree on (JSON values; a run's, see agreedRun), compared
   * field by field with rank 0's before Gloo is joined. Default {}.
   */
  run?: Record<string, unknown>;
  /** Bound on every wait: rendezvous, each operation, a peer's silence. */
  timeoutMs?: number;
  /** Gloo's device; default 127.0.0.1 when the store is on loopback, else this machine's host name. */
  device?: Device;
  /** Host the store in this process before joining. */
  serve?: boolean;
  /** Called once the served store listens (before joining blocks), with its address. */
  onListening?: (address: StoreAddress) => void;
}

/** Traffic and time of this process's communication so far. */
export interface CommStats {
  /** Bytes this rank put on the wire: exact for point to point, ring-algorithm volume for collectives. */
  bytesSent: number;
  /** Wall-clock seconds spent inside communication calls. */
  seconds: number;
  calls: number;
}

const servedByKey = 'flatdist/store/served-by';
const isLoopback = (host: string): boolean => host === 'localhost' || host === '::1' || host.startsWith('127.');
const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

function checkRank(rank: number, worldSize: number): void {
  if (!Number.isInteger(worldSize) || worldSize < 1)
    throw new ConfigError('worldSize', `must be a positive integer, got ${worldSize}`);
  if (!Number.isInteger(rank) || rank < 0 || rank >= worldSize)
    throw new ConfigError('rank', `must be an integer in 0..${worldSize - 1}, got ${rank}`);
}

export class ProcessGroup {
  readonly stats: CommStats = { bytesSent: 0, seconds: 0, calls: 0 };

  private constructor(
    readonly rank: number,
    readonly worldSize: number,
    readonly timeoutMs: number,
    readonly store: Store,
    private readonly group: NativeProcessGroup,
    private readonly server: StoreServer | null,
    /** The rank whose process serves the store, when one does. */
    readonly storeHost: number | null,
  ) {}

  /** Joins (and with serve, first hosts) the group; blocks until every rank has joined. */
  static join(o: JoinOptions): ProcessGroup {
    checkRank(o.rank, o.worldSize);
    const timeoutMs = o.timeoutMs ?? defaultTimeoutMs;
    if (!(timeoutMs > 0))
      throw new ConfigError('timeout', `must be a positive number of milliseconds, got ${timeoutMs}`);
    const server = o.serve ? StoreServer.listen(o.store.host, o.store.port, { host: 'store', port: 'store' }) : null;
    let address = o.store;
    if (server) {
      // A wildcard listen address is not one to connect to; this process reaches its own store on loopback.
      const connectHost = o.store.host === '0.0.0.0' || o.store.host === '::' ? '127.0.0.1' : o.store.host;
      address = { host: connectHost, port: server.port };
      o.onListening?.(server.address);
    }
    let store: Store | null = null;
    try {
      store = new Store(address, timeoutMs);
      // Before the handshake, hence before rank 0's verdict: every rank that passes can read it.
      if (server) store.set(servedByKey, String(o.rank));
      handshake(store, o.rank, o.worldSize, o.token, o.run ?? {});
      const servedBy = store.check([servedByKey]) ? Number(store.getString(servedByKey)) : null;
      store.set(aliveKey(o.rank), String(process.pid));
      const device = o.device ?? { hostname: isLoopback(address.host) ? '127.0.0.1' : hostname() };
      const [kind, name]: [DeviceKind, string] =
        'hostname' in device ? ['hostname', device.hostname] : ['interface', device.interface];
      const group = new distNative.ProcessGroup(store.native, o.rank, o.worldSize, timeoutMs, kind, name);
      return new ProcessGroup(o.rank, o.worldSize, timeoutMs, store, group, server, servedBy);
    } catch (e) {
      if (server && store) awaitReceipts(store, o.rank, o.worldSize);
      store?.close();
      server?.close();
      if (e instanceof DistError || e instanceof ConfigError) throw e;
      throw new DistError(
        `rank ${o.rank}: cannot join the group of ${o.worldSize} through the store at ${formatStoreAddress(address)}: ${message(e)}`,
      );
    }
  }

  /** The store's address when this process serves it. */
  get servedAt(): StoreAddress | null {
    return this.server ? this.server.address : null;
  }

  send(t: Tensor, dst: number, tag = 0): void {
    this.run(t.bytes, () => this.group.send(t.handle, dst, tag));
  }

  /** Receives into t (same shape and dtype as what src sends). */
  recv(t: Tensor, src: number, tag = 0): void {
    this.run(0, () => this.group.recv(t.handle, src, tag));
  }

  /** Posts every send and receive at once, then waits for all (neighbour exchanges cannot deadlock). */
  exchange(sends: { tensor: Tensor; to: number }[], recvs: { tensor: Tensor; from: number }[], tag = 0): void {
    const bytes = sends.reduce((s, x) => s + x.tensor.bytes, 0);
    this.run(bytes, () =>
      this.group.exchange(
        sends.map((s) => s.tensor.handle),
        sends.map((s) => s.to),
        recvs.map((r) => r.tensor.handle),
        recvs.map((r) => r.from),
        tag,
      ),
    );
  }

  /** In place: t ← Σ over ranks of t. Returns t. */
  allreduce(t: Tensor): Tensor {
    this.run(this.ringVolume(t.bytes), () => this.group.allreduce(t.handle));
    return t;
  }

  /** Every rank's t, in rank order. */
  allgather(t: Tensor): Tensor[] {
    let out: Tensor[] = [];
    this.run((this.worldSize - 1) * t.bytes, () => {
      out = this.group.allgather(t.handle).map(wrap);
    });
    return out;
  }

  /** In place: root's t on every rank. Returns t. */
  broadcast(t: Tensor, root: number): Tensor {
    this.run(this.rank === root ? t.bytes : 0, () => this.group.broadcast(t.handle, root));
    return t;
  }

  barrier(): void {
    this.run(0, () => this.group.barrier());
  }

  /** Ranks whose processes have left the store (ended or lost their connection), first gone first. */
  goneRanks(): number[] {
    const gone: { rank: number; order: number }[] = [];
    for (let r = 0; r < this.worldSize; r++) {
      if (r !== this.rank && this.store.check([goneKey(r)]))
        gone.push({ rank: r, order: Number(this.store.getString(goneKey(r))) });
    }
    return gone.sort((a, b) => a.order - b.order).map((g) => g.rank);
  }

  /** Leaves the group; a process that serves the store stops it, so call barrier() first when others still need it. */
  close(): void {
    this.group.close();
    this.store.close();
    this.server?.close();
  }

  // Ring allreduce sends 2(N−1)/N of the buffer from each rank.
  private ringVolume(bytes: number): number {
    return this.worldSize === 1 ? 0 : Math.round((2 * (this.worldSize - 1) * bytes) / this.worldSize);
  }

  private run(bytes: number, op: () => void): void {
    const t0 = performance.now();
    try {
      op();
    } catch (e) {
      throw this.explain(e);
    } finally {
      this.stats.seconds += (performance.now() - t0) / 1000;
      this.stats.calls += 1;
    }
    this.stats.bytesSent += bytes;
  }

  // Gloo knows a socket closed, not which rank left: the store knows, because
  // every rank announced itself on its store connection. A dead process's
  // sockets close together, so give the store a moment to see it.
  private explain(e: unknown): DistError {
    const what = message(e);
    const deadline = performance.now() + 1000;
    for (;;) {
      let gone: number[];
      try {
        gone = this.goneRanks();
      } catch {
        const host = this.storeHost;
        const who = host === null ? 'its host' : `rank ${host}, which hosted it,`;
        return new DistError(
          `${what} — the store at ${formatStoreAddress(this.store.address)} is unreachable: ${who} is gone`,
          host,
        );
      }
      if (gone.length > 0) {
        // The first rank gone is the cause; the others stopped on the error it caused.
        const [first, ...after] = gone;
        const also = after.length === 0 ? '' : `; ${after.map((r) => `rank ${r}`).join(', ')} stopped after it`;
        return new DistError(`${what} — rank ${first} is gone (process ended or lost its connection)${also}`, first);
      }
      if (performance.now() > deadline)
        return new DistError(
          `${what} — every rank is still connected to the store, so a peer is stalled or unreachable`,
        );
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    }
  }
}
