// Figures rendered on the server: a Vega-Lite spec compiled to Vega, drawn by a headless
// Vega View to SVG (no browser, no canvas), then rasterized to PNG by resvg.
import { Resvg } from '@resvg/resvg-js';
import { logger, None, parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { VegaLiteSpec } from './results.js';

export async function renderSvg(spec: VegaLiteSpec): Promise<string> {
  // Quiet loggers: the report says what matters; compiler hints would only clutter the terminal.
  const compiled = compile(spec as unknown as TopLevelSpec, { logger: logger(None) }).spec;
  const view = new View(parse(compiled), { renderer: 'none', logger: logger(None) });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** A PNG of an SVG at `scale` times its size, on white. */
export function svgToPng(svg: string, scale = 2): Buffer {
  const image = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    background: 'white',
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
  }).render();
  return image.asPng();
}

/**
 * The same SVG with every id (clip paths, gradients) prefixed, so several inlined in one
 * page do not resolve each other's url(#…) references.
 */
export function namespaceSvgIds(svg: string, prefix: string): string {
  return svg
    .replace(/\bid="([^"]+)"/g, (_, id: string) => `id="${prefix}-${id}"`)
    .replace(/url\(#([^)]+)\)/g, (_, id: string) => `url(#${prefix}-${id})`)
    .replace(/xlink:href="#([^"]+)"/g, (_, id: string) => `xlink:href="#${prefix}-${id}"`);
}
