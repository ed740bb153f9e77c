// What minimize, escape, theory and measure print for a person: the setting on top, a short
// summary by default (every step behind --table full), exact zeros as 0, a minimum that
// stopped short of its tolerance said plainly, and where the excess risk's reference comes from.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from './support/cli.js';

const scratch = mkdtempSync(join(tmpdir(), 'flatdist-output-'));
test.after(() => rmSync(scratch, { recursive: true, force: true }));

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const logistic = ['--dataset', 'gaussian-mixture', '--train-subset', '400', '--model', 'logistic', '--agents', '4'];
const flags = [...logistic, '--weight-decay', '0.01', '--batch-size', '8', '--step-size', '0.1'];

test('theory: a header with K, M, μ, B, N; one line per algorithm; the curves, starting at exactly 0, behind --table full', () => {
  const args = ['theory', '--agents', '5', '--dimension', '4', '--step-size', '0.02', '--batch-size', '16'];
  const short = run([...args, '--steps', '40']);
  assert.equal(short.status, 0, short.stderr);
  const lines = short.stdout.trim().split('\n');
  assert.match(
    lines[0],
    /^theory on a generated quadratic: K = 5, M = 4, μ = 0\.02, B = 16, N = 40, ring\/metropolis$/,
  );
  assert.ok(lines.length <= 8, `a short summary, not ${lines.length} lines`);
  assert.doesNotMatch(short.stdout, /n=0/);
  const full = run([...args, '--steps', '40', '--table', 'full']);
  const out = full.stdout.split('\n');
  const header = out.findIndex((l) => l.includes('centroid n=0'));
  assert.ok(header > 0, full.stdout);
  const row = out[header + 1];
  assert.equal(row.split(/\s+/)[1], '0', `n = 0 is exactly 0: ${row}`);
});

test('minimize: stopping short of the tolerance is said plainly, with the way on; --require-converged exits 1', () => {
  const out = join(scratch, 'short');
  const r = run(['minimize', ...flags, '--max-steps', '2', '--tolerance', '1e-9', '--out', out]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /NOT CONVERGED \(ran out of --max-steps\)/);
  assert.match(r.stdout, new RegExp(`flatdist minimize --init ${out} --out ${out}-2 --max-steps 2`));
  const strict = run([
    'minimize',
    ...flags,
    '--max-steps',
    '2',
    '--tolerance',
    '1e-9',
    '--out',
    join(scratch, 'strict'),
    '--require-converged',
  ]);
  assert.equal(strict.status, 1);
  const json = run([
    'minimize',
    ...flags,
    '--max-steps',
    '2',
    '--tolerance',
    '1e-9',
    '--out',
    join(scratch, 'j'),
    '--json',
  ]);
  assert.match(JSON.parse(json.stdout).advice as string, /not yet a minimum/);
});

test('measure: the excess risk of a minimum is against its own J(w*); of a run without a reference, said unknown', () => {
  const minimum = join(scratch, 'minimum');
  assert.equal(run(['minimize', ...flags, '--out', minimum]).status, 0);
  const m = run(['measure', minimum, '--measures', 'opt', '--json']);
  assert.equal(m.status, 0, m.stderr);
  const record = JSON.parse(m.stdout);
  assert.match(record.reference, /the minimum/);
  assert.ok(Math.abs(record.reports[0].report.optimization.excessRisk) < 1e-9, 'a minimum against itself');
  const trained = join(scratch, 'trained');
  assert.equal(run(['train', ...flags, '--steps', '5', '--out', trained, '--json']).status, 0);
  const t = run(['measure', trained, '--measures', 'opt']);
  assert.equal(t.status, 0, t.stderr);
  assert.match(t.stdout, /excess risk J\(w\) − J\(w\*\): not known — no reference minimum/);
  const given = run(['measure', trained, '--measures', 'opt', '--reference', minimum, '--json']);
  assert.ok(JSON.parse(given.stdout).reports[0].report.optimization.excessRisk > 0, 'above the minimum');
});

test('escape: the setting on top, late means with intervals and theory by default, n = 0 exactly 0 in the full table', () => {
  const minimum = join(scratch, 'minimum');
  if (!existsSync(minimum)) assert.equal(run(['minimize', ...flags, '--out', minimum]).status, 0);
  const args = ['escape', '--minimum', minimum, '--steps', '6', '--seeds', '3', '--every', '2', '--theory'];
  const r = run([...args, '--out', join(scratch, 'escape')]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout.split('\n')[0], /K = 4, M = \d+, μ = 0\.1, B = 8, N = 6, R = 3 seeds/);
  assert.match(r.stdout, /late mean of E J − J\(w\*\) \(n = 4–6, 2 recorded steps; mean over 3 seeds, 95% CI\)/);
  assert.match(r.stdout, /^algorithm\s+centroid \[95% CI\]\s+theory\s+steady/m);
  assert.doesNotMatch(r.stdout, /^centralized\s+0\s/m);
  const full = run([...args, '--out', join(scratch, 'escape-full'), '--table', 'full']);
  assert.match(full.stdout, /^centralized\s+0\s+0\s/m, 'n = 0: the measured excess is exactly 0');
  const first = JSON.parse(readFileSync(join(scratch, 'escape-full', 'escape.jsonl'), 'utf8').split('\n')[0]);
  assert.deepEqual([first.step, first.centroid.estimate, first.centroid.lo, first.centroid.hi], [0, 0, 0, 0]);
});

test('escape into a folder holding earlier results: refused at once, nothing changed; --overwrite replaces them', () => {
  const minimum = join(scratch, 'minimum');
  if (!existsSync(minimum)) assert.equal(run(['minimize', ...flags, '--out', minimum]).status, 0);
  const out = join(scratch, 'escape-twice');
  const args = ['escape', '--minimum', minimum, '--steps', '4', '--seeds', '2', '--out', out];
  assert.equal(run(args).status, 0);
  const before = readFileSync(join(out, 'escape.json'), 'utf8');
  const again = run([...args, '--seeds', '3']);
  assert.equal(again.status, 2, again.stderr);
  assert.match(
    again.stderr,
    /holds earlier results already \(escape\.json, escape\.jsonl\) — replace it with --overwrite/,
  );
  assert.equal(readFileSync(join(out, 'escape.json'), 'utf8'), before);
  const replaced = run([...args, '--seeds', '3', '--overwrite']);
  assert.equal(replaced.status, 0, replaced.stderr);
  assert.equal(JSON.parse(readFileSync(join(out, 'escape.json'), 'utf8')).seeds, 3);
});

test('theory: the eigenvalue range takes any positive MIN,MAX, from a flag or a config file', () => {
  const config = join(scratch, 'quadratic.yaml');
  writeFileSync(config, 'eigenvalues: [0.05, 2.5]\nsteps: 5\n');
  for (const args of [
    ['--eigenvalues', '0.1,1', '--steps', '5'],
    ['--config', config],
  ]) {
    const r = run(['theory', ...args, '--json']);
    assert.equal(r.status, 0, r.stderr);
  }
  const fromFile = JSON.parse(run(['theory', '--config', config, '--json']).stdout) as {
    quadratic: { eigenvalues: number[] };
  };
  assert.deepEqual(fromFile.quadratic.eigenvalues, [0.05, 2.5]);
});
