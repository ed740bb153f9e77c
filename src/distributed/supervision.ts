// `flatdist launch` supervises the agents it starts, both ways:
// - a SIGTERM or SIGINT to the launcher goes to every agent, and the launcher
//   exits with the conventional 128 + signal once they have stopped (a second
//   signal kills them outright);
// - each agent holds one end of a pipe whose other end only the launcher holds,
//   so the pipe closes when the launcher ends, however it ends (kill -9
//   included). A worker thread of the agent waits for that and stops the agent:
//   the main thread may be blocked in a collective for as long as the timeout.
import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import { Worker } from 'node:worker_threads';

/** Set in an agent that `flatdist launch` started: the launcher's process id. */
const launcherVariable = 'FLATDIST_LAUNCHER';
/** The descriptor of the launcher's pipe in the agent: the first after stdin, stdout and stderr. */
const launcherFd = 3;

/** Starts one agent process per argument list, each holding its end of the launcher's pipe. */
export function startAgents(cli: string, argsByRank: string[][], env: NodeJS.ProcessEnv): ChildProcess[] {
  return argsByRank.map((args) =>
    spawn(process.execPath, [cli, ...args], {
      stdio: ['inherit', 'inherit', 'inherit', 'pipe'],
      env: { ...env, [launcherVariable]: String(process.pid) },
    }),
  );
}

/**
 * Waits until every agent has ended and returns the launcher's exit code: the
 * first non-zero agent code, 128 + n after signal n reached the launcher, else 0.
 * A failed agent stops the others within the group's timeout; past it (and a
 * margin) the launcher stops them itself.
 */
export async function superviseAgents(children: ChildProcess[], timeoutMs: number): Promise<number> {
  let received: NodeJS.Signals | null = null;
  const running = (): ChildProcess[] => children.filter((c) => c.exitCode === null && c.signalCode === null);
  const forward = (signal: NodeJS.Signals): void => {
    const again = received !== null;
    received ??= signal;
    for (const c of running()) c.kill(again ? 'SIGKILL' : signal);
  };
  const signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];
  for (const s of signals) process.on(s, forward);
  try {
    const codes = await Promise.all(
      children.map(
        (child) =>
          new Promise<number>((resolve) => {
            child.on('exit', (code, signal) => {
              if (code !== 0) setTimeout(() => running().forEach((c) => c.kill('SIGKILL')), timeoutMs + 10_000).unref();
              resolve(code ?? (signal ? 1 : 0));
            });
          }),
      ),
    );
    if (received !== null) {
      console.error(
        `flatdist: launch: ${received} — the ${children.length} agent process${children.length === 1 ? '' : 'es'} stopped`,
      );
      return 128 + constants.signals[received];
    }
    return codes.find((c) => c !== 0) ?? 0;
  } finally {
    for (const s of signals) process.off(s, forward);
  }
}

/**
 * In an agent that `flatdist launch` started: from now on, the agent stops within
 * moments of the launcher's end, with a one-line message naming its rank. Does
 * nothing in an agent started otherwise.
 */
export function watchLauncher(rank: number, env: NodeJS.ProcessEnv = process.env): void {
  const launcher = env[launcherVariable];
  if (launcher === undefined) return;
  const worker = new Worker(new URL('./launcher-watch.js', import.meta.url), {
    workerData: { fd: launcherFd, rank, launcher },
  });
  worker.unref();
}
