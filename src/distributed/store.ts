// The rendezvous store: a key-value server that every process of a group
// reaches over TCP. The server is flatdist's own (see native/store.h: libtorch
// 1.13's binds every interface and stalls on half a message); the client is
// libtorch's c10d::TCPStore, the one torch.distributed uses, so PyTorch
// processes join the same store.
import { ConfigError } from '../errors.js';
import { distNative, type NativeStore, type NativeStoreServer } from './c10d.js';

export interface StoreAddress {
  host: string;
  port: number;
}

/** The default: only processes on this machine can reach the store. */
export const loopback = '127.0.0.1';

/** 'host:port' (or '[v6]:port') → address; names the option it came from when it does not parse. */
export function parseStoreAddress(text: string, field = 'store'): StoreAddress {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(text.trim());
  if (!m) throw new ConfigError(field, `expected host:port (e.g. 127.0.0.1:29500), got '${text}'`);
  const port = Number(m[3]);
  if (port > 65535) throw new ConfigError(field, `port ${port} is out of range (0..65535)`);
  return { host: m[1] ?? m[2], port };
}

export const formatStoreAddress = (a: StoreAddress): string =>
  a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;

// Liveness keys, spelled here only: a rank sets its alive key when it joins; when that
// connection closes, the server sets the rank's gone key to the order ranks left in (1 first).
const alivePrefix = 'flatdist/alive/';
const gonePrefix = 'flatdist/gone/';
export const aliveKey = (rank: number): string => `${alivePrefix}${rank}`;
export const goneKey = (rank: number): string => `${gonePrefix}${rank}`;

/** The options a listen address came from, for errors. */
export interface ListenFields {
  host: string;
  port: string;
}

// The native error ends in the system's reason (strerror); each reason a user can
// cause gets the option to change and how.
const listenHints: { reason: RegExp; field: keyof ListenFields; hint: string }[] = [
  {
    reason: /address already in use/i,
    field: 'port',
    hint: 'another process listens there; pick another port, or 0 for a free one',
  },
  {
    reason: /permission denied/i,
    field: 'port',
    hint: 'ports below 1024 need privileges; pick a higher port, or 0 for a free one',
  },
  {
    reason: /cannot assign requested address/i,
    field: 'host',
    hint: 'that host is not an address of this machine; give one of its addresses, or 127.0.0.1',
  },
  { reason: /cannot resolve host/i, field: 'host', hint: 'give an address of this machine, or 127.0.0.1' },
];

/** Serves the store on host:port in a background thread of this process; port 0 picks a free port. */
export class StoreServer {
  private constructor(
    private readonly server: NativeStoreServer,
    readonly host: string,
  ) {}

  /** @throws ConfigError naming fields.port or fields.host (a port in use, a host not of this machine...) */
  static listen(host: string = loopback, port = 0, fields: ListenFields = { host: 'host', port: 'port' }): StoreServer {
    try {
      // c10d's TCPStore client sends every key with a leading '/', so the server sees them so.
      return new StoreServer(new distNative.StoreServer(host, port, `/${alivePrefix}`, `/${gonePrefix}`), host);
    } catch (e) {
      const reason = (e instanceof Error ? e.message : String(e)).replace(/^store: /, '').split('\n')[0];
      const known = listenHints.find((h) => h.reason.test(reason));
      const where = formatStoreAddress({ host, port });
      throw new ConfigError(
        fields[known?.field ?? 'port'],
        `cannot serve the store on ${where}: ${reason.replace(/^cannot listen on \S+: /, '')}${known ? ` — ${known.hint}` : ''}`,
      );
    }
  }

  get port(): number {
    return this.server.port;
  }
  get address(): StoreAddress {
    return { host: this.host, port: this.port };
  }
  close(): void {
    this.server.close();
  }
}

/** A client of the store. Connecting retries until timeoutMs, so a client may start before the server. */
export class Store {
  readonly native: NativeStore;

  constructor(
    readonly address: StoreAddress,
    readonly timeoutMs: number,
  ) {
    this.native = new distNative.Store(address.host, address.port, timeoutMs);
  }

  set(key: string, value: string | Uint8Array): void {
    this.native.set(key, value);
  }
  /** Waits (up to the store's timeout) for key to exist, then returns its value. */
  get(key: string): Uint8Array {
    return this.native.get(key);
  }
  getString(key: string): string {
    return Buffer.from(this.get(key)).toString('utf8');
  }
  /** Adds delta to the integer at key (0 when absent) and returns the sum. */
  add(key: string, delta: number): number {
    return this.native.add(key, delta);
  }
  /** Waits until every key exists; throws after timeoutMs. */
  wait(keys: string[], timeoutMs: number): void {
    this.native.wait(keys, timeoutMs);
  }
  /** Whether every key exists, without waiting. */
  check(keys: string[]): boolean {
    return this.native.check(keys);
  }
  deleteKey(key: string): boolean {
    return this.native.deleteKey(key);
  }
  close(): void {
    this.native.close();
  }
}
