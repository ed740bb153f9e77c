// `flatdist launch` and `flatdist agent`: the trainer, one process per group of
// agents, combining over Gloo. launch starts N local processes around a store it
// serves; agent joins a group from any machine.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Command } from './main.js';
import { configFromArgs, parseTrainArgs, trainHelp } from './train.js';
import { ConfigError } from '../errors.js';
import { packageRoot } from '../util/package.js';
import { silentProgress, terminalProgress } from '../train/progress.js';
import { environment, writeRunRecord } from '../train/rundir.js';
import { prepare } from '../train/setup.js';
import { train } from '../train/trainer.js';
import { defaultTimeoutMs, ProcessGroup, type Device } from '../distributed/group.js';
import { resolveToken } from '../distributed/auth.js';
import { distributedOptions } from '../distributed/training.js';
import { formatStoreAddress, loopback, parseStoreAddress, StoreServer } from '../distributed/store.js';

type Flags = Record<string, string | true>;

/** Takes the named flags (with values unless boolean) out of args; the rest are the trainer's. */
function takeFlags(args: string[], valued: string[], booleans: string[]): { flags: Flags; rest: string[] } {
  const flags: Flags = {};
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const name = args[i].startsWith('--') ? args[i].slice(2) : null;
    if (name !== null && booleans.includes(name)) flags[name] = true;
    else if (name !== null && valued.includes(name)) {
      if (i + 1 >= args.length) throw new ConfigError(`--${name}`, 'needs a value');
      flags[name] = args[++i];
    } else rest.push(args[i]);
  }
  return { flags, rest };
}

function integer(flags: Flags, name: string, fallback?: number): number {
  const v = flags[name];
  if (v === undefined && fallback !== undefined) return fallback;
  const n = typeof v === 'string' ? Number(v) : NaN;
  if (!Number.isInteger(n)) throw new ConfigError(`--${name}`, v === undefined ? 'is required' : `must be an integer, got '${String(v)}'`);
  return n;
}

function timeoutMs(flags: Flags): number {
  const v = flags.timeout;
  if (v === undefined) return defaultTimeoutMs;
  const s = Number(v);
  if (!(s > 0)) throw new ConfigError('--timeout', `must be a positive number of seconds, got '${String(v)}'`);
  return s * 1000;
}

const agentHelp = [
  'usage: flatdist agent --rank r --world-size N --store host:port [--serve] [--token t] [--timeout s]',
  '                      [--interface name | --device-host host] <train options>',
  '',
  '  One process of a distributed run: hosts a block of the K agents, exchanges parameters',
  '  with neighbouring processes over Gloo (allreduce for centralized). Every process gets',
  '  the same train options. Rank 0 writes the run directory.',
  '',
  '  --store host:port   the group\'s store; with --serve this process hosts it there',
  '  --token t           the group\'s shared secret (default: $FLATDIST_TOKEN)',
  `  --timeout s         seconds to wait for any peer before stopping (default ${defaultTimeoutMs / 1000})`,
  '  --interface name    network interface for Gloo (default: 127.0.0.1 for a loopback store, else the host name)',
  '',
].join('\n');

export const agentCommand: Command = {
  summary: 'one process of a distributed run (joins a group over Gloo)',
  async run(args) {
    const { flags, rest } = takeFlags(args, ['rank', 'world-size', 'store', 'token', 'timeout', 'interface', 'device-host'], ['serve', 'help']);
    if (flags.help) {
      console.log(agentHelp + trainHelp());
      return 0;
    }
    const values = parseTrainArgs(rest);
    const { config, resume } = configFromArgs(values);
    const rank = integer(flags, 'rank');
    const worldSize = integer(flags, 'world-size');
    if (typeof flags.store !== 'string') throw new ConfigError('--store', 'is required (host:port of the group\'s store)');
    const store = parseStoreAddress(flags.store);
    if (config.agents < worldSize) throw new ConfigError('--world-size', `${worldSize} processes for ${config.agents} agents: each process must host at least one agent`);
    const device: Device | undefined =
      typeof flags.interface === 'string' ? { interface: flags.interface } : typeof flags['device-host'] === 'string' ? { hostname: flags['device-host'] } : undefined;
    const group = ProcessGroup.join({
      rank,
      worldSize,
      store,
      token: resolveToken(typeof flags.token === 'string' ? flags.token : undefined),
      timeoutMs: timeoutMs(flags),
      serve: flags.serve === true,
      device,
      onListening: (a) => console.error(`flatdist: store listening on ${formatStoreAddress(a)}`),
    });
    const setup = prepare(config);
    if (rank === 0 && !resume) {
      writeRunRecord(config.out, {
        config,
        environment: environment(),
        graph: { topology: setup.graph.name, agents: setup.graph.agents, edges: setup.graph.edges.length, ...setup.spectrum },
        labelHistogram: setup.labelHistogram,
        processes: worldSize,
        started: new Date().toISOString(),
      });
    }
    const opts = distributedOptions(group, config.agents);
    const started = performance.now();
    const summary = await train(setup, {
      ...opts,
      resume,
      progress: rank === 0 && !values.json ? terminalProgress(config.algorithm) : silentProgress,
    });
    const seconds = (performance.now() - started) / 1000;
    const comm = {
      bytesSentPerMixPerAgent: opts.mixer.totalBytesSent / Math.max(1, opts.mixer.mixes) / opts.agents.length,
      communicationFraction: group.stats.seconds / seconds,
    };
    group.barrier();
    group.close();
    if (rank !== 0) return 0;
    if (values.json) console.log(JSON.stringify({ ...summary, processes: worldSize, rank0: comm }));
    else {
      console.log(`${summary.algorithm}: ${summary.steps} steps, K = ${summary.agents} over ${worldSize} process${worldSize === 1 ? '' : 'es'}, ${summary.seconds.toFixed(1)} s`);
      console.log(`  test accuracy ${(summary.testAccuracy * 100).toFixed(2)}%, test loss ${summary.testLoss.toFixed(4)}, train loss ${summary.trainLoss.toFixed(4)}`);
      console.log(`  rank 0: ${Math.round(comm.bytesSentPerMixPerAgent)} bytes sent per agent per combination step, ${(comm.communicationFraction * 100).toFixed(1)}% of the time communicating`);
      console.log(`  run directory: ${config.out}`);
    }
    return 0;
  },
};

const launchHelp = [
  'usage: flatdist launch --nproc N [--host h] [--port p] [--token t] [--timeout s] <train options>',
  '',
  '  Starts N local agent processes around a store this process serves (127.0.0.1 unless',
  '  --host says otherwise; port 0, the default, picks a free one). Without --token or',
  '  $FLATDIST_TOKEN a fresh random token is used. Others may join with `flatdist agent`.',
  '',
].join('\n');

export const launchCommand: Command = {
  summary: 'run training as N local processes over Gloo (see also: agent)',
  async run(args) {
    const { flags, rest } = takeFlags(args, ['nproc', 'host', 'port', 'token', 'timeout'], ['help']);
    if (flags.help) {
      console.log(launchHelp + trainHelp());
      return 0;
    }
    const N = integer(flags, 'nproc');
    if (N < 1) throw new ConfigError('--nproc', `must be at least 1, got ${N}`);
    const { config } = configFromArgs(parseTrainArgs(rest));
    if (N > config.agents) throw new ConfigError('--nproc', `${N} processes for ${config.agents} agents: each process must host at least one agent`);
    const host = typeof flags.host === 'string' ? flags.host : loopback;
    const wait = timeoutMs(flags);
    const server = StoreServer.listen(host, integer(flags, 'port', 0));
    const connect = host === '0.0.0.0' || host === '::' ? loopback : host;
    const token = (typeof flags.token === 'string' ? flags.token : process.env.FLATDIST_TOKEN) || randomBytes(16).toString('hex');
    const cli = join(packageRoot(), 'bin', 'flatdist.js');
    try {
      const children = Array.from({ length: N }, (_, rank) =>
        spawn(
          process.execPath,
          [cli, 'agent', '--rank', String(rank), '--world-size', String(N), '--store', formatStoreAddress({ host: connect, port: server.port }), '--timeout', String(wait / 1000), ...rest],
          // The token goes by environment, not argv, to stay out of process listings.
          { stdio: 'inherit', env: { ...process.env, FLATDIST_TOKEN: token } },
        ),
      );
      const codes = await Promise.all(
        children.map(
          (child) =>
            new Promise<number>((resolve) => {
              child.on('exit', (code, signal) => {
                // A failed rank stops the others within the timeout; past it (and a margin), stop them here.
                if (code !== 0) setTimeout(() => children.forEach((c) => c.exitCode === null && c.kill('SIGKILL')), wait + 10_000).unref();
                resolve(code ?? (signal ? 1 : 0));
              });
            }),
        ),
      );
      return codes.find((c) => c !== 0) ?? 0;
    } finally {
      server.close();
    }
  },
};
