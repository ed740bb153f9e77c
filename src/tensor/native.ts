// The native addon's surface, typed. Only src/tensor talks to it directly.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../util/package.js';

export type DType = 'float32' | 'float64' | 'int64' | 'bool';
export type Reduction = 'mean' | 'sum' | 'none';

export interface NativeTensor {
  readonly shape: number[];
  readonly dtype: DType;
  /** libtorch's name of the device the tensor lives on: 'cpu', 'cuda:0'. */
  readonly device: string;
  readonly numel: number;
  readonly bytes: number;
  readonly requiresGrad: boolean;
  readonly disposed: boolean;
  dispose(): void;
  /** Tells V8 of the tensor's memory now (one made inside a scope that outlived it: garbage collection may free it). */
  adopt(): void;
}

/** Tensors held in this process (created, neither disposed nor collected yet) and their bytes. */
export interface LiveTensors {
  count: number;
  bytes: number;
}

export interface NativeGenerator {
  getState(): Uint8Array;
  setState(state: Uint8Array): void;
}

/**
 * Σ_l a_{lk} w_l for a sparse A as plain data: w_k ← a_kk w_k, then for every run (in order)
 * w_{to+j} += weight · w_{from+j}, j < length (src/algorithms/recursion.ts builds it from A).
 */
export interface NeighbourPlan {
  /** a_kk for every agent: one number when they are all equal. */
  diagonal: number | number[];
  runs: { from: number; to: number; length: number; weight: number }[];
}

type T = NativeTensor;
type TS = NativeTensor | number;
type Dims = number[] | null;

export interface Native {
  NativeTensor: (abstract new () => NativeTensor) & {
    live(): LiveTensors;
    /** While true, new tensors are not told to V8 (a scope frees them); returns the previous setting. */
    setScoped(scoped: boolean): boolean;
  };
  Generator: new (seed: bigint) => NativeGenerator;
  torchVersion: string;

  zeros(shape: number[], dtype: DType): T;
  ones(shape: number[], dtype: DType): T;
  full(shape: number[], value: number, dtype: DType): T;
  arange(start: number, end: number, step: number, dtype: DType): T;
  eye(n: number, dtype: DType): T;
  fromArray(data: Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array, shape: number[]): T;
  toArray(t: T): Float32Array | Float64Array | BigInt64Array | Uint8Array;
  item(t: T): number;
  randn(shape: number[], dtype: DType, gen: NativeGenerator): T;
  rand(shape: number[], dtype: DType, gen: NativeGenerator): T;
  randint(low: number, high: number, shape: number[], gen: NativeGenerator): T;
  rademacher(shape: number[], dtype: DType, gen: NativeGenerator): T;
  randperm(n: number, gen: NativeGenerator): T;
  dirichlet(alpha: T, gen: NativeGenerator): T;

  add(a: T, b: TS): T;
  sub(a: T, b: TS): T;
  mul(a: T, b: TS): T;
  div(a: T, b: TS): T;
  pow(a: T, b: TS): T;
  eq(a: T, b: TS): T;
  ne(a: T, b: TS): T;
  lt(a: T, b: TS): T;
  le(a: T, b: TS): T;
  gt(a: T, b: TS): T;
  ge(a: T, b: TS): T;
  maximum(a: T, b: TS): T;
  minimum(a: T, b: TS): T;
  logicalAnd(a: T, b: T): T;
  logicalOr(a: T, b: T): T;
  logicalNot(a: T): T;
  neg(a: T): T;
  exp(a: T): T;
  log(a: T): T;
  sqrt(a: T): T;
  abs(a: T): T;
  sign(a: T): T;
  square(a: T): T;
  sin(a: T): T;
  cos(a: T): T;
  isfinite(a: T): T;
  where(cond: T, a: T, b: T): T;
  clamp(a: T, min: number | null, max: number | null): T;

  relu(a: T): T;
  tanh(a: T): T;
  sigmoid(a: T): T;
  gelu(a: T): T;
  softplus(a: T): T;
  logSoftmax(a: T, dim: number): T;
  softmax(a: T, dim: number): T;
  crossEntropy(logits: T, target: T, reduction: Reduction): T;
  nllLoss(logProbs: T, target: T, reduction: Reduction): T;
  mseLoss(a: T, b: T, reduction: Reduction): T;
  conv2d(input: T, weight: T, bias: T | null, stride: number[], padding: number[], groups: number): T;
  maxPool2d(input: T, kernel: number[], stride: number[], padding: number[]): T;
  /** Flat argmax h·W + w of each 2×2 window (stride 2) of a contiguous float CPU tensor [..., H, W]: int64 [..., ⌊H/2⌋, ⌊W/2⌋]. */
  maxPool2x2Indices(input: T): T;
  avgPool2d(input: T, kernel: number[], stride: number[], padding: number[]): T;
  groupNorm(input: T, groups: number, weight: T | null, bias: T | null): T;

  matmul(a: T, b: T): T;
  mm(a: T, b: T): T;
  bmm(a: T, b: T): T;
  baddbmm(input: T, b1: T, b2: T, beta: number, alpha: number): T;
  addmm(input: T, m1: T, m2: T, beta: number, alpha: number): T;
  kron(a: T, b: T): T;
  eigh(a: T): [T, T];
  eigvals(a: T): [T, T];
  solve(a: T, b: T): T;
  inverse(a: T): T;
  cholesky(a: T): T;
  trace(a: T): T;
  dot(a: T, b: T): T;

  sum(a: T, dims: Dims, keepdim: boolean): T;
  mean(a: T, dims: Dims, keepdim: boolean): T;
  amax(a: T, dims: Dims, keepdim: boolean): T;
  amin(a: T, dims: Dims, keepdim: boolean): T;
  max(a: T, dim: number, keepdim: boolean): [T, T];
  argmax(a: T, dim: number, keepdim: boolean): T;
  norm(a: T, p: number, dims: Dims, keepdim: boolean): T;
  var(a: T, dims: Dims, unbiased: boolean, keepdim: boolean): T;
  all(a: T): T;
  any(a: T): T;

  reshape(a: T, shape: number[]): T;
  view(a: T, shape: number[]): T;
  permute(a: T, dims: number[]): T;
  transpose(a: T, d0: number, d1: number): T;
  contiguous(a: T): T;
  narrow(a: T, dim: number, start: number, length: number): T;
  select(a: T, dim: number, index: number): T;
  indexSelect(a: T, dim: number, index: T): T;
  gather(a: T, dim: number, index: T): T;
  cat(ts: T[], dim: number): T;
  chunk(t: T, chunks: number, dim: number): T[];
  stack(ts: T[], dim: number): T;
  expand(a: T, shape: number[]): T;
  repeat(a: T, reps: number[]): T;
  unsqueeze(a: T, dim: number): T;
  squeeze(a: T, dim: number): T;
  clone(a: T): T;
  detach(a: T): T;
  to(a: T, dtype: DType): T;
  toDevice(a: T, device: string): T;

  add_(a: T, b: TS, alpha?: number): T;
  mul_(a: T, b: TS): T;
  copy_(a: T, src: T): T;
  zero_(a: T): T;
  addmm_(a: T, m1: T, m2: T, beta: number, alpha: number): T;
  baddbmm_(a: T, b1: T, b2: T, beta: number, alpha: number): T;
  neighbourStep(b: T, g: T, stepSize: number, plan: NeighbourPlan): T | null;

  grad(
    outputs: T[],
    inputs: T[],
    gradOutputs: T[] | null,
    createGraph: boolean,
    retainGraph: boolean,
    allowUnused: boolean,
  ): (T | null)[];
  setRequiresGrad(a: T, on: boolean): T;
  setGradEnabled(on: boolean): boolean;
  isGradEnabled(): boolean;

  cudaDevices(): number;
  getDevice(): string;
  setDevice(device: string): void;
  getNumThreads(): number;
  setNumThreads(n: number): void;
  parallelInfo(): string;
  buildConfig(): string;
}

function load(): Native {
  const path = join(packageRoot(), 'build', 'Release', 'flatdist.node');
  if (!existsSync(path)) {
    throw new Error(`flatdist: the native addon is not built (${path} is missing) — run 'npm ci' or 'npm run build'`);
  }
  // libtorch logs errors (a c10d socket timing out, …) to stderr as it loads and runs; flatdist
  // reports each failure as its own one-line error, so only fatal logs are let through unless
  // the user asks for more. The level is read once, when the library loads: TORCH_CPP_LOG_LEVEL
  // for c10's own logging (Debian 13; the addon reads it as it loads), GLOG_minloglevel (3 = FATAL)
  // where libtorch is built with glog (Debian 12).
  process.env.TORCH_CPP_LOG_LEVEL ??= 'FATAL';
  process.env.GLOG_minloglevel ??= '3';
  // libtorch's OpenMP workers spin while they wait (libgomp's default); on a machine whose cores other
  // processes share, the spinning takes their cores, and small ops (a LeNet convolution) ran 20-50 times
  // slower with Debian 13's libtorch. Passive workers sleep instead; libgomp reads this as it loads.
  process.env.OMP_WAIT_POLICY ??= 'PASSIVE';
  return createRequire(import.meta.url)(path) as Native;
}

export const native: Native = load();
