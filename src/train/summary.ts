// The lines a finished run prints — train's and launch's alike — and the line an
// interrupted one leaves: how to continue it.
import type { Summary } from './trainer.js';
import { exponential } from '../util/format.js';

const time = (s: number): string =>
  s >= 60 ? `${Math.floor(s / 60)} min ${(s % 60).toFixed(0).padStart(2, '0')} s` : `${s.toFixed(1)} s`;

/**
 * The summary of a run: its steps and time in all (a resumed run's earlier parts included), then the
 * centroid's accuracy and losses and the consensus distance, and where the run is.
 */
export function summaryLines(s: Summary, out: string, o: { processes?: number } = {}): string[] {
  const agents =
    o.processes === undefined
      ? `K = ${s.agents}`
      : `K = ${s.agents} over ${o.processes} process${o.processes === 1 ? '' : 'es'}`;
  const now = s.earlierSeconds === null ? s.seconds : s.seconds - s.earlierSeconds;
  const resumed =
    s.resumedFrom === null
      ? ''
      : s.earlierSeconds === null
        ? ` (resumed at step ${s.resumedFrom}: ${s.steps - s.resumedFrom} steps in ${time(now)} now; the earlier parts' time was not recorded)`
        : ` (resumed at step ${s.resumedFrom}: ${s.steps - s.resumedFrom} steps in ${time(now)} now)`;
  return [
    `${s.algorithm}: ${s.steps} steps, ${agents}, ${time(s.seconds)}${resumed}`,
    `  test accuracy ${(s.testAccuracy * 100).toFixed(2)}%, test loss ${s.testLoss.toFixed(4)}, train loss ${s.trainLoss.toFixed(4)}, consensus distance ${exponential(s.consensusDistance, 3)}`,
    `  run directory: ${out}`,
  ];
}

/** A word as a POSIX shell reads it back: quoted when it holds anything but plain characters. */
export const shellWord = (w: string): string => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replaceAll("'", `'\\''`)}'`);

/** The line an interrupted run leaves: where it stopped, its last checkpoint, and the command that continues it. */
export function interruptedLine(o: { step: number | null; lastCheckpoint: number | null; resume: string }): string {
  const at = o.step === null ? 'interrupted' : `interrupted at step ${o.step}`;
  const kept =
    o.lastCheckpoint === null
      ? 'no checkpoint yet, so it starts over from step 0'
      : `last checkpoint at step ${o.lastCheckpoint}${o.step !== null && o.step > o.lastCheckpoint ? `, steps ${o.lastCheckpoint + 1}–${o.step} are redone` : ''}`;
  return `${at} (${kept}) — continue with: ${o.resume}`;
}
