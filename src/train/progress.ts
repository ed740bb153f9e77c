// Progress on the terminal: a live bar (steps/s, time left, last loss) when
// stderr is a terminal, plain lines at each evaluation otherwise.
import type { MetricsLine, Progress } from './trainer.js';

const fmt = (s: number): string =>
  s >= 60 ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${s.toFixed(0)}s`;

export function terminalProgress(label: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  const started = Date.now();
  let firstStep: number | null = null;
  let lastDraw = 0;
  const tty = stream.isTTY === true;
  return {
    step(n, total, loss) {
      firstStep ??= n - 1;
      if (!tty) return;
      const now = Date.now();
      if (now - lastDraw < 100 && n !== total) return;
      lastDraw = now;
      const rate = (n - firstStep) / Math.max(1e-3, (now - started) / 1000);
      const width = 24;
      const filled = Math.round((width * n) / total);
      const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
      stream.write(
        `\r${label} ${bar} ${n}/${total}  ${rate.toFixed(1)} steps/s  ${fmt((total - n) / Math.max(rate, 1e-9))} left  loss ${loss.toFixed(4)}  `,
      );
    },
    evaluated(line: MetricsLine) {
      const text = `${label} step ${line.step}: test acc ${(line.test.centroid.accuracy * 100).toFixed(2)}%  test loss ${line.test.centroid.loss.toFixed(4)}  train loss ${line.train.centroid.loss.toFixed(4)}  consensus dist ${line.consensusDistance.toExponential(2)}`;
      stream.write(tty ? `\r\x1b[K${text}\n` : `${text}\n`);
    },
    done() {
      if (tty) stream.write('\r\x1b[K');
    },
  };
}

export const silentProgress: Progress = { step() {}, evaluated() {}, done() {} };
