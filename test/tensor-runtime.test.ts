// What the binding reports about the libtorch underneath: its version, its
// intra-op thread pool (readable and settable), and its build configuration.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Generator,
  buildConfig,
  getNumThreads,
  parallelInfo,
  randn,
  scope,
  setNumThreads,
  torchVersion,
} from '../src/tensor/index.js';

test("torchVersion is libtorch's version, major.minor.patch", () => {
  assert.match(torchVersion, /^\d+\.\d+\.\d+/);
});

test('setNumThreads sets what getNumThreads and parallelInfo report; results do not depend on it', () => {
  const original = getNumThreads();
  assert.ok(Number.isInteger(original) && original >= 1);
  const product = (): number[] =>
    scope(() => {
      const gen = new Generator(3);
      const a = randn([64, 64], gen, 'float64');
      return a.matmul(a.mT).sum(1).toNumbers();
    });
  try {
    setNumThreads(1);
    assert.equal(getNumThreads(), 1);
    assert.match(parallelInfo(), /at::get_num_threads\(\) : 1\b/);
    const one = product();
    setNumThreads(2);
    assert.equal(getNumThreads(), 2);
    assert.match(parallelInfo(), /at::get_num_threads\(\) : 2\b/);
    const two = product();
    one.forEach((v, i) => assert.ok(Math.abs(v - two[i]) <= 1e-9 * Math.max(1, Math.abs(v)), `row ${i}`));
  } finally {
    setNumThreads(original);
  }
});

test('parallelInfo names the parallel backend', () => {
  assert.match(parallelInfo(), /ATen parallel backend: \w+/);
});

test('buildConfig describes the build, including the BLAS and LAPACK in use', () => {
  const config = buildConfig();
  assert.match(config, /BLAS/);
  assert.match(config, /LAPACK/);
  assert.match(config, /TORCH_VERSION=/);
});
