// The flatdist command line: `flatdist <command> [options]`.
import { UserError } from '../errors.js';
import { packageVersion } from '../util/package.js';
import { demo } from './demo.js';
import { trainCommand } from './train.js';
import { graph } from './graph.js';
import { bench } from './bench.js';
import { reproduceCommand } from './reproduce.js';
import { measureCommand } from './measure.js';
import { minimizeCommand } from './minimize.js';
import { escapeCommand } from './escape.js';
import { theoryCommand } from './theory.js';
import { agentCommand, launchCommand } from './launch.js';

export interface Command {
  summary: string;
  run(args: string[]): Promise<number> | number;
}

const commands: Record<string, Command> = {
  demo,
  train: trainCommand,
  graph,
  bench,
  reproduce: reproduceCommand,
  launch: launchCommand,
  agent: agentCommand,
  measure: measureCommand,
  minimize: minimizeCommand,
  escape: escapeCommand,
  theory: theoryCommand,
};

function usage(): string {
  const rows = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return ['usage: flatdist <command> [options]   (flatdist <command> --help for its options)', '', 'commands:', ...rows, '', '  --version  flatdist and libtorch versions'].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const debug = argv.includes('--debug');
  const args = argv.filter((a) => a !== '--debug');
  try {
    const [name, ...rest] = args;
    if (name === '--version' || name === '-v') {
      const { torchVersion } = await import('../tensor/runtime.js');
      console.log(`flatdist ${packageVersion()} (libtorch ${torchVersion})`);
      return 0;
    }
    if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
      console.log(usage());
      return name === undefined ? 1 : 0;
    }
    const command = commands[name];
    if (!command) throw new UserError(`unknown command '${name}' — one of: ${Object.keys(commands).join(', ')}`);
    return await command.run(rest);
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    if (debug) console.error(err.stack);
    else if (err instanceof UserError) console.error(`flatdist: ${err.message}`);
    else console.error(`flatdist: ${err.message.split('\n')[0]} (run with --debug for details)`);
    return err instanceof UserError ? 2 : 1;
  }
}
