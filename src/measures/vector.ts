// A model's parameters as one vector in R^M: the Krylov and sharpness methods
// think in R^M, the loss closures in a list of tensors of any shapes.
import { cat, scope, type Tensor } from '../tensor/index.js';

/** The parameters concatenated into one flat vector of M elements (a copy). */
export function flat(params: Tensor[]): Tensor {
  return cat(params.map((p) => p.reshape([-1])));
}

/** A flat vector split into tensors shaped like params (views of v). */
export function unflat(v: Tensor, like: Tensor[]): Tensor[] {
  let offset = 0;
  return like.map((p) => {
    const part = v.narrow(0, offset, p.numel).reshape(p.shape);
    offset += p.numel;
    return part;
  });
}

/** M, the number of scalar parameters. */
export const dimension = (params: Tensor[]): number => params.reduce((m, p) => m + p.numel, 0);

/** Σ_j ⟨a_j, b_j⟩ over matching tensors. */
export function dot(a: Tensor[], b: Tensor[]): number {
  return scope(() => a.reduce((s, t, j) => s + t.mul(b[j]).sum().item(), 0));
}

/** The Euclidean norm of the whole parameter vector. */
export const norm = (a: Tensor[]): number => Math.sqrt(dot(a, a));

/** a + α·b, tensor by tensor. */
export const axpy = (a: Tensor[], alpha: number, b: Tensor[]): Tensor[] => a.map((t, j) => t.add(b[j].mul(alpha)));
