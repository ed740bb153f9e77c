// flatdist's tensors: libtorch through the native binding.
export { Tensor, type DType, type Reduction, type TypedArray } from './tensor.js';
export { scope, keep } from './scope.js';
export { zeros, ones, full, eye, arange, fromArray, tensor, type NestedNumbers } from './create.js';
export { Generator, randn, rand, randint, randperm, dirichlet, rademacher } from './random.js';
export * from './functional.js';
export { grad, noGrad, isGradEnabled, type GradOptions } from './autograd.js';
export * from './runtime.js';
export type { LiveTensors, NeighbourPlan } from './native.js';
