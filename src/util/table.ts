// Plain-text tables for the terminal: columns padded to their widest cell, two spaces apart.
import { exponential } from './format.js';

/** A value for a table: 4 significant digits in exponent form; exact 0 as 0, +∞ as ∞, undefined as —. */
export const formatValue = (x: number | undefined): string =>
  x === undefined ? '—' : x === Number.POSITIVE_INFINITY ? '∞' : exponential(x, 3);

/** The rows under their header, each column as wide as its widest cell; trailing blanks trimmed. */
export function textTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  return [header, ...rows]
    .map((r) =>
      r
        .map((x, i) => x.padEnd(widths[i]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
