// A LeNet-5-style CNN (LeCun et al. 1998, with max pooling and a modern activation):
//   conv 6@5×5 (padding 2) → act → max-pool 2 → conv 16@5×5 → act → max-pool 2
//   → fc 120 → act → fc 84 → act → fc classes.
// With relu the pooling runs first (conv → max-pool → relu): max∘relu = relu∘max on every window, and
// the gradients are bit for bit the same (relu' = 0 where x ≤ 0; where the window's max is positive
// its argmax is the same), on a map a quarter the size. The other activations keep act → max-pool:
// gelu is not monotone, and the vectorized approximations of tanh, sigmoid and softplus need not be
// monotone to the last bit, so swapping could change a value.
// On 28×28 inputs the feature map entering fc1 is 16×5×5, on 32×32 it is 16×6×6.
import { maxPool2d, type Tensor } from '../tensor/index.js';
import { activate, dense, fromGrouped, groupedConv, toGrouped, type Activation } from './layers.js';
import { defineModel, torchDefault, type Model, type ParamSpec } from './model.js';

/** Side of the feature map entering fc1, for an input side s. */
export const lenetFeatureSide = (s: number): number => Math.floor((Math.floor(s / 2) - 4) / 2);

/** act then 2×2 max-pool of a convolution's output; relu, monotone, is applied after the pooling (file header). */
const actPool = (h: Tensor, activation: Activation): Tensor =>
  activation === 'relu' ? maxPool2d(h, 2).relu() : maxPool2d(activate(h, activation), 2);

/** image: [C, H, W], the shape the inputs are viewed as (inputShape may be flat). */
export function lenet(
  inputShape: number[],
  image: [number, number, number],
  classes: number,
  activation: Activation,
): Model {
  const [C, H, W] = image;
  const features = 16 * lenetFeatureSide(H) * lenetFeatureSide(W);
  const layers: [string, number[]][] = [
    ['conv1', [6, C, 5, 5]],
    ['conv2', [16, 6, 5, 5]],
    ['fc1', [120, features]],
    ['fc2', [84, 120]],
    ['fc3', [classes, 84]],
  ];
  const specs: ParamSpec[] = layers.flatMap(([name, weight]) => [
    { name: `${name}.weight`, shape: weight, init: torchDefault(weight) },
    { name: `${name}.bias`, shape: [weight[0]], init: torchDefault(weight) },
  ]);
  return defineModel('lenet', inputShape, classes, specs, (p, x) => {
    const [K, B] = x.shape;
    let h = toGrouped(x.reshape([K, B, C, H, W]));
    h = actPool(groupedConv(h, p[0], p[1], { padding: 2 }), activation);
    h = actPool(groupedConv(h, p[2], p[3]), activation);
    let f = fromGrouped(h, K);
    f = activate(dense(f, p[4], p[5]), activation);
    f = activate(dense(f, p[6], p[7]), activation);
    return dense(f, p[8], p[9]);
  });
}
