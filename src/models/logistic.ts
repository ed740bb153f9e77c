// Multinomial logistic regression: logits = W x + b, one dense layer.
import { dense } from './layers.js';
import { defineModel, torchDefault, type Model } from './model.js';

export function logistic(inputShape: number[], classes: number): Model {
  const features = inputShape.reduce((a, b) => a * b, 1);
  const weight = [classes, features];
  return defineModel(
    'logistic',
    inputShape,
    classes,
    [
      { name: 'fc.weight', shape: weight, init: torchDefault(weight) },
      { name: 'fc.bias', shape: [classes], init: torchDefault(weight) },
    ],
    ([w, b], x) => {
      const [K, B] = x.shape;
      return dense(x.reshape([K, B, features]), w, b);
    },
  );
}
