// `flatdist reproduce` end to end at a tiny scale (numbers meaningless, plumbing real): every
// suite yields a verdict, every file of the report is written, and a second invocation
// resumes from the stored units without doing any work again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../src/cli/main.js';
import type { Results } from '../src/report/results.js';

const statuses = ['holds', 'fails', 'mixed', 'inconclusive'];

test('reproduce --tiny writes a report with four verdicts, and a second run redoes nothing', async () => {
  const out = mkdtempSync(join(tmpdir(), 'flatdist-reproduce-'));
  try {
    assert.equal(await main(['reproduce', '--tiny', '--out', out, '--json']), 0);
    const first = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Results;
    assert.deepEqual(
      first.suites.map((s) => s.id),
      ['escape', 'excess', 'tradeoff', 'toy'],
    );
    for (const s of first.suites) {
      assert.ok(statuses.includes(s.verdict.status), `${s.id}: ${s.verdict.status}`);
      assert.ok(s.verdict.statement.length > 20, `${s.id} says what was measured`);
      assert.ok(s.figures.length > 0 && s.tables.length > 0, `${s.id} has figures and tables`);
      for (const f of s.figures)
        for (const ext of ['svg', 'png'])
          assert.ok(existsSync(join(out, 'figures', `${f.id}.${ext}`)), `${f.id}.${ext}`);
    }
    assert.ok(first.work.computed > 10 && first.work.reused === 0, JSON.stringify(first.work));
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    for (const s of first.suites) assert.ok(html.includes(`<section id="${s.id}">`), `report section ${s.id}`);
    assert.match(readFileSync(join(out, 'summary.md'), 'utf8'), /\| 4 \| A sharp and a flat minimum/);
    const namespaces = readdirSync(join(out, 'work'));
    assert.equal(namespaces.length, 1);
    assert.match(namespaces[0], /^tiny-[0-9a-f]{10}$/);
    const units = readdirSync(join(out, 'work', namespaces[0])).filter((f) => f.endsWith('.json'));
    assert.equal(units.length, first.work.computed, 'one stored file per unit');

    assert.equal(await main(['reproduce', '--tiny', '--out', out, '--json']), 0);
    const second = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Results;
    assert.equal(second.work.computed, 0, 'nothing recomputed');
    assert.equal(second.work.reused, first.work.computed);
    assert.deepEqual(
      second.suites.map((s) => s.verdict),
      first.suites.map((s) => s.verdict),
      'the same verdicts from the stored units',
    );
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('reproduce refuses conflicting scales and a missing --out', async () => {
  assert.equal(await main(['reproduce', '--quick', '--full', '--out', '/tmp/x']), 2);
  assert.equal(await main(['reproduce', '--quick']), 2);
});
