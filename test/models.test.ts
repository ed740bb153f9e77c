// Models over stacked agent parameters: one batched pass equals K single-agent
// passes, forward and backward; gradients match finite differences; the
// initialization follows PyTorch's defaults; bad specs are config errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
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
          assert.ok(
            Math.abs(fd - g[j]) < 1e-7 * (1 + Math.abs(fd)),
            `${model.paramNames[i]}[${j}]: autograd ${g[j]}, finite difference ${fd}`,
          );
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
    for (const spec of [
      { model: 'mlp', inputShape: [10], classes: 3 },
      { model: 'lenet', inputShape: [784], classes: 10 },
    ]) {
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
    const [w, b] = ['layer2.0.gn1.weight', 'layer2.0.gn1.bias'].map(
      (n) => resnet.init(2, new Generator(1))[resnet.paramNames.indexOf(n)],
    );
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
    assert.throws(
      () => makeModel(spec),
      (e: unknown) => e instanceof ConfigError && e.field === field,
      JSON.stringify(spec),
    );
  }
});

// The same networks written as PyTorch nn.Modules, loaded through load_state_dict
// with flatdist's parameter names and shapes (strict), so names, layouts, flatten
// order and the ResNet shortcut must all agree.
const pytorchReference = String.raw`
import json, sys, torch, torch.nn as nn, torch.nn.functional as F
torch.set_default_dtype(torch.float64)
ACT = {'relu': F.relu, 'tanh': torch.tanh, 'gelu': F.gelu, 'sigmoid': torch.sigmoid, 'softplus': F.softplus}

class MLP(nn.Module):
    def __init__(s, sizes, act):
        super().__init__(); s.n = len(sizes) - 1; s.act = act
        for i in range(s.n): setattr(s, f'fc{i+1}', nn.Linear(sizes[i], sizes[i+1]))
    def forward(s, x):
        x = x.flatten(1)
        for i in range(s.n):
            x = getattr(s, f'fc{i+1}')(x)
            if i + 1 < s.n: x = s.act(x)
        return x

class LeNet(nn.Module):
    def __init__(s, c, features, classes, act):
        super().__init__(); s.act = act
        s.conv1 = nn.Conv2d(c, 6, 5, padding=2); s.conv2 = nn.Conv2d(6, 16, 5)
        s.fc1 = nn.Linear(features, 120); s.fc2 = nn.Linear(120, 84); s.fc3 = nn.Linear(84, classes)
    def forward(s, x):
        x = F.max_pool2d(s.act(s.conv1(x)), 2); x = F.max_pool2d(s.act(s.conv2(x)), 2)
        return s.fc3(s.act(s.fc2(s.act(s.fc1(x.flatten(1))))))

class Block(nn.Module):
    def __init__(s, cin, w, stride):
        super().__init__(); s.down = stride == 2
        s.conv1 = nn.Conv2d(cin, w, 3, stride, 1, bias=False); s.gn1 = nn.GroupNorm(2, w)
        s.conv2 = nn.Conv2d(w, w, 3, 1, 1, bias=False); s.gn2 = nn.GroupNorm(2, w)
    def forward(s, x):
        out = s.gn2(s.conv2(F.relu(s.gn1(s.conv1(x)))))
        short = F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, x.shape[1] // 2, x.shape[1] // 2)) if s.down else x
        return F.relu(out + short)

class ResNet(nn.Module):
    def __init__(s, depth, c, classes):
        super().__init__(); n = (depth - 2) // 6
        s.conv1 = nn.Conv2d(c, 16, 3, 1, 1, bias=False); s.gn1 = nn.GroupNorm(2, 16)
        cin = 16
        for i, w in enumerate([16, 32, 64]):
            blocks = []
            for b in range(n):
                blocks.append(Block(cin, w, 2 if i > 0 and b == 0 else 1)); cin = w
            setattr(s, f'layer{i+1}', nn.Sequential(*blocks))
        s.fc = nn.Linear(64, classes)
    def forward(s, x):
        x = F.relu(s.gn1(s.conv1(x)))
        x = s.layer3(s.layer2(s.layer1(x)))
        return s.fc(x.mean((2, 3)))

out = []
for job in json.load(sys.stdin):
    kind, act = job['kind'], ACT[job['activation']]
    if kind == 'mlp': m = MLP(job['sizes'], act)
    elif kind == 'lenet': m = LeNet(job['image'][0], job['features'], job['classes'], act)
    else: m = ResNet(job['depth'], job['image'][0], job['classes'])
    m.load_state_dict({n: torch.tensor(v).reshape(sh) for n, v, sh in zip(job['names'], job['params'], job['shapes'])}, strict=True)
    x = torch.tensor(job['x']).reshape([job['B']] + job['image'])
    with torch.no_grad(): out.append(m(x).flatten().tolist())
print(json.dumps(out))
`;

const python = '/usr/bin/python3';
const hasTorch = spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;

test(
  'the models equal the same networks written as PyTorch nn.Modules, parameters loaded by name',
  { skip: !hasTorch && `${python} cannot import torch` },
  () =>
    scope(() => {
      const B = 3;
      const gen = new Generator(13);
      const cases: { spec: ModelSpec; job: Record<string, unknown> }[] = [
        {
          spec: { model: 'mlp', inputShape: [6], classes: 4, hidden: [5, 3], activation: 'softplus' },
          job: { kind: 'mlp', sizes: [6, 5, 3, 4], image: [6] },
        },
        {
          spec: { model: 'lenet', inputShape: [784], classes: 10, activation: 'sigmoid' },
          job: { kind: 'lenet', image: [1, 28, 28], features: 400 },
        },
        {
          spec: { model: 'lenet', inputShape: [3, 32, 32], classes: 10 },
          job: { kind: 'lenet', image: [3, 32, 32], features: 576 },
        },
        {
          spec: { model: 'resnet8', inputShape: [3, 12, 12], classes: 5 },
          job: { kind: 'resnet', depth: 8, image: [3, 12, 12] },
        },
        {
          spec: { model: 'resnet20', inputShape: [2, 9, 9], classes: 3 },
          job: { kind: 'resnet', depth: 20, image: [2, 9, 9] },
        },
      ];
      const ours = cases.map(({ spec, job }) => {
        const model = makeModel(spec);
        // Independent norm parameters too, so a swapped weight and shift would show.
        const params = model
          .init(1, gen, { dtype: 'float64' })
          .map((p) => p.add(randn(p.shape, gen, 'float64').mul(0.1)));
        const x = randn([1, B, ...model.inputShape], gen, 'float64');
        Object.assign(job, {
          activation: spec.activation ?? 'relu',
          classes: spec.classes,
          B,
          names: model.paramNames,
          shapes: model.paramShapes,
          params: params.map((p) => p.toNumbers()),
          x: x.toNumbers(),
        });
        return model.forward(params, x).toNumbers();
      });
      const run = spawnSync(python, ['-c', pytorchReference], {
        input: JSON.stringify(cases.map((c) => c.job)),
        encoding: 'utf8',
        maxBuffer: 1 << 26,
      });
      assert.equal(run.status, 0, run.stderr);
      const theirs = JSON.parse(run.stdout) as number[][];
      cases.forEach(({ spec }, i) => {
        assert.equal(theirs[i].length, ours[i].length);
        const diff = Math.max(...ours[i].map((v, j) => Math.abs(v - theirs[i][j])));
        assert.ok(diff < 1e-10, `${spec.model}: logits differ from PyTorch's by ${diff}`);
      });
    }),
);
