// Models by name, from a plain spec (what a config file or the command line gives).
import { ConfigError } from '../errors.js';
import { activations, type Activation } from './layers.js';
import { lenet, lenetFeatureSide } from './lenet.js';
import { logistic } from './logistic.js';
import { mlp } from './mlp.js';
import { resnet } from './resnet.js';
import { torchscript } from './torchscript.js';
import type { Model } from './model.js';
import { modelNames } from './names.js';

export {
  agentLosses,
  initParams,
  defineModel,
  torchDefault,
  type Model,
  type ParamSpec,
  type Init,
  type InitOptions,
} from './model.js';
export { activations, type Activation } from './layers.js';
export { resnetNormGroups } from './resnet.js';

export { modelNames } from './names.js';
export { modelIdentity } from './torchscript.js';

export interface ModelSpec {
  model: string;
  /** One example's shape, e.g. [784], [1, 28, 28] or [3, 32, 32]. */
  inputShape: number[];
  classes: number;
  /** MLP hidden layer sizes (default [256]); other models ignore it. */
  hidden?: number[];
  /** MLP and LeNet activation (default relu); the other models ignore it (ResNet uses relu). */
  activation?: string;
}

const isPositiveInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;

/**
 * The image a convolutional model sees: [C, H, W] as given, [H, W] as one
 * channel, or a flat [n] with n a perfect square as one square channel (MNIST's 784).
 */
function imageOf(inputShape: number[], model: string): [number, number, number] {
  if (inputShape.length === 3) return [inputShape[0], inputShape[1], inputShape[2]];
  if (inputShape.length === 2) return [1, inputShape[0], inputShape[1]];
  const side = Math.round(Math.sqrt(inputShape[0]));
  if (inputShape.length === 1 && side * side === inputShape[0]) return [1, side, side];
  throw new ConfigError(
    'inputShape',
    `${model} needs images: [C, H, W], [H, W] or a square number of pixels, got [${inputShape.join(', ')}]`,
  );
}

function activationOf(a: string | undefined): Activation {
  if (a === undefined) return 'relu';
  if ((activations as readonly string[]).includes(a)) return a as Activation;
  throw new ConfigError('activation', `unknown activation '${a}' (allowed: ${activations.join(', ')})`);
}

export function makeModel(spec: ModelSpec): Model {
  const { model, inputShape, classes } = spec;
  if (!Array.isArray(inputShape) || inputShape.length === 0 || !inputShape.every(isPositiveInt)) {
    throw new ConfigError(
      'inputShape',
      `must be a non-empty list of positive integers, got ${JSON.stringify(inputShape)}`,
    );
  }
  if (!isPositiveInt(classes) || classes < 2)
    throw new ConfigError('classes', `must be an integer ≥ 2, got ${JSON.stringify(classes)}`);
  if (model.startsWith('torchscript:')) return torchscript(model.slice('torchscript:'.length), inputShape, classes);
  const depth = /^resnet(\d+)$/.exec(model);
  if (!depth && !(modelNames as readonly string[]).includes(model)) {
    throw new ConfigError('model', `unknown model '${model}' (allowed: ${modelNames.join(', ')})`);
  }
  // Checked even for models that ignore them: a config carries defaults for both.
  const activation = activationOf(spec.activation);
  const hidden = spec.hidden ?? [256];
  if (!Array.isArray(hidden) || !hidden.every(isPositiveInt)) {
    throw new ConfigError('hidden', `must be a list of positive integers (layer sizes), got ${JSON.stringify(hidden)}`);
  }
  if (depth) {
    const d = Number(depth[1]);
    if (d < 8 || (d - 2) % 6 !== 0)
      throw new ConfigError('model', `a CIFAR ResNet has depth 6n + 2 (resnet8, resnet20, resnet32, …), got ${model}`);
    return resnet(d, inputShape, imageOf(inputShape, model), classes);
  }
  if (model === 'mlp') return mlp(inputShape, classes, hidden, activation);
  if (model === 'lenet') {
    const image = imageOf(inputShape, model);
    if (lenetFeatureSide(image[1]) < 1 || lenetFeatureSide(image[2]) < 1) {
      throw new ConfigError('inputShape', `lenet needs images of at least 12×12, got ${image[1]}×${image[2]}`);
    }
    return lenet(inputShape, image, classes, activation);
  }
  return logistic(inputShape, classes);
}
export { activationBytesPerExample } from './footprint.js';
