// Numbers as the commands print them: an exact zero prints as 0 — centralized SGD's consensus
// distance, the excess risk at w* itself, a complete graph's mixing rate — never as 0.000e+0
// or 0.0000, which read as a value rounded to zero. Everything else keeps its digits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { comparisonTable } from '../src/cli/demo.js';
import { subspaceNote } from '../src/cli/escape.js';
import { formatInterval } from '../src/stats/index.js';
import { summaryLines } from '../src/train/summary.js';
import type { Summary } from '../src/train/trainer.js';
import { exponential, fixed } from '../src/util/format.js';
import { formatValue } from '../src/util/table.js';

test('exact zeros print as 0; other values, however small, keep their digits', () => {
  assert.equal(exponential(0, 3), '0');
  assert.equal(exponential(-0, 2), '0');
  assert.equal(exponential(1.5e-300, 2), '1.50e-300');
  assert.equal(exponential(-2.5e-3, 3), '-2.500e-3');
  assert.equal(fixed(0, 4), '0');
  assert.equal(fixed(1e-9, 4), '0.0000');
  assert.equal(fixed(0.3333333, 4), '0.3333');
  assert.equal(formatValue(0), '0');
  assert.equal(formatValue(1.25e-2), '1.250e-2');
  assert.equal(formatInterval({ estimate: 0, lo: 0, hi: 0 }), '0');
  assert.equal(formatInterval({ estimate: 0, lo: -1e-3, hi: 1e-3 }), '0 [-1.00e-3, 1.00e-3]');
  assert.equal(formatInterval({ estimate: 0, lo: NaN, hi: NaN, none: 'n = 1: one value' }), '0 (no interval: n = 1)');
});

const summary = (algorithm: string, consensusDistance: number): Summary => ({
  algorithm,
  agents: 8,
  steps: 300,
  trainLoss: 0.2213,
  trainObjective: 0.2213,
  trainAccuracy: 0.94,
  testLoss: 0.2166,
  testAccuracy: 0.937,
  consensusDistance,
  resumedFrom: null,
  seconds: 36.4,
  earlierSeconds: 0,
});

test('centralized SGD’s consensus distance is 0 in the demo’s table and in train’s summary', () => {
  const table = comparisonTable([summary('centralized', 0), summary('consensus', 1.44e-2)]).split('\n');
  assert.match(table[2], /^\| centralized +\| .* \| +0 \| +36\.4 \|$/);
  assert.match(table[3], /\| +1\.44e-2 \| +36\.4 \|$/);
  assert.equal(table[2].length, table[3].length);
  assert.match(summaryLines(summary('centralized', 0), 'runs/x')[1], /consensus distance 0$/);
  assert.match(summaryLines(summary('atc', 5.58e-3), 'runs/x')[1], /consensus distance 5\.580e-3$/);
});

test('predictions in the top-r subspace of H̄ say how much of Tr H̄ it holds; the full model says nothing', () => {
  const subspace = { kind: 'subspace' as const, rank: 20 };
  assert.equal(
    subspaceNote({ ...subspace, traceCaptured: { fraction: 0.4512, stdError: 0.021, trace: 10 } }),
    'the top-20 subspace of H̄ holds 45% ± 2% of Tr H̄: the theory covers only that part',
  );
  // An exact trace (Hessians explicit) has no standard error.
  assert.equal(
    subspaceNote({ ...subspace, traceCaptured: { fraction: 0.9, stdError: 0, trace: 10 } }),
    'the top-20 subspace of H̄ holds 90% of Tr H̄: the theory covers only that part',
  );
  assert.equal(subspaceNote({ kind: 'full', rank: 40, traceCaptured: null }), null);
});
