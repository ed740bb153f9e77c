// report.html: one self-contained page (inline CSS, inline SVG figures, no external
// resources) that opens offline. Verdicts first, then one section per claim with its
// figure, statistic, verdict and interpretation, then how it was made.
import type { Results, Status, SuiteResult, Table } from './results.js';

export const escapeHtml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export const statusLabel: Record<Status, string> = {
  holds: 'holds',
  fails: 'does not hold',
  mixed: 'holds in part',
  inconclusive: 'inconclusive',
};

const badge = (s: Status): string => `<span class="badge ${s}">${statusLabel[s]}</span>`;

/** One sentence over all verdicts: how many claims hold, in part, not, or cannot be told. */
export function headline(r: Results): string {
  const count = (st: Status): number => r.suites.filter((s) => s.verdict.status === st).length;
  const parts = [
    count('holds') && `${count('holds')} of ${r.suites.length} claims hold`,
    count('mixed') && `${count('mixed')} ${count('mixed') === 1 ? 'holds' : 'hold'} in part`,
    count('fails') && `${count('fails')} ${count('fails') === 1 ? 'does' : 'do'} not hold`,
    count('inconclusive') &&
      `${count('inconclusive')} ${count('inconclusive') === 1 ? 'is' : 'are'} inconclusive at this scale`,
  ].filter(Boolean);
  return `${parts.join(', ')}.`;
}

export function formatCell(v: string | number): string {
  if (typeof v === 'string') return v;
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(2) : v.toPrecision(4);
}

function table(t: Table): string {
  const head = t.columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('');
  const body = t.rows
    .map(
      (r) =>
        `<tr>${r.map((c) => `<td${typeof c === 'number' ? ' class="num"' : ''}>${escapeHtml(formatCell(c))}</td>`).join('')}</tr>`,
    )
    .join('\n');
  return `<figure class="table"><figcaption>${escapeHtml(t.title)}</figcaption><div class="scroll"><table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table></div>${t.note ? `<p class="note">${escapeHtml(t.note)}</p>` : ''}</figure>`;
}

function settings(s: Record<string, unknown>): string {
  const rows = Object.entries(s)
    .filter(([, v]) => v !== undefined)
    .map(
      ([k, v]) =>
        `<tr><th>${escapeHtml(k)}</th><td><code>${escapeHtml(typeof v === 'string' ? v : JSON.stringify(v))}</code></td></tr>`,
    )
    .join('');
  return `<details><summary>Settings and seeds</summary><table class="settings">${rows}</table></details>`;
}

function section(s: SuiteResult, svgs: Record<string, string>, n: number): string {
  const figures = s.figures
    .map(
      (f, i) =>
        `<figure class="chart" id="fig-${escapeHtml(f.id)}"><div class="svg">${svgs[f.id] ?? ''}</div><figcaption><b>Figure ${n}.${i + 1}.</b> ${escapeHtml(f.caption)}</figcaption></figure>`,
    )
    .join('\n');
  return `<section id="${s.id}">
<h2>${n}. ${escapeHtml(s.title)}</h2>
<p class="claim"><span>Claim.</span> ${escapeHtml(s.claim)}</p>
<div class="verdict ${s.verdict.status}">${badge(s.verdict.status)} <span>${escapeHtml(s.verdict.statement)}</span></div>
<p class="interpretation">${escapeHtml(s.interpretation)}</p>
${figures}
${s.tables.map(table).join('\n')}
<p class="method"><span>How it was measured.</span> ${escapeHtml(s.method)} <span class="time">(${s.seconds.toFixed(0)} s of compute)</span></p>
${settings(s.settings)}
</section>`;
}

const css = `
:root { --ink: #1f2328; --muted: #59636e; --rule: #d1d9e0; --bg: #ffffff; --soft: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.55 "DejaVu Sans", system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: var(--ink); background: var(--bg); }
main { max-width: 1180px; margin: 0 auto; padding: 32px 28px 64px; }
h1 { font-size: 30px; margin: 0 0 6px; letter-spacing: -0.01em; }
h2 { font-size: 22px; margin: 48px 0 10px; padding-top: 16px; border-top: 1px solid var(--rule); }
.lede { color: var(--muted); margin: 0 0 14px; }
.summary { font-size: 20px; font-weight: 600; margin: 0 0 12px; }
.scale { padding: 10px 14px; border-radius: 8px; background: #ddf4ff; border-left: 5px solid #0969da; margin: 0 0 14px; font-size: 15px; }
code { font: 13px/1.4 "DejaVu Sans Mono", ui-monospace, Menlo, Consolas, monospace; background: var(--soft); padding: 1px 4px; border-radius: 4px; }
.headline { width: 100%; border-collapse: collapse; margin: 8px 0 6px; }
.headline td, .headline th { padding: 10px 12px; border-bottom: 1px solid var(--rule); vertical-align: top; text-align: left; }
.headline th { font-size: 13px; color: var(--muted); font-weight: 600; }
.headline a { color: var(--ink); font-weight: 600; text-decoration: none; }
.badge { display: inline-block; font-size: 12px; font-weight: 700; text-transform: uppercase; letter-spacing: 0.04em; padding: 3px 9px; border-radius: 999px; white-space: nowrap; color: #fff; }
.badge.holds { background: #1a7f37; } .badge.fails { background: #cf222e; } .badge.mixed { background: #9a6700; } .badge.inconclusive { background: #6e7781; }
.claim { font-size: 17px; margin: 6px 0 12px; }
.claim span, .method span { font-weight: 700; }
.verdict { padding: 12px 14px; border-radius: 8px; background: var(--soft); border-left: 5px solid #6e7781; margin: 10px 0; }
.verdict.holds { border-color: #1a7f37; background: #dafbe1; } .verdict.fails { border-color: #cf222e; background: #ffebe9; } .verdict.mixed { border-color: #9a6700; background: #fff8c5; }
.verdict span:last-child { margin-left: 6px; }
.interpretation { margin: 10px 0 16px; }
figure { margin: 18px 0; }
figure.chart .svg { overflow-x: auto; }
figure.chart svg { display: block; max-width: 100%; height: auto; }
figcaption { color: var(--muted); font-size: 14px; margin-top: 6px; }
figure.table figcaption { color: var(--ink); font-weight: 600; margin: 0 0 6px; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: 14px; }
figure.table table { width: 100%; }
figure.table th, figure.table td { padding: 5px 8px; border-bottom: 1px solid var(--rule); text-align: left; vertical-align: top; overflow-wrap: break-word; }
figure.table th { background: var(--soft); font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.note, .method { color: var(--muted); font-size: 14px; }
details { margin: 8px 0; font-size: 14px; }
summary { cursor: pointer; color: var(--muted); }
table.settings th { text-align: left; padding: 3px 12px 3px 0; font-weight: 600; vertical-align: top; }
table.settings td { padding: 3px 0; }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 18px; font-size: 14px; }
.facts dt { color: var(--muted); } .facts dd { margin: 0; }
@media print { h2 { break-before: auto; } figure { break-inside: avoid; } }
`;

export function reportHtml(r: Results, svgs: Record<string, string>): string {
  const env = r.environment as {
    flatdist?: string;
    libtorch?: string;
    node?: string;
    commit?: string | null;
    threads?: number;
    machine?: { cpu: string; cores: number; memoryGiB: number; os: string };
  };
  const verdictRows = r.suites
    .map(
      (s, i) =>
        `<tr><td>${i + 1}</td><td><a href="#${s.id}">${escapeHtml(s.title)}</a><br><span class="note">${escapeHtml(s.claim)}</span></td><td>${badge(s.verdict.status)}</td><td>${escapeHtml(s.verdict.statement)}</td></tr>`,
    )
    .join('\n');
  const facts: [string, string][] = [
    ['command', `<code>${escapeHtml(r.command)}</code>`],
    ['scale', escapeHtml(r.scale)],
    ['started / finished', `${escapeHtml(r.started)} / ${escapeHtml(r.finished)}`],
    [
      'wall time',
      `${r.seconds.toFixed(0)} s this invocation; ${r.work.seconds.toFixed(0)} s of compute over all ${r.work.computed + r.work.reused} units of work (${r.work.computed} computed now, ${r.work.reused} reused)`,
    ],
    [
      'load average',
      `${r.load.before.map((x) => x.toFixed(2)).join(', ')} before → ${r.load.after.map((x) => x.toFixed(2)).join(', ')} after (1, 5, 15 min)`,
    ],
    [
      'flatdist',
      `${escapeHtml(env.flatdist ?? '?')}${env.commit ? ` (commit <code>${escapeHtml(env.commit.slice(0, 12))}</code>)` : ''}`,
    ],
    [
      'libtorch / node',
      `${escapeHtml(env.libtorch ?? '?')} / ${escapeHtml(env.node ?? '?')}, ${env.threads ?? '?'} threads`,
    ],
    [
      'machine',
      env.machine
        ? escapeHtml(`${env.machine.cpu}, ${env.machine.cores} cores, ${env.machine.memoryGiB} GiB, ${env.machine.os}`)
        : '?',
    ],
  ];
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(r.title)}</title>
<style>${css}</style>
</head>
<body>
<main>
<h1>${escapeHtml(r.title)}</h1>
<p class="lede">Cao, Wu, Yuan &amp; Sayed, “On the Trade-off between Flatness and Optimization in Distributed Learning” (arXiv 2406.20006) makes claims about centralized SGD, consensus and diffusion. flatdist tested each one on real data; every verdict below is measured, with 95% intervals, and says plainly where a claim does not hold.</p>
<p class="scale"><b>Scale: ${escapeHtml(r.scale)}.</b> ${escapeHtml(r.scaleNote ?? `the verdicts below hold at this scale (${r.scale}) only`)}</p>
<p class="summary">${escapeHtml(headline(r))}</p>
<table class="headline"><thead><tr><th>#</th><th>claim</th><th>verdict</th><th>what was measured</th></tr></thead><tbody>
${verdictRows}
</tbody></table>
${r.suites.map((s, i) => section(s, svgs, i + 1)).join('\n')}
<h2>How this report was made</h2>
<dl class="facts">${facts.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('')}</dl>
<p class="note">Every number is in <code>results.json</code>; the figures are in <code>figures/</code> as SVG, PNG and Vega-Lite specs. Rerunning the same command resumes from <code>work/</code> and redoes nothing already finished.</p>
</main>
</body>
</html>
`;
}
