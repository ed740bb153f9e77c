// The report of a reproduction, written into its folder: report.html (self-contained),
// figures/<id>.svg, .png and .vl.json, summary.md and results.json.
import { join } from 'node:path';
import type { Results } from './results.js';
import { makeFolder, writeFileAtomic } from '../util/files.js';
import { reportHtml } from './html.js';
import { summaryMarkdown } from './markdown.js';
import { namespaceSvgIds, renderSvg, svgToPng } from './render.js';

export { reportHtml } from './html.js';
export { summaryMarkdown, markdownTable } from './markdown.js';
export { renderSvg, svgToPng } from './render.js';
export * from './charts.js';

export interface ReportFiles {
  html: string;
  summary: string;
  results: string;
  figures: string[];
}

export async function writeReport(r: Results, dir: string): Promise<ReportFiles> {
  const figuresDir = join(dir, 'figures');
  makeFolder(figuresDir);
  const svgs: Record<string, string> = {};
  const figures: string[] = [];
  for (const s of r.suites) {
    for (const f of s.figures) {
      const svg = await renderSvg(f.spec);
      writeFileAtomic(join(figuresDir, `${f.id}.svg`), svg);
      writeFileAtomic(join(figuresDir, `${f.id}.png`), svgToPng(svg));
      writeFileAtomic(join(figuresDir, `${f.id}.vl.json`), `${JSON.stringify(f.spec, null, 1)}\n`);
      svgs[f.id] = namespaceSvgIds(svg, f.id);
      figures.push(join(figuresDir, `${f.id}.svg`));
    }
  }
  const files = {
    html: join(dir, 'report.html'),
    summary: join(dir, 'summary.md'),
    results: join(dir, 'results.json'),
    figures,
  };
  writeFileAtomic(files.html, reportHtml(r, svgs));
  writeFileAtomic(files.summary, summaryMarkdown(r));
  writeFileAtomic(files.results, `${JSON.stringify(r, null, 1)}\n`);
  return files;
}
