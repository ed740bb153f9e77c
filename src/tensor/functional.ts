// Operations of several tensors, and neural-network primitives.
import { native, type NeighbourPlan, type Reduction } from './native.js';
import { wrap, type Tensor } from './tensor.js';

export const cat = (ts: Tensor[], dim = 0): Tensor =>
  wrap(
    native.cat(
      ts.map((t) => t.handle),
      dim,
    ),
  );
/** `chunks` equal parts of t along dim, as views (dim's size divisible by chunks); their gradients meet in one cat. */
export const chunk = (t: Tensor, chunks: number, dim = 0): Tensor[] =>
  native.chunk(t.handle, chunks, dim).map((h) => wrap(h));
export const stack = (ts: Tensor[], dim = 0): Tensor =>
  wrap(
    native.stack(
      ts.map((t) => t.handle),
      dim,
    ),
  );
export const where = (cond: Tensor, a: Tensor, b: Tensor): Tensor =>
  wrap(native.where(cond.handle, a.handle, b.handle));

/** β·input + α·(m1 m2) */
export const addmm = (input: Tensor, m1: Tensor, m2: Tensor, beta = 1, alpha = 1): Tensor =>
  wrap(native.addmm(input.handle, m1.handle, m2.handle, beta, alpha));
/** β·input + α·(b1 b2), batched over the first dimension */
export const baddbmm = (input: Tensor, b1: Tensor, b2: Tensor, beta = 1, alpha = 1): Tensor =>
  wrap(native.baddbmm(input.handle, b1.handle, b2.handle, beta, alpha));
/**
 * The ATC step through the neighbours in one pass (native/combine.cc): w_k = a_kk ψ_k + Σ_runs c ψ_{k+s}
 * with ψ = (−μ) g + b, for b, g [R, K, M] (R networks of K agents), equal to the bit to forming ψ as
 * g.mul(−μ).add_(b) and combining it by the plan with mul and add_. A new tensor without autograd
 * history; null where the kernel does not apply — b and g not both float32 or both float64, contiguous,
 * on the CPU, of one shape, or either requiring a gradient.
 * @throws Error when the plan does not fit K (a run past the last agent, a diagonal of another length)
 */
export function neighbourStep(b: Tensor, g: Tensor, stepSize: number, plan: NeighbourPlan): Tensor | null {
  const w = native.neighbourStep(b.handle, g.handle, stepSize, plan);
  return w === null ? null : wrap(w);
}
export const kron = (a: Tensor, b: Tensor): Tensor => wrap(native.kron(a.handle, b.handle));

/** Eigen-decomposition of a symmetric matrix: ascending eigenvalues and orthonormal eigenvectors (columns). */
export function eigh(a: Tensor): { values: Tensor; vectors: Tensor } {
  const [values, vectors] = native.eigh(a.handle);
  return { values: wrap(values), vectors: wrap(vectors) };
}
/** Eigenvalues of a general square matrix, as real and imaginary parts. */
export function eigvals(a: Tensor): { real: Tensor; imag: Tensor } {
  const [real, imag] = native.eigvals(a.handle);
  return { real: wrap(real), imag: wrap(imag) };
}
export const solve = (a: Tensor, b: Tensor): Tensor => wrap(native.solve(a.handle, b.handle));
export const inverse = (a: Tensor): Tensor => wrap(native.inverse(a.handle));
export const cholesky = (a: Tensor): Tensor => wrap(native.cholesky(a.handle));

export interface Conv2dOptions {
  bias?: Tensor | null;
  stride?: number | [number, number];
  padding?: number | [number, number];
  groups?: number;
}
const pair = (x: number | [number, number]): [number, number] => (typeof x === 'number' ? [x, x] : x);

export function conv2d(input: Tensor, weight: Tensor, o: Conv2dOptions = {}): Tensor {
  return wrap(
    native.conv2d(
      input.handle,
      weight.handle,
      o.bias?.handle ?? null,
      pair(o.stride ?? 1),
      pair(o.padding ?? 0),
      o.groups ?? 1,
    ),
  );
}
export interface PoolOptions {
  stride?: number | [number, number];
  padding?: number | [number, number];
}
/**
 * Max pooling of input [C, H, W] or [N, C, H, W] (libtorch's max_pool2d, no dilation, floor mode).
 * The common 2×2 window with stride 2 and no padding, on a float CPU tensor, takes a faster path with
 * the same values, gradients and second derivatives (see maxPool2x2).
 * @throws Error, libtorch's, when the input is not 3-D or 4-D or the window does not fit the map.
 */
export function maxPool2d(input: Tensor, kernel: number | [number, number], o: PoolOptions = {}): Tensor {
  const [k, s, p] = [pair(kernel), pair(o.stride ?? kernel), pair(o.padding ?? 0)];
  const twoByTwo = [...k, ...s].every((v) => v === 2) && p.every((v) => v === 0);
  if (twoByTwo && poolsFast(input)) return maxPool2x2(input);
  return wrap(native.maxPool2d(input.handle, k, s, p));
}
/** Where maxPool2x2 equals at::max_pool2d; elsewhere (and for libtorch's errors) the general kernel runs. */
function poolsFast(x: Tensor): boolean {
  const [H, W] = x.shape.slice(-2);
  return (
    x.device === 'cpu' &&
    (x.dtype === 'float32' || x.dtype === 'float64') &&
    (x.ndim === 3 || x.ndim === 4) &&
    x.numel > 0 &&
    H >= 2 &&
    W >= 2
  );
}
/**
 * 2×2 max pooling with stride 2 as a gather at the windows' argmax: the indices come from a native loop
 * that picks the element at::max_pool2d_with_indices picks (first of equal maxima, NaN wins), so the
 * values are bit for bit libtorch's, and gather's backward (a scatter-add into zeros of windows that do
 * not overlap) and double backward (a gather) are max_pool2d's. On LeNet's first map [1024, 6, 28, 28]
 * libtorch 1.13's generic CPU kernel takes ~24 ms forward, this ~10 (bench/README.md, item 7).
 */
function maxPool2x2(input: Tensor): Tensor {
  const x = input.contiguous();
  const index = wrap(native.maxPool2x2Indices(x.handle));
  const lead = x.shape.slice(0, -2);
  return x
    .reshape([...lead, -1])
    .gather(-1, index.reshape([...lead, -1]))
    .reshape(index.shape);
}
export function avgPool2d(input: Tensor, kernel: number | [number, number], o: PoolOptions = {}): Tensor {
  return wrap(native.avgPool2d(input.handle, pair(kernel), pair(o.stride ?? kernel), pair(o.padding ?? 0)));
}
export function groupNorm(
  input: Tensor,
  groups: number,
  weight: Tensor | null = null,
  bias: Tensor | null = null,
): Tensor {
  return wrap(native.groupNorm(input.handle, groups, weight?.handle ?? null, bias?.handle ?? null));
}

/** Cross-entropy of logits [N, C] against int64 class indices [N]. */
export const crossEntropy = (logits: Tensor, target: Tensor, reduction: Reduction = 'mean'): Tensor =>
  wrap(native.crossEntropy(logits.handle, target.handle, reduction));
export const nllLoss = (logProbs: Tensor, target: Tensor, reduction: Reduction = 'mean'): Tensor =>
  wrap(native.nllLoss(logProbs.handle, target.handle, reduction));
export const mseLoss = (a: Tensor, b: Tensor, reduction: Reduction = 'mean'): Tensor =>
  wrap(native.mseLoss(a.handle, b.handle, reduction));
