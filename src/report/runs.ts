// A report over training runs (`flatdist report RUN…`): for each run folder, its metrics.jsonl
// against steps — the centroid's training loss and test accuracy, the consensus distance
// (1/K) Σ_k ‖w_k − w_c‖², and, for runs trained with --measure-every, the curvature of the
// centroid (Tr ∇²J with its 95% interval over the probes, the top eigenvalue of ∇²J) —
// one figure per quantity with every run in it, coloured by algorithm: the flatness
// trajectories of centralized, consensus and diffusion side by side. report.html is
// self-contained (inline SVG); figures/ holds SVG, PNG and Vega-Lite specs; runs.json the rows.
import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { DataError } from '../errors.js';
import type { MetricsLine } from '../train/trainer.js';
import { paths, readMetrics } from '../train/rundir.js';
import { makeFolder, writeFileAtomic } from '../util/files.js';
import { algorithmLabel, bandLines, type Row } from './charts.js';
import { escapeHtml, formatCell } from './html.js';
import { namespaceSvgIds, renderSvg, svgToPng } from './render.js';
import type { VegaLiteSpec } from './results.js';

/** One run as the report reads it. */
export interface RunSeries {
  dir: string;
  /** The name in the legend: the algorithm, and the folder's name where two runs share an algorithm. */
  label: string;
  config: Record<string, unknown>;
  metrics: MetricsLine[];
}

/**
 * The runs in their folders: run.json's config and metrics.jsonl's lines.
 * @throws DataError naming a folder that holds no run, or a run without metrics
 */
export function readRuns(dirs: string[]): RunSeries[] {
  const runs = dirs.map((dir) => {
    const record = paths(dir).run;
    if (!existsSync(record)) throw new DataError(dir, 'no run.json here — give the --out folder of a training run');
    const config = (JSON.parse(readFileSync(record, 'utf8')) as { config: Record<string, unknown> }).config;
    const metrics = readMetrics<MetricsLine>(dir);
    if (metrics.length === 0) throw new DataError(dir, 'metrics.jsonl holds no evaluation yet — train the run first');
    return { dir, label: algorithmLabel(String(config.algorithm)), config, metrics };
  });
  const shared = (label: string): boolean => runs.filter((r) => r.label === label).length > 1;
  return runs.map((r) => (shared(r.label) ? { ...r, label: `${r.label} — ${basename(resolve(r.dir))}` } : r));
}

/** One row per run and evaluation: the quantities the figures draw (null where a line has none). */
export function runRows(runs: RunSeries[]): Row[] {
  return runs.flatMap((r) =>
    r.metrics.map((m) => {
      const trace = m.curvature?.centroid.trace;
      const top = m.curvature?.centroid.eigenvalues?.values[0];
      return {
        algorithm: r.label,
        step: m.step,
        trainLoss: m.train.centroid.loss,
        testAccuracy: m.test.centroid.accuracy,
        consensusDistance: m.consensusDistance,
        trace: trace?.mean ?? null,
        traceLo: trace ? trace.mean - 1.96 * trace.stdError : null,
        traceHi: trace ? trace.mean + 1.96 * trace.stdError : null,
        lambdaMax: top ?? null,
      };
    }),
  );
}

interface RunsFigure {
  id: string;
  caption: string;
  spec: VegaLiteSpec;
}

/** The report's figures: one per quantity the runs have, every run in each. */
export function runFigures(rows: Row[], labels: string[]): RunsFigure[] {
  const x = { field: 'step', title: 'step' };
  // On a log scale only positive values are drawn (centralized SGD's consensus distance is zero).
  const has = (field: string, log = false): Row[] =>
    rows.filter((r) => r[field] !== null && (!log || (r[field] as number) > 0));
  const figure = (
    id: string,
    caption: string,
    field: string,
    title: string,
    o: { log?: boolean; band?: { lo: string; hi: string } } = {},
  ): RunsFigure[] =>
    has(field, o.log).length === 0
      ? []
      : [
          {
            id,
            caption,
            spec: bandLines({
              rows: has(field, o.log),
              x,
              y: { field, title, log: o.log },
              band: o.band,
              colourLabels: labels,
              width: 300,
              height: 200,
            }),
          },
        ];
  return [
    ...figure(
      'loss',
      "Training loss of the centroid w_c (data loss on the run's training examples).",
      'trainLoss',
      'training loss',
      {
        log: true,
      },
    ),
    ...figure('accuracy', 'Test accuracy of the centroid.', 'testAccuracy', 'test accuracy'),
    ...figure(
      'consensus',
      'Consensus distance (1/K) Σ_k ‖w_k − w_c‖², log scale (zero for centralized SGD, so not drawn).',
      'consensusDistance',
      'consensus distance',
      { log: true },
    ),
    ...figure(
      'trace',
      'Tr ∇²J at the centroid (Hutchinson), with its 95% interval over the probes (--measure-every).',
      'trace',
      'Tr ∇²J',
      { band: { lo: 'traceLo', hi: 'traceHi' } },
    ),
    ...figure(
      'lambda-max',
      'Top eigenvalue of ∇²J at the centroid (Lanczos, --measure-every).',
      'lambdaMax',
      'λ_max(∇²J)',
    ),
  ];
}

const css = `
body { font: 15px/1.5 'DejaVu Sans', Helvetica, Arial, sans-serif; color: #222; margin: 0; }
main { max-width: 1400px; margin: 0 auto; padding: 24px; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(420px, 1fr)); gap: 12px 24px; }
figure { margin: 12px 0; }
figure.chart svg { display: block; max-width: 100%; height: auto; }
figcaption { color: #555; font-size: 14px; margin-top: 6px; }
table { border-collapse: collapse; font-size: 14px; }
th, td { padding: 4px 10px; border-bottom: 1px solid #ddd; text-align: left; white-space: nowrap; }
th { background: #f5f5f5; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
`;

/** The runs' table: each run's settings and its last evaluation. */
function runsTable(runs: RunSeries[]): string {
  const columns = [
    'run',
    'folder',
    'K',
    'topology',
    'B',
    'μ',
    'steps',
    'train loss',
    'test accuracy',
    'consensus distance',
  ];
  const rows = runs.map((r) => {
    const last = r.metrics[r.metrics.length - 1];
    const c = r.config;
    return [
      r.label,
      r.dir,
      Number(c.agents),
      String(c.topology),
      Number(c.batchSize),
      Number(c.stepSize),
      last.step,
      last.train.centroid.loss,
      last.test.centroid.accuracy,
      last.consensusDistance,
    ];
  });
  const cell = (v: string | number): string =>
    `<td${typeof v === 'number' ? ' class="num"' : ''}>${escapeHtml(formatCell(v))}</td>`;
  return `<table><thead><tr>${columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map(cell).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

export interface RunsReportFiles {
  html: string;
  data: string;
  figures: string[];
}

/**
 * Writes the report over runs into `out`: report.html, figures/<id>.svg, .png, .vl.json, and runs.json.
 * @throws DataError naming a folder that holds no run or no metrics
 * @throws FileSystemError when a file cannot be written
 */
export async function writeRunsReport(dirs: string[], out: string): Promise<RunsReportFiles> {
  const runs = readRuns(dirs);
  const rows = runRows(runs);
  const labels = [...new Set(runs.map((r) => r.label))];
  const figures = runFigures(rows, labels);
  const figuresDir = join(out, 'figures');
  makeFolder(figuresDir);
  const written: string[] = [];
  const inline: string[] = [];
  for (const f of figures) {
    const svg = await renderSvg(f.spec);
    writeFileAtomic(join(figuresDir, `${f.id}.svg`), svg);
    writeFileAtomic(join(figuresDir, `${f.id}.png`), svgToPng(svg));
    writeFileAtomic(join(figuresDir, `${f.id}.vl.json`), `${JSON.stringify(f.spec, null, 1)}\n`);
    written.push(join(figuresDir, `${f.id}.svg`));
    inline.push(
      `<figure class="chart" id="${f.id}"><div class="svg">${namespaceSvgIds(svg, f.id)}</div><figcaption>${escapeHtml(f.caption)}</figcaption></figure>`,
    );
  }
  const curvature = rows.some((r) => r.trace !== null || r.lambdaMax !== null);
  const html = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>flatdist: ${runs.length} runs</title>
<style>${css}</style>
</head>
<body>
<main>
<h1>${runs.length} training runs side by side</h1>
<p>Each figure draws one quantity against the step for every run, coloured by algorithm.${
    curvature ? '' : ' No run recorded curvature: train with <code>--measure-every N</code> to add Tr ∇²J and λ_max.'
  }</p>
<div class="grid">
${inline.join('\n')}
</div>
<h2>The runs</h2>
${runsTable(runs)}
<p>Every point is in <code>runs.json</code>; the figures are in <code>figures/</code> as SVG, PNG and Vega-Lite specs.</p>
</main>
</body>
</html>
`;
  const files = { html: join(out, 'report.html'), data: join(out, 'runs.json'), figures: written };
  writeFileAtomic(files.html, html);
  writeFileAtomic(
    files.data,
    `${JSON.stringify({ runs: runs.map((r) => ({ dir: r.dir, label: r.label, config: r.config })), rows }, null, 1)}\n`,
  );
  return files;
}
