// Provenance: a run folder says which examples each agent holds (run.json's parts), and a
// measurement says which examples it used, so an independent PyTorch script redoes it from the
// run folder alone: the same J and ‖∇J‖, and the same Hessian-vector product along ∇J.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../src/util/package.js';
import { mnistDataDir } from '../src/data/mnist.js';
import { prepare } from '../src/train/setup.js';
import { makeConfig } from '../src/train/config.js';
import { indicesSha256, readParts } from '../src/train/parts.js';
import { cli } from './support/cli.js';
import { scope } from '../src/tensor/index.js';
import { loadCheckpoint } from '../src/train/checkpoint.js';
import { centroid, flat, globalRisk, hvp, riskAndGradient, riskObjective, unflat } from '../src/measures/index.js';
import { deriveSeed } from '../src/util/seed.js';

const python = '/usr/bin/python3';
const hasTorch = spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
const script = join(packageRoot(), 'examples', 'reproduce_measure.py');

function flatdist(...args: string[]): string {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, `flatdist ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const runArgs = (out: string): string[] => [
  'train',
  '--dataset',
  'mnist',
  '--train-subset',
  '600',
  '--model',
  'mlp',
  '--hidden',
  '8',
  '--activation',
  'tanh',
  '--agents',
  '4',
  '--partition',
  'dirichlet:0.5',
  '--batch-size',
  '8',
  '--steps',
  '15',
  '--eval-every',
  '15',
  '--checkpoint-every',
  '15',
  '--weight-decay',
  '0.01',
  '--seed',
  '4',
  '--out',
  out,
  '--json',
];

test("run.json records each agent's examples as indices into the data set's own training split, with their hash", () => {
  const out = join(mkdtempSync(join(tmpdir(), 'flatdist-parts-')), 'run');
  flatdist(...runArgs(out));
  const record = readParts(out);
  const parts = record.indices;
  assert.equal(record.indicesSha256, indicesSha256(parts));
  assert.deepEqual(
    [record.dataset, record.trainSplit, record.testSplit, record.trainSubset, record.agents, record.examples],
    ['mnist', 60000, 10000, 600, 4, 600],
  );
  const all = parts.flat();
  assert.equal(new Set(all).size, 600, 'the parts are disjoint and cover the 600 examples');
  assert.ok(Math.max(...all) >= 600, 'indices are in the 60000-example split, not 0..599');
  // The same examples as the run's own: the labels the run trained on are the split's labels at those indices.
  const setup = prepare(
    makeConfig({ dataset: 'mnist', trainSubset: 600, agents: 4, partition: 'dirichlet:0.5', seed: 4 }),
  );
  const full = prepare(makeConfig({ dataset: 'mnist', agents: 4 })).train.y.toNumbers();
  const ours = setup.train.y.toNumbers();
  setup.parts.forEach((part, k) =>
    assert.deepEqual(
      part.map((i) => ours[i]),
      parts[k].map((i) => full[i]),
      `agent ${k}`,
    ),
  );
});

test(
  'an independent PyTorch script redoes a measurement from the run folder alone',
  { skip: !hasTorch && `${python} cannot import torch` },
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'flatdist-reproduce-'));
    const out = join(dir, 'run');
    flatdist(...runArgs(out));
    const record = flatdist('measure', out, '--measures', 'opt', '--eval-subset', '200', '--seed', '3', '--json');
    const measured = JSON.parse(record) as {
      examplesUsed: { count: number; indices: number[] };
      reports: { report: { optimization: { risk: number; gradientNorm: number } } }[];
    };
    assert.equal(measured.examplesUsed.count, 200);
    const file = join(dir, 'measure.json');
    writeFileSync(file, record);
    const r = spawnSync(python, [script, out, file, '--data-dir', mnistDataDir()], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const theirs = JSON.parse(r.stdout) as {
      J: number;
      gradientNorm: number;
      gradientCurvature: number;
      weightsMaxDifference: number;
    };
    assert.ok(theirs.weightsMaxDifference < 1e-12, "the recorded weights are p_k n/|S_k| from run.json's parts");
    const ours = measured.reports[0].report.optimization;
    // flatdist measures in the checkpoint's float32, the script in float64.
    const rel = (a: number, b: number): number => Math.abs(a - b) / Math.abs(b);
    assert.ok(rel(ours.risk, theirs.J) < 1e-6, `J: flatdist ${ours.risk}, PyTorch ${theirs.J}`);
    assert.ok(
      rel(ours.gradientNorm, theirs.gradientNorm) < 1e-5,
      `‖∇J‖: flatdist ${ours.gradientNorm}, PyTorch ${theirs.gradientNorm}`,
    );
    // The same in float64 through flatdist's own objective: J, ‖∇J‖ and uᵀ∇²J u, u = ∇J/‖∇J‖ (one HVP).
    scope(() => {
      const ck = loadCheckpoint(out);
      const setup = prepare(makeConfig(ck.config as Record<string, unknown>));
      const obj = riskObjective(globalRisk(setup, { maxExamples: 200, seed: deriveSeed(3, 'subset') }));
      const wc = centroid(
        ck.params.map((t) => t.to('float64')),
        ck.perron,
      );
      const { risk, gradient } = riskAndGradient(obj, wc);
      const g = flat(gradient);
      const u = unflat(g.div(g.norm()), wc);
      const curvature = flat(hvp(obj, wc, u))
        .dot(flat(u))
        .item();
      assert.ok(rel(risk, theirs.J) < 1e-10, `J in float64: flatdist ${risk}, PyTorch ${theirs.J}`);
      assert.ok(rel(g.norm().item(), theirs.gradientNorm) < 1e-9, `‖∇J‖ in float64`);
      assert.ok(
        rel(curvature, theirs.gradientCurvature) < 1e-6,
        `uᵀ∇²J u: flatdist ${curvature}, PyTorch ${theirs.gradientCurvature}`,
      );
    });
  },
);
