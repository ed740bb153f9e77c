// Multilayer perceptron: features → hidden[0] → … → classes, the activation after
// every layer but the last. Layers are named fc1, fc2, ….
import { activate, dense, type Activation } from './layers.js';
import { defineModel, torchDefault, type Model, type ParamSpec } from './model.js';

export function mlp(inputShape: number[], classes: number, hidden: number[], activation: Activation): Model {
  const features = inputShape.reduce((a, b) => a * b, 1);
  const sizes = [features, ...hidden, classes];
  const specs: ParamSpec[] = [];
  for (let i = 1; i < sizes.length; i++) {
    const weight = [sizes[i], sizes[i - 1]];
    specs.push({ name: `fc${i}.weight`, shape: weight, init: torchDefault(weight) });
    specs.push({ name: `fc${i}.bias`, shape: [sizes[i]], init: torchDefault(weight) });
  }
  const name = `mlp ${sizes.join('-')} ${activation}`;
  return defineModel(name, inputShape, classes, specs, (params, x) => {
    const [K, B] = x.shape;
    let h = x.reshape([K, B, features]);
    for (let l = 0; l < params.length; l += 2) {
      h = dense(h, params[l], params[l + 1]);
      if (l + 2 < params.length) h = activate(h, activation);
    }
    return h;
  });
}
