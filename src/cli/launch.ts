// `flatdist launch`: a distributed run as N local processes over Gloo, around a store
// this process serves; others may join with `flatdist agent`.
import { z } from 'zod';
import { runFields } from '../train/config.js';
import { field, integer, kebab, optional, required, text } from '../train/fields.js';
import { addFields, command, onRun, parseOptions, pick } from './command.js';
import { groupFields } from './agent.js';
import { addRunOptions, configFromOptions } from './train.js';

const launchFields = {
  nproc: required(integer(1), {
    placeholder: 'N',
    description: 'number of processes (each hosts a block of the K agents)',
  }),
  host: field(optional(text()), null, {
    placeholder: 'HOST',
    description: 'where the store listens (default 127.0.0.1)',
  }),
  port: field(integer(0), 0, { placeholder: 'P', description: "the store's port (0: a free one)" }),
  ...groupFields,
};

/** The run options as given, for the agents: --config, --resume, the fields, --json, --overwrite. */
function forwarded(options: Record<string, unknown>): string[] {
  const args: string[] = [];
  for (const name of ['config', 'resume'])
    if (typeof options[name] === 'string') args.push(`--${name}`, options[name] as string);
  for (const [name, value] of Object.entries(pick(options, runFields))) args.push(`--${kebab(name)}`, String(value));
  if (options.json === true) args.push('--json');
  if (options.overwrite === true) args.push('--overwrite');
  return args;
}

export const launch = command({
  name: 'launch',
  summary: 'run training as N local processes over Gloo (see also: agent)',
  define(cmd, ctx) {
    addFields(cmd, launchFields, { group: 'processes' });
    addRunOptions(cmd)
      .option('--resume <DIR>', 'continue the run in DIR from its last checkpoint')
      .option('--overwrite', 'replace a run already in --out')
      .option('--json', 'print the summary as JSON')
      .addHelpText(
        'after',
        '\nWithout --token or $FLATDIST_TOKEN a fresh random token is used; it reaches the agents by environment, not argv.',
      );
    onRun(cmd, ctx, async (options) => {
      const o = parseOptions(z.strictObject(launchFields), options);
      const { config, resume } = await configFromOptions(options, ctx);
      const { launchLocal } = await import('../distributed/processes.js');
      return launchLocal({
        config,
        resume,
        overwrite: options.overwrite === true,
        nproc: o.nproc,
        host: o.host ?? undefined,
        port: o.port,
        token: o.token ?? undefined,
        timeoutMs: o.timeout === null ? undefined : o.timeout * 1000,
        forward: forwarded(options),
      });
    });
  },
});
