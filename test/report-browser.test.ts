// The report in a real browser: a small report built from a synthetic results object (every
// kind of chart and table the suites make) opens in Debian's chromium without console
// errors or network requests, and every figure is visible. The screenshot is kept for a look.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Results, SuiteResult } from '../src/report/results.js';
import { bandLines, pointsWithErrors, scatterPanels, chart } from '../src/report/charts.js';
import { writeReport } from '../src/report/index.js';
import { openPage } from './support/browser.js';

const labels = ['centralized', 'consensus', 'diffusion (ATC)'];

function suite(
  id: SuiteResult['id'],
  status: SuiteResult['verdict']['status'],
  figure: SuiteResult['figures'][number],
): SuiteResult {
  return {
    id,
    title: `Suite ${id}`,
    claim: `The claim tested by the ${id} suite.`,
    method: 'How it was measured, in a sentence.',
    verdict: { status, statement: `The ${id} statistic is 1.2e-3 [4.0e-4, 2.0e-3].` },
    interpretation: 'One sentence of interpretation.',
    settings: { seed: 1, batchSizes: [16, 1024], dataDir: undefined },
    tables: [
      {
        title: `${id} table`,
        columns: ['algorithm', 'value', 'interval'],
        rows: labels.map((l, i) => [l, 0.001 * (i + 1), '[0, 1]']),
        note: 'A note.',
      },
    ],
    figures: [figure],
    data: {},
    seconds: 1,
  };
}

function syntheticResults(): Results {
  const curves = labels.flatMap((algorithm, a) =>
    [16, 1024].flatMap((B) =>
      [0, 10, 20, 30].map((step) => {
        const mean = ((a + 1) * 1e-3 * Math.sqrt(step)) / (B === 16 ? 1 : 4);
        return { B: `B = ${B}`, step, algorithm, mean, lo: mean * 0.8, hi: mean * 1.2, predicted: mean * 1.1 };
      }),
    ),
  );
  const points = labels.flatMap((algorithm, a) =>
    ['ring', 'complete'].map((topology) => ({
      topology,
      stepSize: 'μ = 0.05',
      algorithm,
      mean: a + 1,
      lo: a + 0.5,
      hi: a + 1.5,
      predicted: a + 1.2,
    })),
  );
  const runs = labels.flatMap((algorithm, a) =>
    [8, 64].flatMap((batch) =>
      [1, 2].map((seed) => ({
        algorithm,
        batch,
        seed,
        accuracy: 90 + a + seed / 2 - batch / 64,
        trace: 10 * (a + 1) * seed,
        lambdaMax: 2 + a + batch / 32,
        sharpness: 0.01 * (1 + a),
        trainLoss: 0.1 / (1 + a + seed),
        gradNorm: 0.05 * (seed + a),
      })),
    ),
  );
  const grid = Array.from({ length: 100 }, (_, i) => ({ x: i % 10, y: Math.floor(i / 10), risk: Math.sin(i) }));
  return {
    title: 'A synthetic report',
    command: 'flatdist reproduce --tiny --out /tmp/x',
    scale: 'tiny',
    started: '2026-01-01T00:00:00Z',
    finished: '2026-01-01T00:01:00Z',
    seconds: 60,
    environment: {
      flatdist: '0.1.0',
      libtorch: '1.13',
      node: process.version,
      commit: 'abcdef123456',
      threads: 2,
      machine: { cpu: 'test cpu', cores: 2, memoryGiB: 8, os: 'linux' },
    },
    load: { before: [1, 1, 1], after: [2, 2, 2] },
    work: { computed: 4, reused: 0, seconds: 50 },
    suites: [
      suite('escape', 'holds', {
        id: 'escape-curves',
        title: 'curves',
        caption: 'Faceted lines with bands and dashed predictions.',
        spec: bandLines({
          rows: curves,
          x: { field: 'step', title: 'step' },
          y: { field: 'mean', title: 'excess' },
          band: { lo: 'lo', hi: 'hi' },
          predicted: 'predicted',
          colourLabels: labels,
          column: { field: 'B', title: '' },
        }),
      }),
      suite('excess', 'mixed', {
        id: 'excess-risk',
        title: 'points',
        caption: 'Dots with error bars and hollow predictions.',
        spec: pointsWithErrors({
          rows: points,
          x: { field: 'topology', title: 'topology' },
          y: { field: 'mean', title: 'excess' },
          lo: 'lo',
          hi: 'hi',
          predicted: 'predicted',
          colourLabels: labels,
          column: { field: 'stepSize', title: '' },
        }),
      }),
      suite('tradeoff', 'inconclusive', {
        id: 'tradeoff-flatness',
        title: 'scatter',
        caption: 'Scatter panels with regression lines.',
        spec: scatterPanels(
          runs,
          { field: 'accuracy', title: 'accuracy' },
          [
            { field: 'trace', title: 'trace', log: true },
            { field: 'trainLoss', title: 'train loss', log: true },
          ],
          labels,
        ),
      }),
      suite('toy', 'fails', {
        id: 'toy-density',
        title: 'heatmap',
        caption: 'A heat map.',
        spec: chart({
          data: { values: grid },
          mark: 'rect',
          encoding: {
            x: { field: 'x', type: 'ordinal' },
            y: { field: 'y', type: 'ordinal' },
            color: { field: 'risk', type: 'quantitative' },
          },
        }),
      }),
    ],
  };
}

test('the report renders in chromium: no console errors, no requests, every figure visible', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'flatdist-report-'));
  const files = await writeReport(syntheticResults(), dir);
  for (const f of ['report.html', 'summary.md', 'results.json']) assert.ok(existsSync(join(dir, f)), f);
  const figureFiles = readdirSync(join(dir, 'figures'));
  for (const id of ['escape-curves', 'excess-risk', 'tradeoff-flatness', 'toy-density']) {
    for (const ext of ['svg', 'png', 'vl.json']) assert.ok(figureFiles.includes(`${id}.${ext}`), `${id}.${ext}`);
    assert.deepEqual([...readFileSync(join(dir, 'figures', `${id}.png`)).subarray(1, 4)], [0x50, 0x4e, 0x47], 'a PNG');
  }
  const html = readFileSync(files.html, 'utf8');
  assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//, 'no external resources');
  assert.match(summaryOf(dir), /\| 1 \| Suite escape \| \*\*holds\*\* \|/);

  const { page, errors, requests, close } = await openPage(files.html);
  try {
    const figures = await page.locator('figure.chart svg').all();
    assert.equal(figures.length, 4, 'one inline SVG per figure');
    for (const f of figures) {
      await f.scrollIntoViewIfNeeded();
      const box = await f.boundingBox();
      assert.ok(box && box.width > 100 && box.height > 50, `figure size ${JSON.stringify(box)}`);
      assert.ok(await f.isVisible());
    }
    assert.equal(await page.locator('.headline tbody tr').count(), 4, 'the verdict table up front');
    assert.deepEqual(await page.locator('.headline .badge').allTextContents(), [
      'holds',
      'holds in part',
      'inconclusive',
      'does not hold',
    ]);
    await page.screenshot({ path: join(dir, 'screenshot.png'), fullPage: true });
    console.log(`screenshot: ${join(dir, 'screenshot.png')}`);
    assert.deepEqual(errors, [], 'console errors');
    assert.deepEqual(requests, [], 'network requests');
  } finally {
    await close();
  }
});

const summaryOf = (dir: string): string => readFileSync(join(dir, 'summary.md'), 'utf8');
