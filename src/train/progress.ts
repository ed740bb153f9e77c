// The trainer's progress on the terminal (src/util/progress.ts draws it): a live bar of the
// steps when stderr is a terminal, and a line at each evaluation in either case.
import { reporter } from '../util/reporter.js';
import type { MetricsLine, Progress } from './trainer.js';

export function terminalProgress(label: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  const r = reporter({ stream });
  const live = stream.isTTY === true;
  return {
    step(n, total) {
      if (live) r.update(n, total, label);
    },
    evaluated(line: MetricsLine) {
      r.log(
        `${label} step ${line.step}: test acc ${(line.test.centroid.accuracy * 100).toFixed(2)}%  test loss ${line.test.centroid.loss.toFixed(4)}  train loss ${line.train.centroid.loss.toFixed(4)}  consensus dist ${line.consensusDistance.toExponential(2)}`,
      );
    },
    done() {
      r.end();
    },
  };
}

export const silentProgress: Progress = { step() {}, evaluated() {}, done() {} };
