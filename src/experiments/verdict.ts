// A claim's verdict from its parts. Each part is a 95% interval on an effect the claim says
// is positive; the interval reads it as holding (wholly above 0), not holding (wholly below:
// the interval excludes the claim) or inconclusive (it includes 0 — the data cannot tell).
import type { Interval } from '../stats/index.js';
import type { Status } from '../report/results.js';

export type Reading = 'holds' | 'fails' | 'inconclusive';

/** What a 95% interval on a claimed-positive effect says. */
export const reading = (i: Interval): Reading => (i.lo > 0 ? 'holds' : i.hi < 0 ? 'fails' : 'inconclusive');

/** How a reading is said beside its number. */
export const readingLabel: Record<Reading, string> = {
  holds: 'holds',
  fails: 'does not hold: the interval excludes the claim',
  inconclusive: 'inconclusive: the interval includes 0',
};

/**
 * The claim's status: holds when every part holds; holds in part (mixed) when some do and
 * others do not or cannot tell; does not hold when no part holds and some interval excludes
 * the claim; inconclusive when no part is decided either way (or there are none).
 */
export function combine(readings: Reading[]): Status {
  const holds = readings.filter((r) => r === 'holds').length;
  if (readings.length > 0 && holds === readings.length) return 'holds';
  if (holds > 0) return 'mixed';
  return readings.includes('fails') ? 'fails' : 'inconclusive';
}
