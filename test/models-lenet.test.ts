// LeNet-5 with relu pools before the activation (conv → max-pool → relu): its logits, gradients and
// Hessian-vector products are bit for bit those of the textbook order conv → relu → max-pool computed
// with libtorch's own max_pool2d; the other activations keep act → max-pool and equal it too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Generator, grad, randint, randn, scope, zeros, type Tensor } from '../src/tensor/index.js';
import { native } from '../src/tensor/native.js';
import { wrap } from '../src/tensor/tensor.js';
import { makeModel, type Activation, type Model } from '../src/models/index.js';
import { activate, dense, fromGrouped, groupedConv, toGrouped } from '../src/models/layers.js';
import { crossEntropy } from '../src/tensor/index.js';

const atMaxPool2d = (x: Tensor): Tensor => wrap(native.maxPool2d(x.handle, [2, 2], [2, 2], [0, 0]));

/** LeNet-5 written out layer by layer, act → libtorch's max_pool2d (src/models/lenet.ts's header). */
function textbookLenet(p: Tensor[], x: Tensor, image: number[], activation: Activation): Tensor {
  const [K, B] = x.shape;
  let h = toGrouped(x.reshape([K, B, ...image]));
  h = atMaxPool2d(activate(groupedConv(h, p[0], p[1], { padding: 2 }), activation));
  h = atMaxPool2d(activate(groupedConv(h, p[2], p[3]), activation));
  let f = fromGrouped(h, K);
  f = activate(dense(f, p[4], p[5]), activation);
  f = activate(dense(f, p[6], p[7]), activation);
  return dense(f, p[8], p[9]);
}

/** Logits, the gradient of the summed mean losses, and its Hessian-vector product with v. */
function terms(forward: (p: Tensor[]) => Tensor, params: Tensor[], y: Tensor, v: Tensor[]): Tensor[] {
  const leaves = params.map((p) => p.detach().clone().requiresGrad_());
  const logits = forward(leaves);
  const [K, B, C] = logits.shape;
  const loss = crossEntropy(logits.reshape([K * B, C]), y.reshape([K * B]), 'sum').div(B);
  const g = grad(loss, leaves, { createGraph: true });
  const hv = grad(
    g.map((gi, i) => gi.mul(v[i]).sum()).reduce((a, b) => a.add(b)),
    leaves,
  );
  return [logits.detach(), ...g.map((t) => t.detach()), ...hv];
}

const bytesEqual = (a: Tensor, b: Tensor): boolean => {
  const [x, z] = [a.toArray(), b.toArray()];
  return Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(Buffer.from(z.buffer, z.byteOffset, z.byteLength));
};

function assertSameAsTextbook(model: Model, image: number[], activation: Activation, x: Tensor, seed: number): void {
  const gen = new Generator(seed);
  const [K, B] = x.shape;
  const params = model.init(K, gen, { sameInit: false, dtype: x.dtype });
  const y = randint(0, model.classes, [K, B], gen);
  const v = params.map((p) => randn(p.shape, gen, p.dtype));
  const got = terms((p) => model.forward(p, x), params, y, v);
  const expected = terms((p) => textbookLenet(p, x, image, activation), params, y, v);
  const names = ['logits', ...model.paramNames.map((n) => `gradient ${n}`), ...model.paramNames.map((n) => `Hv ${n}`)];
  got.forEach((t, i) =>
    assert.ok(bytesEqual(t, expected[i]), `${activation}: ${names[i]} differs from the textbook order`),
  );
}

for (const { activation, image } of [
  { activation: 'relu', image: [1, 28, 28] },
  { activation: 'relu', image: [3, 32, 32] },
  { activation: 'tanh', image: [1, 28, 28] },
  { activation: 'gelu', image: [1, 28, 28] },
] as const) {
  for (const dtype of ['float32', 'float64'] as const) {
    test(`lenet (${activation}, ${JSON.stringify(image)}, ${dtype}): logits, gradients and HVPs are the textbook order's bit for bit`, () =>
      scope(() => {
        const model = makeModel({ model: 'lenet', inputShape: [...image], classes: 10, activation });
        const gen = new Generator(11);
        const [K, B] = [3, 4];
        assertSameAsTextbook(model, [...image], activation, randn([K, B, ...image], gen, dtype), 1);
        // Blank images: every map is its bias, so every window is a tie, and negative biases give relu zeros.
        assertSameAsTextbook(model, [...image], activation, zeros([K, B, ...image], dtype), 2);
      }));
  }
}
