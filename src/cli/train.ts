// `flatdist train`: one training run from a config file and/or flags. Also the run
// options every command that builds a run shares (minimize, escape, launch, agent).
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { ConfigError, UserError } from '../errors.js';
import {
  makeConfig,
  readConfigFile,
  resumableFields,
  resumeChanges,
  runFields,
  type FieldChange,
  type TrainConfig,
} from '../train/config.js';
import { camel, kebab, normalizeKeys } from '../train/fields.js';
import { addFields, command, onRun, pick, type Context } from './command.js';

type RunField = keyof typeof runFields;

/**
 * What only a training run reads: its length in epochs, cadences, checkpoints, divergence bound,
 * initialization and curvature during training. Commands that start at a point (minimize, escape,
 * theory) do not offer them.
 */
export const trainingOnlyFields: RunField[] = [
  'epochs',
  'divergenceFactor',
  'sameInit',
  'evalEvery',
  'checkpointEvery',
  'keepCheckpoints',
  'measureEvery',
  'measures',
  'measureProbes',
  'measureTopK',
  'measureSubset',
  'measureSeed',
  'measureAgents',
];

/** The run fields less some (a command that spells one of them its own way). */
export const runFieldsBut = (...left: RunField[]): Partial<typeof runFields> =>
  Object.fromEntries(Object.entries(runFields).filter(([k]) => !(left as string[]).includes(k)));

/** --config FILE and the run fields as flags (--batch-size …); showDefault false where the defaults come from elsewhere. */
export function addRunOptions(
  cmd: Command,
  fields: Partial<typeof runFields> = runFields,
  o: { showDefault?: boolean } = {},
): Command {
  cmd.option(
    '--config <FILE>',
    'YAML or JSON file of run fields, keys spelled as the flags (batch-size) or as run.json (batchSize); flags override it',
  );
  return addFields(cmd, fields, o);
}

/** The config of an earlier run (its run.json), or null when the folder has none. */
export async function runConfig(dir: string): Promise<Record<string, unknown> | null> {
  const { readRunRecord } = await import('../train/rundir.js');
  return (readRunRecord(dir)?.config as Record<string, unknown> | undefined) ?? null;
}

/** The flags a resume may give (--out is the resumed folder itself). */
const resumableFlags = resumableFields
  .filter((f) => f !== 'out')
  .map((f) => `--${kebab(f)}`)
  .join(', ');

/**
 * `layer` over `partial`, where a layer that gives the run's length in steps replaces a length in epochs
 * from below it (a resumed run's, a config file's) — epochs would win otherwise.
 * @throws UserError when one layer (the flags, or config file `file`) gives both steps and epochs
 */
function overLength(
  partial: Record<string, unknown>,
  layer: Record<string, unknown>,
  file?: string,
): Record<string, unknown> {
  const given = (f: string): boolean => f in layer && layer[f] !== null && layer[f] !== undefined;
  if (given('steps') && given('epochs')) {
    const both = file === undefined ? '--steps and --epochs' : `${file}: steps and epochs`;
    throw new UserError(`${both} both give the run's length — keep one`);
  }
  return given('steps') ? { ...partial, ...layer, epochs: null } : { ...partial, ...layer };
}

/**
 * A resume writes into its own folder: another out (flag or config key `name`) would be ignored, so it is refused.
 * @throws UserError when `out` is given and is not the resumed folder
 */
function refuseOtherOut(out: unknown, name: string, resume: string): void {
  if (typeof out === 'string' && resolve(out) !== resolve(resume))
    throw new UserError(
      `${name}: --resume continues ${resume} in place — drop ${name.startsWith('--') ? name : 'the out key'} (or give the same folder)`,
    );
}

/**
 * The config from a base (an earlier run's), --resume's run.json, --config and the flags, each over the one
 * before; errors name the flag or the config file's key the user wrote. A resume continues the recorded run:
 * only the resumable fields (steps, evaluation and checkpoint cadence, …) may change, and `changes` lists them.
 * @throws UserError naming every flag (or key) that would change a resumed run, with its recorded value
 */
export async function configFromOptions(
  options: Record<string, unknown>,
  ctx: Context,
  o: { base?: Record<string, unknown>; fields?: Partial<typeof runFields> } = {},
): Promise<{ config: TrainConfig; resume: boolean; changes: FieldChange[] }> {
  let partial: Record<string, unknown> = { ...o.base };
  const resume = typeof options.resume === 'string' ? options.resume : undefined;
  let recorded: TrainConfig | null = null;
  if (resume !== undefined) {
    const { requireResumeOrOverwrite } = await import('../train/rundir.js');
    requireResumeOrOverwrite({ resume: true, overwrite: options.overwrite === true });
    refuseOtherOut(options.out, '--out', resume);
    const record = await runConfig(resume);
    if (record === null)
      throw new UserError(`--resume ${resume}: no run.json there — give the --out folder of an earlier run`);
    partial = record;
    recorded = makeConfig({ ...record, out: resume });
  }
  if (typeof options.config === 'string') {
    const file = options.config;
    const given = readConfigFile(file);
    let layer: Record<string, unknown>;
    try {
      layer = normalizeKeys(given, Object.keys(runFields));
    } catch (e) {
      throw e instanceof ConfigError ? new ConfigError(`${file}: ${e.field}`, e.detail) : e;
    }
    for (const key of Object.keys(given)) ctx.names.set(camel(key), `${file}: ${key}`);
    if (resume !== undefined) refuseOtherOut(layer.out, `${file}: out`, resume);
    partial = overLength(partial, layer, file);
  }
  const flags = pick(options, o.fields ?? runFields);
  for (const f of Object.keys(flags)) ctx.names.set(f, `--${kebab(f)}`);
  partial = overLength(partial, flags);
  if (resume !== undefined) partial.out = resume;
  const config = makeConfig(partial);
  if (recorded === null) return { config, resume: false, changes: [] };
  const { allowed, refused } = resumeChanges(recorded, config);
  if (refused.length > 0) {
    const show = (v: unknown): string =>
      typeof v === 'string' ? v : Array.isArray(v) ? v.join(',') : JSON.stringify(v);
    const named = refused.map((c) => `${ctx.names.get(c.field) ?? c.field} ${show(c.to)} (recorded: ${show(c.from)})`);
    throw new UserError(
      `--resume ${resume} continues the recorded run, which ${named.join(', ')} would change — only ${resumableFlags} may; start a new run (another --out) to change the others`,
    );
  }
  return { config, resume: true, changes: allowed };
}

export const train = command({
  name: 'train',
  summary: 'train K agents with centralized SGD, consensus or diffusion',
  define(cmd, ctx) {
    addRunOptions(cmd)
      .option(
        '--resume <DIR>',
        `continue the run in DIR from its last checkpoint (its run.json is the config); only ${resumableFlags} may change`,
      )
      .option(
        '--overwrite',
        'remove the run in --out (run.json, metrics.jsonl, checkpoints) and start afresh; without it a folder holding a run is refused',
      )
      .option('--json', 'print the final summary as JSON')
      .addHelpText(
        'after',
        '\nA run writes DIR/run.json (the config), DIR/metrics.jsonl and DIR/checkpoints/; the same seed gives the same metrics.',
      );
    onRun(cmd, ctx, async (options) => {
      const { config, resume, changes } = await configFromOptions(options, ctx);
      const [
        { prepare },
        { train: run, Interrupted },
        { claimRunFolder, runRecord, writeRunRecord },
        { terminalProgress, silentProgress },
        { interruptedLine, shellWord, summaryLines },
        { partsRecord },
      ] = await Promise.all([
        import('../train/setup.js'),
        import('../train/trainer.js'),
        import('../train/rundir.js'),
        import('../train/progress.js'),
        import('../train/summary.js'),
        import('../train/parts.js'),
      ]);
      const setup = prepare(config);
      const lock = claimRunFolder(config.out, {
        command: 'flatdist train',
        resume,
        overwrite: options.overwrite === true,
      });
      // The first SIGINT stops the run after its current step; a second one ends the process at once.
      const stop = new AbortController();
      const interrupt = (): void => stop.abort();
      process.once('SIGINT', interrupt);
      let summary;
      try {
        if (!resume) writeRunRecord(config.out, runRecord(setup, { parts: partsRecord(setup) }));
        summary = await run(setup, {
          resume,
          changes,
          signal: stop.signal,
          progress: options.json ? silentProgress : terminalProgress(config.algorithm),
        });
      } catch (e) {
        if (!(e instanceof Interrupted)) throw e;
        const line = interruptedLine({
          step: e.step,
          lastCheckpoint: e.lastCheckpoint,
          resume: `flatdist train --resume ${shellWord(config.out)}`,
        });
        // Below the progress bar, on a terminal.
        console.error(`${process.stderr.isTTY ? '\n' : ''}flatdist: ${line}`);
        if (options.json)
          console.log(JSON.stringify({ interrupted: { step: e.step, lastCheckpoint: e.lastCheckpoint } }));
        return 130;
      } finally {
        process.off('SIGINT', interrupt);
        lock.release();
      }
      if (options.json) console.log(JSON.stringify(summary));
      else for (const line of summaryLines(summary, config.out)) console.log(line);
      return 0;
    });
  },
});
