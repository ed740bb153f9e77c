// Progress of long steps, in one place. Library loops take an `OnProgress` callback
// (done, total, label) and know nothing of terminals; a command turns it into a live bar
// (cli-progress) when stderr is a terminal, and into plain lines — the first with some work
// done, then one every `every` seconds and the last of each label, once the command has run
// two seconds — otherwise (CI logs, files). A plain `label: 0/N` would only say that a step
// began: a run of short units (reproduce's) would print two lines per unit.
// FLATDIST_PROGRESS_EVERY=SECONDS sets the plain lines' interval (and their start, when
// shorter than two seconds), as tqdm's mininterval does: 0 writes a line for every unit.
import { SingleBar } from 'cli-progress';

/** Called by a long loop after each unit of work: `done` of `total` units of the step named `label`. */
export type OnProgress = (done: number, total: number, label: string) => void;

/** Seconds as people read them: 4.2 s, 3 min 05 s, 1 h 02 min. */
export function formatSeconds(s: number): string {
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(Math.round(s % 60)).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.round((s % 3600) / 60)).padStart(2, '0')} min`;
}

/**
 * A bar's elapsed and remaining time in formatSeconds' words. Before a bar has moved (a step
 * of one indivisible unit, or the first of many) cli-progress has no rate and passes 'NULL' or
 * 'INF', which its own format cuts to "LL" or "NF": the time left is then "?".
 */
function barTime(t: number | string): string {
  return typeof t === 'number' && Number.isFinite(t) ? formatSeconds(t) : '?';
}

export interface Reporter {
  /** The callback to hand to library loops. */
  readonly update: OnProgress;
  /** A line of its own (above a live bar). */
  log(line: string): void;
  /** Ends the live bar, if any. */
  end(): void;
  /** Ends the live bar, if any, and prints `summary` with the time since the reporter began. */
  finish(summary: string): void;
  /** Seconds since the reporter began. */
  elapsed(): number;
}

export interface ReporterOptions {
  /** Where progress goes (default process.stderr). */
  stream?: NodeJS.WriteStream;
  /** Print nothing (for --json). */
  quiet?: boolean;
  /** Seconds between plain lines for one label (default FLATDIST_PROGRESS_EVERY, else 10). */
  every?: number;
  /** Plain lines only once the command has run this many seconds (default 2, or `every` if less): short commands stay silent. */
  after?: number;
  /** Force the plain mode even on a terminal (tests). */
  plain?: boolean;
}

/** A reporter for one command run. */
export function reporter(o: ReporterOptions = {}): Reporter {
  const stream = o.stream ?? process.stderr;
  const began = Date.now();
  const elapsed = (): number => (Date.now() - began) / 1000;
  if (o.quiet === true) return { update() {}, log() {}, end() {}, finish() {}, elapsed };
  const live = o.plain !== true && stream.isTTY === true;
  const fromEnvironment = Number(process.env.FLATDIST_PROGRESS_EVERY ?? Number.NaN);
  const everySeconds = o.every ?? (fromEnvironment >= 0 ? fromEnvironment : 10);
  const every = everySeconds * 1000;
  const after = (o.after ?? Math.min(2, everySeconds)) * 1000;
  let label: string | null = null;
  let labelBegan = 0;
  let lastLine = 0;
  let bar: SingleBar | null = null;
  let shown = { done: 0, total: 0 };
  const stop = (): void => {
    bar?.stop();
    bar = null;
    label = null;
  };
  const update: OnProgress = (done, total, name) => {
    const now = Date.now();
    if (name !== label) {
      stop();
      label = name;
      labelBegan = now;
      lastLine = 0;
      if (live) {
        bar = new SingleBar({
          stream,
          format: '{label} {bar} {value}/{total}  {duration_formatted} elapsed, {eta_formatted} left',
          barsize: 24,
          hideCursor: true,
          // Stopped bars are erased: cli-progress restores the cursor to where the bar began when it stops,
          // so a bar is stopped (and begun again below) around every line written while it runs.
          clearOnComplete: true,
          etaBuffer: 20,
          fps: 5,
          formatTime: barTime,
        });
        bar.start(total, done, { label: name });
      }
    }
    if (bar !== null) {
      shown = { done, total };
      bar.setTotal(total);
      bar.update(done, { label: name });
      if (done >= total) {
        bar.stop();
        bar = null;
      }
      return;
    }
    if (live || now - began < after || done === 0) return;
    const last = done >= total;
    if (lastLine === 0 || last || now - lastLine >= every) {
      lastLine = now;
      const seconds = (now - labelBegan) / 1000;
      stream.write(`${name}: ${done}/${total}${seconds >= 0.05 ? ` (${formatSeconds(seconds)})` : ''}\n`);
    }
  };
  return {
    update,
    log(line) {
      if (bar !== null && label !== null) {
        const [name, { done, total }] = [label, shown];
        stop();
        stream.write(`${line}\n`);
        update(done, total, name);
      } else stream.write(`${line}\n`);
    },
    end: stop,
    finish(summary) {
      stop();
      stream.write(`${summary} in ${formatSeconds(elapsed())}\n`);
    },
    elapsed,
  };
}
