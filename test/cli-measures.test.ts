// The measure, minimize, escape and theory commands end to end: what they write, that it
// loads back, and one-line errors with exit code 2 for bad inputs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCheckpoint } from '../src/train/checkpoint.js';
import { cli } from './support/cli.js';

const scratch = mkdtempSync(join(tmpdir(), 'flatdist-measures-'));
test.after(() => rmSync(scratch, { recursive: true, force: true }));

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const logistic = [
  '--dataset',
  'gaussian-mixture',
  '--train-subset',
  '1000',
  '--model',
  'logistic',
  '--agents',
  '4',
  '--weight-decay',
  '0.01',
];
const convex = join(scratch, 'logistic-min');

test('minimize: L-BFGS reaches the tolerance on regularized logistic regression and saves a loadable checkpoint', () => {
  const r = run(['minimize', ...logistic, '--tolerance', '1e-6', '--out', convex, '--json']);
  assert.equal(r.status, 0, r.stderr);
  const summary = JSON.parse(r.stdout) as { converged: boolean; gradientNorm: number; risk: number };
  assert.ok(summary.converged && summary.gradientNorm <= 1e-6, `‖∇J‖ = ${summary.gradientNorm}`);
  const ck = loadCheckpoint(convex);
  assert.deepEqual(
    ck.params.map((p) => p.shape[0]),
    [4, 4],
    'one copy of w* per agent',
  );
  assert.equal(ck.params[0].select(0, 0).sub(ck.params[0].select(0, 3)).abs().amax().item(), 0);
  const record = JSON.parse(readFileSync(join(convex, 'minimum.json'), 'utf8')) as { risk: number };
  assert.equal(record.risk, summary.risk);
});

test('minimize --init starts from a run and takes its config: no model flags needed', () => {
  const trained = join(scratch, 'logistic-run');
  assert.equal(run(['train', ...logistic, '--steps', '20', '--eval-every', '20', '--out', trained]).status, 0);
  const r = run(['minimize', '--init', trained, '--max-steps', '5', '--out', join(scratch, 'from-run'), '--json']);
  assert.equal(r.status, 0, r.stderr);
  const ck = loadCheckpoint(join(scratch, 'from-run'));
  assert.deepEqual(
    ck.params.map((p) => p.shape),
    [
      [4, 10, 20],
      [4, 10],
    ],
    'the run’s model (logistic: 20 features, 10 classes) over its 4 agents',
  );
});

test('measure: finite trace and top eigenvalues with their uncertainty and cost', () => {
  const r = run(['measure', convex, '--measures', 'trace,eigs,opt', '--top-k', '3', '--max-probes', '20', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as {
    reports: {
      which: string;
      report: {
        trace: { mean: number; stdError: number; probes: number; cost: { hvps: number; seconds: number } };
        eigenvalues: { values: number[]; cost: { hvps: number } };
        optimization: { risk: number };
      };
    }[];
  };
  assert.equal(out.reports.length, 1);
  const { trace, eigenvalues } = out.reports[0].report;
  assert.equal(out.reports[0].which, 'centroid');
  assert.ok(Number.isFinite(trace.mean) && trace.mean > 0 && trace.stdError >= 0 && trace.probes <= 20);
  assert.ok(trace.cost.hvps === trace.probes && trace.cost.seconds >= 0);
  assert.equal(eigenvalues.values.length, 3);
  assert.ok(eigenvalues.values.every(Number.isFinite) && eigenvalues.cost.hvps > 0);
  // The Hessian is positive semidefinite at the minimum: the trace bounds the top eigenvalue.
  assert.ok(eigenvalues.values[0] <= trace.mean + 4 * trace.stdError);
});

test('escape --theory on a small MLP on an MNIST subset: three algorithms, escape.jsonl with CIs and predictions', () => {
  const mlp = [
    '--dataset',
    'mnist',
    '--train-subset',
    '600',
    '--model',
    'mlp',
    '--hidden',
    '6',
    '--activation',
    'tanh',
    '--agents',
    '4',
    '--weight-decay',
    '0.001',
  ];
  const minimum = join(scratch, 'mlp-min');
  const m = run(['minimize', ...mlp, '--max-steps', '30', '--out', minimum, '--json']);
  assert.equal(m.status, 0, m.stderr);
  const out = join(scratch, 'mlp-escape');
  const r = run([
    'escape',
    '--minimum',
    minimum,
    '--batch-size',
    '8',
    '--step-size',
    '0.1',
    '--steps',
    '4',
    '--seeds',
    '3',
    '--every',
    '2',
    '--theory',
    '--rank',
    '4',
    '--out',
    out,
    '--json',
  ]);
  assert.equal(r.status, 0, r.stderr);
  const lines = readFileSync(join(out, 'escape.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map(
      (l) =>
        JSON.parse(l) as {
          algorithm: string;
          step: number;
          seeds: number;
          centroid: { estimate: number; lo: number; hi: number };
          agentAverage: { estimate: number; lo: number; hi: number };
          predicted: { centroid: number; agentAverage: number };
        },
    );
  assert.deepEqual(
    lines.map((l) => `${l.algorithm}@${l.step}`),
    ['centralized', 'consensus', 'atc'].flatMap((a) => [0, 2, 4].map((n) => `${a}@${n}`)),
  );
  for (const l of lines) {
    for (const x of [l.centroid, l.agentAverage])
      assert.ok(x.lo <= x.estimate && x.estimate <= x.hi && [x.lo, x.hi].every(Number.isFinite));
    assert.ok(Number.isFinite(l.predicted.centroid) && Number.isFinite(l.predicted.agentAverage));
    if (l.step > 0) assert.ok(l.predicted.centroid > 0, 'the theory predicts escape from the minimum');
  }
  const summary = JSON.parse(r.stdout) as {
    theory: { kind: string; rank: number; traceCaptured: { fraction: number } };
  };
  assert.equal(summary.theory.kind, 'subspace');
  assert.equal(summary.theory.rank, 4);
  assert.ok(summary.theory.traceCaptured.fraction > 0);
  assert.ok(existsSync(join(out, 'escape.json')));
});

test('theory on a generated quadratic: exact, steady-state and closed-form predictions for three algorithms', () => {
  const r = run(['theory', '--agents', '5', '--dimension', '4', '--step-size', '0.02', '--steps', '50', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as {
    predictions: {
      algorithm: string;
      steady: { centroid: number };
      closedForm: { centroid: { total: number } };
      curve: { centroid: number[] };
    }[];
  };
  assert.deepEqual(
    out.predictions.map((p) => p.algorithm),
    ['centralized', 'consensus', 'atc'],
  );
  for (const p of out.predictions) {
    assert.equal(p.curve.centroid.length, 51);
    assert.ok(
      Math.abs(p.closedForm.centroid.total - p.steady.centroid) < 0.1 * p.steady.centroid,
      `${p.algorithm}: closed form near the exact steady state at small μ`,
    );
  }
});

test('bad inputs: one line naming the problem, exit code 2', () => {
  const cases: [string[], RegExp][] = [
    [['measure', join(scratch, 'nowhere')], /nowhere: no such checkpoint/],
    [['measure', convex, '--which', 'agent:9'], /which: expected centroid, agent:K with 0 ≤ K < 4, or all/],
    [['measure', convex, '--measures', 'trace,curvature'], /unknown measure 'curvature'/],
    [['escape', ...logistic], /--minimum DIR/],
    [['escape', '--minimum', join(scratch, 'nowhere')], /no such checkpoint file or run directory/],
    [['escape', '--minimum', convex, '--model', 'mlp'], /model: the minimum was found with "logistic"/],
    [['minimize', ...logistic, '--method', 'newton', '--out', join(scratch, 'x')], /method: unknown method 'newton'/],
  ];
  for (const [args, message] of cases) {
    const r = run(args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});

test('theory --minimum and escape --theory on a model over --max-full say, under the table, how much of Tr H̄ the subspace holds', () => {
  const mlp = ['--dataset', 'mnist', '--train-subset', '600', '--model', 'mlp', '--hidden', '6', '--agents', '4'];
  const minimum = join(scratch, 'mlp-min-subspace');
  const m = run(['minimize', ...mlp, '--weight-decay', '0.001', '--max-steps', '30', '--out', minimum, '--json']);
  assert.equal(m.status, 0, m.stderr);
  const setting = ['--minimum', minimum, '--rank', '4', '--batch-size', '8', '--step-size', '0.05', '--steps', '4'];
  const note = /^the top-4 subspace of H̄ holds \d+% ± \d+(\.\d)?% of Tr H̄: the theory covers only that part$/m;
  const theory = run(['theory', ...setting, '--algorithm', 'centralized,atc']);
  assert.equal(theory.status, 0, theory.stderr);
  const lines = theory.stdout.split('\n');
  const table = lines.findIndex((l) => l.startsWith('algorithm '));
  const under = lines.findIndex((l) => note.test(l));
  assert.ok(table >= 0 && under > table + 2, theory.stdout);
  // Centralized SGD has no network: its mixing rate λ is exactly 0.
  assert.match(lines[table + 1], /^centralized .* 0$/);
  const escape = run([
    'escape',
    ...setting,
    '--seeds',
    '2',
    '--every',
    '2',
    '--theory',
    '--out',
    join(scratch, 'mlp-escape-subspace'),
  ]);
  assert.equal(escape.status, 0, escape.stderr);
  const summary = escape.stdout.indexOf('algorithm ');
  assert.ok(summary >= 0 && note.test(escape.stdout.slice(summary)), escape.stdout);
});

test('measure at a minimum of its own: the excess risk and the consensus distance are exactly 0, and print as 0', () => {
  const minimum = join(scratch, 'logistic-min-zeros');
  const m = run(['minimize', ...logistic, '--max-steps', '20', '--out', minimum, '--json']);
  assert.equal(m.status, 0, m.stderr);
  const r = run(['measure', minimum, '--measures', 'opt']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /, excess risk 0 \[/);
  assert.match(r.stdout, /consensus distance \(1\/K\)Σ‖w_k − w_c‖² = 0$/m);
});
