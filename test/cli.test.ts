// The command line as a user meets it: every command's help lists its options with a
// description (and the allowed values), configs take the flags' spelling, mistakes name
// the nearest valid flag or key, and --version and --help load neither libtorch nor vega.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { newContext, program } from '../src/cli/command.js';
import { commands } from '../src/cli/main.js';
import { configFromOptions } from '../src/cli/train.js';
import { ConfigError, UserError } from '../src/errors.js';
import { packageRoot } from '../src/util/package.js';
import { torchVersion } from '../src/tensor/runtime.js';
import { defaults, makeConfig, runFields } from '../src/train/config.js';
import { fieldInfo, kebab } from '../src/train/fields.js';
import { cli } from './support/cli.js';

const scratch = mkdtempSync(join(tmpdir(), 'flatdist-cli-'));
test.after(() => rmSync(scratch, { recursive: true, force: true }));

function run(
  args: string[],
  nodeArgs: string[] = [],
  env: NodeJS.ProcessEnv = {},
): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [...nodeArgs, cli, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Each command line fails with exit 2 and one line of stderr matching its message. */
function refusedInOneLine(cases: [string[], RegExp][]): void {
  for (const [args, message] of cases) {
    const r = run(args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, message);
  }
}

test('every command’s help lists each of its options with a description, and the allowed values', async () => {
  for (const [name, load] of Object.entries(commands)) {
    const cmd = program([await load()], newContext()).commands[0];
    const help = cmd.helpInformation({ error: false });
    assert.ok(cmd.options.length > 0, name);
    for (const option of cmd.options.filter((o) => !o.hidden)) {
      assert.ok(option.long !== undefined && help.includes(option.long), `${name} ${option.flags} is in the help`);
      assert.ok(option.description.length >= 10, `${name} ${option.flags} has a description`);
    }
  }
  const train = program([await commands.train()], newContext())
    .commands[0].helpInformation({ error: false })
    .replace(/\s+/g, ' ');
  for (const [name, schema] of Object.entries(runFields)) {
    assert.ok(train.includes(`--${kebab(name)}`), name);
    for (const value of fieldInfo.get(schema)?.values ?? [])
      assert.ok(train.includes(value), `train --help names ${value} for --${kebab(name)}`);
  }
  assert.match(train, /--batch-size <B> batch size B of each agent \[examples\] \(default 64\)/);
});

test('--help, help <command> and <command> --help print the usage and exit 0', () => {
  const top = run(['--help']);
  assert.equal(top.status, 0);
  for (const name of Object.keys(commands)) assert.match(top.stdout, new RegExp(`^  ${name} `, 'm'));
  for (const args of [
    ['help', 'train'],
    ['train', '--help'],
    ['demo', '--help'],
    ['help', 'measure'],
  ]) {
    const r = run(args);
    assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`^Usage: flatdist ${args[0] === 'help' ? args[1] : args[0]} `));
  }
});

test('a YAML config takes the flags’ spelling (batch-size) as well as run.json’s (batchSize); flags override it', async () => {
  const file = join(scratch, 'run.yaml');
  writeFileSync(
    file,
    'batch-size: 16\nstep-size: 0.05\nweightDecay: 0.001\nalgorithm: diffusion\nschedule: step:100:0.5\nhidden: [32, 16]\nsame-init: false\n',
  );
  const { config } = await configFromOptions({ config: file, stepSize: '0.2' }, newContext());
  assert.equal(config.batchSize, 16);
  assert.equal(config.stepSize, 0.2, 'the flag wins over the file');
  assert.equal(config.weightDecay, 0.001);
  assert.equal(config.algorithm, 'atc');
  assert.deepEqual(config.schedule, { kind: 'step', every: 100, factor: 0.5 });
  assert.deepEqual(config.hidden, [32, 16]);
  assert.equal(config.sameInit, false);
  assert.equal(config.agents, defaults.agents);

  writeFileSync(file, 'batch-size: 16\nbatchSize: 32\n');
  await assert.rejects(
    configFromOptions({ config: file }, newContext()),
    (e: unknown) => e instanceof ConfigError && /given twice/.test(e.message),
  );
});

test('the run’s length is given once: --steps with --epochs is an error, and a later --steps replaces a file’s epochs', async () => {
  const refused = (e: unknown, words: RegExp): boolean =>
    e instanceof UserError && words.test(e.message) && /keep one/.test(e.message);
  await assert.rejects(configFromOptions({ steps: '5', epochs: '1' }, newContext()), (e) =>
    refused(e, /^--steps and --epochs both give/),
  );
  const file = join(scratch, 'length.yaml');
  writeFileSync(file, 'steps: 5\nepochs: 1\n');
  await assert.rejects(configFromOptions({ config: file }, newContext()), (e) =>
    refused(e, /length\.yaml: steps and epochs/),
  );
  writeFileSync(file, 'epochs: 1\n');
  const { config } = await configFromOptions({ config: file, steps: '7' }, newContext());
  assert.equal(config.steps, 7);
  assert.equal(config.epochs, null, 'the flag’s --steps is the length, not the file’s epochs');
});

test('run.json’s config validates back to itself: the schema reads what it writes', () => {
  const config = makeConfig({
    schedule: 'warmup:10:cosine:0.01',
    hidden: '64,32',
    trainSubset: '500',
    clipNorm: 'null',
    epochs: 2,
  });
  assert.deepEqual(config.schedule, { kind: 'warmup', steps: 10, then: { kind: 'cosine', final: 0.01 } });
  assert.deepEqual(makeConfig(JSON.parse(JSON.stringify(config)) as Record<string, unknown>), config);
  assert.deepEqual(Object.keys(config), Object.keys(runFields));
});

test('unknown flags, keys and commands name the nearest valid one; errors speak in the flag or key the user wrote', () => {
  const yaml = join(scratch, 'typo.yaml');
  writeFileSync(yaml, 'batch_size: 16\n');
  const kebabYaml = join(scratch, 'kebab.yaml');
  writeFileSync(kebabYaml, 'step-size: -1\n');
  const cases: [string[], RegExp][] = [
    [['train', '--batchsize', '16'], /^flatdist: train: Unknown option '--batchsize' — did you mean --batch-size\?/],
    [['train', '--config', yaml], /typo\.yaml: batch_size: unknown key — did you mean 'batchSize'\?/],
    [['train', '--config', kebabYaml], /kebab\.yaml: step-size: must be a number > 0, got -1/],
    [['train', '--step-size', '0'], /^flatdist: --step-size: must be a number > 0, got 0$/m],
    [['train', '--edge-probability', 'often'], /^flatdist: --edge-probability: 'often' is not a number$/m],
    [['graph', '--file', 'ring.csv'], /graph: Unknown option '--file' — it is now --edges/],
    [['measure', 'x', '--subset', '10'], /measure: Unknown option '--subset' — it is now --eval-subset/],
    [['escape', '--algorithms', 'atc'], /escape: Unknown option '--algorithms' — it is now --algorithm/],
    [['trian'], /unknown command 'trian' — did you mean train\?/],
    [['help', 'trian'], /unknown command 'trian' — did you mean train\?/],
    [['theory', '--eigenvalues', '2,1'], /^flatdist: --eigenvalues: must be MIN,MAX with 0 < MIN ≤ MAX$/m],
    [
      ['train', '--dataset', 'two-moons', '--train-subset', '99999999'],
      /^flatdist: --train-subset: 99999999 is more than the 10000 training examples of two-moons$/m,
    ],
    [
      ['train', '--partition', 'shards:0'],
      /^flatdist: --partition: the shards per agent \(shards:S\) must be a positive integer, got 0$/m,
    ],
  ];
  refusedInOneLine(cases);
});

test('bench refuses what it cannot use in one line, exit 2, before writing anything', () => {
  const notJson = join(scratch, 'not-json.json');
  writeFileSync(notJson, 'notjson\n');
  const wrongShape = join(scratch, 'wrong-shape.json');
  writeFileSync(wrongShape, '{"a": 1}\n');
  const cases: [string[], RegExp][] = [
    [
      ['bench', '--threads', '1,,2'],
      /^flatdist: --threads: must be a comma-separated list with no empty item, got '1,,2'$/m,
    ],
    [
      ['bench', '--threads', '1,'],
      /^flatdist: --threads: must be a comma-separated list with no empty item, got '1,'$/m,
    ],
    [['bench', '--from', notJson], /not-json\.json: not JSON — a saved run is one of bench\/results\/\*\.json$/m],
    [['bench', '--from', wrongShape], /wrong-shape\.json: not a saved benchmark run \(date: /],
    [['bench', '--from', scratch], /flatdist-cli-\w+: is a folder, not a file/],
    // A Python that exits at once (no torch, or not Python at all) is refused, not waited for.
    [
      ['bench', '--quick', '--no-save', '--python', '/bin/false'],
      /^flatdist: the PyTorch peers did not start with \/bin\/false /m,
    ],
  ];
  refusedInOneLine(cases);
});

test('with --json an error is JSON on stdout too; --debug adds the stack', () => {
  const r = run(['train', '--agents', '0', '--json']);
  assert.equal(r.status, 2);
  assert.deepEqual(JSON.parse(r.stdout), {
    error: { kind: 'ConfigError', message: '--agents: must be at least 1, got 0', exitCode: 2 },
  });
  const debug = run(['train', '--agents', '0', '--debug']);
  assert.equal(debug.status, 2);
  assert.match(debug.stderr, /ConfigError: agents: must be at least 1[^]*\n\s+at /);
});

/** The modules a flatdist invocation loads, by an ESM resolve hook that writes each URL to a file. */
function loadedModules(args: string[]): { status: number | null; stdout: string; urls: string[] } {
  const dir = mkdtempSync(join(scratch, 'trace-'));
  const hooks = join(dir, 'hooks.mjs');
  writeFileSync(
    hooks,
    "import { appendFileSync } from 'node:fs';\nexport async function resolve(s, c, next) {\n  const r = await next(s, c);\n  appendFileSync(process.env.FLATDIST_TRACE, r.url + '\\n');\n  return r;\n}\n",
  );
  const register = join(dir, 'register.mjs');
  writeFileSync(
    register,
    `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`,
  );
  const trace = join(dir, 'trace.txt');
  writeFileSync(trace, '');
  const r = run(args, ['--import', pathToFileURL(register).href], { FLATDIST_TRACE: trace });
  return { status: r.status, stdout: r.stdout, urls: readFileSync(trace, 'utf8').trim().split('\n') };
}

const addon = /\/tensor\/native\.js$|\/dist\/native\.js$|\.node$/;
const vega = /\/node_modules\/vega/;

test('--version and --help load neither the native addon nor vega; --version not even the commands', () => {
  const version = loadedModules(['--version']);
  assert.equal(version.status, 0);
  assert.equal(
    version.stdout.trim(),
    `flatdist ${JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')).version as string} (libtorch ${torchVersion})`,
  );
  assert.ok(
    version.urls.some((u) => u.endsWith('/cli/main.js')),
    'the trace sees flatdist’s modules',
  );
  for (const u of version.urls)
    assert.doesNotMatch(
      u,
      /\/src\/cli\/(?!main\.js)|\/node_modules\/(zod|commander|yaml)\//,
      'the version needs no command, schema or parser',
    );
  for (const args of [['--help'], ...Object.keys(commands).map((c) => [c, '--help'])]) {
    const r = loadedModules(args);
    assert.equal(r.status, 0, args.join(' '));
    for (const u of r.urls) {
      assert.doesNotMatch(u, addon, `${args.join(' ')} loads the addon`);
      assert.doesNotMatch(u, vega, `${args.join(' ')} loads vega`);
    }
  }
  // The trace does see the addon's loader when a command computes.
  const graph = loadedModules(['graph', '--agents', '4', '--json']);
  assert.equal(graph.status, 0);
  assert.ok(
    graph.urls.some((u) => addon.test(u)),
    'a computing command loads the addon',
  );
});

test('train with stderr in a log (not a terminal) prints plain progress lines before its evaluation and summary', () => {
  // Every step gets its line (FLATDIST_PROGRESS_EVERY=0), however fast the machine runs the 300 steps.
  const out = join(scratch, 'progress-in-a-log');
  const r = run(
    [
      'train',
      '--algorithm',
      'centralized',
      '--agents',
      '4',
      '--batch-size',
      '256',
      '--train-subset',
      '4096',
      '--steps',
      '300',
      '--eval-every',
      '300',
      '--out',
      out,
    ],
    [],
    { FLATDIST_PROGRESS_EVERY: '0' },
  );
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stderr.split('\n');
  const progress = lines.findIndex((l) => /^centralized: \d+\/300( \(.+ s\))?$/.test(l));
  const evaluated = lines.findIndex((l) => l.startsWith('centralized step 300:'));
  assert.ok(progress >= 0 && progress < evaluated, r.stderr);
  assert.ok(
    lines.some((l) => /^centralized: 300\/300 \(/.test(l)),
    'the last step has its line',
  );
  // Centralized SGD keeps every agent at one point: its consensus distance is exactly 0, and says so.
  assert.match(lines[evaluated], /consensus dist 0$/);
  assert.match(r.stdout, /consensus distance 0$/m);
});

test('demo --json prints the three runs’ summaries, and nothing else, on stdout', () => {
  const r = run(['demo', '--steps', '10', '--out', join(scratch, 'demo-json'), '--json']);
  assert.equal(r.status, 0, r.stderr);
  const rows = JSON.parse(r.stdout) as { algorithm: string; steps: number; testAccuracy: number }[];
  assert.deepEqual(
    rows.map((s) => [s.algorithm, s.steps]),
    [
      ['centralized', 10],
      ['consensus', 10],
      ['atc', 10],
    ],
  );
  for (const s of rows) assert.ok(s.testAccuracy > 0 && s.testAccuracy <= 1);
});

test('other tools’ names for a setting (--lr, --mu, --bs, --algo) name flatdist’s flag', () => {
  for (const [flag, ours] of [
    ['--lr', '--step-size'],
    ['--mu', '--step-size'],
    ['--bs', '--batch-size'],
    ['--algo', '--algorithm'],
  ]) {
    const r = run(['train', flag, '1']);
    assert.equal(r.status, 2, r.stderr);
    assert.equal(
      r.stderr.trim(),
      `flatdist: train: Unknown option '${flag}' — flatdist calls it ${ours} (see flatdist train --help)`,
    );
  }
});
