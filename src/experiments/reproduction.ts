// `flatdist reproduce`: the four suites at a scale, each unit of work stored under
// <out>/work/<scale>-<settings hash>/ as it finishes, then the report written into <out>.
import { createHash } from 'node:crypto';
import { loadavg } from 'node:os';
import { environment } from '../train/rundir.js';
import { writeReport, type ReportFiles } from '../report/index.js';
import { escapeSuite } from './escape-suite.js';
import { excessSuite } from './excess-suite.js';
import { prepareNetwork } from './network.js';
import type { Results, SuiteResult } from '../report/results.js';
import { describeScale, scaleSettings, type Scale, type ScaleSettings } from './scale.js';
import { checkDataset } from '../data/index.js';
import { UserError } from '../errors.js';
import { useDevice } from '../tensor/index.js';
import { join } from 'node:path';
import { makeFolder } from '../util/files.js';
import { acquireLock } from '../util/lock.js';
import { toySuite } from './toy-suite.js';
import { tradeoffSuite } from './tradeoff-suite.js';
import { WorkStore } from './work.js';
import type { OnProgress } from '../util/reporter.js';

export interface ReproduceOptions {
  scale: Scale;
  out: string;
  /** Folder of CIFAR-10's binary batches: adds CIFAR-10 to the full trade-off suite. */
  dataDir?: string;
  /** Where every training run and measurement computes: cpu, cuda or cuda:N (default cpu). */
  device?: string;
  /** The command line, for the report. */
  command: string;
  log?: (message: string) => void;
  /** Told when a unit of work starts (0 of 1) and ends (1 of 1), named by its id. */
  progress?: OnProgress;
  /** Stops the reproduction before its next unit, or a training unit after its current step (SIGINT, SIGTERM). */
  signal?: AbortSignal;
}

export interface Reproduction {
  results: Results;
  files: ReportFiles;
  /** Units computed by this invocation, and read back from earlier ones. */
  computed: number;
  reused: number;
}

/**
 * Every input a scale reads, checked before the first unit of work: a wrong folder
 * fails in a second, not after an hour of finished suites.
 * @throws UserError for --data-dir at a scale that does not read it; DataError for missing dataset files.
 */
function checkInputs(o: ReproduceOptions, s: ScaleSettings): void {
  if (o.dataDir !== undefined && !s.tradeoff.datasets.includes('cifar10')) {
    throw new UserError(
      `--data-dir adds CIFAR-10 to the full trade-off suite only; the ${o.scale} scale does not read it — drop --data-dir, or use --full`,
    );
  }
  for (const dataset of new Set([...(s.network ? [s.network.dataset] : []), ...s.tradeoff.datasets]))
    checkDataset(dataset, dataset === 'cifar10' ? o.dataDir : undefined);
}

export async function reproduce(o: ReproduceOptions): Promise<Reproduction> {
  const started = new Date();
  const s = scaleSettings(o.scale, o.dataDir);
  checkInputs(o, s);
  // Before the first tensor: the data sets are loaded once, onto this device.
  useDevice(o.device ?? 'cpu');
  // One reproduction per folder at a time: two would write the same units and report.
  makeFolder(o.out);
  const lock = acquireLock(join(o.out, 'reproduce.lock'), 'flatdist reproduce');
  try {
    return await reproduceIn(o, s, started);
  } finally {
    lock.release();
  }
}

async function reproduceIn(o: ReproduceOptions, s: ScaleSettings, started: Date): Promise<Reproduction> {
  const log = o.log ?? (() => {});
  const before = loadavg();
  // Units are kept per scale and settings: changed settings never reuse stale results.
  const key = createHash('sha256').update(JSON.stringify(s)).digest('hex').slice(0, 10);
  const store = new WorkStore(
    o.out,
    `${o.scale}-${key}`,
    (m) => log(`  done ${m}`),
    (id) => o.progress?.(0, 1, id),
    o.signal,
  );
  const suites: SuiteResult[] = [];
  // The MLP scales run all four suites; the convnet scales the trade-off suite alone (scale.ts).
  const total = s.escape && s.excess && s.toy ? 4 : 1;
  let n = 0;
  const step = (title: string): void => log(`[${++n}/${total}] ${title}`);
  if (s.network && s.escape && s.excess) {
    step('escape from a large-batch minimum');
    const network = await prepareNetwork(store, s.network);
    suites.push(await escapeSuite(store, network, s.escape));
    step('excess risk: consensus against diffusion');
    suites.push(await excessSuite(store, network, s.excess));
  }
  step('flatness, optimization error and accuracy');
  suites.push(await tradeoffSuite(store, s.tradeoff, o.device));
  if (s.toy) {
    step('a sharp and a flat minimum in 2-D');
    suites.push(await toySuite(store, s.toy));
  }
  const finished = new Date();
  const results: Results = {
    title: 'Flatness and optimization in distributed learning: does the paper hold?',
    command: o.command,
    scale: o.scale,
    scaleNote: describeScale(o.scale, s),
    started: started.toISOString(),
    finished: finished.toISOString(),
    seconds: (finished.getTime() - started.getTime()) / 1000,
    environment: { ...environment() },
    load: { before, after: loadavg() },
    work: { computed: store.computed, reused: store.reused, seconds: store.totalSeconds() },
    suites,
  };
  log('writing the report');
  const files = await writeReport(results, o.out);
  return { results, files, computed: store.computed, reused: store.reused };
}
