// `flatdist escape`: every agent starts at a minimum w*; each algorithm runs N steps of the
// real engine over R seeds; E J(w_{c,n}) − J(w*) and the agent average with 95% confidence
// intervals go to <out>/escape.jsonl, a summary to <out>/escape.json; --theory adds the
// linearized theory's predicted curves, estimated at w*.
import type { Command } from 'commander';
import { join } from 'node:path';
import { z } from 'zod';
import { algorithms as algorithmNames, type Algorithm } from '../algorithms/names.js';
import type { EscapeResult, LinearizedEstimate, PredictedCurve } from '../escape/index.js';
import { samplings } from '../escape/names.js';
import { ConfigError, UserError } from '../errors.js';
import type { EscapePrediction } from '../theory/index.js';
import { closedFormRelativeDifference } from '../theory/closed-form-gap.js';
import { algorithmName, type TrainConfig } from '../train/config.js';
import { choice, field, integer, list, optional, text } from '../train/fields.js';
import type { Setup } from '../train/setup.js';
import type { Tensor } from '../tensor/index.js';
import { formatSeconds, reporter, type OnProgress } from '../util/reporter.js';
import { addFields, command, onRun, parseOptions, type Context } from './command.js';
import { addRunOptions, configFromOptions, runFieldsBut, trainingOnlyFields } from './train.js';

const tableKinds = ['summary', 'full'] as const;

/** The strategies compared: one spelling with train's --algorithm, here a comma-separated list. */
export const algorithmsField = field(list(algorithmName, 'algorithm'), ['centralized', 'consensus', 'atc'], {
  placeholder: 'LIST',
  description: 'the strategies compared, comma-separated (diffusion = atc)',
  values: algorithmNames,
});

/** --minimum and the theory's estimation at it, shared with `flatdist theory`. */
export const minimumFields = {
  minimum: field(optional(text()), null, {
    placeholder: 'DIR',
    description: 'the minimum w* every agent starts at (from flatdist minimize --out DIR)',
  }),
  rank: field(integer(1), 20, {
    placeholder: 'r',
    description: 'theory: the top r eigenvectors of H̄ span the model when M > --max-full',
  }),
  maxFull: field(integer(0), 400, { placeholder: 'M', description: 'theory: the full model up to M parameters' }),
};

const escapeFields = {
  algorithm: algorithmsField,
  ...minimumFields,
  seeds: field(integer(1), 10, {
    placeholder: 'R',
    description: 'runs per algorithm, for the 95% intervals (Student t)',
  }),
  every: field(optional(integer(1)), null, {
    placeholder: 'm',
    unit: 'steps',
    description: 'record every m steps (default N/20)',
  }),
  table: field(choice(tableKinds, 'table'), 'summary', {
    placeholder: 'KIND',
    description: 'summary: late means with intervals and theory; full: every recorded step too',
    values: tableKinds,
  }),
  sampling: field(choice(samplings, 'sampling'), 'replacement', {
    placeholder: 'NAME',
    description: "batches with replacement (the theory's noise model) or the training engine's reshuffled epochs",
    values: samplings,
  }),
};

/**
 * The run options of a command started at a minimum: all but the algorithm (a list there) and
 * what only a training run reads (its cadences, checkpoints, output folder, divergence bound,
 * initialization, curvature during training).
 */
export const minimumRunFields = runFieldsBut('algorithm', 'out', ...trainingOnlyFields);

/** What defines J and w*: a minimum's data, model and seed cannot change under it. */
const fixedByMinimum: (keyof TrainConfig)[] = [
  'dataset',
  'dataDir',
  'trainSubset',
  'model',
  'hidden',
  'activation',
  'seed',
];

/** The setup and w* of `--minimum DIR` with --config and the flags over its config; refuses changes to its data, model or seed. */
export async function minimumSetup(
  dir: string | null,
  options: Record<string, unknown>,
  ctx: Context,
  command: string,
): Promise<{ dir: string; setup: Setup; wStar: Tensor[] }> {
  if (dir === null)
    throw new UserError(
      `give the minimum to start from: --minimum DIR (from flatdist minimize) — see 'flatdist ${command} --help'`,
    );
  const [{ checkMinimum, loadMinimum }, { prepare }] = await Promise.all([
    import('../escape/index.js'),
    import('../train/setup.js'),
  ]);
  const minimum = loadMinimum(dir);
  const { config } = await configFromOptions(options, ctx, { base: minimum.config, fields: minimumRunFields });
  for (const f of fixedByMinimum) {
    if (JSON.stringify(config[f]) !== JSON.stringify(minimum.config[f])) {
      throw new ConfigError(
        f,
        `the minimum was found with ${JSON.stringify(minimum.config[f])}, not ${JSON.stringify(config[f])} — w* and J are defined by the minimum's data, model and seed`,
      );
    }
  }
  const setup = prepare(config);
  checkMinimum(minimum, setup.model);
  // The theory linearizes around a minimum: say when w* is not one, and how to find one.
  const r = minimum.record;
  if (r === null)
    console.error(
      `flatdist: note: ${dir} is not a minimum from flatdist minimize (no minimum.json): w* is its final centroid, where ∇J need not vanish — find a minimum with: flatdist minimize --init ${dir}`,
    );
  else if (!r.converged)
    console.error(
      `flatdist: note: the minimization in ${dir} did not converge (‖∇J(w*)‖ = ${r.gradientNorm.toExponential(2)} > ${r.tolerance}) — continue it with: flatdist minimize --init ${dir}`,
    );
  // w* was read before prepare chose the device.
  return { dir, setup, wStar: minimum.params.map((p) => p.toDevice(config.device)) };
}

/**
 * The line under a table of predictions made in the top-r eigenspace of H̄ (a model over --max-full parameters):
 * the share of Tr H̄ that subspace holds, since the theory sees only that part of the curvature and its noise.
 * Null for the full model.
 */
export function subspaceNote(e: Pick<LinearizedEstimate, 'kind' | 'rank' | 'traceCaptured'>): string | null {
  if (e.kind === 'full') return null;
  const subspace = `the top-${e.rank} subspace of H̄`;
  if (e.traceCaptured === null) return `the theory covers only ${subspace}`;
  const { fraction, stdError } = e.traceCaptured;
  const error = stdError > 0 ? ` ± ${(100 * stdError).toFixed(stdError < 0.01 ? 1 : 0)}%` : '';
  return `${subspace} holds ${(100 * fraction).toFixed(0)}%${error} of Tr H̄: the theory covers only that part`;
}

/** The theory's estimate at w* and its curves for the algorithms, with what the estimate is. */
export async function theoryAt(
  setup: Setup,
  wStar: Tensor[],
  algorithms: Algorithm[],
  steps: number,
  o: { rank: number; maxFull: number; saveProblem?: string; onProgress?: OnProgress },
): Promise<{ estimate: Omit<LinearizedEstimate, 'model'>; predictions: PredictedCurve[] }> {
  const [{ scope }, { estimateLinearized, predictEscapeCurves }, { saveProblem }] = await Promise.all([
    import('../tensor/index.js'),
    import('../escape/index.js'),
    import('../escape/problem-file.js'),
  ]);
  return scope(() => {
    const estimate = estimateLinearized(setup, wStar, { rank: o.rank, maxFull: o.maxFull, onProgress: o.onProgress });
    const predictions = predictEscapeCurves(setup, estimate.model, algorithms, steps);
    if (o.saveProblem !== undefined) {
      const { stepSize, batchSize } = setup.config;
      saveProblem(o.saveProblem, {
        model: estimate.model,
        A: setup.combination(0),
        setting: { stepSize, batchSize, steps },
      });
    }
    const { model: _model, ...rest } = estimate;
    return { estimate: rest, predictions };
  });
}

/** The steady state and closed form of a prediction, plain (the curves are long). */
export const predictionSummary = (p: EscapePrediction) => ({
  stable: p.stable,
  spectralRadius: p.spectralRadius,
  steady: p.steady,
  closedForm: p.closedForm,
  closedFormRelativeDifference: closedFormRelativeDifference(p),
  final: {
    centroid: p.curve.centroid[p.curve.centroid.length - 1],
    agentAverage: p.curve.agentAverage[p.curve.agentAverage.length - 1],
  },
});

/** A value per seed, null where it was not evaluated (JSON has no NaN). */
const bySeed = (rows: number[][], i: number): (number | null)[] =>
  rows.map((row) => (Number.isNaN(row[i]) ? null : row[i]));

/** One line per algorithm and recorded step: the mean and interval over the seeds, and each seed's value (seed r's stream is deriveSeed(seed, 'escape/r')). */
export function escapeLines(result: EscapeResult, predictions: PredictedCurve[] | null): object[] {
  return result.curves.flatMap((curve) => {
    const p = predictions?.find((x) => x.algorithm === curve.algorithm)?.prediction;
    return curve.points.map((point, i) => ({
      algorithm: curve.algorithm,
      step: point.step,
      seeds: result.seeds,
      sampling: result.sampling,
      centroid: point.centroid,
      agentAverage: point.agentAverage,
      perSeed: { centroid: bySeed(curve.perSeed.centroid, i), agentAverage: bySeed(curve.perSeed.agentAverage, i) },
      ...(p
        ? { predicted: { centroid: p.curve.centroid[point.step], agentAverage: p.curve.agentAverage[point.step] } }
        : {}),
    }));
  });
}

/** Options of a command started at a minimum: its own fields, then --config and the run fields. */
export function addMinimumOptions(
  cmd: Command,
  fields: Record<string, z.ZodType>,
  group: string,
  run: Partial<typeof minimumRunFields> = minimumRunFields,
): Command {
  addFields(cmd, fields, { group });
  return addRunOptions(cmd, run, { showDefault: false }).addHelpText(
    'after',
    "\nThe run options change the minimum's config (its μ, B, K, graph and rule; by default they are the minimum's); its data,\nmodel and seed stay: they define J and w*.",
  );
}

export const escape = command({
  name: 'escape',
  summary: 'escape from a minimum w*: measured E J(w_n) − J(w*) over seeds, with --theory the predicted curves',
  define(cmd, ctx) {
    cmd
      .option('--theory', "add the linearized theory's predicted curves, with H_k, d_k, R_k estimated at w* (float64)")
      .option('--out <DIR>', 'where escape.json and escape.jsonl go (default: DIR/escape of --minimum)')
      .option('--overwrite', 'replace the results of an earlier escape in --out (escape.json, escape.jsonl)')
      .option('--json', 'print the summary as JSON');
    addMinimumOptions(cmd, escapeFields, 'escape').addHelpText(
      'after',
      [
        '',
        "Every agent starts at w* (the centroid of DIR's checkpoint); each algorithm runs N steps (--steps) of the engine",
        'over R seeds, recording E J(w_c,n) − J(w*) and (1/K) Σ_k E J(w_k,n) − J(w*) with 95% intervals. J = Σ_k p_k J_k + (λ/2)‖w‖²,',
        "the objective w* was found for, on the agents' examples (all of them up to --eval-subset, else a fixed stratified",
        'subset; J(w*) on every example is printed beside it). Writes <out>/escape.jsonl',
        "(one line per algorithm and step, with each seed's values) and <out>/escape.json (summary, with each seed's",
        'values per curve); --out defaults to DIR/escape.',
      ].join('\n'),
    );
    onRun(cmd, ctx, async (options) => {
      const o = parseOptions(z.strictObject(escapeFields), options);
      const { dir, setup, wStar } = await minimumSetup(o.minimum, options, ctx, 'escape');
      const [{ escapeSummary, escapeTable, runEscape }, { writeFileAtomic }, { claimRunFolder }] = await Promise.all([
        import('../escape/index.js'),
        import('../util/files.js'),
        import('../train/rundir.js'),
      ]);
      const c = setup.config;
      const out = typeof options.out === 'string' ? options.out : join(dir, 'escape');
      // Claimed before the work: earlier results are refused (or replaced) at once, not after the runs.
      const lock = claimRunFolder(out, {
        command: 'flatdist escape',
        resume: false,
        resumable: false,
        overwrite: options.overwrite === true,
        files: ['escape.json', 'escape.jsonl'],
      });
      try {
        const { algorithm: algorithms, seeds, sampling } = o;
        const every = o.every ?? Math.max(1, Math.floor(c.steps / 20));
        const quiet = options.json === true;
        const progress = reporter({ quiet });
        const began = Date.now();
        let theory: Awaited<ReturnType<typeof theoryAt>> | null = null;
        if (options.theory === true) {
          progress.log('estimating H_k, d_k, R_k at w* (float64)');
          theory = await theoryAt(setup, wStar, algorithms, c.steps, { ...o, onProgress: progress.update });
          progress.end();
        }
        const theorySeconds = (Date.now() - began) / 1000;
        const result = runEscape(setup, wStar, {
          algorithms,
          steps: c.steps,
          seeds,
          every,
          sampling,
          progress: (algorithm, n, N) => progress.update(n, N, `${algorithm}, ${seeds} seed${seeds === 1 ? '' : 's'}`),
        });
        progress.end();
        writeFileAtomic(
          join(out, 'escape.jsonl'),
          escapeLines(result, theory?.predictions ?? null)
            .map((l) => `${JSON.stringify(l)}\n`)
            .join(''),
        );
        const summary = {
          minimum: dir,
          out,
          ...result,
          curves: result.curves.map((curve) => ({
            algorithm: curve.algorithm,
            seconds: curve.seconds,
            final: curve.points[curve.points.length - 1],
            // Each seed's values, [seed][point] at these steps; seed r ran on deriveSeed(seed, 'escape/r').
            perSeed: {
              steps: curve.points.map((point) => point.step),
              centroid: curve.perSeed.centroid,
              agentAverage: curve.perSeed.agentAverage.map((row) => row.map((v) => (Number.isNaN(v) ? null : v))),
            },
          })),
          theory: theory && {
            ...theory.estimate,
            seconds: theorySeconds,
            predictions: theory.predictions.map((p) => ({
              algorithm: p.algorithm,
              ...predictionSummary(p.prediction),
            })),
          },
          seconds: (Date.now() - began) / 1000,
        };
        writeFileAtomic(join(out, 'escape.json'), `${JSON.stringify(summary, null, 2)}\n`);
        if (quiet) console.log(JSON.stringify(summary));
        else {
          const obj = result.objective;
          const scored =
            result.evaluationExamples === obj.examples
              ? 'curves scored on all of them'
              : `curves scored on a stratified subset of ${result.evaluationExamples} (J(w*) there ${result.reference.toPrecision(8)})`;
          console.log(
            `escape from ${dir}: K = ${result.agents}, M = ${setup.model.parameterCount}, μ = ${result.stepSize}, B = ${result.batchSize}, N = ${result.steps}, R = ${result.seeds} seed${result.seeds === 1 ? '' : 's'}, ${result.sampling} sampling, ${c.topology}/${c.rule}`,
          );
          console.log(
            `J(w*) = ${obj.risk.toPrecision(8)} (data loss ${obj.dataLoss.toPrecision(8)} + (λ/2)‖w*‖², λ = ${obj.weightDecay}) on ${obj.examples} training examples, ${scored}`,
          );
          if (theory) {
            const e = theory.estimate;
            const captured = e.traceCaptured
              ? `, Tr(VᵀH̄V)/Tr(H̄) = ${e.traceCaptured.fraction.toFixed(3)} ± ${e.traceCaptured.stdError.toFixed(3)}`
              : '';
            console.log(
              `theory: ${e.kind} model, M = ${e.dimension}, r = ${e.rank}${captured}; top curvatures ${e.curvatures
                .slice(0, 5)
                .map((v) => v.toPrecision(4))
                .join(', ')}; ${e.cost.hvps} HVPs, ${formatSeconds(theorySeconds)}`,
            );
          }
          console.log('');
          // The full table comes after the summary, not in its place.
          if (o.table === 'full') console.log(`${escapeTable(result, theory?.predictions)}\n`);
          console.log(escapeSummary(result, theory?.predictions));
          const note = theory && subspaceNote(theory.estimate);
          if (note) console.log(note);
          console.log('');
          console.log(
            `times: ${result.curves.map((x) => `${x.algorithm} ${formatSeconds(x.seconds)}`).join(', ')}; total ${formatSeconds(summary.seconds)}`,
          );
          console.log(
            `every recorded step: ${join(out, 'escape.jsonl')}${o.table === 'full' ? '' : ' (or --table full)'}`,
          );
        }
        return 0;
      } finally {
        lock.release();
      }
    });
  },
});
