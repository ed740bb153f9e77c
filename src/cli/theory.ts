// `flatdist theory`: the linearized theory's predictions — the exact escape curve, the exact
// steady state (Lyapunov) and the small-μ closed form — for a generated quadratic problem
// with known H_k, d_k, R_k, or for the model estimated at a minimum w* (--minimum DIR).
import { z } from 'zod';
import type { Algorithm } from '../algorithms/names.js';
import { ConfigError } from '../errors.js';
import type { EscapePrediction } from '../theory/index.js';
import type { TheoryProblem } from '../escape/problem-file.js';
import { readConfigFile, runFields } from '../train/config.js';
import { field, flag, infoOf, integer, list, parseFields, real } from '../train/fields.js';
import { Option } from 'commander';
import { formatValue as cell, textTable } from '../util/table.js';
import { reporter } from '../util/reporter.js';
import { command, onRun, parseOptions, pick } from './command.js';
import {
  addMinimumOptions,
  algorithmsField,
  minimumFields,
  minimumRunFields,
  minimumSetup,
  predictionSummary,
  subspaceNote,
  theoryAt,
} from './escape.js';

const problem = 'the problem';

/** The generated quadratic problem (src/data/quadratic.ts); K, μ, B, N, graph spelled as train spells them. */
const quadraticFields = {
  agents: field(integer(1), 8, infoOf(runFields.agents)),
  dimension: field(integer(1), 10, { group: problem, placeholder: 'M', description: 'dimension M of w' }),
  seed: field(integer(0), 1, { group: problem, placeholder: 'S', description: 'fixes H_k, w_k° and R_k' }),
  eigenvalues: field(
    list(real({ above: 0 }), 'eigenvalue')
      .refine((xs) => xs.length === 2 && xs[0] <= xs[1], 'must be MIN,MAX with 0 < MIN ≤ MAX')
      .transform((xs): [number, number] => [xs[0], xs[1]]),
    [0.1, 1],
    {
      group: problem,
      placeholder: 'MIN,MAX',
      description: "range of the Hessians' eigenvalues",
    },
  ),
  heterogeneity: field(real(), 1, {
    group: problem,
    placeholder: 'h',
    description: "spread of the agents' minimizers w_k°",
  }),
  noise: field(real(), 1, {
    group: problem,
    placeholder: 'σ',
    description: 'scale of the per-sample gradient noise R_k',
  }),
  commonHessian: field(flag(), false, {
    group: problem,
    placeholder: 'BOOL',
    description: 'every agent has the same H_k',
  }),
  topology: runFields.topology,
  rule: runFields.rule,
  stepSize: field(real({ above: 0 }), 0.05, infoOf(runFields.stepSize)),
  batchSize: field(integer(1), 32, infoOf(runFields.batchSize)),
  steps: field(integer(1), 300, infoOf(runFields.steps)),
  algorithm: algorithmsField,
};
const quadraticSchema = z.strictObject(quadraticFields);
/** The quadratic fields that are settings of the recursion, not of the problem: they apply with --problem too. */
const settingsFields = ['stepSize', 'batchSize', 'steps', 'algorithm'];
const settingSymbol: Record<string, string> = { stepSize: 'μ', batchSize: 'B', steps: 'N' };
type Quadratic = z.output<typeof quadraticSchema>;

/** What a prediction at a minimum takes besides the run options. */
const atMinimum = z.strictObject({ algorithm: algorithmsField, ...minimumFields });
/** The run options not also a quadratic problem's: they apply only with --minimum. */
const runOnly = Object.fromEntries(Object.entries(minimumRunFields).filter(([k]) => !(k in quadraticFields)));

type Rows = { algorithm: Algorithm; prediction: EscapePrediction }[];

/** The theory's predictions on a problem (the model at w* and A) for each algorithm at μ, B over N steps. */
export async function problemPredictions(
  problem: TheoryProblem,
  algorithms: Algorithm[],
  s: { stepSize: number; batchSize: number; steps: number },
): Promise<Rows> {
  const [{ unifiedForm }, { predictEscape }] = await Promise.all([
    import('../algorithms/recursion.js'),
    import('../theory/index.js'),
  ]);
  return algorithms.map((algorithm) => ({
    algorithm,
    prediction: predictEscape(
      problem.model,
      { form: unifiedForm(algorithm, problem.A, 'float64'), stepSize: s.stepSize, batchSize: s.batchSize },
      s.steps,
    ),
  }));
}

/** The generated quadratic problem: its model at w* and A. */
export async function quadraticTheoryProblem(q: Quadratic): Promise<TheoryProblem> {
  const [
    { combinationMatrix, makeGraph, perronVector },
    { quadraticHeterogeneity, quadraticProblem },
    { fromArray, scope, stack },
    { linearizedModel },
  ] = await Promise.all([
    import('../graph/index.js'),
    import('../data/index.js'),
    import('../tensor/index.js'),
    import('../theory/index.js'),
  ]);
  const problem = quadraticProblem({
    K: q.agents,
    M: q.dimension,
    seed: q.seed,
    eigenvalues: q.eigenvalues,
    heterogeneity: q.heterogeneity,
    noise: q.noise,
    commonHessian: q.commonHessian,
  });
  const graph = makeGraph({ topology: q.topology, agents: q.agents, seed: q.seed });
  const A = combinationMatrix(q.rule, graph);
  const p = perronVector(A);
  const d = quadraticHeterogeneity(problem, p);
  const M = q.dimension;
  const model = scope(() =>
    linearizedModel(
      stack(problem.H.map((h) => fromArray(h, [M, M]))),
      stack(d.map((x) => fromArray(x, [M]))),
      stack(problem.R.map((r) => fromArray(r, [M, M]))),
      fromArray(Float64Array.from(p)),
    ),
  );
  return { model, A };
}

/** A few points of each curve: n = 0, N/4, N/2, 3N/4, N. */
function curveTable(rows: { algorithm: string; prediction: EscapePrediction }[]): string {
  const N = rows[0].prediction.curve.centroid.length - 1;
  const at = [...new Set([0, Math.round(N / 4), Math.round(N / 2), Math.round((3 * N) / 4), N])];
  const header = ['algorithm', ...at.map((n) => `centroid n=${n}`), ...at.map((n) => `agents n=${n}`)];
  const lines = rows.map(({ algorithm, prediction: p }) => [
    algorithm,
    ...at.map((n) => cell(p.curve.centroid[n])),
    ...at.map((n) => cell(p.curve.agentAverage[n])),
  ]);
  return textTable(header, lines);
}

/** The setting a prediction is for, on one line: K, the dimension, μ, B, N and the graph. */
function settingLine(
  what: string,
  s: { agents: number; dimension: string; stepSize: number; batchSize: number; steps: number; graph: string },
): string {
  return `theory ${what}: K = ${s.agents}, ${s.dimension}, μ = ${s.stepSize}, B = ${s.batchSize}, N = ${s.steps}, ${s.graph}`;
}

export const theory = command({
  name: 'theory',
  summary: 'linearized-theory predictions (exact curve, steady state, closed form) for a quadratic or a minimum',
  define(cmd, ctx) {
    cmd
      .option('--json', 'print the predictions and their curves as JSON')
      .option(
        '--problem <FILE>',
        'the problem from a file in place of a generated one: JSON or safetensors with H [K,M,M], d or c [K,M], R [K,M,M], A [K,K], p [K] (p optional); the μ, B and N it records are the defaults',
      )
      .option(
        '--save-problem <FILE>',
        'write the problem generated or estimated, with the μ, B and N it was made for (.json: JSON, else safetensors)',
      )
      .addOption(
        new Option('--table <KIND>', 'summary: one line per algorithm; full: the curves at n = 0, N/4, …, N too')
          .choices(['summary', 'full'])
          .default('summary'),
      );
    addMinimumOptions(cmd, { ...quadraticFields, ...minimumFields }, 'theory', runOnly).addHelpText(
      'after',
      [
        '',
        'Prints, per algorithm, E J(w_c,N) − J(w*) and (1/K) Σ_k E J(w_k,N) − J(w*) from the exact propagation of the linearized',
        "recursion's moments, the exact steady state and the small-μ closed form. Without --minimum, the problem is a generated",
        'quadratic: J_k(w) = ½(w − w_k°)ᵀH_k(w − w_k°) with per-sample gradient noise of covariance R_k; a --config file then',
        'holds its fields (agents, dimension, seed, eigenvalues, heterogeneity, noise, common-hessian, topology, rule,',
        "step-size, batch-size, steps, algorithm), spelled as the flags or in camelCase. The defaults shown are the quadratic's.",
      ].join('\n'),
    );
    onRun(cmd, ctx, async (options) => {
      const own = parseOptions(atMinimum, options);
      let source: object;
      let rows: Rows;
      const problemFile = typeof options.problem === 'string' ? options.problem : null;
      const saveTo = typeof options.saveProblem === 'string' ? options.saveProblem : undefined;
      const { loadProblem, saveProblem } = await import('../escape/problem-file.js');
      let setting: string;
      let note: string | null = null;
      const progress = reporter({ quiet: options.json === true });
      if (own.minimum !== null) {
        if (problemFile !== null)
          throw new ConfigError(
            'problem',
            'give --problem FILE or --minimum DIR (a problem estimated at w*), not both',
          );
        const { dir, setup, wStar } = await minimumSetup(own.minimum, options, ctx, 'theory');
        const { estimate, predictions } = await theoryAt(setup, wStar, own.algorithm, setup.config.steps, {
          ...own,
          saveProblem: saveTo,
          onProgress: progress.update,
        });
        progress.end();
        const c = setup.config;
        setting = settingLine(`at ${dir}`, {
          agents: c.agents,
          dimension: `M = ${estimate.dimension}${estimate.kind === 'subspace' ? ` (in its top-${estimate.rank} eigenspace of H̄)` : ''}`,
          stepSize: c.stepSize,
          batchSize: c.batchSize,
          steps: c.steps,
          graph: `${c.topology}/${c.rule}`,
        });
        source = {
          minimum: dir,
          agents: setup.config.agents,
          stepSize: setup.config.stepSize,
          batchSize: setup.config.batchSize,
          steps: setup.config.steps,
          estimate,
        };
        rows = predictions;
        note = subspaceNote(estimate);
      } else {
        const runGiven = Object.keys(pick(options, runOnly));
        if (runGiven.length > 0)
          throw new ConfigError(
            runGiven[0],
            'applies only with --minimum DIR (a quadratic problem has no data or model)',
          );
        const file = typeof options.config === 'string' ? options.config : undefined;
        const fromFile = file === undefined ? {} : readConfigFile(file);
        const given: Record<string, unknown> = { ...fromFile, ...pick(options, quadraticFields) };
        const generator = Object.keys(given).filter((k) => !settingsFields.includes(k));
        if (problemFile !== null && generator.length > 0)
          throw new ConfigError(generator[0], 'describes a generated problem: it does not apply with --problem FILE');
        const loaded = problemFile === null ? null : loadProblem(problemFile);
        // A saved problem's μ, B and N are the defaults under what the user gives.
        const recorded = settingsFields.filter(
          (k) => loaded?.setting !== undefined && k in loaded.setting && !(k in given),
        );
        const q = parseFields(quadraticSchema, { ...loaded?.setting, ...given });
        let problem: TheoryProblem;
        if (loaded !== null && problemFile !== null) {
          problem = loaded;
          source = {
            problem: problemFile,
            agents: problem.A.length,
            stepSize: q.stepSize,
            batchSize: q.batchSize,
            steps: q.steps,
          };
        } else {
          problem = await quadraticTheoryProblem(q);
          source = { quadratic: q };
        }
        if (saveTo !== undefined)
          saveProblem(saveTo, {
            ...problem,
            setting: { stepSize: q.stepSize, batchSize: q.batchSize, steps: q.steps },
          });
        rows = await problemPredictions(problem, q.algorithm, q);
        const from =
          recorded.length === 0 ? '' : ` (${recorded.map((k) => settingSymbol[k]).join(', ')} as recorded in the file)`;
        setting = settingLine(
          problemFile !== null ? `on the problem in ${problemFile}${from}` : 'on a generated quadratic',
          {
            agents: problem.A.length,
            dimension: `M = ${problem.model.d.shape[1]}`,
            stepSize: q.stepSize,
            batchSize: q.batchSize,
            steps: q.steps,
            graph: problemFile !== null ? 'given A' : `${q.topology}/${q.rule}`,
          },
        );
      }
      if (options.json) {
        console.log(
          JSON.stringify({
            ...source,
            predictions: rows.map((r) => ({
              algorithm: r.algorithm,
              ...predictionSummary(r.prediction),
              curve: r.prediction.curve,
            })),
          }),
        );
      } else {
        const { predictionTable } = await import('../theory/index.js');
        console.log(setting);
        console.log(
          'E J − J(w*) for the centroid w_c and the agent average: at n = N, steady state, small-μ closed form',
        );
        console.log(predictionTable(rows));
        if (note !== null) console.log(note);
        if (options.table === 'full') {
          console.log('');
          console.log(curveTable(rows));
        } else console.log('(the curves at n = 0, N/4, …, N: --table full)');
        if (own.minimum !== null) progress.finish('estimated and predicted');
      }
      return 0;
    });
  },
});
