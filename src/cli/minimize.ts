// `flatdist minimize`: full-batch GD or L-BFGS on the objective J(w) = Σ_k p_k J_k(w) + (λ/2)‖w‖²
// (the config's agents, partition and weight decay) down to ‖∇J‖ ≤ tolerance; saves w*.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError, UserError } from '../errors.js';
import { Generator, scope } from '../tensor/index.js';
import { decayTerms, flat, globalRisk, riskAndGradient, riskObjective } from '../measures/index.js';
import { asDtype, loadMinimum, minimize, minimizeMethods, saveMinimum, type MinimizeMethod, type MinimumRecord } from '../escape/index.js';
import { prepare } from '../train/setup.js';
import { deriveSeed } from '../util/seed.js';
import { configFromArgs, runConfig, trainOptions } from './train.js';
import type { Command } from './main.js';

const options = {
  ...trainOptions,
  method: { type: 'string' as const },
  tolerance: { type: 'string' as const },
  'max-steps': { type: 'string' as const },
  init: { type: 'string' as const },
};

const help = [
  'usage: flatdist minimize [train flags] --out DIR [--method gd|lbfgs] [--tolerance g] [--max-steps N] [--init RUN|CHECKPOINT] [--json]',
  '',
  'Minimizes J(w) = Σ_k p_k J_k(w) + (λ/2)‖w‖² over the agents\' parts (λ = --weight-decay; for equal parts',
  'and uniform p the data loss is the training loss),',
  'in float64 and full batch, until ‖∇J(w)‖ ≤ tolerance (default 1e-4; L-BFGS by default, at most',
  '1000 steps). Starts from the config\'s initialization, or from the centroid of a run (--init).',
  'Writes DIR/run.json, DIR/checkpoints (w* for every agent) and DIR/minimum.json (J(w*), ‖∇J(w*)‖).',
  'Typical use: a large-batch centralized `flatdist train`, then `flatdist minimize --init <run>` (its config is the default).',
].join('\n');

/** A string flag (undefined when absent). */
export const stringFlag = (values: Values, name: string): string | undefined => (typeof values[name] === 'string' ? (values[name] as string) : undefined);

/** A number flag, or its default. */
export function numberFlag(values: Values, name: string, fallback: number, o: { integer?: boolean; positive?: boolean } = {}): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v) || (o.integer && !Number.isInteger(v)) || (o.positive && !(v > 0))) {
    throw new ConfigError(name, `must be a ${o.positive ? 'positive ' : ''}${o.integer ? 'integer' : 'number'}, got ${JSON.stringify(raw)}`);
  }
  return v;
}

export type Values = Record<string, string | boolean | undefined>;

/** Strict flag parsing; an unknown or malformed flag is a one-line UserError. */
export function parseStrict(args: string[], opts: NonNullable<ParseArgsConfig['options']>, command: string, positionals = false): { values: Values; positionals: string[] } {
  try {
    const parsed = parseArgs({ args, options: opts, allowPositionals: positionals, strict: true });
    return { values: parsed.values as Values, positionals: parsed.positionals };
  } catch (e) {
    throw new UserError(`${(e as Error).message} — see 'flatdist ${command} --help'`);
  }
}

export const minimizeCommand: Command = {
  summary: 'find a minimum w* of the global risk (full-batch GD or L-BFGS) for escape experiments',
  run(args) {
    const { values } = parseStrict(args, options, 'minimize');
    if (values.help) {
      console.log(help);
      return 0;
    }
    if (values.resume !== undefined) throw new UserError('minimize has no --resume — start from a run with --init');
    if (values.out === undefined) throw new ConfigError('out', 'give the folder to write w* to (--out DIR)');
    const method = (stringFlag(values, 'method') ?? 'lbfgs') as MinimizeMethod;
    if (!minimizeMethods.includes(method)) throw new ConfigError('method', `unknown method '${method}' — one of ${minimizeMethods.join(', ')}`);
    const tolerance = numberFlag(values, 'tolerance', 1e-4, { positive: true });
    const maxSteps = numberFlag(values, 'max-steps', 1000, { integer: true, positive: true });
    // Starting from a run: its config is the base, flags change what they name.
    const init = stringFlag(values, 'init');
    const { out: _, ...base } = (init !== undefined ? runConfig(init) : null) ?? {};
    const { config } = configFromArgs(values, base);
    const setup = prepare(config);
    const { model } = setup;
    const began = Date.now();
    const start = scope(() => {
      if (init === undefined) return model.init(1, new Generator(deriveSeed(config.seed, 'init'))).map((p) => p.squeeze(0).to('float64'));
      const from = loadMinimum(init);
      if (from.params.length !== model.paramShapes.length || from.params.some((p, i) => p.shape.join() !== model.paramShapes[i].join())) {
        throw new ConfigError('init', `${init} holds a different model than --model ${config.model} (hidden ${config.hidden.join(',')}) — give the same model flags`);
      }
      return asDtype(from.params, 'float64');
    });
    const objective = riskObjective(globalRisk(setup));
    const quiet = values.json === true;
    const result = minimize(objective, start, {
      method,
      tolerance,
      maxSteps,
      onStep: (s) => {
        if (!quiet && (s.step % 25 === 0)) process.stderr.write(`\r${method} step ${s.step}: J = ${s.risk.toFixed(6)}, ‖∇J‖ = ${s.gradientNorm.toExponential(3)}   `);
      },
    });
    if (!quiet) process.stderr.write('\n');
    // Report J and ‖∇J‖ where w* is saved: rounded to float32, evaluated in float64.
    const saved = scope(() => result.params.map((p) => p.to('float32').to('float64')));
    const at = scope(() => {
      const { risk, gradient } = riskAndGradient(objective, saved);
      return { risk, gradientNorm: flat(gradient).norm().item() };
    });
    const [decay] = decayTerms(saved.map((p) => p.unsqueeze(0)), config.weightDecay);
    const record: MinimumRecord = {
      method,
      risk: at.risk,
      dataLoss: at.risk - decay,
      weightDecay: config.weightDecay,
      gradientNorm: at.gradientNorm,
      tolerance,
      steps: result.steps,
      converged: result.converged,
      stopped: result.stopped,
      init: init ?? 'init',
      seconds: (Date.now() - began) / 1000,
      history: result.history,
    };
    saveMinimum(config.out, config, model.paramNames, setup.perron, saved, record);
    const summary = { out: config.out, ...record, history: undefined, parameters: model.parameterCount, gradients: result.cost.gradients };
    if (quiet) console.log(JSON.stringify(summary));
    else {
      console.log(`${method}: ${result.steps} steps, ${result.stopped === 'tolerance' ? 'converged' : `stopped (${result.stopped})`} in ${record.seconds.toFixed(1)} s`);
      console.log(`  J(w*) = ${record.risk.toFixed(8)} (data loss ${record.dataLoss.toFixed(8)} + (λ/2)‖w*‖² with λ = ${record.weightDecay}), ‖∇J(w*)‖ = ${record.gradientNorm.toExponential(3)} (tolerance ${tolerance})`);
      console.log(`  w* written to ${config.out}`);
    }
    if (!result.converged) console.error(`flatdist: warning: ‖∇J‖ = ${result.gradientNorm.toExponential(3)} did not reach --tolerance ${tolerance} (${result.stopped}) — raise --max-steps or the tolerance`);
    return 0;
  },
};
