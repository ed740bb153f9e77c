// summary.md: the headline table of verdicts and each suite's main table, for a README or an issue.
import type { Results, Table } from './results.js';
import { formatCell, headline, statusLabel } from './html.js';

const cell = (v: string | number): string => formatCell(v).replace(/\|/g, '\\|');

export function markdownTable(t: Table): string {
  const head = `| ${t.columns.map(cell).join(' | ')} |`;
  const rule = `|${t.columns.map(() => '---').join('|')}|`;
  return [head, rule, ...t.rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n');
}

export function summaryMarkdown(r: Results): string {
  const lines = [
    `# ${r.title}`,
    '',
    `\`${r.command}\` — ${r.scale}; ${r.work.seconds.toFixed(0)} s of compute over ${r.work.computed + r.work.reused} units of work (${r.seconds.toFixed(0)} s this invocation: ${r.work.computed} computed, ${r.work.reused} reused), ${r.finished}.`,
    '',
    `> **Scale: ${r.scale}.** ${r.scaleNote ?? ''}`,
    '',
    `**${headline(r)}**`,
    '',
    '| # | claim | verdict | measured |',
    '|---|---|---|---|',
    ...r.suites.map(
      (s, i) => `| ${i + 1} | ${cell(s.title)} | **${statusLabel[s.verdict.status]}** | ${cell(s.verdict.statement)} |`,
    ),
    '',
  ];
  for (const s of r.suites) {
    lines.push(
      `## ${s.title}`,
      '',
      `*Claim:* ${s.claim}`,
      '',
      `**Verdict: ${statusLabel[s.verdict.status]}.** ${s.verdict.statement}`,
      '',
      s.interpretation,
      '',
    );
    if (s.tables[0]) lines.push(`${s.tables[0].title}:`, '', markdownTable(s.tables[0]), '');
    if (s.figures[0]) lines.push(`![${s.figures[0].title}](figures/${s.figures[0].id}.png)`, '');
  }
  return `${lines.join('\n')}\n`;
}
