// `flatdist launch` and `flatdist agent`: the trainer, one process per group of
// agents, combining over Gloo. launch starts N local processes around a store it
// serves; agent joins a group from any machine. Their options are parsed in
// src/cli/launch.ts and src/cli/agent.ts.
import { randomBytes } from 'node:crypto';
import { constants } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import { packageRoot } from '../util/package.js';
import type { FieldChange, TrainConfig } from '../train/config.js';
import { silentProgress, terminalProgress } from '../train/progress.js';
import { claimRunFolder, lastCheckpointStep, runRecord, writeRunRecord } from '../train/rundir.js';
import { interruptedLine, shellWord, summaryLines } from '../train/summary.js';
import { partsRecord } from '../train/parts.js';
import { inheritedLockVariable } from '../util/lock.js';
import { prepare } from '../train/setup.js';
import { train } from '../train/trainer.js';
import { defaultTimeoutMs, ProcessGroup, type Device } from './group.js';
import { resolveToken } from './auth.js';
import { agreedRun, distributedOptions } from './training.js';
import { formatStoreAddress, loopback, parseStoreAddress, StoreServer } from './store.js';
import { startAgents, superviseAgents, watchLauncher } from './supervision.js';

export interface AgentOptions {
  config: TrainConfig;
  resume: boolean;
  /** A resume's changes to the recorded run, for run.json's history (rank 0 writes it). */
  changes?: FieldChange[];
  /** Replace a run already in config.out (rank 0). */
  overwrite: boolean;
  rank: number;
  worldSize: number;
  /** host:port of the group's store. */
  store: string;
  /** This process serves the store. */
  serve: boolean;
  /** The group's shared secret (default $FLATDIST_TOKEN). */
  token?: string;
  /** How long to wait for any peer (default the group's). */
  timeoutMs?: number;
  device?: Device;
  json: boolean;
}

/**
 * One process of a distributed run: hosts a block of the K agents and trains; rank 0 writes the run directory.
 * @throws ConfigError('worldSize') when a process would host no agent.
 */
export async function runAgent(o: AgentOptions): Promise<number> {
  const { config, resume, rank, worldSize } = o;
  const store = parseStoreAddress(o.store, 'store');
  if (config.agents < worldSize)
    throw new ConfigError(
      'worldSize',
      `${worldSize} processes for ${config.agents} agents: each process must host at least one agent`,
    );
  watchLauncher(rank);
  const group = ProcessGroup.join({
    rank,
    worldSize,
    store,
    token: resolveToken(o.token),
    run: agreedRun(config, resume),
    timeoutMs: o.timeoutMs ?? defaultTimeoutMs,
    serve: o.serve,
    device: o.device,
    onListening: (a) => console.error(`flatdist: store listening on ${formatStoreAddress(a)}`),
  });
  const setup = prepare(config);
  // Rank 0 writes the run folder, so it owns it (under launch, it shares the launcher's lock).
  if (rank === 0) claimRunFolder(config.out, { command: 'flatdist agent (rank 0)', resume, overwrite: o.overwrite });
  if (rank === 0 && !resume)
    writeRunRecord(config.out, runRecord(setup, { parts: partsRecord(setup), processes: worldSize }));
  const opts = distributedOptions(group, config.agents);
  const started = performance.now();
  const summary = await train(setup, {
    ...opts,
    resume,
    changes: o.changes,
    progress: rank === 0 && !o.json ? terminalProgress(config.algorithm) : silentProgress,
  });
  const seconds = (performance.now() - started) / 1000;
  const comm = {
    bytesSentPerMixPerAgent: opts.mixer.totalBytesSent / Math.max(1, opts.mixer.mixes) / opts.agents.length,
    communicationFraction: group.stats.seconds / seconds,
  };
  group.barrier();
  group.close();
  if (rank !== 0) return 0;
  if (o.json) console.log(JSON.stringify({ ...summary, processes: worldSize, rank0: comm }));
  else {
    const [first, ...rest] = summaryLines(summary, config.out, { processes: worldSize });
    console.log(first);
    console.log(rest[0]);
    console.log(
      `  rank 0: ${Math.round(comm.bytesSentPerMixPerAgent)} bytes sent per agent per combination step, ${(comm.communicationFraction * 100).toFixed(1)}% of the time communicating`,
    );
    for (const line of rest.slice(1)) console.log(line);
  }
  return 0;
}

export interface LaunchOptions {
  config: TrainConfig;
  resume: boolean;
  overwrite: boolean;
  /** Processes to start. */
  nproc: number;
  /** Where the store listens (default 127.0.0.1; 0 for the port picks a free one). */
  host?: string;
  port: number;
  token?: string;
  timeoutMs?: number;
  /** The train options, passed on to every agent as given. */
  forward: string[];
}

/**
 * Starts N local agent processes around a store this process serves; the exit code is the first failure's, else 0.
 * @throws ConfigError('nproc') when a process would host no agent.
 */
export async function launchLocal(o: LaunchOptions): Promise<number> {
  const N = o.nproc;
  if (N > o.config.agents)
    throw new ConfigError(
      'nproc',
      `${N} processes for ${o.config.agents} agents: each process must host at least one agent`,
    );
  const host = o.host ?? loopback;
  const wait = o.timeoutMs ?? defaultTimeoutMs;
  // Claimed here, so that a busy or occupied folder stops the launch before any process starts.
  const lock = claimRunFolder(o.config.out, { command: 'flatdist launch', resume: o.resume, overwrite: o.overwrite });
  const server = StoreServer.listen(host, o.port, { host: 'host', port: 'port' });
  const connect = host === '0.0.0.0' || host === '::' ? loopback : host;
  const token = (o.token ?? process.env.FLATDIST_TOKEN) || randomBytes(16).toString('hex');
  const cli = join(packageRoot(), 'bin', 'flatdist.js');
  try {
    const store = formatStoreAddress({ host: connect, port: server.port });
    const children = startAgents(
      cli,
      Array.from({ length: N }, (_, rank) => [
        'agent',
        '--rank',
        String(rank),
        '--world-size',
        String(N),
        '--store',
        store,
        '--timeout',
        String(wait / 1000),
        ...o.forward,
      ]),
      // The token goes by environment, not argv, to stay out of process listings.
      { ...process.env, FLATDIST_TOKEN: token, [inheritedLockVariable]: lock.owner.token },
    );
    console.error(
      `flatdist: store listening on ${formatStoreAddress(server.address)}; ranks 0..${N - 1} are processes ${children.map((c) => c.pid).join(', ')}`,
    );
    const code = await superviseAgents(children, wait);
    // Stopped by SIGINT or SIGTERM: say what was kept and how to go on.
    if (code === 128 + constants.signals.SIGINT || code === 128 + constants.signals.SIGTERM) {
      const resume = [
        'flatdist launch --nproc',
        String(N),
        ...(o.port === 0 ? [] : ['--port', String(o.port)]),
        '--resume',
        shellWord(o.config.out),
      ].join(' ');
      console.error(
        `flatdist: launch ${interruptedLine({ step: null, lastCheckpoint: lastCheckpointStep(o.config.out), resume })}`,
      );
    }
    return code;
  } finally {
    server.close();
    lock.release();
  }
}
