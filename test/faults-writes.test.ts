// Writes that fail: a file-size limit (ulimit -f) and a full file system during a run stop it
// with one line naming the file and the cause (exit 2); what was written before stays valid,
// and the run resumes to the numbers of an uninterrupted one. Paths the operating system
// refuses (a file in the way, a read-only folder) are one-line errors too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCheckpoint } from '../src/train/checkpoint.js';
import { readSafetensors } from '../src/train/safetensors.js';
import { assertUserError, flatdist, mountTmpfs, scratch } from './faults-support.js';

const dir = scratch('faults-writes', test.after);

/** Logistic regression on 200 two-moons points: 28 KB checkpoints (mostly sampler states), 0.6 KB metrics lines. */
const tiny = [
  'train',
  '--dataset',
  'two-moons',
  '--train-subset',
  '200',
  '--model',
  'logistic',
  '--agents',
  '4',
  '--batch-size',
  '8',
  '--momentum',
  '0.5',
  '--seed',
  '4',
];

/** The lines of a metrics file; every one complete JSON. */
function metricsLines(out: string): string[] {
  const text = readFileSync(join(out, 'metrics.jsonl'), 'utf8');
  assert.ok(text === '' || text.endsWith('\n'), 'metrics.jsonl ends with a complete line');
  const lines = text.split('\n').slice(0, -1);
  for (const l of lines) JSON.parse(l);
  return lines;
}

/** The final checkpoint's data (its checksum), sampler states and step: what must match between two runs. */
function finalState(out: string): unknown {
  const latest = JSON.parse(readFileSync(join(out, 'checkpoints', 'latest.json'), 'utf8')) as { file: string };
  const { metadata } = readSafetensors(join(out, 'checkpoints', latest.file));
  return { file: latest.file, sha256: metadata.sha256, samplers: metadata.samplers, step: metadata.step };
}

const noTemporaryFiles = (out: string): void => {
  for (const d of [out, join(out, 'checkpoints')])
    if (existsSync(d))
      assert.deepEqual(
        readdirSync(d).filter((f) => f.includes('.tmp-')),
        [],
        `no temporary files in ${d}`,
      );
};

test('case 1: a file-size limit during checkpoint writes stops the run (exit 2, the file and EFBIG named), no cut checkpoint', async () => {
  const out = join(dir, 'fz');
  const r = await flatdist(
    [
      'train',
      '--dataset',
      'mnist',
      '--train-subset',
      '4000',
      '--hidden',
      '64',
      '--agents',
      '4',
      '--steps',
      '100',
      '--checkpoint-every',
      '50',
      '--out',
      out,
    ],
    { fileSizeLimitKB: 500 },
  );
  assert.equal(r.signal, null, 'not killed by SIGXFSZ');
  assertUserError(
    r,
    /checkpoints\/step-00000050\.safetensors: cannot write \(the file is unchanged\): file too large .*\(EFBIG\)/,
  );
  assert.deepEqual(
    readdirSync(join(out, 'checkpoints')),
    [],
    'neither a cut checkpoint nor a latest.json pointing at one',
  );
  noTemporaryFiles(out);
  assertUserError(await flatdist(['measure', out]), /the run has no checkpoint yet/);
});

test('a file-size limit on metrics.jsonl: the line is not half written, the last checkpoint loads, the resumed run ends as an uninterrupted one', async () => {
  const [limited, whole] = [join(dir, 'limited'), join(dir, 'whole')];
  const args = [...tiny, '--steps', '100', '--eval-every', '1', '--checkpoint-every', '1'];
  const [r, w] = await Promise.all([
    flatdist([...args, '--out', limited], { fileSizeLimitKB: 40 }),
    flatdist([...args, '--out', whole]),
  ]);
  assert.equal(w.status, 0, w.stderr);
  assertUserError(r, /metrics\.jsonl: cannot append \(the file is unchanged\): file too large .*\(EFBIG\)/);
  const lines = metricsLines(limited);
  assert.ok(lines.length > 10 && lines.length < 100, `${lines.length} lines before the limit`);
  // Each step is evaluated, then checkpointed: the append at step n + 1 failed after checkpoint n.
  assert.equal(loadCheckpoint(limited).step, lines.length);
  noTemporaryFiles(limited);

  const resumed = await flatdist(['train', '--resume', limited]);
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.equal(
    readFileSync(join(limited, 'metrics.jsonl'), 'utf8'),
    readFileSync(join(whole, 'metrics.jsonl'), 'utf8'),
  );
  assert.deepEqual(finalState(limited), finalState(whole));
});

test('a full file system during checkpoint writes: exit 2 naming the file and ENOSPC; latest.json stays valid; resumed on a larger one, the run ends as an uninterrupted one', async (t) => {
  const mount = join(dir, 'small-fs');
  const fs = mountTmpfs(mount, 'size=200k');
  if (fs === null) {
    t.skip('mounting a tmpfs is not permitted here (needs root); the file-size limit tests cover failed writes');
    return;
  }
  try {
    const [full, whole] = [join(mount, 'run'), join(dir, 'whole-fs')];
    const args = [...tiny, '--steps', '60', '--eval-every', '5', '--checkpoint-every', '2'];
    const [r, w] = await Promise.all([flatdist([...args, '--out', full]), flatdist([...args, '--out', whole])]);
    assert.equal(w.status, 0, w.stderr);
    assertUserError(
      r,
      /(safetensors|latest\.json|metrics\.jsonl): cannot (write|append) \(the file is unchanged\): no space left on the device \(ENOSPC\)/,
    );
    const kept = loadCheckpoint(full);
    assert.ok(kept.step >= 2 && kept.step < 60, `the last good checkpoint is at step ${kept.step}`);
    metricsLines(full);
    noTemporaryFiles(full);

    fs.remount('size=16m');
    const resumed = await flatdist(['train', '--resume', full]);
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.equal(readFileSync(join(full, 'metrics.jsonl'), 'utf8'), readFileSync(join(whole, 'metrics.jsonl'), 'utf8'));
    assert.deepEqual(finalState(full), finalState(whole));
  } finally {
    fs.unmount();
  }
});

test('case 17: --out a regular file, under a regular file, or in a read-only folder: one line, exit 2', async (t) => {
  const file = join(dir, 'a-file');
  writeFileSync(file, 'not a folder\n');
  const quick = [...tiny, '--steps', '2'];
  const [asFile, under] = await Promise.all([
    flatdist([...quick, '--out', file]),
    flatdist([...quick, '--out', join(file, 'run')]),
  ]);
  assertUserError(asFile, /a-file: cannot create the folder: .*a-file is a file, not a folder/);
  assertUserError(under, /a-file\/run: cannot create the folder: .*a-file is a file, not a folder/);

  const locked = join(dir, 'read-only');
  const fs = mountTmpfs(locked, 'size=64k,ro');
  if (fs === null) {
    if (process.getuid?.() === 0) {
      t.skip('root ignores folder permissions and may not mount here: no read-only folder to try');
      return;
    }
    mkdirSync(locked, { recursive: true });
    chmodSync(locked, 0o555);
  }
  try {
    assertUserError(
      await flatdist([...quick, '--out', join(locked, 'run')]),
      /read-only\/run: cannot create the folder: (read-only file system \(EROFS\)|permission denied \(EACCES\))/,
    );
  } finally {
    fs?.unmount();
  }
});
