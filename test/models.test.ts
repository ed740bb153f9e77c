// Models over stacked agent parameters: one batched pass equals K single-agent
// passes, forward and backward; gradients match finite differences; the
// initialization follows PyTorch's defaults; bad specs are config errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromArray, Generator, grad, randint, randn, scope, type Tensor } from '../src/tensor/index.js';
import { ConfigError } from '../src/errors.js';
import { agentLosses, makeModel, type Model, type ModelSpec } from '../src/models/index.js';

const maxAbsDiff = (a: Tensor, b: Tensor): number => a.sub(b).abs().amax().item();

/** A leaf holding agent k's slice [1, ...] of a stacked tensor. */
const sliceLeaf = (p: Tensor, k: number): Tensor => p.narrow(0, k, 1).clone().requiresGrad_();

const cases: { spec: ModelSpec; B: number }[] = [
  { spec: { model: 'logistic', inputShape: [7], classes: 3 }, B: 5 },
  { spec: { model: 'mlp', inputShape: [2, 5], classes: 4, hidden: [6, 5], activation: 'gelu' }, B: 5 },
  { spec: { model: 'lenet', inputShape: [1, 28, 28], classes: 10 }, B: 2 },
  { spec: { model: 'lenet', inputShape: [3, 32, 32], classes: 10, activation: 'tanh' }, B: 2 },
  { spec: { model: 'resnet8', inputShape: [3, 8, 8], classes: 5 }, B: 2 },
  { spec: { model: 'resnet20', inputShape: [3, 8, 8], classes: 5 }, B: 2 },
];

for (const { spec, B } of cases) {
  test(`${spec.model} ${JSON.stringify(spec.inputShape)}: the stacked pass equals K single-agent passes, forward and backward`, () =>
    scope(() => {
      const K = 3;
      const gen = new Generator(7);
      const model = makeModel(spec);
      const params = model.init(K, gen, { sameInit: false, dtype: 'float64' }).map((p) => p.requiresGrad_());
      const x = randn([K, B, ...model.inputShape], gen, 'float64');
      const y = randint(0, model.classes, [K, B], gen);

      const logits = model.forward(params, x);
      assert.deepEqual(logits.shape, [K, B, model.classes]);
      const losses = agentLosses(model, params, x, y);
      assert.deepEqual(losses.shape, [K]);
      const grads = grad(losses.sum(), params);

      for (let k = 0; k < K; k++) {
        const own = params.map((p) => sliceLeaf(p, k));
        const xk = x.narrow(0, k, 1);
        const yk = y.narrow(0, k, 1);
        assert.ok(maxAbsDiff(model.forward(own, xk), logits.narrow(0, k, 1)) < 1e-12, `agent ${k} logits`);
        const loss = agentLosses(model, own, xk, yk);
        assert.ok(Math.abs(loss.item() - losses.select(0, k).item()) < 1e-12, `agent ${k} loss`);
        const single = grad(loss.sum(), own);
        single.forEach((g, i) => {
          const diff = maxAbsDiff(g, grads[i].narrow(0, k, 1));
          assert.ok(diff < 1e-10, `agent ${k} ${model.paramNames[i]}: gradient differs by ${diff}`);
        });
      }
      // The agents' gradients are not all alike, so the comparison above could fail.
      assert.ok(maxAbsDiff(grads[0].select(0, 0), grads[0].select(0, 1)) > 1e-6);
    }));
}

for (const activation of ['relu', 'tanh', 'gelu', 'sigmoid', 'softplus']) {
  test(`mlp (${activation}): gradients of the agents' summed losses equal central finite differences`, () =>
    scope(() => {
      const [K, B, h] = [2, 4, 1e-6];
      const gen = new Generator(3);
      const model = makeModel({ model: 'mlp', inputShape: [5], classes: 3, hidden: [4, 3], activation });
      const params = model.init(K, gen, { sameInit: false, dtype: 'float64' }).map((p) => p.requiresGrad_());
      const x = randn([K, B, 5], gen, 'float64');
      const y = randint(0, 3, [K, B], gen);
      const grads = grad(agentLosses(model, params, x, y).sum(), params);
      const values = params.map((p) => p.toArray() as Float64Array);
      const lossWith = (i: number, j: number, delta: number): number =>
        scope(() => {
          const v = Float64Array.from(values[i]);
          v[j] += delta;
          const ps = params.map((p, l) => (l === i ? fromArray(v, p.shape) : p));
          return agentLosses(model, ps, x, y).sum().item();
        });
      params.forEach((_, i) => {
        const g = grads[i].toArray() as Float64Array;
        for (let j = 0; j < values[i].length; j++) {
          const fd = (lossWith(i, j, h) - lossWith(i, j, -h)) / (2 * h);
          assert.ok(Math.abs(fd - g[j]) < 1e-7 * (1 + Math.abs(fd)), `${model.paramNames[i]}[${j}]: autograd ${g[j]}, finite difference ${fd}`);
        }
      });
    }));
}

const agentsEqual = (p: Tensor): boolean => {
  for (let k = 1; k < p.shape[0]; k++) if (maxAbsDiff(p.select(0, k), p.select(0, 0)) !== 0) return false;
  return true;
};

test('sameInit starts every agent at the point a single model draws; independent init differs between agents', () =>
  scope(() => {
    for (const spec of [{ model: 'mlp', inputShape: [10], classes: 3 }, { model: 'lenet', inputShape: [784], classes: 10 }]) {
      const model = makeModel(spec);
      const same = model.init(4, new Generator(11));
      const single = model.init(1, new Generator(11));
      const independent = model.init(4, new Generator(11), { sameInit: false });
      same.forEach((p, i) => {
        assert.deepEqual(p.shape, [4, ...model.paramShapes[i]]);
        assert.equal(p.dtype, 'float32');
        assert.ok(agentsEqual(p), `${model.paramNames[i]} differs between agents`);
        assert.equal(maxAbsDiff(p.select(0, 2), single[i].select(0, 0)), 0);
        assert.ok(!agentsEqual(independent[i]), `${model.paramNames[i]} is the same for all agents`);
      });
    }
  }));

test('initialization is PyTorch’s default: weights and biases U(±1/√fan_in), variance 1/(3·fan_in); norms at 1 and 0', () =>
  scope(() => {
    const check = (model: Model, name: string, fanIn: number): void => {
      const params = model.init(8, new Generator(5), { sameInit: false, dtype: 'float64' });
      const p = params[model.paramNames.indexOf(name)];
      const bound = 1 / Math.sqrt(fanIn);
      assert.ok(p.abs().amax().item() <= bound, `${name} exceeds ±${bound}`);
      const variance = p.var().item();
      const expected = 1 / (3 * fanIn);
      assert.ok(Math.abs(variance / expected - 1) < 0.05, `${name}: variance ${variance}, expected ${expected}`);
      assert.ok(Math.abs(p.mean().item()) < 0.05 * bound, `${name}: mean ${p.mean().item()}`);
    };
    const mlp = makeModel({ model: 'mlp', inputShape: [784], classes: 10, hidden: [256] });
    check(mlp, 'fc1.weight', 784);
    check(mlp, 'fc1.bias', 784);
    check(mlp, 'fc2.weight', 256);
    const lenet = makeModel({ model: 'lenet', inputShape: [1, 28, 28], classes: 10 });
    check(lenet, 'conv2.weight', 6 * 5 * 5);
    check(lenet, 'fc1.weight', 16 * 5 * 5);
    const resnet = makeModel({ model: 'resnet8', inputShape: [3, 32, 32], classes: 10 });
    check(resnet, 'layer3.0.conv2.weight', 64 * 3 * 3);
    const [w, b] = ['layer2.0.gn1.weight', 'layer2.0.gn1.bias'].map((n) => resnet.init(2, new Generator(1))[resnet.paramNames.indexOf(n)]);
    assert.deepEqual([w.amin().item(), w.amax().item(), b.abs().amax().item()], [1, 1, 0]);
  }));

test('model shapes: parameter counts of the standard architectures', () => {
  // 784·256 + 256 + 256·10 + 10
  assert.equal(makeModel({ model: 'mlp', inputShape: [784], classes: 10, hidden: [256] }).parameterCount, 203530);
  // LeNet-5 on MNIST: 156 + 2416 + 48120 + 10164 + 850
  assert.equal(makeModel({ model: 'lenet', inputShape: [1, 28, 28], classes: 10 }).parameterCount, 61706);
  // ResNet-20 with option-A shortcuts: 0.27M parameters (He et al. 2016, Table 6), norm affine included.
  const r20 = makeModel({ model: 'resnet20', inputShape: [3, 32, 32], classes: 10 }).parameterCount;
  assert.ok(r20 > 0.265e6 && r20 < 0.275e6, `resnet20 has ${r20} parameters`);
});

test('a bad model spec is a ConfigError naming the field', () => {
  const bad: [ModelSpec, string][] = [
    [{ model: 'transformer', inputShape: [784], classes: 10 }, 'model'],
    [{ model: 'resnet10', inputShape: [3, 32, 32], classes: 10 }, 'model'],
    [{ model: 'mlp', inputShape: [784], classes: 10, activation: 'swish' }, 'activation'],
    [{ model: 'mlp', inputShape: [784], classes: 10, hidden: [256, 0] }, 'hidden'],
    [{ model: 'mlp', inputShape: [784], classes: 10, hidden: [2.5] }, 'hidden'],
    [{ model: 'lenet', inputShape: [784], classes: 10, hidden: [-1] }, 'hidden'],
    [{ model: 'resnet8', inputShape: [3, 32, 32], classes: 10, activation: 'swish' }, 'activation'],
    [{ model: 'mlp', inputShape: [], classes: 10 }, 'inputShape'],
    [{ model: 'lenet', inputShape: [785], classes: 10 }, 'inputShape'],
    [{ model: 'lenet', inputShape: [1, 8, 8], classes: 10 }, 'inputShape'],
    [{ model: 'mlp', inputShape: [784], classes: 1 }, 'classes'],
  ];
  for (const [spec, field] of bad) {
    assert.throws(() => makeModel(spec), (e: unknown) => e instanceof ConfigError && e.field === field, JSON.stringify(spec));
  }
});
