// The trainer's progress through the commands' one reporter (src/util/reporter.ts): a live bar
// of the steps on a terminal, plain `label: n/total (t s)` lines every ten seconds in a log,
// and a line at each evaluation in either case.
import { reporter } from '../util/reporter.js';
import type { MetricsLine, Progress } from './trainer.js';
import { exponential } from '../util/format.js';

export function terminalProgress(label: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  const r = reporter({ stream });
  return {
    step(n, total) {
      r.update(n, total, label);
    },
    evaluated(line: MetricsLine) {
      r.log(
        `${label} step ${line.step}: test acc ${(line.test.centroid.accuracy * 100).toFixed(2)}%  test loss ${line.test.centroid.loss.toFixed(4)}  train loss ${line.train.centroid.loss.toFixed(4)}  consensus dist ${exponential(line.consensusDistance, 2)}`,
      );
    },
    done() {
      r.end();
    },
  };
}

export const silentProgress: Progress = { step() {}, evaluated() {}, done() {} };
