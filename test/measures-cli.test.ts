// `flatdist measure` on the cases: logistic regression at w = 0, whose top eigenvalue is
// nine-fold, and the smallest end at a regularized minimum (λ, once per direction the softmax ignores);
// each value with the estimator's and the data's uncertainty in --json.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eigh, scope } from '../src/tensor/index.js';
import { globalRisk, hessian, riskObjective } from '../src/measures/index.js';
import { loadCheckpoint, saveCheckpoint } from '../src/train/checkpoint.js';
import { makeConfig } from '../src/train/config.js';
import { prepare } from '../src/train/setup.js';
import { cli } from './support/cli.js';

const scratch = mkdtempSync(join(tmpdir(), 'flatdist-curvature-'));
test.after(() => rmSync(scratch, { recursive: true, force: true }));

const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });

interface Value {
  values: number[];
  residuals: number[];
  converged: boolean[];
  data: ({ stdError: number; lo: number; hi: number; groups: number; examplesNeeded?: number } | null)[];
}
interface Out {
  dataGroups: number;
  reports: {
    report: {
      trace?: { estimator: string; mean: number; stdError: number; data: { stdError: number; examplesNeeded: number } };
      eigenvalues?: Value;
      smallestEigenvalues?: Value;
    };
  }[];
}

test('measure at w = 0 of logistic regression: the nine-fold top eigenvalue five times; λ at the bottom of a minimum', () => {
  const minimum = join(scratch, 'min');
  const made = run([
    'minimize',
    ...['--dataset', 'gaussian-mixture', '--train-subset', '500', '--model', 'logistic', '--agents', '2'],
    ...['--weight-decay', '0.01', '--tolerance', '1e-5', '--out', minimum],
  ]);
  assert.equal(made.status, 0, made.stderr);
  const ck = loadCheckpoint(minimum);
  const zero = scope(() => saveCheckpoint(join(scratch, 'zero'), { ...ck, params: ck.params.map((p) => p.mul(0)) }));
  // The exact spectrum at w = 0, from the explicit float64 Hessian of the same J.
  const exact = scope(() => {
    const setup = prepare(makeConfig(ck.config as Record<string, unknown>));
    const obj = riskObjective(globalRisk(setup));
    return eigh(
      hessian(
        obj,
        ck.params.map((p) => p.select(0, 0).mul(0).to('float64')),
      ),
    )
      .values.toNumbers()
      .reverse();
  });
  assert.ok(Math.abs(exact[8] - exact[0]) < 1e-9 * exact[0] && exact[9] < exact[0] * 0.999, 'nine-fold top');

  const r = run(['measure', zero, '--measures', 'eigs', '--top-k', '5', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const top = (JSON.parse(r.stdout) as Out).reports[0].report.eigenvalues;
  assert.ok(top);
  assert.deepEqual(top.converged, [true, true, true, true, true]);
  top.values.forEach((v) =>
    assert.ok(Math.abs(v - exact[0]) <= 1e-4 * exact[0], `${top.values.join(', ')} vs ${exact[0]}`),
  );
  top.data.forEach((d) => assert.ok(d && d.groups >= 20 && d.stdError > 0 && d.lo < exact[0] && exact[0] < d.hi));
  // --data-groups G gives G groups when G does not divide the examples (500 = 7·71 + 3).
  const seven = run(['measure', zero, '--measures', 'eigs', '--top-k', '1', '--data-groups', '7', '--json']);
  assert.equal(seven.status, 0, seven.stderr);
  assert.equal((JSON.parse(seven.stdout) as Out).reports[0].report.eigenvalues?.data[0]?.groups, 7);

  const b = run([
    'measure',
    ...[minimum, '--measures', 'trace,eigs', '--spectrum-end', 'both', '--top-k', '3'],
    ...['--trace-estimator', 'hutch++', '--max-probes', '30', '--target-relative-error', '0.01', '--json'],
  ]);
  assert.equal(b.status, 0, b.stderr);
  const out = JSON.parse(b.stdout) as Out;
  const { trace, eigenvalues, smallestEigenvalues } = out.reports[0].report;
  assert.ok(trace && eigenvalues && smallestEigenvalues);
  assert.equal(trace.estimator, 'hutch++');
  assert.ok(trace.data.stdError > 0 && trace.data.examplesNeeded > 0);
  // H + λI with H ⪰ 0 and H v = 0 along the softmax's shift of every class: the smallest is λ.
  smallestEigenvalues.values.forEach((v, i) =>
    assert.ok(Math.abs(v - 0.01) <= smallestEigenvalues.residuals[i] + 1e-6, `${v}`),
  );
  assert.ok(eigenvalues.values[0] > eigenvalues.values[2] && eigenvalues.values[2] > 0.01);

  const bad = run(['measure', minimum, '--spectrum-end', 'middle']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /spectrum end 'middle'.*largest, smallest, both/);
  const few = run(['measure', minimum, '--trace-estimator', 'hutch++', '--max-probes', '2']);
  assert.equal(few.status, 2);
  assert.match(few.stderr, /at least 3/);
});
