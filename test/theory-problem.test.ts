// theory --problem FILE and --save-problem FILE: a problem written by --save-problem (JSON or
// safetensors) gives the same predictions when read back; a file giving the local minimizers
// c_k in place of d_k gives the same as the problem generated from them; the setting (μ, B, N)
// a problem was saved with is read back; a bad A or setting is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { quadraticProblem } from '../src/data/index.js';
import { cli } from './support/cli.js';

interface Output {
  predictions: { algorithm: string; curve: { centroid: number[]; agentAverage: number[] }; steady: unknown }[];
}

function theory(...args: string[]): Output {
  const r = spawnSync(process.execPath, [cli, 'theory', ...args, '--json'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Output;
}

function assertSameCurves(a: Output, b: Output, tol: number): void {
  assert.deepEqual(
    a.predictions.map((p) => p.algorithm),
    b.predictions.map((p) => p.algorithm),
  );
  a.predictions.forEach((p, i) => {
    for (const key of ['centroid', 'agentAverage'] as const) {
      const [x, y] = [p.curve[key], b.predictions[i].curve[key]];
      assert.equal(x.length, y.length);
      const worst = Math.max(...x.map((v, n) => Math.abs(v - y[n]) / Math.max(Math.abs(v), 1e-300)));
      assert.ok(worst <= tol, `${p.algorithm} ${key}: relative difference ${worst}`);
    }
  });
}

const generated = ['--agents', '5', '--dimension', '4', '--seed', '7', '--step-size', '0.1', '--steps', '60'];
const settings = ['--step-size', '0.1', '--steps', '60'];

test('--save-problem then --problem gives the same curves to 1e-12, as JSON and as safetensors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'flatdist-problem-'));
  for (const name of ['problem.json', 'problem.safetensors']) {
    const file = join(dir, name);
    const original = theory(...generated, '--save-problem', file);
    assertSameCurves(original, theory('--problem', file, ...settings), 1e-12);
  }
});

test('a saved problem records μ, B and N, which --problem takes unless flags say otherwise', () => {
  const dir = mkdtempSync(join(tmpdir(), 'flatdist-problem-'));
  const made = [...generated, '--batch-size', '3'];
  for (const name of ['problem.json', 'problem.safetensors']) {
    const file = join(dir, name);
    const original = theory(...made, '--save-problem', file);
    const read = theory('--problem', file) as Output & { stepSize: number; batchSize: number; steps: number };
    assert.deepEqual([read.stepSize, read.batchSize, read.steps], [0.1, 3, 60], name);
    assertSameCurves(original, read, 1e-12);
    const shorter = theory('--problem', file, '--steps', '20') as Output & { steps: number };
    assert.equal(shorter.steps, 20, 'a flag wins over the recorded setting');
    const text = spawnSync(process.execPath, [cli, 'theory', '--problem', file, '--steps', '20'], { encoding: 'utf8' });
    assert.match(text.stdout, /\(μ, B as recorded in the file\): K = 5, M = 4, μ = 0\.1, B = 3, N = 20/);
  }
  const bad = join(dir, 'bad-setting.json');
  const saved = JSON.parse(readFileSync(join(dir, 'problem.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(bad, JSON.stringify({ ...saved, setting: { stepSize: 0.1, batchSize: 2.5, steps: 60 } }));
  const r = spawnSync(process.execPath, [cli, 'theory', '--problem', bad], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /setting: batchSize 2\.5 is not a positive integer/);
});

test('a problem given by its local minimizers c_k predicts what the generated problem does', () => {
  const dir = mkdtempSync(join(tmpdir(), 'flatdist-problem-'));
  const saved = join(dir, 'problem.json');
  const original = theory(...generated, '--save-problem', saved);
  const { H, R, A, p } = JSON.parse(readFileSync(saved, 'utf8')) as Record<string, unknown>;
  const q = quadraticProblem({ K: 5, M: 4, seed: 7, eigenvalues: [0.1, 1], heterogeneity: 1, noise: 1 });
  const withMinimizers = join(dir, 'minimizers.json');
  writeFileSync(withMinimizers, JSON.stringify({ H, c: q.wo.map((w) => Array.from(w)), R, A, p }));
  assertSameCurves(original, theory('--problem', withMinimizers, ...settings), 1e-12);
});

test('a problem whose A is not left-stochastic, or that mixes with generator flags, is refused in one line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'flatdist-problem-'));
  const file = join(dir, 'bad.json');
  writeFileSync(
    file,
    JSON.stringify({
      H: [[[1]], [[2]]],
      d: [[0.5], [-0.5]],
      R: [[[1]], [[1]]],
      A: [
        [0.5, 0.5],
        [0.6, 0.5],
      ],
    }),
  );
  const r = spawnSync(process.execPath, [cli, 'theory', '--problem', file], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /A: column 0 must be nonnegative and sum to one/);
  const mixed = spawnSync(process.execPath, [cli, 'theory', '--problem', file, '--dimension', '3'], {
    encoding: 'utf8',
  });
  assert.equal(mixed.status, 2);
  assert.match(mixed.stderr, /--dimension: describes a generated problem/);
});

test("theory gives the closed form's relative difference to the exact steady state, which vanishes as μ → 0", () => {
  type Gap = { centroid: number; agentAverage: number };
  const at = (mu: string): { algorithm: string; gap: Gap; closed: number; steady: number }[] => {
    const r = spawnSync(
      process.execPath,
      [cli, 'theory', '--agents', '4', '--dimension', '3', '--step-size', mu, '--steps', '5', '--json'],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as {
      predictions: {
        algorithm: string;
        closedFormRelativeDifference: Gap;
        closedForm: { centroid: { total: number } };
        steady: { centroid: number };
      }[];
    };
    return out.predictions.map((p) => ({
      algorithm: p.algorithm,
      gap: p.closedFormRelativeDifference,
      closed: p.closedForm.centroid.total,
      steady: p.steady.centroid,
    }));
  };
  const [coarse, fine] = [at('0.05'), at('0.005')];
  coarse.forEach((c, i) => {
    assert.equal(c.gap.centroid, (c.closed - c.steady) / c.steady);
    for (const key of ['centroid', 'agentAverage'] as const)
      assert.ok(
        Math.abs(fine[i].gap[key]) < Math.abs(c.gap[key]) / 5,
        `${c.algorithm} ${key}: ${c.gap[key]} at μ = 0.05, ${fine[i].gap[key]} at μ = 0.005`,
      );
  });
  const text = spawnSync(process.execPath, [cli, 'theory', '--agents', '4', '--dimension', '3'], { encoding: 'utf8' });
  assert.match(text.stdout, /^algorithm .*closed form\s+vs steady\s+agents n=N/m);
});
