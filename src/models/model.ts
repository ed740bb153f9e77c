// A functional model over stacked agent parameters: each parameter is one
// [K, ...shape] tensor holding all K agents' copies, and one forward/backward
// pass serves every agent. The model holds no tensors; it maps (parameters,
// inputs) to logits, so the algorithms own the parameters and their updates.
import { crossEntropy, rand, full, scope, type DType, type Generator, type Tensor } from '../tensor/index.js';

/**
 * How a parameter starts. 'uniform' draws U(−bound, bound): with bound = 1/√fan_in
 * this is PyTorch's default for nn.Linear and nn.Conv2d, both weight
 * (kaiming_uniform_ with a = √5) and bias, so the weight variance is 1/(3·fan_in).
 */
export type Init = { kind: 'uniform'; bound: number } | { kind: 'constant'; value: number };

export interface ParamSpec {
  /** PyTorch-style name, e.g. 'fc1.weight'; checkpoints use it. */
  name: string;
  /** One agent's shape, in PyTorch's layout (a dense weight is [out, in]). */
  shape: number[];
  init: Init;
}

export interface InitOptions {
  /** Every agent starts at the same point (default, as in the paper); otherwise independent draws. */
  sameInit?: boolean;
  dtype?: DType;
}

/** The file a model was loaded from (a TorchScript module), for the run record. */
export interface ModelSource {
  /** Absolute path. */
  path: string;
  /** SHA-256 of the file's bytes, hex. */
  sha256: string;
}

export interface Model {
  readonly name: string;
  /** The file the model came from, when it came from one. */
  readonly source?: ModelSource;
  /** One example's shape, e.g. [784] or [1, 28, 28]. */
  readonly inputShape: number[];
  readonly classes: number;
  /** One agent's parameter shapes. */
  readonly paramShapes: number[][];
  readonly paramNames: string[];
  /** M, the number of parameters of one agent. */
  readonly parameterCount: number;
  /**
   * Stacked initial parameters [K, ...shape], float32 unless a dtype is given,
   * not requiring gradients. With sameInit (default) each agent holds the point a
   * K = 1 model draws from the same generator state.
   */
  init(K: number, gen: Generator, o?: InitOptions): Tensor[];
  /** Logits [K, B, classes] from stacked parameters and inputs x [K, B, ...inputShape]. */
  forward(params: Tensor[], x: Tensor): Tensor;
}

const product = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

/** PyTorch's default init for a layer whose weight has the given shape: U(±1/√fan_in), fan_in = all but the first dimension. */
export const torchDefault = (weightShape: number[]): Init => ({
  kind: 'uniform',
  bound: 1 / Math.sqrt(product(weightShape.slice(1))),
});

function draw(init: Init, shape: number[], gen: Generator, dtype: DType): Tensor {
  if (init.kind === 'constant') return full(shape, init.value, dtype);
  return rand(shape, gen, dtype)
    .mul(2 * init.bound)
    .sub(init.bound);
}

/** Stacked parameters [K, ...shape] drawn in the order of specs. */
export function initParams(specs: ParamSpec[], K: number, gen: Generator, o: InitOptions = {}): Tensor[] {
  const dtype = o.dtype ?? 'float32';
  const sameInit = o.sameInit ?? true;
  return specs.map((s) =>
    scope(() => {
      if (!sameInit) return draw(s.init, [K, ...s.shape], gen, dtype);
      // One draw, copied to every agent, so the starting point does not depend on K.
      return draw(s.init, [1, ...s.shape], gen, dtype)
        .expand([K, ...s.shape])
        .contiguous();
    }),
  );
}

/** A Model from its parameter specs and a forward function. */
export function defineModel(
  name: string,
  inputShape: number[],
  classes: number,
  specs: ParamSpec[],
  forward: (params: Tensor[], x: Tensor) => Tensor,
): Model {
  return {
    name,
    inputShape,
    classes,
    paramShapes: specs.map((s) => s.shape),
    paramNames: specs.map((s) => s.name),
    parameterCount: specs.reduce((m, s) => m + product(s.shape), 0),
    init: (K, gen, o) => initParams(specs, K, gen, o),
    forward(params, x) {
      if (params.length !== specs.length)
        throw new Error(`${name}: expected ${specs.length} parameter tensors, got ${params.length}`);
      const ex = x.shape.slice(2);
      if (x.ndim < 2 || ex.length !== inputShape.length || ex.some((d, i) => d !== inputShape[i])) {
        throw new Error(`${name}: inputs must be [K, B, ${inputShape.join(', ')}], got [${x.shape.join(', ')}]`);
      }
      return forward(params, x);
    },
  };
}

/**
 * Each agent's mean cross-entropy on its own batch, [K]. The agents' losses
 * depend on disjoint parameters, so the gradient of their sum with respect to
 * the stacked parameters holds, in slice k, agent k's own gradient ∇̂J_k.
 */
export function agentLosses(model: Model, params: Tensor[], x: Tensor, y: Tensor): Tensor {
  const [K, B] = y.shape;
  const logits = model.forward(params, x);
  return crossEntropy(logits.reshape([K * B, model.classes]), y.reshape([K * B]), 'none')
    .reshape([K, B])
    .mean(1);
}
