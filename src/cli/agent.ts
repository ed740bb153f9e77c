// `flatdist agent`: one process of a distributed run, joining a group over Gloo.
import { z } from 'zod';
import { field, integer, optional, real, required, text } from '../train/fields.js';
import { addFields, command, onRun, parseOptions } from './command.js';
import { addRunOptions, configFromOptions } from './train.js';

/** Options of a process group that launch and agent share. */
export const groupFields = {
  token: field(optional(text()), null, {
    placeholder: 'T',
    description: "the group's shared secret (default $FLATDIST_TOKEN)",
  }),
  timeout: field(optional(real({ above: 0 })), null, {
    placeholder: 'S',
    unit: 'seconds',
    description: 'how long to wait for any peer before stopping (default 60)',
  }),
};

const agentFields = {
  rank: required(integer(0), {
    placeholder: 'R',
    description: "this process's rank, 0 … N − 1 (rank 0 writes the run directory)",
  }),
  worldSize: required(integer(1), { placeholder: 'N', description: 'number of processes in the group' }),
  store: required(text(), { placeholder: 'HOST:PORT', description: "the group's store" }),
  ...groupFields,
  interface: field(optional(text()), null, {
    placeholder: 'NAME',
    description: 'network interface for Gloo (default 127.0.0.1 for a loopback store, else the host name)',
  }),
  deviceHost: field(optional(text()), null, {
    placeholder: 'HOST',
    description: 'host name for Gloo, in place of --interface',
  }),
};

export const agent = command({
  name: 'agent',
  summary: 'one process of a distributed run (joins a group over Gloo)',
  define(cmd, ctx) {
    addFields(cmd, agentFields, { group: 'process group' }).option(
      '--serve',
      'this process hosts the store at --store',
    );
    addRunOptions(cmd)
      .option('--resume <DIR>', 'continue the run in DIR from its last checkpoint')
      .option('--overwrite', 'rank 0 replaces a run already in --out')
      .option('--json', 'rank 0 prints the summary as JSON')
      .addHelpText(
        'after',
        '\nHosts a block of the K agents and exchanges parameters with neighbouring processes (allreduce for\ncentralized). Every process gets the same run options.',
      );
    onRun(cmd, ctx, async (options) => {
      const o = parseOptions(z.strictObject(agentFields), options);
      const { config, resume, changes } = await configFromOptions(options, ctx);
      const { runAgent } = await import('../distributed/processes.js');
      return runAgent({
        config,
        resume,
        changes,
        overwrite: options.overwrite === true,
        rank: o.rank,
        worldSize: o.worldSize,
        store: o.store,
        serve: options.serve === true,
        token: o.token ?? undefined,
        timeoutMs: o.timeout === null ? undefined : o.timeout * 1000,
        device:
          o.interface !== null
            ? { interface: o.interface }
            : o.deviceHost !== null
              ? { hostname: o.deviceHost }
              : undefined,
        json: options.json === true,
      });
    });
  },
});
