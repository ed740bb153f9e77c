// The report as a reader sees it: a real (tiny) reproduction's report.html in chromium at
// 1400 px. The scale is said at the top; no table is wider than the page (a clipped column
// would hide its statistic behind a scrollbar); no two labels of one axis overlap; and the
// ticks of log and symlog axes bracket the data they label.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reproduce } from '../src/experiments/reproduction.js';
import { magnitudeTicks } from '../src/report/charts.js';
import type { Scale } from '../src/experiments/scale.js';
import { openPage } from './support/browser.js';

test('magnitude ticks bracket the data: one at or beyond each end, 0 where the data reach it', () => {
  for (const [values, smallest] of [
    [[6e-5, 2e-4, 1e-3], 1e-5],
    [[-2e-5, 3e-4, 8.1e-4], 8.1e-6],
    [[0.12, 0.31], undefined],
    [[3, 47, 4000], undefined],
  ] as [number[], number | undefined][]) {
    const ticks = magnitudeTicks(values, smallest);
    const [lo, hi] = [Math.min(...values), Math.max(...values)];
    assert.ok(Math.max(...ticks) >= hi, `${ticks} reach ${hi}`);
    if (lo < 0) assert.ok(Math.min(...ticks) <= lo, `${ticks} reach ${lo}`);
    else assert.ok(Math.min(...ticks) <= lo, `${ticks} start at or below ${lo}`);
    assert.ok(ticks.length >= 3 && ticks.length <= 12, `${ticks.length} ticks`);
    assert.deepEqual(
      [...ticks].sort((a, b) => a - b),
      ticks,
      'ascending',
    );
  }
});

/** A reproduction at `scale` opened at 1400 px: the scale on top, no clipped table, no overlapping axis labels. */
async function checkLayout(scale: Scale, command: string): Promise<void> {
  const out = mkdtempSync(join(tmpdir(), 'flatdist-layout-'));
  try {
    const { files } = await reproduce({ scale, out, command });
    const { page, errors, requests, close } = await openPage(files.html, 1400);
    try {
      const said = await page.locator('p.scale').textContent();
      assert.match(said ?? '', new RegExp(`Scale: ${scale}\\.`), 'the scale is said at the top');
      assert.ok(
        (await page.locator('p.scale').boundingBox())!.y < (await page.locator('table.headline').boundingBox())!.y,
        'the scale comes before the verdicts',
      );
      const clipped = await page.$$eval('figure.table .scroll', (boxes) =>
        boxes
          .filter((b) => b.scrollWidth > b.clientWidth + 1)
          .map(
            (b) => `${b.parentElement?.querySelector('figcaption')?.textContent}: ${b.scrollWidth} > ${b.clientWidth}`,
          ),
      );
      assert.deepEqual(clipped, [], 'tables wider than the page');
      const overlaps = await page.$$eval('figure.chart svg g.role-axis-label', (groups) => {
        const found: string[] = [];
        for (const g of groups) {
          const boxes = [...g.querySelectorAll('text')]
            .filter((t) => (t.textContent ?? '') !== '')
            .map((t) => ({ text: t.textContent ?? '', r: t.getBoundingClientRect() }));
          for (let i = 0; i < boxes.length; i++)
            for (let j = i + 1; j < boxes.length; j++) {
              const [a, b] = [boxes[i].r, boxes[j].r];
              const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
              const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
              if (w > 0.5 && h > 0.5) found.push(`'${boxes[i].text}' and '${boxes[j].text}'`);
            }
        }
        return found;
      });
      assert.deepEqual(overlaps, [], 'overlapping axis labels');
      assert.ok((await page.locator('figure.chart svg g.role-axis-label').count()) > 4, 'axis labels were measured');
      assert.deepEqual(errors, [], 'console errors');
      assert.deepEqual(requests, [], 'network requests');
      await page.screenshot({ path: join(tmpdir(), `flatdist-layout-${scale}.png`), fullPage: true });
    } finally {
      await close();
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

test("a tiny reproduction's report at 1400 px: the scale on top, no clipped table, no overlapping axis labels", () =>
  checkLayout('tiny', 'flatdist reproduce --tiny'));

test("the convnet scale's report at 1400 px: the same checks over its settings and comparison tables", () =>
  checkLayout('cnn-tiny', 'flatdist reproduce --scale cnn-tiny'));
