// TorchScript models (--model torchscript:PATH) against PyTorch itself: modules
// traced and scripted by PyTorch (Debian's python3-torch), trained and measured by
// flatdist, their gradients, Hessian-vector products and Hessians compared with
// PyTorch's on the same inputs, and flatdist's checkpoints loaded back with
// load_state_dict(strict=True).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../src/errors.js';
import { agentLosses } from '../src/models/index.js';
import { torchscript } from '../src/models/torchscript.js';
import { centroid, gradient, hessian, hvp, measure, riskObjective, splitRisk } from '../src/measures/index.js';
import { Generator, eigh, fromArray, grad, randint, randn, scope, stack, type Tensor } from '../src/tensor/index.js';
import { ScriptModule } from '../src/tensor/jit.js';
import { packageRoot } from '../src/util/package.js';
import { loadCheckpoint, saveCheckpoint } from '../src/train/checkpoint.js';
import { makeConfig } from '../src/train/config.js';
import { readSafetensors, writeSafetensors } from '../src/train/safetensors.js';
import { prepare } from '../src/train/setup.js';

const python = '/usr/bin/python3';
const root = packageRoot();
const examples = join(root, 'examples');
const exporter = join(examples, 'export_models.py');
const cliPath = join(root, 'bin', 'flatdist.js');

const torchMissing: string | false = (() => {
  const r = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' });
  return r.status === 0 ? false : `needs PyTorch: ${python} -c 'import torch' failed (apt-get install python3-torch)`;
})();

const scratch = mkdtempSync(join(tmpdir(), 'flatdist-torchscript-'));
test.after(() => rmSync(scratch, { recursive: true, force: true }));

// PyTorch's side of the comparisons. Tensors travel as safetensors both ways.
//   steps DIR MODULE RUN S: ∇ of each agent's mean batch loss at the points the run
//     went through (the module's own parameters, then checkpoints 1 … S−1), on
//     the batches in DIR/batches.safetensors → DIR/grads.safetensors [S, K, …].
//   centroid DIR MODULE RUN: the run's centroid into the module with
//     load_state_dict(strict=True); prints its mean loss on DIR/test.safetensors.
//   point DIR MODULE [hessian]: at the parameters in DIR/point.safetensors, the
//     logits, ∇J, ∇²J v (double backward) and optionally the Hessian → DIR/torch.safetensors.
//   make DIR: the modules the tests use (see below).
const check = String.raw`
import json, struct, sys
import torch
from torch import nn
import torch.nn.functional as F

sys.path.insert(0, sys.argv[1])
from export_models import read_safetensors, state_dict

CODES = {torch.float64: 'F64', torch.float32: 'F32', torch.int64: 'I64'}

def write_safetensors(path, tensors):
    header, chunks, offset = {}, [], 0
    for name, t in tensors.items():
        data = t.detach().contiguous().numpy().tobytes()
        header[name] = {'dtype': CODES[t.dtype], 'shape': list(t.shape), 'data_offsets': [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    text += b' ' * (-len(text) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)))
        f.write(text)
        for c in chunks:
            f.write(c)

def set_parameters(module, values):
    with torch.no_grad():
        for name, p in module.named_parameters():
            p.copy_(values[name])

class LeNet(nn.Module):
    # flatdist's lenet (src/models/lenet.ts), layer for layer and name for name.
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)
    def forward(self, x):
        h = F.max_pool2d(F.relu(self.conv1(x)), 2)
        h = F.max_pool2d(F.relu(self.conv2(h)), 2)
        h = torch.flatten(h, 1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(h)))))

class Tiny(nn.Module):
    # Small enough for an explicit Hessian: inputs [1, 6, 6], 3 classes, M = 119.
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)
        self.fc = nn.Linear(32, 3)
    def forward(self, x):
        return self.fc(torch.flatten(torch.tanh(self.conv(x)), 1))

mode, folder = sys.argv[2], sys.argv[3]
# The plain interpreter, as flatdist runs modules: autograd of the ops themselves.
with torch.jit.optimized_execution(False):
    if mode == 'make':
        torch.manual_seed(0)
        torch.jit.trace(LeNet().eval(), torch.randn(2, 1, 28, 28)).save(folder + '/lenet.pt')
        torch.jit.script(Tiny()).save(folder + '/tiny.pt')
        torch.save(LeNet().state_dict(), folder + '/state_dict.pt')
        bn = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.Linear(4 * 26 * 26, 10)).train()
        torch.jit.trace(bn, torch.randn(2, 1, 28, 28)).save(folder + '/batchnorm-train.pt')
        torch.jit.script(nn.Sequential(nn.Flatten(), nn.Linear(784, 5))).save(folder + '/five-classes.pt')
    elif mode == 'steps':
        module = torch.jit.load(sys.argv[4]).double()
        run, steps = sys.argv[5], int(sys.argv[6])
        names = [n for n, _ in module.named_parameters()]
        batches, _ = read_safetensors(folder + '/batches.safetensors')
        own = {n: p.detach().clone() for n, p in module.named_parameters()}
        K = batches['x'].shape[1]
        grads = {n: [] for n in names}
        for step in range(steps):
            if step > 0:
                stacked, _ = read_safetensors(run + '/checkpoints/step-%08d.safetensors' % step)
            for k in range(K):
                set_parameters(module, own if step == 0 else {n: stacked['agents.' + n][k] for n in names})
                loss = F.cross_entropy(module(batches['x'][step, k]), batches['y'][step, k])
                for n, g in zip(names, torch.autograd.grad(loss, list(module.parameters()))):
                    grads[n].append(g)
        write_safetensors(folder + '/grads.safetensors', {n: torch.stack(gs).reshape(steps, K, *gs[0].shape) for n, gs in grads.items()})
        print(json.dumps({'names': names}))
    elif mode == 'centroid':
        module = torch.jit.load(sys.argv[4])
        module.load_state_dict(state_dict(sys.argv[5]), strict=True)
        data, _ = read_safetensors(folder + '/test.safetensors')
        with torch.no_grad():
            losses = F.cross_entropy(module(data['x']), data['y'], reduction='none')
        print(json.dumps({'testLoss': losses.double().mean().item()}))
    elif mode == 'point':
        module = torch.jit.load(sys.argv[4]).double()
        names = [n for n, _ in module.named_parameters()]
        point, _ = read_safetensors(folder + '/point.safetensors')
        set_parameters(module, {n: point['params.' + n] for n in names})
        params = list(module.parameters())
        logits = module(point['x'])
        g = torch.autograd.grad(F.cross_entropy(logits, point['y']), params, create_graph=True)
        hv = torch.autograd.grad(g, params, grad_outputs=[point['v.' + n] for n in names], retain_graph=True)
        out = {'logits': logits, **{'grad.' + n: t for n, t in zip(names, g)}, **{'hvp.' + n: t for n, t in zip(names, hv)}}
        if len(sys.argv) > 5 and sys.argv[5] == 'hessian':
            flat = torch.cat([t.reshape(-1) for t in g])
            rows = [torch.cat([t.reshape(-1) for t in torch.autograd.grad(flat[i], params, retain_graph=True)]) for i in range(flat.numel())]
            out['hessian'] = torch.stack(rows)
        write_safetensors(folder + '/torch.safetensors', out)
        print(json.dumps({'names': names}))
`;
const checkScript = join(scratch, 'check.py');
writeFileSync(checkScript, check);

function py(args: string[]): string {
  const r = spawnSync(python, args, { encoding: 'utf8', maxBuffer: 1 << 26 });
  assert.equal(r.status, 0, `${python} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}
const torchSide = (mode: string, ...args: string[]): string => py([checkScript, examples, mode, ...args]);

function flatdist(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cliPath, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** max |a − b| over tensors of the same shape. */
function maxDiff(a: Tensor, b: Tensor): number {
  assert.deepEqual(a.shape, b.shape);
  return scope(() => a.to('float64').sub(b.to('float64')).abs().amax().item());
}
const maxAbs = (t: Tensor): number => scope(() => t.abs().amax().item());

let made: string | undefined;
/** The modules of check.py's make mode, once. */
function modules(): string {
  if (made === undefined) {
    made = join(scratch, 'modules');
    mkdirSync(made);
    torchSide('make', made);
  }
  return made;
}

const steps = 10;
const K = 2;
let trained: { dir: string; module: string; run: string } | undefined;
/** A small CNN traced by examples/export_models.py, trained by `flatdist train` over 2 agents for 10 steps (consensus, a checkpoint each step). */
function trainedCnn(): { dir: string; module: string; run: string } {
  if (trained === undefined) {
    const dir = join(scratch, 'cnn');
    py([exporter, 'export', '--out', dir, '--method', 'trace']);
    const module = join(dir, 'cnn.pt');
    const run = join(dir, 'run');
    const r = flatdist([
      'train',
      '--dataset',
      'mnist',
      '--train-subset',
      '512',
      '--eval-subset',
      '512',
      '--model',
      `torchscript:${module}`,
      '--agents',
      String(K),
      '--topology',
      'ring',
      '--algorithm',
      'consensus',
      '--batch-size',
      '16',
      '--step-size',
      '0.1',
      '--steps',
      String(steps),
      '--eval-every',
      String(steps),
      '--checkpoint-every',
      '1',
      '--seed',
      '4',
      '--out',
      run,
    ]);
    assert.equal(r.status, 0, r.stderr);
    trained = { dir, module, run };
  }
  return trained;
}

const checkpointFile = (run: string, step: number): string =>
  join(run, 'checkpoints', `step-${String(step).padStart(8, '0')}.safetensors`);

test(
  'a CNN traced by PyTorch trains over 2 agents on PyTorch’s gradients, batch for batch',
  { skip: torchMissing },
  () => {
    const { dir, module, run } = trainedCnn();
    const config = makeConfig(
      (JSON.parse(readFileSync(join(run, 'run.json'), 'utf8')) as { config: Record<string, unknown> }).config,
    );
    scope(() => {
      const setup = prepare(config);
      const { model } = setup;
      // The trainer's batches, drawn again from the same samplers; the points it went through.
      const samplers = Array.from({ length: K }, (_, k) => setup.sampler(k));
      const batches = Array.from({ length: steps }, () => setup.batch(samplers.map((s) => s.next())));
      const points = [
        model.init(K, new Generator(0)),
        ...Array.from({ length: steps }, (_, n) => loadCheckpoint(checkpointFile(run, n + 1)).params),
      ];
      writeSafetensors(join(dir, 'batches.safetensors'), {
        x: stack(batches.map((b) => b.x)).to('float64'),
        y: stack(batches.map((b) => b.y)),
      });
      const { names } = JSON.parse(torchSide('steps', dir, module, run, String(steps))) as { names: string[] };
      assert.deepEqual(model.paramNames, names);
      const torchGrads = readSafetensors(join(dir, 'grads.safetensors')).tensors;

      const A = fromArray(Float64Array.from(setup.combination(0).flat()), [K, K]);
      let worst = 0;
      let worstTrainer = 0;
      let largest = 0;
      for (let n = 0; n < steps; n++) {
        scope(() => {
          // flatdist's gradients in float64 at w_{n}, through the scripted module.
          const leaves = points[n].map((p) => p.to('float64').requiresGrad_());
          const g = grad(agentLosses(model, leaves, batches[n].x.to('float64'), batches[n].y).sum(), leaves);
          names.forEach((name, i) => {
            const expected = torchGrads[name].select(0, n);
            worst = Math.max(worst, maxDiff(g[i], expected));
            largest = Math.max(largest, maxAbs(expected));
            // What the float32 trainer stepped along: consensus w_{k,n+1} = Σ_l a_lk w_{l,n} − μ ∇̂J_k(w_{k,n}).
            const w = points[n][i].to('float64');
            const mixed = A.mT.mm(w.reshape([K, -1])).reshape(w.shape);
            const implied = mixed.sub(points[n + 1][i].to('float64')).div(config.stepSize);
            worstTrainer = Math.max(worstTrainer, maxDiff(implied, expected));
          });
        });
      }
      assert.ok(largest > 1e-2, `PyTorch's gradients are too small to tell anything (${largest})`);
      assert.ok(worst <= 1e-6, `flatdist's float64 gradients differ from PyTorch's by ${worst}`);
      // Float32 parameters: each step's difference carries about ulp(w)/μ ≈ 1e-7 of rounding.
      assert.ok(worstTrainer <= 1e-6, `the trainer's steps imply gradients ${worstTrainer} away from PyTorch's`);
    });
  },
);

test(
  'the centroid’s checkpoint loads into the PyTorch module with load_state_dict(strict=True) and has the same test loss',
  { skip: torchMissing },
  () => {
    const { dir, module, run } = trainedCnn();
    const config = makeConfig(
      (JSON.parse(readFileSync(join(run, 'run.json'), 'utf8')) as { config: Record<string, unknown> }).config,
    );
    scope(() => {
      const setup = prepare(config);
      writeSafetensors(join(dir, 'test.safetensors'), { x: setup.test.x, y: setup.test.y });
      const { testLoss } = JSON.parse(torchSide('centroid', dir, module, run)) as { testLoss: number };
      const lines = readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n');
      const last = JSON.parse(lines[lines.length - 1]) as { step: number; test: { centroid: { loss: number } } };
      assert.equal(last.step, steps);
      assert.ok(
        Math.abs(last.test.centroid.loss - testLoss) <= 1e-6,
        `flatdist ${last.test.centroid.loss}, PyTorch ${testLoss}`,
      );

      // The example's load command, and the module it saves read back by flatdist: the centroid's values.
      const saved = join(dir, 'centroid.pt');
      const out = JSON.parse(py([exporter, 'load', run, '--module', module, '--save', saved])) as {
        loaded: string;
        parameters: number;
      };
      assert.deepEqual(out, { loaded: 'centroid', parameters: setup.model.parameterCount, saved });
      const ck = loadCheckpoint(run);
      const wc = centroid(ck.params, ck.perron);
      new ScriptModule(saved).parameters().forEach((p, i) => assert.ok(maxDiff(p.tensor, wc[i]) <= 1e-7, p.name));
    });
  },
);

test(
  'Hessian-vector products through the scripted CNN equal PyTorch’s double backward (float64, at the trained centroid)',
  { skip: torchMissing },
  () => {
    const { dir, module, run } = trainedCnn();
    const model = torchscript(module, [1, 28, 28], 10);
    scope(() => {
      const ck = loadCheckpoint(run);
      const params = centroid(ck.params, ck.perron).map((t) => t.to('float64'));
      const gen = new Generator(5);
      const x = randn([64, 1, 28, 28], gen, 'float64');
      const y = randint(0, 10, [64], gen);
      const v = params.map((p) => randn(p.shape, gen, 'float64'));
      const point: Record<string, Tensor> = { x, y };
      model.paramNames.forEach((n, i) => Object.assign(point, { [`params.${n}`]: params[i], [`v.${n}`]: v[i] }));
      writeSafetensors(join(dir, 'point.safetensors'), point);
      torchSide('point', dir, module);
      const expected = readSafetensors(join(dir, 'torch.safetensors')).tensors;

      const objective = riskObjective(splitRisk(model, { x, y }, 0));
      const logits = model
        .forward(
          params.map((p) => p.unsqueeze(0)),
          x.unsqueeze(0),
        )
        .squeeze(0);
      assert.ok(maxDiff(logits, expected.logits) <= 1e-10);
      const g = gradient(objective, params);
      const hv = hvp(objective, params, v);
      model.paramNames.forEach((n, i) => {
        assert.ok(maxDiff(g[i], expected[`grad.${n}`]) <= 1e-10, `∇J ${n}`);
        assert.ok(
          maxDiff(hv[i], expected[`hvp.${n}`]) <= 1e-6 * Math.max(1, maxAbs(expected[`hvp.${n}`])),
          `∇²J v ${n}`,
        );
      });
      assert.ok(
        Math.max(...model.paramNames.map((n) => maxAbs(expected[`hvp.${n}`]))) > 1e-3,
        'the Hessian-vector product is too small to tell anything',
      );
    });
  },
);

test(
  'a scripted residual network with BatchNorm: nested parameter names, fixed buffers, float64 logits, gradients and HVPs equal PyTorch’s',
  { skip: torchMissing },
  () => {
    const dir = join(scratch, 'resnet');
    py([exporter, 'export', '--out', dir, '--method', 'script', '--norm', 'batch']);
    const module = join(dir, 'resnet.pt');
    const model = torchscript(module, [1, 28, 28], 10);
    assert.ok(
      model.paramNames.includes('layers.1.shortcut.0.weight') && model.paramNames.includes('layers.2.norm2.bias'),
      model.paramNames.join(),
    );
    assert.ok(model.buffers.some((b) => b.name === 'layers.1.shortcut.1.running_var' && b.dtype === 'float32'));
    assert.ok(model.buffers.some((b) => b.name === 'norm.num_batches_tracked' && b.dtype === 'int64'));
    scope(() => {
      // Moved off the module's own parameters, so a parameter swapped into the wrong attribute shows.
      const gen = new Generator(6);
      const params = model
        .init(1, gen, { dtype: 'float64' })
        .map((p) => p.squeeze(0).add(randn(p.shape.slice(1), gen, 'float64').mul(0.1)));
      const x = randn([8, 1, 28, 28], gen, 'float64');
      const y = randint(0, 10, [8], gen);
      const v = params.map((p) => randn(p.shape, gen, 'float64'));
      const point: Record<string, Tensor> = { x, y };
      model.paramNames.forEach((n, i) => Object.assign(point, { [`params.${n}`]: params[i], [`v.${n}`]: v[i] }));
      writeSafetensors(join(dir, 'point.safetensors'), point);
      torchSide('point', dir, module);
      const expected = readSafetensors(join(dir, 'torch.safetensors')).tensors;
      const objective = riskObjective(splitRisk(model, { x, y }, 0));
      const logits = model
        .forward(
          params.map((p) => p.unsqueeze(0)),
          x.unsqueeze(0),
        )
        .squeeze(0);
      assert.ok(maxDiff(logits, expected.logits) <= 1e-10, `logits differ by ${maxDiff(logits, expected.logits)}`);
      const g = gradient(objective, params);
      const hv = hvp(objective, params, v);
      model.paramNames.forEach((n, i) => {
        assert.ok(maxDiff(g[i], expected[`grad.${n}`]) <= 1e-10, `∇J ${n}`);
        assert.ok(
          maxDiff(hv[i], expected[`hvp.${n}`]) <= 1e-6 * Math.max(1, maxAbs(expected[`hvp.${n}`])),
          `∇²J v ${n}`,
        );
      });
      // Eval mode: the running statistics are what the module saved, after all these passes.
      const module2 = new ScriptModule(module);
      const saved = module2.buffers();
      module2.forward(
        params.map((p) => p.to('float32')),
        x.to('float32'),
      );
      module2.buffers().forEach((b, i) => assert.ok(b.tensor.eq(saved[i].tensor).all().item(), b.name));
    });
  },
);

test(
  'measure: a traced LeNet-5 gives what flatdist’s native LeNet-5 gives at the same checkpoint',
  { skip: torchMissing },
  () => {
    const module = join(modules(), 'lenet.pt');
    const ts = join(scratch, 'lenet-ts');
    const r = flatdist([
      'train',
      '--dataset',
      'mnist',
      '--train-subset',
      '256',
      '--eval-subset',
      '256',
      '--model',
      `torchscript:${module}`,
      '--agents',
      '2',
      '--algorithm',
      'atc',
      '--batch-size',
      '16',
      '--steps',
      '5',
      '--eval-every',
      '5',
      '--out',
      ts,
    ]);
    assert.equal(r.status, 0, r.stderr);
    // The same checkpoint, its config naming the native model: same names, same shapes.
    const native = join(scratch, 'lenet-native');
    scope(() => {
      const ck = loadCheckpoint(ts);
      saveCheckpoint(join(native, 'checkpoints'), {
        ...ck,
        config: { ...(ck.config as Record<string, unknown>), model: 'lenet', out: native },
      });
    });
    const measured = [ts, native].map((path) => {
      const m = flatdist([
        'measure',
        path,
        '--eval-subset',
        '256',
        '--measures',
        'trace,eigs',
        '--max-probes',
        '12',
        '--top-k',
        '2',
        '--seed',
        '3',
        '--json',
      ]);
      assert.equal(m.status, 0, m.stderr);
      type Report = {
        optimization: { risk: number; gradientNorm: number };
        trace: { mean: number; stdError: number };
        eigenvalues: { values: number[] };
      };
      return (JSON.parse(m.stdout) as { reports: { report: Report }[] }).reports[0].report;
    });
    const [a, b] = measured;
    const close = (x: number, y: number, rel: number, what: string): void =>
      assert.ok(Math.abs(x - y) <= rel * Math.abs(y), `${what}: torchscript ${x}, native ${y}`);
    close(a.optimization.risk, b.optimization.risk, 1e-5, 'J');
    close(a.optimization.gradientNorm, b.optimization.gradientNorm, 1e-4, '‖∇J‖');
    // The same probes on the same function: far inside the estimator's own error.
    close(a.trace.mean, b.trace.mean, 1e-4, 'Tr ∇²J');
    assert.ok(Math.abs(a.trace.mean - b.trace.mean) < 0.01 * b.trace.stdError);
    a.eigenvalues.values.forEach((v, i) => close(v, b.eigenvalues.values[i], 1e-3, `λ_${i + 1}`));
  },
);

test(
  'a small scripted module: flatdist’s exact Hessian is PyTorch’s; the trace and top-eigenvalue estimates agree with its eigendecomposition',
  { skip: torchMissing },
  () => {
    const module = join(modules(), 'tiny.pt');
    const model = torchscript(module, [1, 6, 6], 3);
    assert.equal(model.parameterCount, 119);
    const dir = join(scratch, 'tiny');
    mkdirSync(dir);
    scope(() => {
      const gen = new Generator(7);
      const params = model.init(1, gen, { dtype: 'float64' }).map((p) => p.squeeze(0).mul(3));
      const x = randn([40, 1, 6, 6], gen, 'float64');
      const y = randint(0, 3, [40], gen);
      const point: Record<string, Tensor> = { x, y };
      model.paramNames.forEach((n, i) => Object.assign(point, { [`params.${n}`]: params[i], [`v.${n}`]: params[i] }));
      writeSafetensors(join(dir, 'point.safetensors'), point);
      torchSide('point', dir, module, 'hessian');
      const H = readSafetensors(join(dir, 'torch.safetensors')).tensors.hessian;
      const objective = riskObjective(splitRisk(model, { x, y }, 0));
      assert.ok(maxDiff(hessian(objective, params), H) <= 1e-10 * Math.max(1, maxAbs(H)));

      const exact = eigh(H.add(H.mT).div(2)).values.toNumbers();
      const trace = exact.reduce((s, l) => s + l, 0);
      const report = measure(objective, params, {
        seed: 1,
        trace: { maxProbes: 200, relTol: 0.01 },
        eigenvalues: { k: 2, method: 'lanczos', tol: 1e-8 },
      });
      const t = report.trace;
      const e = report.eigenvalues;
      assert.ok(t && e);
      assert.ok(Math.abs(t.mean - trace) <= 4 * t.stdError, `Hutchinson ${t.mean} ± ${t.stdError}, exact ${trace}`);
      const top = exact.slice().sort((p, q) => q - p);
      e.values.forEach((v, i) =>
        assert.ok(Math.abs(v - top[i]) <= 1e-6 * Math.abs(top[0]), `λ_${i + 1}: Lanczos ${v}, exact ${top[i]}`),
      );
    });
  },
);

test('modules flatdist cannot train are refused with one line that names the file', { skip: torchMissing }, () => {
  const dir = modules();
  const cases: [string, RegExp][] = [
    [join(dir, 'missing.pt'), /missing\.pt: no such file$/],
    [dir, /modules: not a file$/],
    [join(dir, 'state_dict.pt'), /state_dict\.pt: not a TorchScript archive .*torch\.save writes a state dict/],
    [
      join(dir, 'batchnorm-train.pt'),
      /batchnorm-train\.pt: .*forward changed the buffer 1\.running_mean — trace the module after model\.eval\(\)/,
    ],
    [
      join(dir, 'tiny.pt'),
      /tiny\.pt: .*inputs \[2, 1, 28, 28\].*forward failed: RuntimeError: .*— the module takes x \[B, 1, 28, 28\]/,
    ],
    [
      join(dir, 'five-classes.pt'),
      /five-classes\.pt: .*returned \[2, 5\], expected logits \[2, 10\] \(the dataset has 10 classes\)/,
    ],
  ];
  for (const [path, message] of cases) {
    assert.throws(
      () => torchscript(path, [1, 28, 28], 10),
      (e: Error) => e instanceof UserError && message.test(e.message) && !e.message.includes('\n'),
      path,
    );
  }
  assert.throws(
    () => torchscript(join(dir, 'lenet.pt'), [1, 28, 28], 10).init(2, new Generator(0), { sameInit: false }),
    /sameInit: .*starts every agent from the module's own parameters/,
  );
  // At the command line: exit 2 and that one line.
  const r = flatdist([
    'train',
    '--dataset',
    'mnist',
    '--train-subset',
    '64',
    '--agents',
    '2',
    '--steps',
    '1',
    '--out',
    join(scratch, 'refused'),
    '--model',
    `torchscript:${join(dir, 'state_dict.pt')}`,
  ]);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /^flatdist: \S*state_dict\.pt: not a TorchScript archive [^\n]*\n$/);
});
