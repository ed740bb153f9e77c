// The c10d part of the native addon, typed. src/tensor/native.ts types the
// tensor surface; these classes load from the same addon.
import { native, type NativeTensor } from '../tensor/native.js';

export interface NativeStoreServer {
  readonly port: number;
  close(): void;
}

export interface NativeStore {
  set(key: string, value: string | Uint8Array): void;
  get(key: string): Uint8Array;
  add(key: string, delta: number): number;
  check(keys: string[]): boolean;
  wait(keys: string[], timeoutMs: number): void;
  deleteKey(key: string): boolean;
  close(): void;
}

export type DeviceKind = 'hostname' | 'interface';

export interface NativeProcessGroup {
  send(t: NativeTensor, dst: number, tag: number): void;
  recv(t: NativeTensor, src: number, tag: number): void;
  exchange(sends: NativeTensor[], to: number[], recvs: NativeTensor[], from: number[], tag: number): void;
  allreduce(t: NativeTensor): void;
  allgather(t: NativeTensor): NativeTensor[];
  broadcast(t: NativeTensor, root: number): void;
  barrier(): void;
  close(): void;
}

interface DistNative {
  StoreServer: new (host: string, port: number, alivePrefix: string, gonePrefix: string) => NativeStoreServer;
  Store: new (host: string, port: number, timeoutMs: number) => NativeStore;
  ProcessGroup: new (
    store: NativeStore,
    rank: number,
    size: number,
    timeoutMs: number,
    kind: DeviceKind,
    name: string,
  ) => NativeProcessGroup;
}

export const distNative = native as unknown as DistNative;
