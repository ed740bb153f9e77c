// A model from a TorchScript module (--model torchscript:PATH): a PyTorch module
// saved by torch.jit.save after torch.jit.script or torch.jit.trace. It takes
// x [B, ...inputShape] (the dataset's example shape) and returns logits [B, classes].
//
// Agents: libtorch 1.13 has no functional call over stacked parameters, so the
// forward is an agent loop — agent k's slices w_k of the [K, …] parameters are
// swapped into the module, one forward each, and the K outputs are stacked.
// Gradients (and Hessian-vector products, by double backward) flow to w_k.
//
// Start: every agent holds the module's own parameters (sameInit, as the paper does).
// Names: the module's parameter names (PyTorch's state_dict names), so a
// checkpoint's agent or centroid loads back with load_state_dict.
//
// Buffers (BatchNorm running statistics): the module runs in eval mode, its
// buffers fixed at their saved values and shared by every agent; training,
// evaluation and curvature all see the same function of the parameters. A
// module traced in training mode (one that changes its buffers or draws
// dropout masks in forward) is refused.
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { ConfigError, UserError } from '../errors.js';
import { readUserFile } from '../util/files.js';
import { Generator, noGrad, randn, scope, stack, type DType, type Tensor } from '../tensor/index.js';
import { ScriptModule } from '../tensor/jit.js';
import type { InitOptions, Model, ModelSource } from './model.js';

export interface TorchScriptModel extends Model {
  readonly source: ModelSource;
  /** The module's buffers: fixed (eval mode), shared by every agent, not in checkpoints. */
  readonly buffers: { name: string; shape: number[]; dtype: DType }[];
}

const shapeText = (s: number[]): string => `[${s.join(', ')}]`;
const product = (s: number[]): number => s.reduce((a, b) => a * b, 1);

/** A native error's one-line message (it names the module file where the file is at fault). */
const reason = (e: unknown): string => (e instanceof Error ? e.message : String(e));

const prefix = 'torchscript:';

/**
 * SHA-256 of a module file, hex.
 * @throws FileSystemError naming the file when it cannot be read
 */
const fileSha256 = (path: string): string =>
  createHash('sha256').update(readUserFile(path, 'give the path of a module saved by torch.jit.save')).digest('hex');

/**
 * What names a model the same in every process of a group: a TorchScript module by its
 * file's SHA-256 (ranks may keep it at different paths, or different files at one
 * relative path), every other model by its name.
 * @throws FileSystemError when a module file cannot be read
 */
export function modelIdentity(model: string): string {
  return model.startsWith(prefix) ? `${prefix}sha256:${fileSha256(model.slice(prefix.length))}` : model;
}

/**
 * Loads the module at path and checks it on two examples of inputShape: it must
 * return [2, classes], the same output twice, and leave its buffers unchanged.
 * @throws UserError when the file is missing or not a TorchScript archive, when
 *   the module's forward fails on the dataset's examples, returns another shape,
 *   or is not a fixed function of its parameters (traced in training mode).
 */
export function torchscript(path: string, inputShape: number[], classes: number): TorchScriptModel {
  let module: ScriptModule;
  try {
    module = new ScriptModule(path);
  } catch (e) {
    throw new UserError(reason(e));
  }
  const name = `${prefix}${path}`;
  const { params, buffers } = scope(() => {
    const own = module.parameters();
    const bufs = module.buffers();
    return {
      params: own.map((p) => ({ name: p.name, shape: p.tensor.shape })),
      buffers: bufs.map((b) => ({ name: b.name, shape: b.tensor.shape, dtype: b.tensor.dtype })),
    };
  });
  probe(module, inputShape, classes);
  const paramShapes = params.map((p) => p.shape);
  return {
    name,
    inputShape,
    classes,
    paramShapes,
    paramNames: params.map((p) => p.name),
    parameterCount: paramShapes.reduce((m, s) => m + product(s), 0),
    source: { path: resolve(path), sha256: fileSha256(path) },
    buffers,
    init(K: number, _gen: Generator, o: InitOptions = {}): Tensor[] {
      if (o.sameInit === false) {
        throw new ConfigError(
          'sameInit',
          `${name} starts every agent from the module's own parameters (as the paper does); independent initial points are not supported — leave --same-init at true`,
        );
      }
      const dtype = o.dtype ?? 'float32';
      return scope(() =>
        module.parameters().map(({ tensor }) =>
          tensor
            .to(dtype)
            .unsqueeze(0)
            .expand([K, ...tensor.shape])
            .contiguous(),
        ),
      );
    },
    forward(w: Tensor[], x: Tensor): Tensor {
      if (w.length !== params.length)
        throw new Error(`${name}: expected ${params.length} parameter tensors, got ${w.length}`);
      const ex = x.shape.slice(2);
      if (x.ndim < 2 || ex.length !== inputShape.length || ex.some((d, i) => d !== inputShape[i])) {
        throw new Error(`${name}: inputs must be [K, B, ${inputShape.join(', ')}], got ${shapeText(x.shape)}`);
      }
      const [K, B] = x.shape;
      return scope(() => {
        const outputs = Array.from({ length: K }, (_, k) => {
          const out = module.forward(
            w.map((p) => p.select(0, k)),
            x.select(0, k),
          );
          if (out.ndim !== 2 || out.shape[0] !== B || out.shape[1] !== classes) {
            const expected = shapeText([B, classes]);
            throw new Error(
              `${name}: the module returned ${shapeText(out.shape)} for a batch of ${B}, expected ${expected}`,
            );
          }
          return out;
        });
        return stack(outputs, 0);
      });
    },
  };
}

const traceInEval = 'trace the module after model.eval(), or script it';

/** Runs the module twice on two examples; see torchscript() for what it checks. */
function probe(module: ScriptModule, inputShape: number[], classes: number): void {
  const where = `${module.path}: on the dataset's examples (inputs ${shapeText([2, ...inputShape])}),`;
  scope(() =>
    noGrad(() => {
      const own = module.parameters().map((p) => p.tensor);
      const before = module.buffers().map((b) => b.tensor);
      const x = randn([2, ...inputShape], new Generator(0));
      let outputs: Tensor[];
      try {
        outputs = [module.forward(own, x), module.forward(own, x)];
      } catch (e) {
        const contract = `the module takes x [B, ${inputShape.join(', ')}] and returns logits [B, classes]`;
        throw new UserError(`${where} the module's ${reason(e)} — ${contract}`);
      }
      const [a, b] = outputs;
      if (a.ndim !== 2 || a.shape[0] !== 2 || a.shape[1] !== classes) {
        const expected = `logits ${shapeText([2, classes])} (the dataset has ${classes} classes)`;
        throw new UserError(`${where} the module returned ${shapeText(a.shape)}, expected ${expected}`);
      }
      const changed = module.buffers().filter((after, i) => !after.tensor.eq(before[i]).all().item());
      if (changed.length > 0) {
        throw new UserError(`${where} forward changed the buffer ${changed[0].name} — ${traceInEval}`);
      }
      if (!a.eq(b).all().item())
        throw new UserError(`${where} two forwards on the same input differ (dropout?) — ${traceInEval}`);
    }),
  );
}
