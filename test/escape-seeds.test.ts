// escape records each seed's values (escape.json, escape.jsonl, --json), whose mean is the
// reported mean; theory --minimum --save-problem writes the problem estimated at w*, and
// --problem reads it back to the same curves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from './support/cli.js';

function flatdist(...args: string[]): string {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, `flatdist ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const dir = mkdtempSync(join(tmpdir(), 'flatdist-escape-seeds-'));
const minimum = join(dir, 'minimum');
const problem = ['--dataset', 'gaussian-mixture', '--train-subset', '300', '--model', 'logistic', '--agents', '4'];
const settings = ['--batch-size', '8', '--step-size', '0.2', '--steps', '6'];
flatdist('minimize', ...problem, '--weight-decay', '0.01', '--max-steps', '40', '--out', minimum, '--json');

interface Point {
  estimate: number;
}

test("escape --json and escape.jsonl hold every seed's values, and their mean is the reported one", () => {
  const out = join(dir, 'escape');
  const summary = JSON.parse(
    flatdist(
      'escape',
      '--minimum',
      minimum,
      ...settings,
      '--seeds',
      '4',
      '--every',
      '3',
      '--algorithm',
      'consensus,atc',
      '--out',
      out,
      '--json',
    ),
  ) as {
    curves: { algorithm: string; final: { centroid: Point }; perSeed: { steps: number[]; centroid: number[][] } }[];
  };
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  for (const curve of summary.curves) {
    assert.deepEqual(curve.perSeed.steps, [0, 3, 6]);
    assert.equal(curve.perSeed.centroid.length, 4, 'one row per seed');
    const last = curve.perSeed.centroid.map((row) => row[row.length - 1]);
    assert.ok(new Set(last).size > 1, 'the seeds differ');
    assert.ok(Math.abs(mean(last) - curve.final.centroid.estimate) <= 1e-12 * Math.abs(curve.final.centroid.estimate));
  }
  const lines = readFileSync(join(out, 'escape.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { centroid: Point; perSeed: { centroid: number[]; agentAverage: number[] } });
  assert.equal(lines.length, 6);
  for (const l of lines) {
    assert.equal(l.perSeed.centroid.length, 4);
    assert.ok(
      Math.abs(mean(l.perSeed.centroid) - l.centroid.estimate) <=
        1e-12 * Math.max(Math.abs(l.centroid.estimate), 1e-300),
    );
  }
  assert.deepEqual(JSON.parse(readFileSync(join(out, 'escape.json'), 'utf8')).curves, summary.curves);
});

test('theory --minimum --save-problem, then --problem: the same curves from the estimated problem', () => {
  const file = join(dir, 'estimated.safetensors');
  type Output = { predictions: { curve: { centroid: number[]; agentAverage: number[] } }[] };
  const estimated = JSON.parse(
    flatdist('theory', '--minimum', minimum, ...settings, '--save-problem', file, '--json'),
  ) as Output;
  const read = JSON.parse(flatdist('theory', '--problem', file, ...settings, '--json')) as Output;
  estimated.predictions.forEach((p, i) => {
    for (const key of ['centroid', 'agentAverage'] as const) {
      const theirs = read.predictions[i].curve[key];
      p.curve[key].forEach((v, n) => assert.ok(Math.abs(v - theirs[n]) <= 1e-12 * Math.abs(v), `${key} at n = ${n}`));
    }
  });
});

test('escape and theory say when w* is not a minimum: a training run, or a minimization that did not converge', () => {
  const trained = join(dir, 'trained');
  flatdist('train', ...problem, '--steps', '5', '--out', trained, '--json');
  const unconverged = join(dir, 'unconverged');
  flatdist('minimize', ...problem, '--weight-decay', '0.01', '--max-steps', '1', '--out', unconverged, '--json');
  const stderrOf = (...args: string[]): string => {
    const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return r.stderr;
  };
  const run = ['--algorithm', 'centralized', '--seeds', '2', ...settings, '--json'];
  assert.match(
    stderrOf('escape', '--minimum', trained, ...run, '--out', join(dir, 'escape-trained')),
    /note: .*trained is not a minimum from flatdist minimize .* find a minimum with: flatdist minimize --init /,
  );
  assert.match(
    stderrOf('theory', '--minimum', unconverged, ...settings, '--json'),
    /note: the minimization in .*unconverged did not converge \(‖∇J\(w\*\)‖ = .* — continue it with: flatdist minimize --init /,
  );
  assert.doesNotMatch(stderrOf('theory', '--minimum', minimum, ...settings, '--json'), /note:/);
});
