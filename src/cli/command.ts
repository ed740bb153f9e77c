// The commands' common frame over commander: one spec per command (its file loads
// libraries only in its action), options declared from schema fields with their
// help, and errors said in the words the user typed.
import { Command, CommanderError, Option } from 'commander';
import type { z } from 'zod';
import { ConfigError, UserError } from '../errors.js';
import { describeField, fieldInfo, kebab, nearest, parseFields } from '../train/fields.js';

/** What one invocation knows about how the user spelled things: field → flag or config-file key. */
export interface Context {
  names: Map<string, string>;
  /** The exit code the action returned. */
  exitCode: number;
}

export const newContext = (): Context => ({ names: new Map(), exitCode: 0 });

export interface CommandSpec {
  name: string;
  /** One line for `flatdist --help`. */
  summary: string;
  /** Adds arguments, options, help text and the action. */
  define(cmd: Command, ctx: Context): void;
  /** Parses args (the words after the command's name) and runs; errors propagate. */
  run(args: string[], ctx?: Context): Promise<number>;
}

/** A command; its action returns the exit code. */
export function command(spec: Omit<CommandSpec, 'run'>): CommandSpec {
  const full: CommandSpec = {
    ...spec,
    run: (args, ctx = newContext()) => runProgram(program([full], ctx), [spec.name, ...args], ctx),
  };
  return full;
}

/** The flatdist program with the given commands. */
export function program(specs: CommandSpec[], ctx: Context, version?: string): Command {
  const p = new Command('flatdist')
    .description(
      'distributed learning over networks of agents, and the flatness, optimization error and escape that explain it',
    )
    .exitOverride()
    .configureOutput({ outputError: () => undefined })
    .showSuggestionAfterError(false)
    .configureHelp({ sortSubcommands: false, showGlobalOptions: false })
    .addHelpText(
      'after',
      '\nflatdist <command> --help (or flatdist help <command>) lists its options. --debug prints the stack of an error.',
    );
  if (version !== undefined) p.version(version, '-v, --version', 'flatdist and libtorch versions');
  for (const spec of specs) {
    const cmd = p.command(spec.name).description(spec.summary);
    spec.define(cmd, ctx);
    // Errors name the flags of the command run (a parse error is said before any action).
    cmd.hook('preAction', () => {
      for (const o of cmd.options) if (o.long) ctx.names.set(o.attributeName(), o.long);
    });
  }
  return p;
}

/** Runs the program on args; help and version are exit code 0, commander's complaints UserErrors. */
export async function runProgram(p: Command, args: string[], ctx: Context): Promise<number> {
  try {
    await p.parseAsync(args, { from: 'user' });
    return ctx.exitCode;
  } catch (e) {
    if (!(e instanceof CommanderError)) throw e;
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return 0;
    if (e.code === 'commander.help') return e.exitCode;
    throw complaint(p, args, e);
  }
}

/** Flags renamed so that every command spells a thing one way: old → new. */
const renamed: Record<string, string> = {
  '--p': '--edge-probability',
  '--file': '--edges',
  '--subset': '--eval-subset',
  '--algorithms': '--algorithm',
};

/** The names other tools give a run's settings (PyTorch's lr, the paper's μ): flatdist's flag for each. */
const otherToolsNames: Record<string, string> = {
  '--lr': '--step-size',
  '--learning-rate': '--step-size',
  '--mu': '--step-size',
  '--batch': '--batch-size',
  '--bs': '--batch-size',
  '--algo': '--algorithm',
  '--graph': '--topology',
  '--nodes': '--agents',
  '--workers': '--agents',
  '--iterations': '--steps',
  '--iters': '--steps',
};

/** Where a command lacks a flag the user reached for (another command's): what it does instead. */
const insteadOf: Record<string, Record<string, string>> = {
  minimize: {
    '--steps': 'minimize stops by --max-steps (or --tolerance)',
    '--epochs': 'minimize stops by --max-steps (or --tolerance)',
    '--eval-every': 'minimize evaluates J at every step; flatdist measure evaluates w*',
    '--checkpoint-every': 'minimize writes w* once, when it stops',
    '--keep-checkpoints': 'minimize writes w* once, when it stops',
    '--divergence-factor': 'minimize stops when J no longer decreases',
    '--same-init': 'minimize starts from one point: the initialization, or --init RUN',
    '--measure-every': 'measure w* afterwards with flatdist measure',
    '--resume': 'continue from a minimum with --init DIR and another --out',
  },
  escape: {
    '--epochs': 'escape runs --steps N from w*',
    '--measure-every': 'escape records J at --every N steps',
    '--resume': 'escape starts at the minimum given by --minimum',
  },
  theory: { '--epochs': 'theory predicts --steps N' },
  train: { '--max-steps': 'train runs --steps N (or --epochs E)', '--init': 'continue a run with --resume DIR' },
};

/** Commander's complaint as one line, naming the nearest flag or command when one is close. */
function complaint(p: Command, args: string[], e: CommanderError): UserError {
  const sub = p.commands.find((c) => c.name() === args[0]);
  const what = e.message.replace(/^error: /, '');
  if (e.code === 'commander.unknownCommand') {
    const word = /'([^']*)'/.exec(what)?.[1] ?? '';
    const guess = nearest(
      word,
      p.commands.map((c) => c.name()),
    );
    return new UserError(
      `unknown command '${word}' — ${guess === null ? 'flatdist --help lists the commands' : `did you mean ${guess}? (flatdist --help lists them)`}`,
    );
  }
  if (!sub) return new UserError(`${what} — see flatdist --help`);
  const see = `see flatdist ${sub.name()} --help`;
  if (e.code === 'commander.unknownOption') {
    const flag = /'([^']*)'/.exec(what)?.[1] ?? '';
    const longs = sub.options.map((o) => o.long).filter((l): l is string => l !== undefined);
    const name = flag.split('=')[0];
    const newName = renamed[name];
    const ours = otherToolsNames[name];
    const instead =
      insteadOf[sub.name()]?.[name] ??
      (name.startsWith('--measure-') ? insteadOf[sub.name()]?.['--measure-every'] : undefined);
    const guess = nearest(name, longs);
    const hint =
      newName && longs.includes(newName)
        ? `it is now ${newName} (${see})`
        : ours && longs.includes(ours)
          ? `flatdist calls it ${ours} (${see})`
          : instead !== undefined
            ? `${instead} (${see})`
            : guess !== null
              ? `did you mean ${guess}? (${see})`
              : see;
    return new UserError(`${sub.name()}: Unknown option '${flag}' — ${hint}`);
  }
  return new UserError(`${sub.name()}: ${what} (${see})`);
}

/** The action: options as commander parsed them (and operands); returns the exit code. */
export function onRun(
  cmd: Command,
  ctx: Context,
  action: (options: Record<string, unknown>, operands: string[]) => Promise<number> | number,
): void {
  cmd.action(async () => {
    ctx.exitCode = await action(cmd.opts(), cmd.processedArgs as string[]);
  });
}

/** Schema fields as options: --batch-size <B> with the field's help (the default shown unless told not to). */
export function addFields(
  cmd: Command,
  fields: Record<string, z.ZodType>,
  o: { showDefault?: boolean; group?: string } = {},
): Command {
  for (const [name, schema] of Object.entries(fields)) {
    const info = fieldInfo.get(schema);
    if (!info) throw new Error(`addFields: ${name} was not made with field()`);
    const value = info.placeholder === 'BOOL' ? '[BOOL]' : `<${info.placeholder}>`;
    const option = new Option(`--${kebab(name)} ${value}`, describeField(schema, o));
    const group = o.group ?? info.group;
    cmd.addOption(group ? option.helpGroup(`${group[0].toUpperCase()}${group.slice(1)}:`) : option);
  }
  return cmd;
}

/** The given options among the fields, as commander parsed them (text). */
export const pick = (options: Record<string, unknown>, fields: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(
    Object.keys(fields)
      .filter((k) => options[k] !== undefined)
      .map((k) => [k, options[k]]),
  );

/** The fields' values from the options given, over their defaults. */
export const parseOptions = <S extends z.ZodObject>(schema: S, options: Record<string, unknown>): z.output<S> =>
  parseFields(schema, pick(options, schema.shape));

/** An error in the user's words: a ConfigError's field as the flag or config key they wrote. */
export function say(err: Error, ctx: Context): string {
  if (!(err instanceof ConfigError)) return err.message;
  const [head] = err.field.split('.');
  const named = ctx.names.get(err.field) ?? ctx.names.get(libraryNames[head] ?? head);
  if (named === undefined) return err.message;
  // A sub-field's name (partition.alpha) is the library's: the detail says it in words.
  return `${named}: ${err.detail}`;
}

/** The graph library's names of run fields (GraphSpec.p is the config's edgeProbability). */
const libraryNames: Record<string, string> = {
  p: 'edgeProbability',
  file: 'edges',
  algorithms: 'algorithm',
  inputShape: 'model',
};
