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

test('reproduce refuses --scale beside --quick, and a scale it does not know', async () => {
  assert.equal(await main(['reproduce', '--scale', 'cnn', '--quick', '--out', '/tmp/x']), 2);
  assert.equal(await main(['reproduce', '--scale', 'huge', '--out', '/tmp/x']), 2);
});

test('reproduce --scale cnn-tiny runs the trade-off suite on LeNet over four settings, reads the claim at the large batch, and resumes', async () => {
  const out = mkdtempSync(join(tmpdir(), 'flatdist-reproduce-cnn-'));
  try {
    assert.equal(await main(['reproduce', '--scale', 'cnn-tiny', '--out', out, '--json']), 0);
    const first = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Results;
    assert.deepEqual(
      first.suites.map((s) => s.id),
      ['tradeoff'],
    );
    assert.match(first.scaleNote ?? '', /the trade-off suite only/);
    assert.match(first.scaleNote ?? '', /K·B = 16 and 64/);
    const [suite] = first.suites;
    assert.ok(statuses.includes(suite.verdict.status));
    assert.match(suite.claim, /at large total batch/);
    assert.match(suite.verdict.statement, /read at the large total batch K·B = 64 only/);
    // 2 seeds × 2 batch sizes × (centralized + diffusion over a ring and over the complete graph).
    const runs = (suite.data as { runs: { algorithm: string; topology: string; batch: number }[] }).runs;
    assert.equal(runs.length, 12);
    assert.deepEqual(
      [...new Set(runs.map((r) => `${r.algorithm}${r.algorithm === 'atc' ? `-${r.topology}` : ''}`))].sort(),
      ['atc-complete', 'atc-ring', 'centralized'],
    );
    const settingsTable = suite.tables.find((t) => t.columns.includes('J(w_c) [95%]'))!;
    assert.deepEqual(
      settingsTable.rows.map((r) => `${r[0]} ${r[1]}`),
      [
        'centralized 4',
        'centralized 16',
        'diffusion (ATC), ring 4',
        'diffusion (ATC), ring 16',
        'diffusion (ATC), complete 4',
        'diffusion (ATC), complete 16',
      ],
    );
    assert.match(settingsTable.note ?? '', /differences between rows are differences of excess risk/);
    const comparisons = suite.tables.find((t) => t.columns.includes('in the verdict'))!;
    assert.deepEqual(
      comparisons.rows.map((r) => {
        const role = { 'no: small batch': 'context', 'no: the same algorithm': 'check' }[String(r[r.length - 1])];
        return `${r[0]} ${r[2]} ${role ?? 'verdict'}`;
      }),
      ['ring 4 (16) context', 'ring 16 (64) verdict', 'complete 4 (16) check', 'complete 16 (64) check'],
    );
    // Metropolis weights on the complete graph are 11ᵀ/K: diffusion from a common start is centralized SGD.
    for (const row of comparisons.rows.filter((r) => r[0] === 'complete')) assert.match(String(row[3]), /^\+0\.00 /);
    assert.doesNotMatch(
      suite.verdict.statement,
      /complete/,
      'the verdict does not read a comparison equal by construction',
    );
    assert.match(readFileSync(join(out, 'summary.md'), 'utf8'), /\| 1 \| Flatness, optimization error and accuracy/);

    // An interrupted run: three finished units lost (as if it had stopped before them) are computed again, the rest reused.
    const [namespace] = readdirSync(join(out, 'work'));
    assert.match(namespace, /^cnn-tiny-[0-9a-f]{10}$/);
    const dir = join(out, 'work', namespace);
    const units = readdirSync(dir).filter((f) => f.endsWith('.json'));
    assert.equal(units.length, 12);
    for (const f of units.slice(-3)) rmSync(join(dir, f));
    assert.equal(await main(['reproduce', '--scale', 'cnn-tiny', '--out', out, '--json']), 0);
    const second = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Results;
    assert.deepEqual(second.work, { ...second.work, computed: 3, reused: 9 });
    const numbers = (r: Results): unknown[] =>
      (r.suites[0].data.runs as { seconds: number }[]).map((run) => ({ ...run, seconds: 0 }));
    assert.deepEqual(numbers(second), numbers(first), 'the recomputed units give the same numbers');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
