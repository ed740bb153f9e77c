// Reverse-mode gradients. grad() is functional, like torch.autograd.grad: it
// returns gradients rather than accumulating them into parameters.
import { native } from './native.js';
import { wrap, type Tensor } from './tensor.js';

export interface GradOptions {
  /** Vector for a vector-Jacobian product, one per output (default: ones for scalar outputs). */
  gradOutputs?: Tensor[];
  /** Build the gradient's own graph so it can be differentiated again (Hessian-vector products). */
  createGraph?: boolean;
  /** Keep the graph for another grad() call; defaults to createGraph. */
  retainGraph?: boolean;
  /** Return null for inputs the outputs do not depend on, instead of throwing. */
  allowUnused?: boolean;
}

export function grad(
  outputs: Tensor | Tensor[],
  inputs: Tensor[],
  o: GradOptions & { allowUnused: true },
): (Tensor | null)[];
export function grad(outputs: Tensor | Tensor[], inputs: Tensor[], o?: GradOptions): Tensor[];
export function grad(outputs: Tensor | Tensor[], inputs: Tensor[], o: GradOptions = {}): (Tensor | null)[] {
  const outs = Array.isArray(outputs) ? outputs : [outputs];
  const createGraph = o.createGraph ?? false;
  const gs = native.grad(
    outs.map((t) => t.handle),
    inputs.map((t) => t.handle),
    o.gradOutputs ? o.gradOutputs.map((t) => t.handle) : null,
    createGraph,
    o.retainGraph ?? createGraph,
    o.allowUnused ?? false,
  );
  return gs.map((g) => (g === null ? null : wrap(g)));
}

/** Run fn with gradient recording off (torch.no_grad). */
export function noGrad<R>(fn: () => R): R {
  const previous = native.setGradEnabled(false);
  try {
    return fn();
  } finally {
    native.setGradEnabled(previous);
  }
}

export const isGradEnabled = (): boolean => native.isGradEnabled();
