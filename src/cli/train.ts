// `flatdist train`: one training run from a config file and/or flags.
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { UserError } from '../errors.js';
import { defaults, makeConfig, readConfigFile, type TrainConfig } from '../train/config.js';
import { terminalProgress, silentProgress } from '../train/progress.js';
import { claimRunFolder, environment, paths, writeRunRecord } from '../train/rundir.js';
import { prepare } from '../train/setup.js';
import { train } from '../train/trainer.js';
import type { Command } from './main.js';

/** Flags of every config field, kebab-cased (batchSize → --batch-size). */
const kebab = (s: string): string => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const fields = Object.keys(defaults) as (keyof TrainConfig)[];

export const trainOptions = {
  ...Object.fromEntries(fields.map((f) => [kebab(f), { type: 'string' as const }])),
  config: { type: 'string' as const },
  resume: { type: 'string' as const },
  overwrite: { type: 'boolean' as const },
  json: { type: 'boolean' as const },
  help: { type: 'boolean' as const, short: 'h' },
};

export function trainHelp(): string {
  return [
    'usage: flatdist train [--config file.yaml] [--<field> value ...] [--resume <out> | --overwrite] [--json]',
    '',
    'A run folder that holds a run is continued with --resume, or removed and started afresh with --overwrite.',
    '',
    'fields (defaults):',
    ...fields.map((f) => `  --${kebab(f).padEnd(18)} ${JSON.stringify(defaults[f])}`),
    '',
    'algorithms: centralized | consensus | atc | cta | noncooperative (diffusion = atc)',
  ].join('\n');
}

/** The config of an earlier run (its run.json), or null when the folder has none. */
export function runConfig(dir: string): Record<string, unknown> | null {
  const record = paths(dir).run;
  return existsSync(record) ? (JSON.parse(readFileSync(record, 'utf8')) as { config: Record<string, unknown> }).config : null;
}

/** The config from a base (e.g. an earlier run's), --config, flags and (for --resume) the run's own record. */
export function configFromArgs(values: Record<string, string | boolean | undefined>, base: Record<string, unknown> = {}): { config: TrainConfig; resume: boolean } {
  let partial: Record<string, unknown> = { ...base };
  const resume = typeof values.resume === 'string';
  if (resume) {
    const record = runConfig(values.resume as string);
    if (record === null) throw new UserError(`--resume ${String(values.resume)}: no run.json there — give the --out folder of an earlier run`);
    partial = record;
  }
  if (typeof values.config === 'string') partial = { ...partial, ...readConfigFile(values.config) };
  for (const f of fields) {
    const v = values[kebab(f)];
    if (typeof v === 'string') partial[f] = v;
  }
  if (resume) partial.out = values.resume;
  return { config: makeConfig(partial), resume };
}

export function parseTrainArgs(args: string[]): Record<string, string | boolean | undefined> {
  try {
    return parseArgs({ args, options: trainOptions, allowPositionals: false, strict: true }).values;
  } catch (e) {
    throw new UserError(`${(e as Error).message} — see 'flatdist train --help'`);
  }
}

export const trainCommand: Command = {
  summary: 'train K agents with centralized SGD, consensus or diffusion',
  async run(args) {
    const values = parseTrainArgs(args);
    if (values.help) {
      console.log(trainHelp());
      return 0;
    }
    const { config, resume } = configFromArgs(values);
    const setup = prepare(config);
    const lock = claimRunFolder(config.out, { command: 'flatdist train', resume, overwrite: values.overwrite === true });
    let summary;
    try {
      if (!resume) {
        writeRunRecord(config.out, {
          config,
          environment: environment(),
          graph: { topology: setup.graph.name, agents: setup.graph.agents, edges: setup.graph.edges.length, ...setup.spectrum },
          labelHistogram: setup.labelHistogram,
          started: new Date().toISOString(),
        });
      }
      summary = await train(setup, { resume, progress: values.json ? silentProgress : terminalProgress(config.algorithm) });
    } finally {
      lock.release();
    }
    if (values.json) console.log(JSON.stringify(summary));
    else {
      console.log(`${summary.algorithm}: ${summary.steps} steps, K = ${summary.agents}, ${summary.seconds.toFixed(1)} s`);
      console.log(`  test accuracy ${(summary.testAccuracy * 100).toFixed(2)}%, test loss ${summary.testLoss.toFixed(4)}, train loss ${summary.trainLoss.toFixed(4)}, consensus distance ${summary.consensusDistance.toExponential(3)}`);
      console.log(`  run directory: ${config.out}`);
    }
    return 0;
  },
};
