// Seeded randomness. Every draw names its generator, so a seed fixes a run.
import { native, type DType, type NativeGenerator } from './native.js';
import { wrap, type Tensor } from './tensor.js';

export class Generator {
  readonly handle: NativeGenerator;
  constructor(readonly seed: number | bigint) {
    this.handle = new native.Generator(BigInt(seed));
  }
  /** The full generator state, to checkpoint and restore. */
  get state(): Uint8Array {
    return this.handle.getState();
  }
  set state(s: Uint8Array) {
    this.handle.setState(s);
  }
}

export function randn(shape: number[], gen: Generator, dtype: DType = 'float32'): Tensor {
  return wrap(native.randn(shape, dtype, gen.handle));
}
export function rand(shape: number[], gen: Generator, dtype: DType = 'float32'): Tensor {
  return wrap(native.rand(shape, dtype, gen.handle));
}
/** Integers uniform in [low, high), int64. */
export function randint(low: number, high: number, shape: number[], gen: Generator): Tensor {
  return wrap(native.randint(low, high, shape, gen.handle));
}
/** A uniformly random permutation of 0..n−1, int64. */
export function randperm(n: number, gen: Generator): Tensor {
  return wrap(native.randperm(n, gen.handle));
}
/** One Dirichlet(α) draw per row: α is float32/float64 [..., n] with positive entries; rows of the result sum to one. */
export function dirichlet(alpha: Tensor, gen: Generator): Tensor {
  return wrap(native.dirichlet(alpha.handle, gen.handle));
}
/** ±1 with equal probability: Hutchinson's probe vectors; the same draws as 2·randint(0, 2) − 1 from `gen`. */
export function rademacher(shape: number[], gen: Generator, dtype: DType = 'float32'): Tensor {
  return wrap(native.rademacher(shape, dtype, gen.handle));
}
