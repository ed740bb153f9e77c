// `flatdist minimize`: full-batch GD or L-BFGS on the objective J(w) = Σ_k p_k J_k(w) + (λ/2)‖w‖²
// (the config's agents, partition and weight decay) down to ‖∇J‖ ≤ tolerance; saves w*.
import { z } from 'zod';
import type { MinimumRecord } from '../escape/index.js';
import { minimizeMethods } from '../escape/names.js';
import { ConfigError } from '../errors.js';
import { choice, field, integer, optional, real, text } from '../train/fields.js';
import { addFields, command, onRun, parseOptions } from './command.js';
import { addRunOptions, configFromOptions, runConfig, runFieldsBut, trainingOnlyFields } from './train.js';
import { resolve } from 'node:path';
import { formatSeconds, reporter } from '../util/reporter.js';

const stoppedText = {
  tolerance: 'reached the tolerance',
  'max-steps': 'ran out of --max-steps',
  'no-decrease': 'J stopped decreasing at its float64 precision',
} as const;

/**
 * What to do about a w* that is not a minimum to the tolerance asked for, or null when it is.
 * Later steps (measure's excess risk, escape, theory) take w* as a minimum, so this is said plainly.
 */
export function notConvergedAdvice(
  stopped: keyof typeof stoppedText,
  out: string,
  maxSteps: number,
  tolerance: number,
): string | null {
  if (stopped === 'tolerance') return null;
  if (stopped === 'max-steps')
    return `w* is not yet a minimum to --tolerance ${tolerance}: continue from it with \`flatdist minimize --init ${out} --out ${out}-2 --max-steps ${maxSteps}\` (the run's settings carry over), or accept a larger --tolerance`;
  return `J no longer decreases in float64, so ‖∇J‖ cannot get smaller here: accept a larger --tolerance (or add --weight-decay, which makes the minimum better conditioned)`;
}

/** The run fields that define J and the minimum's config; what only a training run reads is not offered. */
const minimizeRunFields = runFieldsBut('steps', ...trainingOnlyFields);

const minimizeFields = {
  method: field(choice(minimizeMethods, 'method'), 'lbfgs', {
    placeholder: 'NAME',
    description: 'full-batch gradient descent or L-BFGS',
    values: minimizeMethods,
  }),
  tolerance: field(real({ above: 0 }), 1e-4, { placeholder: 'G', description: 'stop when ‖∇J(w)‖ ≤ G' }),
  maxSteps: field(integer(1), 1000, { placeholder: 'N', unit: 'steps', description: 'stop after N steps at most' }),
  init: field(optional(text()), null, {
    placeholder: 'RUN',
    description:
      "start from the centroid of a run (or checkpoint); its config is the default (default: the config's initialization)",
  }),
};

export const minimize = command({
  name: 'minimize',
  summary: 'find a minimum w* of the global risk (full-batch GD or L-BFGS) for escape experiments',
  define(cmd, ctx) {
    addFields(cmd, minimizeFields, { group: 'minimize' });
    addRunOptions(cmd, minimizeRunFields)
      .option('--overwrite', 'replace a minimum or run already in --out')
      .option('--json', 'print the summary as JSON')
      .option('--require-converged', 'exit with status 1 when ‖∇J‖ did not reach --tolerance (w* is still written)')
      .addHelpText(
        'after',
        [
          '',
          "Minimizes J(w) = Σ_k p_k J_k(w) + (λ/2)‖w‖² over the agents' parts (λ = --weight-decay; for equal parts and uniform p the data loss is the training loss), in float64",
          'and full batch. Writes DIR/run.json, DIR/checkpoints (w* for every agent) and DIR/minimum.json (J(w*), ‖∇J(w*)‖).',
          'Typical use: a large-batch centralized `flatdist train`, then `flatdist minimize --init <run> --out DIR`.',
        ].join('\n'),
      );
    onRun(cmd, ctx, async (options) => {
      const { method, tolerance, maxSteps, init: initDir } = parseOptions(z.strictObject(minimizeFields), options);
      if (options.out === undefined) throw new ConfigError('out', 'give the folder to write w* to');
      const init = initDir ?? undefined;
      // Starting from a run: its config is the base, flags change what they name.
      const { out: _, ...base } = (init !== undefined ? await runConfig(init) : null) ?? {};
      const { config } = await configFromOptions(options, ctx, { base, fields: minimizeRunFields });
      if (init !== undefined && resolve(init) === resolve(config.out))
        throw new ConfigError('out', `${config.out} is also --init — write w* to another folder`);
      const [
        { Generator, scope },
        { decayTerms, flat, globalRisk, riskAndGradient, riskObjective },
        { asDtype, checkMinimum, loadMinimum, minimize: run, saveMinimum },
        { prepare },
        { deriveSeed },
        { claimRunFolder },
      ] = await Promise.all([
        import('../tensor/index.js'),
        import('../measures/index.js'),
        import('../escape/index.js'),
        import('../train/setup.js'),
        import('../util/seed.js'),
        import('../train/rundir.js'),
      ]);
      const setup = prepare(config);
      const { model } = setup;
      const began = Date.now();
      const start = scope(() => {
        if (init === undefined)
          return model.init(1, new Generator(deriveSeed(config.seed, 'init'))).map((p) => p.squeeze(0).to('float64'));
        const from = loadMinimum(init);
        checkMinimum(from, model);
        return asDtype(from.params, 'float64');
      });
      const objective = riskObjective(globalRisk(setup));
      const quiet = options.json === true;
      const progress = reporter({ quiet });
      const label = `${method} to ‖∇J‖ ≤ ${tolerance}`;
      const result = run(objective, start, {
        method,
        tolerance,
        maxSteps,
        onStep: (s) => {
          progress.update(s.step, maxSteps, label);
          if (s.step % 50 === 0)
            progress.log(
              `${method} step ${s.step}: J = ${s.risk.toFixed(8)}, ‖∇J‖ = ${s.gradientNorm.toExponential(3)}`,
            );
        },
      });
      progress.end();
      // Report J and ‖∇J‖ where w* is saved: rounded to float32, evaluated in float64.
      const saved = scope(() => result.params.map((p) => p.to('float32').to('float64')));
      const at = scope(() => {
        const { risk, gradient } = riskAndGradient(objective, saved);
        return { risk, gradientNorm: flat(gradient).norm().item() };
      });
      const [decay] = decayTerms(
        saved.map((p) => p.unsqueeze(0)),
        config.weightDecay,
      );
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
      const lock = claimRunFolder(config.out, {
        command: 'flatdist minimize',
        resume: false,
        resumable: false,
        overwrite: options.overwrite === true,
      });
      try {
        saveMinimum(config.out, config, model.paramNames, setup.perron, saved, record);
      } finally {
        lock.release();
      }
      const summary = {
        out: config.out,
        ...record,
        history: undefined,
        parameters: model.parameterCount,
        gradients: result.cost.gradients,
      };
      const advice = notConvergedAdvice(result.stopped, config.out, maxSteps, tolerance);
      if (quiet) console.log(JSON.stringify({ ...summary, advice }));
      else {
        console.log(
          `${method}: ${result.steps} steps, ${result.converged ? 'converged' : `NOT CONVERGED (${stoppedText[result.stopped]})`} in ${formatSeconds(record.seconds)}`,
        );
        console.log(
          `  J(w*) = ${record.risk.toFixed(8)} (data loss ${record.dataLoss.toFixed(8)} + (λ/2)‖w*‖² with λ = ${record.weightDecay}), ‖∇J(w*)‖ = ${record.gradientNorm.toExponential(3)} (tolerance ${tolerance})`,
        );
        console.log(`  w* written to ${config.out}`);
        if (advice !== null) console.log(`  ${advice}`);
      }
      if (!result.converged && options.requireConverged === true) return 1;
      return 0;
    });
  },
});
