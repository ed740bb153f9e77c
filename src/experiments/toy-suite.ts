// Suite 4: where each algorithm ends up on a 2-D landscape with a sharp and a flat
// minimum — the picture of the paper's idea. Statistic: the fraction of replicas whose
// final centroid lies in the flat basin, per algorithm, and the paired difference
// decentralized − centralized with a bootstrap 95% interval.
import { combine, reading } from './verdict.js';
import type { Algorithm } from '../algorithms/recursion.js';
import { algorithmLabel, chart, pointsWithErrors, type Row } from '../report/charts.js';
import type { Figure, Status, SuiteResult, Table } from '../report/results.js';
import { bootstrapStatistic, mean, proportionInterval, type Interval } from '../stats/index.js';
import { defaultLandscape, toyGrid, toyRun, type ToyRun, type ToyRunSettings } from './toy.js';
import type { WorkStore } from './work.js';

export interface ToySuiteSettings extends Omit<ToyRunSettings, 'algorithm' | 'start'> {
  algorithms: Algorithm[];
  starts: ('sharp' | 'uniform')[];
}

const startLabel = { sharp: 'start at the sharp minimum', uniform: 'uniform random start' };

export async function toySuite(store: WorkStore, s: ToySuiteSettings): Promise<SuiteResult> {
  const started = Date.now();
  const l = defaultLandscape;
  const runs: Record<string, ToyRun[]> = {};
  for (const start of s.starts) {
    runs[start] = [];
    for (const algorithm of s.algorithms) {
      runs[start].push(await store.unit(`toy/${start}-${algorithm}`, () => toyRun(l, { ...s, algorithm, start })));
    }
  }
  const labels = s.algorithms.map(algorithmLabel);
  const fractions: Row[] = [];
  const differences: { start: string; algorithm: string; difference: Interval }[] = [];
  const rows: (string | number)[][] = [];
  for (const start of s.starts) {
    const byAlgorithm = runs[start];
    const centralized = byAlgorithm.find((r) => r.algorithm === 'centralized');
    for (const r of byAlgorithm) {
      const count = r.flat.filter(Boolean).length;
      const f = proportionInterval(count, r.flat.length);
      fractions.push({
        start: startLabel[start],
        algorithm: algorithmLabel(r.algorithm),
        fraction: f.estimate,
        lo: f.lo,
        hi: f.hi,
      });
      let diff: Interval | null = null;
      if (centralized && r !== centralized) {
        diff = bootstrapStatistic(
          r.flat.length,
          (idx) => mean(idx.map((i) => Number(r.flat[i]) - Number(centralized.flat[i]))),
          { seed: s.seed },
        );
        differences.push({ start, algorithm: r.algorithm, difference: diff });
      }
      rows.push([
        startLabel[start],
        algorithmLabel(r.algorithm),
        r.flat.length,
        f.estimate,
        `[${f.lo.toFixed(3)}, ${f.hi.toFixed(3)}]`,
        diff ? `${diff.estimate.toFixed(3)} [${diff.lo.toFixed(3)}, ${diff.hi.toFixed(3)}]` : '—',
        mean(r.risk),
      ]);
    }
  }
  const table: Table = {
    title: 'Fraction of replicas ending in the flat basin',
    columns: [
      'start',
      'algorithm',
      'replicas',
      'flat fraction',
      '95% interval (Wilson)',
      'minus centralized [95% bootstrap]',
      'mean final J(w_c)',
    ],
    rows,
  };
  const status: Status = combine(differences.map((d) => reading(d.difference)));
  const describe = (d: (typeof differences)[number]): string =>
    `${algorithmLabel(d.algorithm)} ${d.difference.estimate >= 0 ? '+' : ''}${(100 * d.difference.estimate).toFixed(0)} points [${(100 * d.difference.lo).toFixed(0)}, ${(100 * d.difference.hi).toFixed(0)}] (${startLabel[d.start as 'sharp' | 'uniform']})`;
  const statement = `Flat-basin fraction minus centralized's: ${differences.map(describe).join('; ')}.`;
  const figures: Figure[] = [
    densityFigure(runs, s),
    {
      id: 'toy-fractions',
      title: 'Fraction in the flat basin',
      caption:
        'Fraction of replicas whose final centroid lies in the flat basin (gradient descent from it reaches the flat minimum), with 95% Wilson intervals.',
      spec: pointsWithErrors({
        rows: fractions,
        x: { field: 'start', title: '' },
        y: { field: 'fraction', title: 'fraction in flat basin', zero: true },
        lo: 'lo',
        hi: 'hi',
        colourLabels: labels,
        width: 160 * s.starts.length,
      }),
    },
  ];
  return {
    id: 'toy',
    title: 'A sharp and a flat minimum in two dimensions',
    claim:
      'Decentralized strategies favour flatter minima: on a landscape with a sharp and a flat minimum they end in the flat one more often than centralized SGD.',
    method: `Two Gaussian wells of equal depth, widths ${l.sharp.width} (sharp, at (${l.sharp.centre})) and ${l.flat.width} (flat, at (${l.flat.centre})); ${s.agents} agents on a ${s.topology} (Metropolis), each with a heterogeneous tilt b_k (scale ${s.heterogeneity}, Σb_k = 0) and gradient noise σ/√B (σ = ${s.noise}, B = ${s.batchSize}); μ = ${s.stepSize}, ${s.steps} steps, ${s.replicas} replicas per algorithm. The basin of a final centroid is where gradient descent on the global risk from it ends.`,
    verdict: { status, statement },
    interpretation: interpret(differences, runs),
    settings: { ...s, landscape: l },
    tables: [table],
    figures,
    data: { fractions, differences, runs },
    seconds: (Date.now() - started) / 1000,
  };
}

/** What the runs show, start by start: who leaves the sharp well, and the price paid in final risk. */
function interpret(
  differences: { start: string; algorithm: string; difference: Interval }[],
  runs: Record<string, ToyRun[]>,
): string {
  const sentences = Object.entries(runs).map(([start, rs]) => {
    const ds = differences.filter((d) => d.start === start);
    const more = ds.filter((d) => d.difference.lo > 0).map((d) => algorithmLabel(d.algorithm));
    const same = ds.filter((d) => d.difference.lo <= 0 && d.difference.hi >= 0).map((d) => algorithmLabel(d.algorithm));
    const risk = rs.map((r) => `${algorithmLabel(r.algorithm)} ${mean(r.risk).toFixed(2)}`).join(', ');
    const where = start === 'sharp' ? 'From the sharp minimum' : 'From uniform random starts';
    const who = more.length
      ? `${more.join(' and ')} end${more.length === 1 ? 's' : ''} in the flat basin more often than centralized SGD`
      : 'no decentralized strategy ends in the flat basin more often than centralized SGD';
    return `${where}, ${who}${same.length ? ` (${same.join(' and ')}: no clear difference)` : ''}; mean final risk J(w_c): ${risk}.`;
  });
  return `${sentences.join(' ')} The agents' disagreement — heterogeneous tilts held together by the combination step — destabilizes the narrow well, which a network of spread-out agents cannot sit in; the same disagreement leaves the centroid off the bottom of the well it ends in, a higher risk: the optimization-error side of the trade-off.`;
}

function densityFigure(runs: Record<string, ToyRun[]>, s: ToySuiteSettings): Figure {
  const l = defaultLandscape;
  const [x0, x1, y0, y1] = l.box;
  const cells = 18;
  const dx = (x1 - x0) / cells;
  const dy = (y1 - y0) / cells;
  const background = toyGrid(l, cells).map((g) => ({
    ...g,
    x2: g.x + dx / 2,
    x1: g.x - dx / 2,
    y2: g.y + dy / 2,
    y1: g.y - dy / 2,
  }));
  const xScale = { domain: [x0, x1], nice: false, zero: false };
  const yScale = { domain: [y0, y1], nice: false, zero: false };
  const minima = [
    { x: l.sharp.centre[0], y: l.sharp.centre[1], minimum: 'sharp' },
    { x: l.flat.centre[0], y: l.flat.centre[1], minimum: 'flat' },
  ];
  // Final centroids counted per cell here, so every panel shares one colour scale [0, the largest count].
  const [bx, by] = [30, 18];
  const counts = (ends: number[][]): Row[] => {
    const grid = new Map<number, number>();
    for (const [x, y] of ends) {
      const i = Math.min(bx - 1, Math.max(0, Math.floor(((x - x0) / (x1 - x0)) * bx)));
      const j = Math.min(by - 1, Math.max(0, Math.floor(((y - y0) / (y1 - y0)) * by)));
      grid.set(i * by + j, (grid.get(i * by + j) ?? 0) + 1);
    }
    return [...grid].map(([key, count]) => {
      const [i, j] = [Math.floor(key / by), key % by];
      const [w, h] = [(x1 - x0) / bx, (y1 - y0) / by];
      return { x1: x0 + i * w, x2: x0 + (i + 1) * w, y1: y0 + j * h, y2: y0 + (j + 1) * h, count };
    });
  };
  const binned = Object.fromEntries(Object.entries(runs).map(([start, rs]) => [start, rs.map((r) => counts(r.ends))]));
  const most = Math.max(
    1,
    ...Object.values(binned).flatMap((panels) => panels.flatMap((p) => p.map((c) => Number(c.count)))),
  );
  const first = Object.keys(runs)[0];
  const rows = Object.entries(runs).map(([start, rs]) =>
    rs.map((r, index) => ({
      title: {
        text: `${algorithmLabel(r.algorithm)}`,
        subtitle: startLabel[start as 'sharp' | 'uniform'],
        fontSize: 13,
      },
      width: 200,
      height: Math.round((200 * (y1 - y0)) / (x1 - x0)),
      layer: [
        {
          data: { values: background },
          mark: { type: 'rect', stroke: null },
          encoding: {
            x: { field: 'x1', type: 'quantitative', scale: xScale, title: 'w₁' },
            x2: { field: 'x2' },
            y: { field: 'y1', type: 'quantitative', scale: yScale, title: 'w₂' },
            y2: { field: 'y2' },
            color: { field: 'risk', type: 'quantitative', scale: { scheme: 'greys', reverse: true }, legend: null },
          },
        },
        {
          data: { values: binned[start][index] },
          mark: { type: 'rect', opacity: 0.85 },
          encoding: {
            x: { field: 'x1', type: 'quantitative', scale: xScale },
            x2: { field: 'x2' },
            y: { field: 'y1', type: 'quantitative', scale: yScale },
            y2: { field: 'y2' },
            color: {
              field: 'count',
              type: 'quantitative',
              title: 'final centroids per cell (one scale for every panel)',
              scale: { scheme: 'oranges', domain: [0, most] },
              legend: start === first && index === 0 ? { orient: 'bottom', gradientLength: 200 } : null,
            },
          },
        },
        {
          data: { values: minima },
          mark: { type: 'point', shape: 'cross', size: 90, filled: true },
          encoding: {
            x: { field: 'x', type: 'quantitative', scale: xScale },
            y: { field: 'y', type: 'quantitative', scale: yScale },
            color: { value: '#2166ac' },
          },
        },
      ],
      resolve: { scale: { color: 'independent' } },
    })),
  );
  return {
    id: 'toy-density',
    title: 'Where each algorithm ends up',
    caption: `Density of final centroids over ${s.replicas} replicas (orange: count per cell, on one scale for every panel) on the landscape (grey: the global risk, darker is lower). Blue crosses mark the sharp (left) and flat (right) minima.`,
    spec: chart({
      vconcat: rows.map((panels) => ({ hconcat: panels, resolve: { scale: { color: 'independent' } } })),
      resolve: { scale: { color: 'independent' } },
    }),
  };
}
