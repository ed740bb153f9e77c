// What a fresh user met: flags silently ignored, a folder's earlier results silently
// replaced, and guesses that misled. Each is now a one-line refusal (exit 2) that names
// what is wrong and the flag that does what was meant.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from './support/cli.js';

const scratch = mkdtempSync(join(tmpdir(), 'flatdist-safety-'));
test.after(() => rmSync(scratch, { recursive: true, force: true }));

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Exit 2 with one line on stderr matching `message`. */
function refused(args: string[], message: RegExp): void {
  const r = run(args);
  assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, message);
}

test('--resume continues its folder in place: another --out is refused, not ignored', () => {
  const a = join(scratch, 'a');
  for (const command of ['train', 'launch'])
    refused(
      [command, ...(command === 'launch' ? ['--nproc', '1'] : []), '--resume', a, '--out', join(scratch, 'other')],
      /^flatdist: --out: --resume continues .*\/a in place — drop --out \(or give the same folder\)$/m,
    );
  const yaml = join(scratch, 'out.yaml');
  writeFileSync(yaml, `out: ${join(scratch, 'other')}\n`);
  const b = join(scratch, 'b'); // a recorded run (defaults): the config file is read after run.json
  mkdirSync(b);
  writeFileSync(join(b, 'run.json'), '{"config": {}}\n');
  refused(
    ['train', '--resume', b, '--config', yaml],
    /out\.yaml: out: --resume continues .*\/b in place — drop the out key \(or give the same folder\)$/m,
  );
  assert.ok(!existsSync(join(scratch, 'other')));
});

test('a guess is offered only when it is close; a flag of another command names the one this command uses', () => {
  const yaml = join(scratch, 'resume.yaml');
  writeFileSync(yaml, 'resume: runs/a\n');
  refused(['train', '--bogus'], /^flatdist: train: Unknown option '--bogus' — see flatdist train --help$/m);
  refused(['nosuch'], /^flatdist: unknown command 'nosuch' — flatdist --help lists the commands$/m);
  refused(['train', '--config', yaml], /resume\.yaml: resume: unknown key \(allowed: dataset, data-dir, train-subset,/);
  refused(['escape', '--epochs', '3'], /escape: Unknown option '--epochs' — escape runs --steps N from w\*/);
  refused(['minimize', '--steps', '3'], /minimize: Unknown option '--steps' — minimize stops by --max-steps/);
  refused(
    ['minimize', '--init', 'R', '--measure-every', '10'],
    /minimize: Unknown option '--measure-every' — measure w\* afterwards with flatdist measure/,
  );
  refused(['train', '--batchsize', '16'], /did you mean --batch-size\?/);
});

test('minimize offers no training-only flags', () => {
  const help = run(['minimize', '--help']).stdout;
  for (const flag of [
    '--steps',
    '--epochs',
    '--eval-every',
    '--checkpoint-every',
    '--keep-checkpoints',
    '--measure-every',
  ])
    assert.doesNotMatch(help, new RegExp(`${flag}\\b`), flag);
  assert.match(help, /--max-steps/);
  assert.match(help, /--batch-size/);
});

test('--debug prints the same one-line error before the stack', () => {
  const r = run(['train', '--agents', '0', '--debug']);
  assert.equal(r.status, 2);
  assert.equal(r.stderr.split('\n')[0], 'flatdist: --agents: must be at least 1, got 0');
});

test("reproduce refuses a folder holding another scale's report (naming it) unless --overwrite", () => {
  const out = join(scratch, 'report-quick');
  mkdirSync(out);
  writeFileSync(join(out, 'results.json'), JSON.stringify({ scale: 'quick' }));
  writeFileSync(join(out, 'report.html'), '<html>quick</html>');
  refused(
    ['reproduce', '--tiny', '--out', out],
    /holds the quick scale's report already \(report\.html, results\.json\) — resume it with --quick, replace it with --overwrite/,
  );
  assert.equal(readFileSync(join(out, 'report.html'), 'utf8'), '<html>quick</html>');
  assert.ok(!existsSync(join(out, 'work')) && !existsSync(join(out, 'reproduce.lock')));
  const runs = join(scratch, 'report-runs');
  mkdirSync(runs);
  writeFileSync(join(runs, 'report.html'), '<html>runs</html>');
  refused(
    ['reproduce', '--tiny', '--out', runs],
    /holds another report \(not a reproduction\) already \(report\.html\)/,
  );
});

test('report takes a folder of runs, refuses a run named twice, and refuses to replace a report without --overwrite', () => {
  const runs = join(scratch, 'runs');
  for (const algorithm of ['atc', 'centralized']) {
    const r = run([
      'train',
      ...['--dataset', 'two-moons', '--algorithm', algorithm, '--agents', '2', '--hidden', '4'],
      ...['--steps', '4', '--eval-every', '2', '--checkpoint-every', '4', '--out', join(runs, algorithm), '--json'],
    ]);
    assert.equal(r.status, 0, r.stderr);
  }
  const out = join(scratch, 'runs-report');
  const first = run(['report', runs, '--out', out]);
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stdout, /^report of 2 runs: /);
  const html = readFileSync(join(out, 'report.html'), 'utf8');
  refused(
    ['report', join(runs, 'atc'), '--out', out],
    /holds earlier results already \(report\.html, runs\.json, figures\) — replace it with --overwrite/,
  );
  assert.equal(readFileSync(join(out, 'report.html'), 'utf8'), html);
  refused(
    ['report', join(runs, 'atc'), `${join(runs, 'atc')}/`, '--out', join(scratch, 'twice')],
    /the same run is given twice/,
  );
  assert.ok(!existsSync(join(scratch, 'twice')));
  const one = run(['report', join(runs, 'atc'), '--out', out, '--overwrite']);
  assert.equal(one.status, 0, one.stderr);
  assert.match(one.stdout, /^report of 1 run: /);
});

test('a file the user names that cannot be read says why, through one helper; a range is said once', () => {
  const runDir = join(scratch, 'not-trained');
  mkdirSync(runDir, { recursive: true });
  writeFileSync(join(runDir, 'run.json'), '{"config": {}}\n');
  const cases: [string[], RegExp][] = [
    [['theory', '--problem', join(scratch, 'nonexistent.json')], /nonexistent\.json: no such file$/m],
    [['train', '--config', join(scratch, 'missing.yaml')], /missing\.yaml: no such file$/m],
    [['train', '--config', scratch], /: is a folder, not a file$/m],
    [
      ['measure', join(runDir, 'run.json')],
      /run\.json: not a checkpoint — give a run folder or a \.safetensors checkpoint$/m,
    ],
    [['train', '--edge-probability', '0'], /^flatdist: --edge-probability: must be a number > 0 and ≤ 1, got 0$/m],
    [['train', '--edge-probability', '1.5'], /^flatdist: --edge-probability: must be a number > 0 and ≤ 1, got 1\.5$/m],
  ];
  for (const [args, message] of cases) refused(args, message);
});
