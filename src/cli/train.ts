// `flatdist train`: one training run from a config file and/or flags. Also the run
// options every command that builds a run shares (minimize, escape, launch, agent).
import type { Command } from 'commander';
import { ConfigError, UserError } from '../errors.js';
import { makeConfig, readConfigFile, runFields, type TrainConfig } from '../train/config.js';
import { camel, kebab, normalizeKeys } from '../train/fields.js';
import { addFields, command, onRun, pick, type Context } from './command.js';

type RunField = keyof typeof runFields;

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
  const [{ existsSync, readFileSync }, { paths }] = await Promise.all([
    import('node:fs'),
    import('../train/rundir.js'),
  ]);
  const record = paths(dir).run;
  return existsSync(record)
    ? (JSON.parse(readFileSync(record, 'utf8')) as { config: Record<string, unknown> }).config
    : null;
}

/**
 * The config from a base (an earlier run's), --resume's run.json, --config and the flags, each over the one
 * before; errors name the flag or the config file's key the user wrote.
 */
export async function configFromOptions(
  options: Record<string, unknown>,
  ctx: Context,
  o: { base?: Record<string, unknown>; fields?: Partial<typeof runFields> } = {},
): Promise<{ config: TrainConfig; resume: boolean }> {
  let partial: Record<string, unknown> = { ...o.base };
  const resume = typeof options.resume === 'string' ? options.resume : undefined;
  if (resume !== undefined) {
    const record = await runConfig(resume);
    if (record === null)
      throw new UserError(`--resume ${resume}: no run.json there — give the --out folder of an earlier run`);
    partial = record;
  }
  if (typeof options.config === 'string') {
    const file = options.config;
    const given = readConfigFile(file);
    try {
      partial = { ...partial, ...normalizeKeys(given, Object.keys(runFields)) };
    } catch (e) {
      throw e instanceof ConfigError ? new ConfigError(`${file}: ${e.field}`, e.detail) : e;
    }
    for (const key of Object.keys(given)) ctx.names.set(camel(key), `${file}: ${key}`);
  }
  const flags = pick(options, o.fields ?? runFields);
  for (const f of Object.keys(flags)) ctx.names.set(f, `--${kebab(f)}`);
  partial = { ...partial, ...flags };
  if (resume !== undefined) partial.out = resume;
  return { config: makeConfig(partial), resume: resume !== undefined };
}

export const train = command({
  name: 'train',
  summary: 'train K agents with centralized SGD, consensus or diffusion',
  define(cmd, ctx) {
    addRunOptions(cmd)
      .option(
        '--resume <DIR>',
        'continue the run in DIR from its last checkpoint (its run.json is the config; flags change what they name)',
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
      const { config, resume } = await configFromOptions(options, ctx);
      const [
        { prepare },
        { train: run },
        { claimRunFolder, environment, writeRunRecord },
        { terminalProgress, silentProgress },
        { partsRecord },
      ] = await Promise.all([
        import('../train/setup.js'),
        import('../train/trainer.js'),
        import('../train/rundir.js'),
        import('../train/progress.js'),
        import('../train/parts.js'),
      ]);
      const setup = prepare(config);
      const lock = claimRunFolder(config.out, {
        command: 'flatdist train',
        resume,
        overwrite: options.overwrite === true,
      });
      let summary;
      try {
        if (!resume) {
          writeRunRecord(config.out, {
            config,
            environment: environment(),
            graph: {
              topology: setup.graph.name,
              agents: setup.graph.agents,
              edges: setup.graph.edges.length,
              ...setup.spectrum,
            },
            labelHistogram: setup.labelHistogram,
            parts: partsRecord(setup),
            started: new Date().toISOString(),
          });
        }
        summary = await run(setup, {
          resume,
          progress: options.json ? silentProgress : terminalProgress(config.algorithm),
        });
      } finally {
        lock.release();
      }
      if (options.json) console.log(JSON.stringify(summary));
      else {
        console.log(
          `${summary.algorithm}: ${summary.steps} steps, K = ${summary.agents}, ${summary.seconds.toFixed(1)} s`,
        );
        console.log(
          `  test accuracy ${(summary.testAccuracy * 100).toFixed(2)}%, test loss ${summary.testLoss.toFixed(4)}, train loss ${summary.trainLoss.toFixed(4)}, consensus distance ${summary.consensusDistance.toExponential(3)}`,
        );
        console.log(`  run directory: ${config.out}`);
      }
      return 0;
    });
  },
});
