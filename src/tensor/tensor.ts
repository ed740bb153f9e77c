// The Tensor class: an owned libtorch tensor with PyTorch's operations, named in
// camelCase. Every operation returns a new Tensor registered in the current scope;
// methods ending in "_" modify the tensor in place and return it.
import { native, type DType, type NativeTensor } from './native.js';
import { setScopeListener, track } from './scope.js';

// New tensors are told to V8 only outside scopes (native/tensor.cc, reportOnCreate); one that leaves the last scope, when it does.
setScopeListener((scoped) => native.NativeTensor.setScoped(scoped));

export type { DType, Reduction } from './native.js';
export type TypedArray = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;
type Operand = Tensor | number;

const raw = (x: Operand): NativeTensor | number => (typeof x === 'number' ? x : x.handle);
const dims = (d: number | number[] | undefined): number[] | null =>
  d === undefined ? null : typeof d === 'number' ? [d] : d;

export class Tensor {
  /** Wraps a native handle; use the factory functions rather than this. */
  constructor(readonly handle: NativeTensor) {
    track(this);
  }

  get shape(): number[] {
    return this.live.shape;
  }
  get dtype(): DType {
    return this.live.dtype;
  }
  /** The device the tensor lives on: 'cpu', 'cuda:0'. */
  get device(): string {
    return this.live.device;
  }
  get numel(): number {
    return this.live.numel;
  }
  get ndim(): number {
    return this.live.shape.length;
  }
  get requiresGrad(): boolean {
    return this.live.requiresGrad;
  }
  get disposed(): boolean {
    return this.handle.disposed;
  }
  /** Bytes held by this tensor's elements (0 once disposed). */
  get bytes(): number {
    return this.disposed ? 0 : this.handle.bytes;
  }

  /** Tells V8 of the memory of a tensor that outlived the scope it was made in. */
  adopted(): void {
    if (!this.disposed) this.handle.adopt();
  }

  /** Frees the tensor now; later uses throw. Disposing again does nothing. */
  dispose(): void {
    if (!this.disposed) this.handle.dispose();
  }

  // A disposed handle keeps only its `disposed` mark: its other properties are gone.
  private get live(): NativeTensor {
    if (this.handle.disposed) throw new Error('tensor was already disposed (used outside the scope that owned it?)');
    return this.handle;
  }

  // Elementwise, broadcasting.
  add(o: Operand): Tensor {
    return wrap(native.add(this.handle, raw(o)));
  }
  sub(o: Operand): Tensor {
    return wrap(native.sub(this.handle, raw(o)));
  }
  mul(o: Operand): Tensor {
    return wrap(native.mul(this.handle, raw(o)));
  }
  div(o: Operand): Tensor {
    return wrap(native.div(this.handle, raw(o)));
  }
  pow(o: Operand): Tensor {
    return wrap(native.pow(this.handle, raw(o)));
  }
  maximum(o: Operand): Tensor {
    return wrap(native.maximum(this.handle, raw(o)));
  }
  minimum(o: Operand): Tensor {
    return wrap(native.minimum(this.handle, raw(o)));
  }
  eq(o: Operand): Tensor {
    return wrap(native.eq(this.handle, raw(o)));
  }
  ne(o: Operand): Tensor {
    return wrap(native.ne(this.handle, raw(o)));
  }
  lt(o: Operand): Tensor {
    return wrap(native.lt(this.handle, raw(o)));
  }
  le(o: Operand): Tensor {
    return wrap(native.le(this.handle, raw(o)));
  }
  gt(o: Operand): Tensor {
    return wrap(native.gt(this.handle, raw(o)));
  }
  ge(o: Operand): Tensor {
    return wrap(native.ge(this.handle, raw(o)));
  }
  logicalAnd(o: Tensor): Tensor {
    return wrap(native.logicalAnd(this.handle, o.handle));
  }
  logicalOr(o: Tensor): Tensor {
    return wrap(native.logicalOr(this.handle, o.handle));
  }
  logicalNot(): Tensor {
    return wrap(native.logicalNot(this.handle));
  }
  neg(): Tensor {
    return wrap(native.neg(this.handle));
  }
  exp(): Tensor {
    return wrap(native.exp(this.handle));
  }
  log(): Tensor {
    return wrap(native.log(this.handle));
  }
  sqrt(): Tensor {
    return wrap(native.sqrt(this.handle));
  }
  abs(): Tensor {
    return wrap(native.abs(this.handle));
  }
  sign(): Tensor {
    return wrap(native.sign(this.handle));
  }
  square(): Tensor {
    return wrap(native.square(this.handle));
  }
  sin(): Tensor {
    return wrap(native.sin(this.handle));
  }
  cos(): Tensor {
    return wrap(native.cos(this.handle));
  }
  isfinite(): Tensor {
    return wrap(native.isfinite(this.handle));
  }
  clamp(min: number | null, max: number | null = null): Tensor {
    return wrap(native.clamp(this.handle, min, max));
  }

  // Activations.
  relu(): Tensor {
    return wrap(native.relu(this.handle));
  }
  tanh(): Tensor {
    return wrap(native.tanh(this.handle));
  }
  sigmoid(): Tensor {
    return wrap(native.sigmoid(this.handle));
  }
  gelu(): Tensor {
    return wrap(native.gelu(this.handle));
  }
  softplus(): Tensor {
    return wrap(native.softplus(this.handle));
  }
  logSoftmax(dim: number): Tensor {
    return wrap(native.logSoftmax(this.handle, dim));
  }
  softmax(dim: number): Tensor {
    return wrap(native.softmax(this.handle, dim));
  }

  // Linear algebra.
  matmul(o: Tensor): Tensor {
    return wrap(native.matmul(this.handle, o.handle));
  }
  mm(o: Tensor): Tensor {
    return wrap(native.mm(this.handle, o.handle));
  }
  bmm(o: Tensor): Tensor {
    return wrap(native.bmm(this.handle, o.handle));
  }
  dot(o: Tensor): Tensor {
    return wrap(native.dot(this.handle, o.handle));
  }
  trace(): Tensor {
    return wrap(native.trace(this.handle));
  }

  // Reductions; dims omitted means all.
  sum(d?: number | number[], keepdim = false): Tensor {
    return wrap(native.sum(this.handle, dims(d), keepdim));
  }
  mean(d?: number | number[], keepdim = false): Tensor {
    return wrap(native.mean(this.handle, dims(d), keepdim));
  }
  amax(d?: number | number[], keepdim = false): Tensor {
    return wrap(native.amax(this.handle, dims(d), keepdim));
  }
  amin(d?: number | number[], keepdim = false): Tensor {
    return wrap(native.amin(this.handle, dims(d), keepdim));
  }
  max(dim: number, keepdim = false): { values: Tensor; indices: Tensor } {
    const [v, i] = native.max(this.handle, dim, keepdim);
    return { values: wrap(v), indices: wrap(i) };
  }
  argmax(dim: number, keepdim = false): Tensor {
    return wrap(native.argmax(this.handle, dim, keepdim));
  }
  norm(p = 2, d?: number | number[], keepdim = false): Tensor {
    return wrap(native.norm(this.handle, p, dims(d), keepdim));
  }
  var(d?: number | number[], unbiased = true, keepdim = false): Tensor {
    return wrap(native.var(this.handle, dims(d), unbiased, keepdim));
  }
  all(): Tensor {
    return wrap(native.all(this.handle));
  }
  any(): Tensor {
    return wrap(native.any(this.handle));
  }

  // Shape and indexing.
  reshape(shape: number[]): Tensor {
    return wrap(native.reshape(this.handle, shape));
  }
  view(shape: number[]): Tensor {
    return wrap(native.view(this.handle, shape));
  }
  permute(order: number[]): Tensor {
    return wrap(native.permute(this.handle, order));
  }
  transpose(d0: number, d1: number): Tensor {
    return wrap(native.transpose(this.handle, d0, d1));
  }
  /** Matrix transpose of the last two dimensions. */
  get mT(): Tensor {
    return this.transpose(-2, -1);
  }
  contiguous(): Tensor {
    return wrap(native.contiguous(this.handle));
  }
  narrow(dim: number, start: number, length: number): Tensor {
    return wrap(native.narrow(this.handle, dim, start, length));
  }
  select(dim: number, index: number): Tensor {
    return wrap(native.select(this.handle, dim, index));
  }
  indexSelect(dim: number, index: Tensor): Tensor {
    return wrap(native.indexSelect(this.handle, dim, index.handle));
  }
  gather(dim: number, index: Tensor): Tensor {
    return wrap(native.gather(this.handle, dim, index.handle));
  }
  expand(shape: number[]): Tensor {
    return wrap(native.expand(this.handle, shape));
  }
  repeat(reps: number[]): Tensor {
    return wrap(native.repeat(this.handle, reps));
  }
  unsqueeze(dim: number): Tensor {
    return wrap(native.unsqueeze(this.handle, dim));
  }
  squeeze(dim: number): Tensor {
    return wrap(native.squeeze(this.handle, dim));
  }
  flatten(): Tensor {
    return this.reshape([-1]);
  }
  clone(): Tensor {
    return wrap(native.clone(this.handle));
  }
  detach(): Tensor {
    return wrap(native.detach(this.handle));
  }
  to(dtype: DType): Tensor {
    return wrap(native.to(this.handle, dtype));
  }
  /** A copy on another device ('cpu', 'cuda', 'cuda:N'); the tensor itself when it is there already (as named by .device). */
  toDevice(device: string): Tensor {
    return device === this.device ? this : wrap(native.toDevice(this.handle, device));
  }

  // In place.
  add_(o: Operand, alpha = 1): this {
    native.add_(this.handle, raw(o), alpha);
    return this;
  }
  mul_(o: Operand): this {
    native.mul_(this.handle, raw(o));
    return this;
  }
  copy_(src: Tensor): this {
    native.copy_(this.handle, src.handle);
    return this;
  }
  zero_(): this {
    native.zero_(this.handle);
    return this;
  }
  /** this ← β·this + α·m1·m2 */
  addmm_(m1: Tensor, m2: Tensor, beta = 1, alpha = 1): this {
    native.addmm_(this.handle, m1.handle, m2.handle, beta, alpha);
    return this;
  }
  /** this ← β·this + α·b1·b2, batched */
  baddbmm_(b1: Tensor, b2: Tensor, beta = 1, alpha = 1): this {
    native.baddbmm_(this.handle, b1.handle, b2.handle, beta, alpha);
    return this;
  }
  requiresGrad_(on = true): this {
    native.setRequiresGrad(this.handle, on);
    return this;
  }

  // Out to JavaScript.
  item(): number {
    return native.item(this.handle);
  }
  /** A copy of the elements, row-major, in the typed array of the dtype (bool → Uint8Array). */
  toArray(): Float32Array | Float64Array | BigInt64Array | Uint8Array {
    return native.toArray(this.handle);
  }
  /** The elements as plain numbers, row-major. */
  toNumbers(): number[] {
    return Array.from(this.toArray(), Number);
  }
  toString(): string {
    return `Tensor(${this.dtype}, [${this.shape.join(', ')}])`;
  }
}

export function wrap(h: NativeTensor): Tensor {
  return new Tensor(h);
}
