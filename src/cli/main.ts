// The flatdist command line: `flatdist <command> [options]`. Each command lives in
// its own file, loaded only when it runs (or for help), and its file loads the
// libraries (libtorch, vega) only in its action: --version and --help load neither.
import { UserError } from '../errors.js';
import { builtLibtorchVersion, builtWithCuda, packageVersion } from '../util/package.js';
import type { CommandSpec, Context } from './command.js';

/** Each command's file, loaded when it runs. */
export const commands: Record<string, () => Promise<CommandSpec>> = {
  demo: async () => (await import('./demo.js')).demo,
  train: async () => (await import('./train.js')).train,
  graph: async () => (await import('./graph.js')).graph,
  measure: async () => (await import('./measure.js')).measure,
  minimize: async () => (await import('./minimize.js')).minimize,
  escape: async () => (await import('./escape.js')).escape,
  theory: async () => (await import('./theory.js')).theory,
  reproduce: async () => (await import('./reproduce.js')).reproduce,
  report: async () => (await import('./report.js')).report,
  launch: async () => (await import('./launch.js')).launch,
  agent: async () => (await import('./agent.js')).agent,
  bench: async () => (await import('./bench.js')).bench,
};

export const versionText = (): string =>
  `flatdist ${packageVersion()} (libtorch ${builtLibtorchVersion() ?? 'version not recorded: rebuild with npm run build'}${
    builtWithCuda() ? ' with CUDA: flatdist --version --devices lists the GPUs' : ''
  })`;

/** The devices libtorch sees: loads the addon, so only when asked (--version --devices). */
async function devicesText(): Promise<string> {
  const { cudaDevices } = await import('../tensor/index.js');
  const n = cudaDevices();
  const cuda = Array.from({ length: n }, (_, i) => `cuda:${i}`);
  return n === 0 ? 'devices: cpu (this libtorch sees no CUDA device)' : `devices: cpu, ${cuda.join(', ')}`;
}

/** Runs the command line; returns the exit code: 0 done, 1 a bug, 2 the user's error (one line on stderr). */
export async function main(argv: string[]): Promise<number> {
  const debug = argv.includes('--debug');
  const json = argv.includes('--json');
  const given = argv.filter((a) => a !== '--debug');
  // `help <not a command>` is the same mistake as `<not a command>`: one line naming the nearest command.
  const args = given[0] === 'help' && given.length === 2 && !(given[1] in commands) ? [given[1]] : given;
  if (args.length === 1 && (args[0] === '--version' || args[0] === '-v')) {
    console.log(versionText());
    return 0;
  }
  if (args.length === 2 && args.includes('--devices') && (args.includes('--version') || args.includes('-v'))) {
    console.log(`${versionText()}\n${await devicesText()}`);
    return 0;
  }
  const { newContext, program, runProgram } = await import('./command.js');
  const ctx = newContext();
  try {
    const one = commands[args[0]];
    const specs = one ? [await one()] : await Promise.all(Object.values(commands).map((load) => load()));
    return await runProgram(program(specs, ctx, versionText()), args, ctx);
  } catch (e) {
    // An operating-system refusal (a file in the way, read-only, disk full…) is a one-line user error.
    const { isOsError, osError } = await import('../util/files.js');
    return report(isOsError(e) ? osError(e) : e instanceof Error ? e : new Error(String(e)), ctx, { debug, json });
  }
}

async function report(err: Error, ctx: Context, o: { debug: boolean; json: boolean }): Promise<number> {
  const { say } = await import('./command.js');
  const user = err instanceof UserError;
  const line = user ? say(err, ctx) : `${err.message.split('\n')[0]} (run with --debug for details)`;
  // With --debug the stack follows the same line (a ConfigError's own message names the field, not the flag).
  console.error(`flatdist: ${line}`);
  if (o.debug) console.error(err.stack);
  const exitCode = user ? 2 : 1;
  if (o.json) console.log(JSON.stringify({ error: { kind: err.name, message: line, exitCode } }));
  return exitCode;
}
