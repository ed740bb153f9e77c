// Vega-Lite specifications for the report's figures, built from plain rows. Every chart
// shares one look (fonts, sizes, the algorithms' colours), so figures read as a set.
import type { VegaLiteSpec } from './results.js';

export type Row = Record<string, string | number | boolean | null>;

/** One colour per algorithm, the same in every figure. */
const algorithmColours: Record<string, string> = {
  centralized: '#4d4d4d',
  consensus: '#e08214',
  'diffusion (ATC)': '#2166ac',
  'diffusion (CTA)': '#5aae61',
  'non-cooperative': '#b2182b',
  'gradient descent': '#999999',
};

/** The name a reader sees for an algorithm. */
export function algorithmLabel(algorithm: string): string {
  return (
    (
      {
        centralized: 'centralized',
        consensus: 'consensus',
        atc: 'diffusion (ATC)',
        cta: 'diffusion (CTA)',
        noncooperative: 'non-cooperative',
      } as Record<string, string>
    )[algorithm] ?? algorithm
  );
}

/** Colours of settings that are an algorithm over one graph ('diffusion (ATC), ring'), in the order they come. */
const settingColours = ['#2166ac', '#5aae61', '#e08214', '#b2182b', '#762a83', '#35978f'];

const algorithmColour = (labels: string[]) => {
  let next = 0;
  return {
    field: 'algorithm',
    type: 'nominal',
    title: 'algorithm',
    scale: {
      domain: labels,
      range: labels.map(
        (l) => algorithmColours[l] ?? (l.includes(', ') ? settingColours[next++ % settingColours.length] : '#888888'),
      ),
    },
    // Wide enough for 'diffusion (ATC), exponential' whole.
    legend: { orient: 'bottom', symbolOpacity: 1, symbolType: 'circle', labelLimit: 260 },
  };
};

const config = {
  font: 'DejaVu Sans, Helvetica, Arial, sans-serif',
  view: { stroke: '#dddddd' },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#eeeeee' },
  legend: { labelFontSize: 11, titleFontSize: 12 },
  header: { labelFontSize: 12, titleFontSize: 12 },
  title: { fontSize: 14, anchor: 'start' },
};

/** A complete top-level spec: schema, shared config, white background. */
export function chart(body: VegaLiteSpec): VegaLiteSpec {
  return { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', background: 'white', config, ...body };
}

const finite = (rows: Row[], fields: (string | undefined)[]): number[] =>
  rows.flatMap((r) => fields.flatMap((f) => (f === undefined ? [] : [Number(r[f])]))).filter(Number.isFinite);

/**
 * Tick values 1, 2, 5 × 10^k (only 10^k over more than two decades) spanning the positive
 * magnitudes from `smallest` to the largest of `values`, negated for negative values, with 0
 * where the data reach it: vega's own log and symlog ticks can leave a whole range unlabelled.
 */
export function magnitudeTicks(values: number[], smallest?: number): number[] {
  const magnitudes = values.map(Math.abs).filter((v) => v > 0);
  if (magnitudes.length === 0) return [0];
  const top = Math.ceil(Math.log10(Math.max(...magnitudes)));
  const bottom = Math.floor(Math.log10(smallest ?? Math.min(...magnitudes)));
  const steps = top - bottom > 2 ? [1] : [1, 2, 5];
  const ladder: number[] = [];
  for (let k = bottom; k <= top; k++) for (const m of steps) ladder.push(Number((m * 10 ** k).toPrecision(3)));
  // The rungs up to the first one at or beyond a magnitude, so the labels bracket every value.
  const upTo = (m: number): number[] => ladder.slice(0, ladder.findIndex((t) => t >= m) + 1 || ladder.length);
  const [lo, hi] = [Math.min(...values), Math.max(...values)];
  return [
    ...(lo < 0
      ? upTo(-lo)
          .map((t) => -t)
          .reverse()
      : []),
    ...(lo <= 0 || smallest !== undefined ? [0] : []),
    ...(hi > 0 ? upTo(hi) : []),
  ];
}

/**
 * Log-scale ticks for a field: 1, 2, 5 × 10^k over the data. Below 0.01 and from 10⁴ up they read 2e-4, not 0.0002,
 * and only powers of ten are labelled once the ticks span two decades: Vega rounds a log domain out to powers of ten,
 * leaving under 30 pixels of a 190-pixel panel between 1 and 2 × 10^k, too few for such labels.
 */
const logAxis = (rows: Row[], fields: (string | undefined)[]) => {
  const values = magnitudeTicks(finite(rows, fields).filter((v) => v > 0)).filter((t) => t > 0);
  const long = values.some((t) => t < 0.01 || t >= 1e4);
  const [lo, hi] = [Math.floor(Math.log10(values[0])), Math.ceil(Math.log10(values[values.length - 1]))];
  return {
    values:
      long && hi - lo >= 2
        ? Array.from({ length: hi - lo + 1 }, (_, i) => Number((10 ** (lo + i)).toPrecision(3)))
        : values,
    format: long ? '~e' : '~g',
  };
};

export interface BandLines {
  rows: Row[];
  x: { field: string; title: string; log?: boolean };
  /** log: a log scale; symlog: linear within ±constant of zero, logarithmic beyond (shows negative values too). */
  y: { field: string; title: string; log?: boolean; symlog?: number };
  /** Fields of the 95% band around y. */
  band?: { lo: string; hi: string };
  /** A second y drawn dashed over the measured one (the theory). */
  predicted?: string;
  colourLabels: string[];
  /** Facet columns by this field. */
  column?: { field: string; title: string; sort?: (string | number)[] };
  width?: number;
  height?: number;
  independentY?: boolean;
}

/** Measured lines with 95% bands, optionally with predicted dashed lines, faceted in columns. */
export function bandLines(o: BandLines): VegaLiteSpec {
  const x = {
    field: o.x.field,
    type: 'quantitative',
    title: o.x.title,
    ...(o.x.log ? { scale: { type: 'log', nice: false } } : {}),
  };
  const yFields = [o.y.field, o.band?.lo, o.band?.hi, o.predicted];
  const yScale =
    o.y.symlog !== undefined
      ? {
          scale: { type: 'symlog', constant: o.y.symlog },
          axis: { values: magnitudeTicks(finite(o.rows, yFields), o.y.symlog), format: '~g' },
        }
      : o.y.log
        ? { scale: { type: 'log' }, axis: logAxis(o.rows, yFields) }
        : {};
  const colour = algorithmColour(o.colourLabels);
  const layers: VegaLiteSpec[] = [];
  if (o.band) {
    layers.push({
      mark: { type: 'area', opacity: 0.18 },
      encoding: {
        x,
        y: { field: o.band.lo, type: 'quantitative', title: o.y.title, ...yScale },
        y2: { field: o.band.hi },
        color: colour,
      },
    });
  }
  layers.push({
    mark: { type: 'line', strokeWidth: 2, point: { size: 25 } },
    encoding: { x, y: { field: o.y.field, type: 'quantitative', title: o.y.title, ...yScale }, color: colour },
  });
  if (o.predicted) {
    layers.push({
      mark: { type: 'line', strokeWidth: 1.5, strokeDash: [5, 3] },
      encoding: { x, y: { field: o.predicted, type: 'quantitative', ...yScale }, color: colour },
    });
  }
  const inner = { width: o.width ?? 220, height: o.height ?? 180, layer: layers };
  return facetedByColumn(o, inner);
}

/** The layered chart over the rows, repeated in columns by a field when asked. */
function facetedByColumn(
  o: { rows: Row[]; column?: { field: string; title: string; sort?: (string | number)[] }; independentY?: boolean },
  inner: VegaLiteSpec,
): VegaLiteSpec {
  if (!o.column) return chart({ data: { values: o.rows }, ...inner });
  return chart({
    data: { values: o.rows },
    facet: {
      column: {
        field: o.column.field,
        type: 'ordinal',
        title: o.column.title,
        ...(o.column.sort ? { sort: o.column.sort } : {}),
      },
    },
    spec: inner,
    resolve: { scale: { y: o.independentY ? 'independent' : 'shared' } },
  });
}

export interface PointsWithErrors {
  rows: Row[];
  /** Categories along x. */
  x: { field: string; title: string; sort?: (string | number)[] };
  y: { field: string; title: string; zero?: boolean };
  lo: string;
  hi: string;
  /** Hollow markers at this field (e.g. the theory's prediction). */
  predicted?: string;
  colourLabels: string[];
  column?: { field: string; title: string; sort?: (string | number)[] };
  width?: number;
  height?: number;
  independentY?: boolean;
}

/** Dots with 95% error bars per category and algorithm (dodged), hollow diamonds for a prediction. */
export function pointsWithErrors(o: PointsWithErrors): VegaLiteSpec {
  // Labels turn when the widest would not fit the band its category gets (about 7 px a character).
  const categories = [...new Set(o.rows.map((r) => String(r[o.x.field])))];
  const width = o.width ?? 200;
  const turn = Math.max(...categories.map((c) => c.length)) * 7 > (0.9 * width) / Math.max(1, categories.length);
  const x = {
    field: o.x.field,
    type: 'ordinal',
    title: o.x.title,
    ...(o.x.sort ? { sort: o.x.sort } : {}),
    axis: turn ? { labelAngle: -35, labelAlign: 'right', labelLimit: 240 } : { labelAngle: 0, labelLimit: 240 },
  };
  const colour = algorithmColour(o.colourLabels);
  const offset = { xOffset: { field: 'algorithm', type: 'nominal', scale: { domain: o.colourLabels } } };
  const y = { field: o.y.field, type: 'quantitative', title: o.y.title, scale: { zero: o.y.zero ?? false } };
  const layers: VegaLiteSpec[] = [
    {
      mark: { type: 'rule', strokeWidth: 2 },
      encoding: {
        x,
        ...offset,
        y: { field: o.lo, type: 'quantitative', title: o.y.title },
        y2: { field: o.hi },
        color: colour,
      },
    },
    { mark: { type: 'point', filled: true, size: 50 }, encoding: { x, ...offset, y, color: colour } },
  ];
  if (o.predicted)
    layers.push({
      mark: { type: 'point', shape: 'diamond', filled: false, size: 70, strokeWidth: 1.5 },
      encoding: { x, ...offset, y: { field: o.predicted, type: 'quantitative' }, color: colour },
    });
  const inner = { width, height: o.height ?? 180, layer: layers };
  return facetedByColumn(o, inner);
}

export interface ScatterPanel {
  field: string;
  title: string;
  log?: boolean;
}

/** Test accuracy against each measure, one panel per measure, coloured by algorithm, shaped by batch size, with a least-squares line. */
export function scatterPanels(
  rows: Row[],
  y: { field: string; title: string },
  panels: ScatterPanel[],
  colourLabels: string[],
): VegaLiteSpec {
  return chart({
    data: { values: rows },
    hconcat: panels.map((p) => ({
      width: 190,
      height: 170,
      layer: [
        {
          mark: { type: 'point', filled: true, size: 45, opacity: 0.85 },
          encoding: {
            x: {
              field: p.field,
              type: 'quantitative',
              title: p.title,
              scale: p.log ? { type: 'log' } : { zero: false },
              ...(p.log ? { axis: logAxis(rows, [p.field]) } : {}),
            },
            y: { field: y.field, type: 'quantitative', title: y.title, scale: { zero: false } },
            color: algorithmColour(colourLabels),
            shape: { field: 'batch', type: 'nominal', title: 'batch size B', legend: { orient: 'bottom' } },
          },
        },
        {
          mark: { type: 'line', color: '#888888', strokeDash: [4, 3] },
          transform: [
            ...(p.log
              ? [{ calculate: `log(datum['${p.field}'])`, as: '__x' }]
              : [{ calculate: `datum['${p.field}']`, as: '__x' }]),
            { regression: y.field, on: '__x' },
            ...(p.log ? [{ calculate: 'exp(datum.__x)', as: p.field }] : [{ calculate: 'datum.__x', as: p.field }]),
          ],
          encoding: {
            x: { field: p.field, type: 'quantitative', scale: p.log ? { type: 'log' } : { zero: false } },
            y: { field: y.field, type: 'quantitative' },
          },
        },
      ],
    })),
  });
}
