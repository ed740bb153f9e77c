// Devices: tensors and generators are made on the current device (CPU unless a run says --device);
// values are read out through the host. Without CUDA, asking for it is a one-line user error (exit 2);
// with CUDA, the same computation gives the same numbers as on the CPU, within float64 rounding.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../src/errors.js';
import {
  Generator,
  cudaDevices,
  currentDevice,
  randn,
  randperm,
  scope,
  tensor,
  useDevice,
} from '../src/tensor/index.js';
import { cli } from './support/cli.js';

const noCuda = cudaDevices() === 0 ? 'this libtorch sees no CUDA device' : false;
// scripts/gpu-check.sh runs the tensor tests with every tensor on the GPU (test/support/device.ts).
const preset = process.env.FLATDIST_TEST_DEVICE ? 'the device is preset by FLATDIST_TEST_DEVICE' : false;

test(
  'by default tensors live on the CPU, and toDevice to where a tensor is gives the tensor itself',
  { skip: preset },
  () => {
    assert.ok(Number.isInteger(cudaDevices()) && cudaDevices() >= 0);
    assert.equal(currentDevice(), 'cpu');
    scope(() => {
      const t = tensor([1, 2, 3]);
      assert.equal(t.device, 'cpu');
      assert.equal(t.toDevice('cpu'), t);
    });
  },
);

test('an unknown device is refused by libtorch, and the device stays what it was', () => {
  const before = currentDevice();
  assert.throws(() => useDevice('tpu'), ConfigError);
  assert.equal(currentDevice(), before);
});

test(
  'without CUDA, --device cuda is a ConfigError naming the device, and the device stays the CPU',
  { skip: !noCuda },
  () => {
    assert.throws(
      () => useDevice('cuda'),
      (e: unknown) => e instanceof ConfigError && e.field === 'device' && /sees no CUDA device/.test(e.detail),
    );
    assert.equal(currentDevice(), 'cpu');
  },
);

test('train and bench: --device cuda without CUDA, and --device gpu anywhere, exit 2 with one line', () => {
  const cases: [string, RegExp, boolean][] = [
    ['gpu', /^flatdist: --device: unknown device 'gpu' — cpu, cuda or cuda:N\n$/, true],
    ['cuda', /^flatdist: --device: this libtorch sees no CUDA device .* — use --device cpu\n$/, noCuda !== false],
  ];
  const commands = [
    ['train', '--dataset', 'two-moons', '--steps', '1', '--out', 'never-written'],
    ['bench', '--quick', '--no-save'],
  ];
  for (const [device, message, applies] of cases) {
    if (!applies) continue;
    for (const command of commands) {
      const r = spawnSync(process.execPath, [cli, ...command, '--device', device], { encoding: 'utf8' });
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, message);
    }
  }
});

test('every command that takes --device refuses cuda without CUDA, and gpu anywhere: exit 2, one line, nothing written', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'flatdist-device-'));
  try {
    const run = (args: string[]): SpawnSyncReturns<string> =>
      spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
    const data = ['--dataset', 'two-moons'];
    const trained = join(scratch, 'run');
    const minimum = join(scratch, 'minimum');
    assert.equal(run(['train', ...data, '--steps', '2', '--out', trained]).status, 0);
    assert.equal(run(['minimize', ...data, '--max-steps', '3', '--out', minimum]).status, 0);
    const unwritten = join(scratch, 'never-written');
    const commands: string[][] = [
      ['train', ...data, '--steps', '1', '--out', unwritten],
      ['measure', trained],
      ['minimize', ...data, '--max-steps', '1', '--out', unwritten],
      ['escape', '--minimum', minimum, '--out', unwritten],
      ['theory', '--minimum', minimum],
    ];
    const devices: [string, RegExp, boolean][] = [
      ['gpu', /^flatdist: --device: unknown device 'gpu' — cpu, cuda or cuda:N\n$/, true],
      ['cuda', /^flatdist: --device: this libtorch sees no CUDA device .* — use --device cpu\n$/, noCuda !== false],
    ];
    const before = readdirSync(trained, { recursive: true }).sort();
    for (const [device, message, applies] of devices) {
      if (!applies) continue;
      for (const args of commands) {
        const r = run([...args, '--device', device]);
        assert.equal(r.status, 2, `${args[0]} --device ${device}: ${r.stderr}`);
        assert.match(r.stderr, message, `${args[0]} --device ${device}`);
        assert.ok(!existsSync(unwritten), `${args[0]} --device ${device} wrote its folder`);
      }
    }
    assert.deepEqual(readdirSync(trained, { recursive: true }).sort(), before, 'measure changed the run');
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
});

test(
  'on CUDA: tensors, generators and draws live there; results match the CPU; seeded draws repeat',
  { skip: noCuda },
  () => {
    const product = (): number[] =>
      scope(() => {
        const a = tensor([
          [2, -1, 0],
          [1, 3, 1],
        ]).to('float64');
        return a.matmul(a.mT).flatten().toNumbers();
      });
    const onCpu = product();
    try {
      useDevice('cuda');
      assert.equal(currentDevice(), 'cuda:0');
      scope(() => {
        const t = tensor([1, 2, 3]);
        assert.equal(t.device, 'cuda:0');
        assert.equal(t.toDevice('cpu').device, 'cpu');
        const draw = (): number[] => {
          const gen = new Generator(7);
          const x = randn([5], gen, 'float64');
          assert.equal(x.device, 'cuda:0');
          assert.equal(randperm(4, gen).device, 'cuda:0');
          return x.toNumbers();
        };
        assert.deepEqual(draw(), draw());
      });
      const onCuda = product();
      onCpu.forEach((v, i) => assert.ok(Math.abs(v - onCuda[i]) <= 1e-12 * Math.max(1, Math.abs(v)), `entry ${i}`));
    } finally {
      useDevice('cpu');
    }
  },
);
