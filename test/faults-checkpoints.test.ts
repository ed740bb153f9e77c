// A damaged or altered checkpoint is refused by every command that loads one, with one line
// naming the file (and the tensor): truncated, a changed byte (checksum), other shapes with
// the same byte count, NaN values, a damaged latest.json. Nothing non-finite is ever written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromArray } from '../src/tensor/index.js';
import { loadCheckpoint, saveCheckpoint } from '../src/train/checkpoint.js';
import { readSafetensors, writeSafetensors } from '../src/train/safetensors.js';
import { assertUserError, flatdist, scratch } from './faults-support.js';

const dir = scratch('faults-checkpoints', test.after);
const run = join(dir, 'run');
const file = (out: string, step = 20): string =>
  join(out, 'checkpoints', `step-${String(step).padStart(8, '0')}.safetensors`);

/** A copy of the run with its latest checkpoint changed by `damage`. */
function damaged(name: string, damage: (checkpoint: string) => void): string {
  const out = join(dir, name);
  cpSync(run, out, { recursive: true });
  damage(file(out));
  return out;
}

/** Rewrites a checkpoint with one tensor changed, as a valid file (its checksum recomputed): what another writer could leave. */
function rewrite(
  path: string,
  name: string,
  change: (values: Float32Array, shape: number[]) => { values: Float32Array; shape: number[] },
): void {
  const { tensors, metadata } = readSafetensors(path);
  const { values, shape } = change(tensors[name].toArray() as Float32Array, tensors[name].shape);
  tensors[name] = fromArray(values, shape);
  writeSafetensors(path, tensors, metadata);
}

const withNaN = (values: Float32Array, shape: number[]) => {
  values[Math.min(123, values.length - 1)] = Number.NaN;
  return { values, shape };
};

test.before(async () => {
  const r = await flatdist([
    'train',
    '--dataset',
    'mnist',
    '--train-subset',
    '2000',
    '--hidden',
    '32',
    '--agents',
    '4',
    '--momentum',
    '0.5',
    '--steps',
    '20',
    '--eval-every',
    '20',
    '--checkpoint-every',
    '10',
    '--out',
    run,
    '--json',
  ]);
  assert.equal(r.status, 0, r.stderr);
});

test('every load checks the file: truncated, a changed byte, NaN, a damaged or dangling latest.json', () => {
  const cases: [string, (f: string) => void, RegExp][] = [
    [
      'truncated',
      (f) => truncateSync(f, Math.floor(readFileSync(f).length / 2)),
      /step-00000020\.safetensors: not a valid safetensors file: tensor '.*' lies outside the data \(truncated file\?\)/,
    ],
    [
      'flipped',
      (f) => {
        const bytes = readFileSync(f);
        bytes[bytes.length - 5] ^= 0x01;
        writeFileSync(f, bytes);
      },
      /step-00000020\.safetensors: the data does not match its checksum \(sha256\)/,
    ],
    [
      'momentum-nan',
      (f) => rewrite(f, 'momentum.fc2.bias', withNaN),
      /step-00000020\.safetensors: tensor momentum\.fc2\.bias holds NaN or Inf values/,
    ],
    ['latest-damaged', (f) => writeFileSync(join(f, '..', 'latest.json'), '{"step":2'), /latest\.json: not JSON/],
    ['latest-dangling', (f) => rmSync(f), /latest\.json: names step-00000020\.safetensors, which is missing/],
  ];
  for (const [name, damage, message] of cases) {
    assert.throws(
      () => loadCheckpoint(damaged(name, damage)),
      (e: Error) => e.name === 'DataError' && message.test(e.message),
      name,
    );
  }
  assert.equal(loadCheckpoint(run).step, 20, 'the original loads');
});

test('a checkpoint holding NaN or Inf is never written: refused before any file', () => {
  const out = join(dir, 'never', 'checkpoints');
  const w = fromArray(Float32Array.from([1, 2, Number.POSITIVE_INFINITY, 4]), [2, 2]);
  assert.throws(
    () =>
      saveCheckpoint(out, {
        step: 1,
        paramNames: ['w'],
        params: [w],
        momentum: null,
        perron: [0.5, 0.5],
        samplers: [],
        config: {},
      }),
    /step-00000001\.safetensors: not written — tensor agents\.w holds NaN or Inf/,
  );
  assert.ok(!existsSync(out), 'nothing written');
});

test('case 7: [4,32,784] rewritten as [4,64,392] (same bytes): measure, train --resume and minimize --init name the tensor and both shapes', async () => {
  const reshaped = damaged('reshaped', (f) =>
    rewrite(f, 'agents.fc1.weight', (values) => ({ values, shape: [4, 64, 392] })),
  );
  const truncated = damaged('truncated-resume', (f) => truncateSync(f, 1000));
  const results = await Promise.all([
    flatdist(['measure', reshaped]),
    flatdist(['train', '--resume', reshaped]),
    flatdist(['minimize', '--init', reshaped, '--max-steps', '2', '--out', join(dir, 'from-reshaped')]),
    flatdist(['train', '--resume', truncated]),
  ]);
  const shapes =
    /step-00000020\.safetensors: tensor agents\.fc1\.weight has shape \[.*64, 392\], the model needs \[.*32, 784\]/;
  results.slice(0, 3).forEach((r, i) => assertUserError(r, shapes, ['measure', 'resume', 'minimize'][i]));
  assertUserError(
    results[3],
    /step-00000020\.safetensors: not a valid safetensors file: header length \d+ exceeds the file size 1000/,
  );
  assert.ok(!existsSync(join(dir, 'from-reshaped', 'minimum.json')));
});

test('case 7: one NaN weight: minimize --init and train --resume refuse it, naming the tensor; no NaN minimum is written', async () => {
  const nan = damaged('nan', (f) => rewrite(f, 'agents.fc1.weight', withNaN));
  const minimum = join(dir, 'from-nan');
  const [m, r] = await Promise.all([
    flatdist(['minimize', '--init', nan, '--max-steps', '2', '--out', minimum]),
    flatdist(['train', '--resume', nan]),
  ]);
  for (const x of [m, r])
    assertUserError(
      x,
      /step-00000020\.safetensors: tensor agents\.fc1\.weight holds NaN or Inf values — the checkpoint cannot be used/,
    );
  assert.ok(!existsSync(minimum) || readdirSync(minimum).length === 0, 'nothing written');
  assert.equal(
    readFileSync(join(nan, 'metrics.jsonl'), 'utf8'),
    readFileSync(join(run, 'metrics.jsonl'), 'utf8'),
    'the refused resume changed nothing',
  );
});

test('case 8: a NaN minimum: escape, theory and measure --reference refuse it, naming the tensor', async () => {
  const good = join(dir, 'minimum');
  const m = await flatdist(['minimize', '--init', run, '--max-steps', '2', '--out', good, '--json']);
  assert.equal(m.status, 0, m.stderr);
  const nan = join(dir, 'nan-minimum');
  cpSync(good, nan, { recursive: true });
  const latest = JSON.parse(readFileSync(join(nan, 'checkpoints', 'latest.json'), 'utf8')) as { file: string };
  rewrite(join(nan, 'checkpoints', latest.file), 'agents.fc2.weight', withNaN);
  const results = await Promise.all([
    flatdist(['escape', '--minimum', nan, '--steps', '2', '--seeds', '2', '--out', join(dir, 'escape')]),
    flatdist(['theory', '--minimum', nan, '--rank', '2']),
    flatdist(['measure', run, '--measures', 'opt', '--reference', nan, '--eval-subset', '100']),
  ]);
  results.forEach((r, i) =>
    assertUserError(
      r,
      /nan-minimum\/checkpoints\/step-\d+\.safetensors: tensor agents\.fc2\.weight holds NaN or Inf values/,
      ['escape', 'theory', 'measure'][i],
    ),
  );
});
