// The report over runs: three small runs (centralized, consensus, ATC) trained with
// --measure-every record curvature in metrics.jsonl, and `flatdist report` draws them side
// by side; the page opens in Debian's chromium without console errors or network requests,
// and every figure (loss, accuracy, consensus distance, trace, λ_max) is visible.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from './support/cli.js';
import { openPage } from './support/browser.js';

function flatdist(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
}

const figures = ['loss', 'accuracy', 'consensus', 'trace', 'lambda-max'];

test('three runs with --measure-every: curvature in metrics.jsonl, and a report that renders in chromium', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'flatdist-runs-'));
  const runs = ['centralized', 'consensus', 'atc'].map((algorithm) => {
    const out = join(dir, algorithm);
    const r = flatdist(
      'train',
      ...['--dataset', 'gaussian-mixture', '--train-subset', '400', '--model', 'mlp', '--hidden', '8'],
      ...['--agents', '4', '--batch-size', '16', '--step-size', '0.3', '--steps', '40', '--eval-every', '10'],
      ...['--measure-every', '20', '--measure-subset', '200', '--measure-probes', '10', '--measure-top-k', '2'],
      ...['--algorithm', algorithm, '--out', out, '--json'],
    );
    assert.equal(r.status, 0, r.stderr);
    return out;
  });
  const lines = readFileSync(join(runs[1], 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map(
      (l) =>
        JSON.parse(l) as {
          step: number;
          curvature?: { centroid: { trace: { probes: number }; eigenvalues: { values: number[] } } };
        },
    );
  assert.deepEqual(
    lines.filter((l) => l.curvature).map((l) => l.step),
    [20, 40],
    'curvature at every 20th step',
  );
  for (const l of lines.filter((l) => l.curvature)) {
    assert.equal(l.curvature!.centroid.trace.probes, 10);
    assert.equal(l.curvature!.centroid.eigenvalues.values.length, 2);
  }

  const out = join(dir, 'report');
  const r = flatdist('report', ...runs, '--out', out, '--json');
  assert.equal(r.status, 0, r.stderr);
  const files = JSON.parse(r.stdout) as { html: string };
  const written = readdirSync(join(out, 'figures'));
  for (const id of figures) {
    for (const ext of ['svg', 'png', 'vl.json']) assert.ok(written.includes(`${id}.${ext}`), `${id}.${ext}`);
    assert.deepEqual([...readFileSync(join(out, 'figures', `${id}.png`)).subarray(1, 4)], [0x50, 0x4e, 0x47], 'a PNG');
  }
  const html = readFileSync(files.html, 'utf8');
  assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//, 'no external resources');
  for (const label of ['centralized', 'consensus', 'diffusion (ATC)']) assert.ok(html.includes(label), label);

  const { page, errors, requests, close } = await openPage(files.html);
  try {
    const svgs = await page.locator('figure.chart svg').all();
    assert.equal(svgs.length, figures.length, 'one inline SVG per figure');
    for (const f of svgs) {
      await f.scrollIntoViewIfNeeded();
      const box = await f.boundingBox();
      assert.ok(box && box.width > 100 && box.height > 50, `figure size ${JSON.stringify(box)}`);
      assert.ok(await f.isVisible());
    }
    assert.equal(await page.locator('table tbody tr').count(), 3, 'one row per run');
    assert.deepEqual(errors, [], 'console errors');
    assert.deepEqual(requests, [], 'network requests');
  } finally {
    await close();
  }
});

test('report names a folder that holds no run', () => {
  const dir = mkdtempSync(join(tmpdir(), 'flatdist-runs-'));
  const r = flatdist('report', dir, '--out', join(dir, 'report'));
  assert.equal(r.status, 2);
  assert.match(r.stderr, /no run\.json here/);
});
