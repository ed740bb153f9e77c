// `flatdist escape`: every agent starts at a minimum w*; each algorithm runs N steps of the
// real engine over R seeds; E J(w_{c,n}) − J(w*) and the agent average with 95% confidence
// intervals go to <out>/escape.jsonl, a summary to <out>/escape.json; --theory adds the
// linearized theory's predicted curves, estimated at w*.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, UserError } from '../errors.js';
import { parseAlgorithm, defaults, makeConfig, readConfigFile, type TrainConfig } from '../train/config.js';
import type { Algorithm } from '../algorithms/recursion.js';
import { prepare, type Setup } from '../train/setup.js';
import { scope, type Tensor } from '../tensor/index.js';
import type { EscapePrediction } from '../theory/index.js';
import {
  escapeTable, estimateLinearized, loadMinimum, predictEscapeCurves, runEscape, samplings,
  type EscapeResult, type LinearizedEstimate, type PredictedCurve, type Sampling,
} from '../escape/index.js';
import { writeFileAtomic } from '../train/atomic.js';
import { numberFlag, parseStrict, stringFlag, type Values } from './minimize.js';
import { trainOptions } from './train.js';
import type { Command } from './main.js';

const options = {
  ...trainOptions,
  minimum: { type: 'string' as const },
  algorithms: { type: 'string' as const },
  seeds: { type: 'string' as const },
  every: { type: 'string' as const },
  sampling: { type: 'string' as const },
  theory: { type: 'boolean' as const },
  rank: { type: 'string' as const },
  'max-full': { type: 'string' as const },
};

const help = [
  'usage: flatdist escape --minimum DIR [train flags] [--algorithms centralized,consensus,atc] [--steps N] [--seeds R]',
  '         [--every m] [--sampling replacement|epochs] [--theory [--rank r] [--max-full M]] [--out DIR] [--json]',
  '',
  'Every agent starts at w* (the centroid of DIR\'s checkpoint, e.g. from flatdist minimize); each algorithm runs',
  'N steps (--steps, default 300) of the engine with the config\'s μ, B, K, graph and rule (flags override the',
  'minimum\'s config; its data, model and seed stay), over R seeds (default 10), recording every m steps',
  '(default N/20): E J(w_c,n) − J(w*) and (1/K) Σ_k E J(w_k,n) − J(w*) with 95% confidence intervals (Student t',
  'over the seeds). J = Σ_k p_k J_k + (λ/2)‖w‖², the objective w* was found for, on the agents\' examples (all of',
  'them up to --eval-subset, else a fixed stratified subset; J(w*) on every example is printed beside it).',
  'Batches are drawn with replacement (the theory\'s noise model); --sampling epochs uses the training engine\'s',
  'reshuffling. Writes <out>/escape.jsonl (one line per algorithm and step) and',
  '<out>/escape.json (summary); --out defaults to DIR/escape.',
  '',
  '--theory estimates H_k, d_k, R_k at w* (float64: the full model for M ≤ --max-full, default 400; otherwise',
  'restricted to the top --rank eigenvectors of H̄, default 20 — the prediction then leaves out the flat',
  'complement) and prints predicted curves next to the measured ones.',
].join('\n');

const kebab = (s: string): string => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
/** What defines J and w*: a minimum's data, model and seed cannot change under it. */
const fixedByMinimum: (keyof TrainConfig)[] = ['dataset', 'dataDir', 'trainSubset', 'model', 'hidden', 'activation', 'seed'];

/** The minimum's config with --config and flags over it; refuses changes to the data, model or seed. */
export function configOver(base: TrainConfig, values: Values): TrainConfig {
  const partial: Record<string, unknown> = { ...base };
  const file = stringFlag(values, 'config');
  if (file !== undefined) Object.assign(partial, readConfigFile(file));
  for (const f of Object.keys(defaults)) {
    const v = values[kebab(f)];
    if (typeof v === 'string') partial[f] = v;
  }
  const config = makeConfig(partial);
  for (const f of fixedByMinimum) {
    if (JSON.stringify(config[f]) !== JSON.stringify(base[f])) {
      throw new ConfigError(f, `the minimum was found with ${JSON.stringify(base[f])}, not ${JSON.stringify(config[f])} — w* and J are defined by the minimum's data, model and seed`);
    }
  }
  return config;
}

export function parseAlgorithms(list: string): Algorithm[] {
  const names = list.split(',').map((s) => s.trim()).filter(Boolean);
  if (names.length === 0) throw new ConfigError('algorithms', 'name at least one algorithm');
  return names.map((n) => parseAlgorithm(n, 'algorithms'));
}

/** The setup and w* of `--minimum DIR` with the flags over its config. */
export function minimumSetup(values: Values, command: string): { dir: string; setup: Setup; wStar: Tensor[] } {
  const dir = stringFlag(values, 'minimum');
  if (dir === undefined) throw new UserError(`give the minimum to start from: --minimum DIR (from flatdist minimize) — see 'flatdist ${command} --help'`);
  const minimum = loadMinimum(dir);
  const setup = prepare(configOver(minimum.config, values));
  return { dir, setup, wStar: minimum.params };
}

/** The theory's estimate at w* and its curves for the algorithms, with what the estimate is. */
export function theoryAt(setup: Setup, wStar: Tensor[], algorithms: Algorithm[], steps: number, values: Values): { estimate: Omit<LinearizedEstimate, 'model'>; predictions: PredictedCurve[] } {
  return scope(() => {
    const estimate = estimateLinearized(setup, wStar, {
      rank: numberFlag(values, 'rank', 20, { integer: true, positive: true }),
      maxFull: numberFlag(values, 'max-full', 400, { integer: true }),
    });
    const predictions = predictEscapeCurves(setup, estimate.model, algorithms, steps);
    const { model: _model, ...rest } = estimate;
    return { estimate: rest, predictions };
  });
}

/** The steady state and closed form of a prediction, plain (the curves are long). */
export const predictionSummary = (p: EscapePrediction) => ({
  steady: p.steady,
  closedForm: p.closedForm,
  final: { centroid: p.curve.centroid[p.curve.centroid.length - 1], agentAverage: p.curve.agentAverage[p.curve.agentAverage.length - 1] },
});

export function escapeLines(result: EscapeResult, predictions: PredictedCurve[] | null): object[] {
  return result.curves.flatMap((curve) => {
    const p = predictions?.find((x) => x.algorithm === curve.algorithm)?.prediction;
    return curve.points.map((point) => ({
      algorithm: curve.algorithm,
      step: point.step,
      seeds: result.seeds,
      sampling: result.sampling,
      centroid: point.centroid,
      agentAverage: point.agentAverage,
      ...(p ? { predicted: { centroid: p.curve.centroid[point.step], agentAverage: p.curve.agentAverage[point.step] } } : {}),
    }));
  });
}

export const escapeCommand: Command = {
  summary: 'escape from a minimum w*: measured E J(w_n) − J(w*) over seeds, with --theory the predicted curves',
  run(args) {
    const { values } = parseStrict(args, options, 'escape');
    if (values.help) {
      console.log(help);
      return 0;
    }
    if (values.resume !== undefined) throw new UserError('escape has no --resume');
    const { dir, setup, wStar } = minimumSetup(values, 'escape');
    const c = setup.config;
    const out = stringFlag(values, 'out') ?? join(dir, 'escape');
    const algorithms = parseAlgorithms(stringFlag(values, 'algorithms') ?? 'centralized,consensus,atc');
    const seeds = numberFlag(values, 'seeds', 10, { integer: true, positive: true });
    const every = numberFlag(values, 'every', Math.max(1, Math.floor(c.steps / 20)), { integer: true, positive: true });
    const sampling = (stringFlag(values, 'sampling') ?? 'replacement') as Sampling;
    if (!samplings.includes(sampling)) throw new ConfigError('sampling', `expected ${samplings.join(' or ')}, got '${sampling}'`);
    const quiet = values.json === true;
    const began = Date.now();
    let theory: ReturnType<typeof theoryAt> | null = null;
    if (values.theory) {
      if (!quiet) process.stderr.write('estimating H_k, d_k, R_k at w* ...\n');
      theory = theoryAt(setup, wStar, algorithms, c.steps, values);
    }
    const theorySeconds = (Date.now() - began) / 1000;
    const result = runEscape(setup, wStar, {
      algorithms,
      steps: c.steps,
      seeds,
      every,
      sampling,
      progress: quiet ? undefined : (algorithm, n, N) => {
        if (n % 10 === 0 || n === N) process.stderr.write(`\r${algorithm}: step ${n}/${N}   ${n === N ? '\n' : ''}`);
      },
    });
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'escape.jsonl'), escapeLines(result, theory?.predictions ?? null).map((l) => `${JSON.stringify(l)}\n`).join(''));
    const summary = {
      minimum: dir,
      out,
      ...result,
      curves: result.curves.map((curve) => ({ algorithm: curve.algorithm, seconds: curve.seconds, final: curve.points[curve.points.length - 1] })),
      theory: theory && {
        ...theory.estimate,
        seconds: theorySeconds,
        predictions: theory.predictions.map((p) => ({ algorithm: p.algorithm, ...predictionSummary(p.prediction) })),
      },
      seconds: (Date.now() - began) / 1000,
    };
    writeFileAtomic(join(out, 'escape.json'), `${JSON.stringify(summary, null, 2)}\n`);
    if (quiet) console.log(JSON.stringify(summary));
    else {
      const o = result.objective;
      const scored = result.evaluationExamples === o.examples ? 'curves scored on all of them' : `curves scored on a stratified subset of ${result.evaluationExamples} (J(w*) there ${result.reference.toPrecision(8)})`;
      console.log(`escape from ${dir}: J(w*) = ${o.risk.toPrecision(8)} (data loss ${o.dataLoss.toPrecision(8)} + (λ/2)‖w*‖², λ = ${o.weightDecay}) on ${o.examples} training examples, ${scored}`);
      console.log(`K = ${result.agents}, μ = ${result.stepSize}, B = ${result.batchSize}, N = ${result.steps}, R = ${result.seeds} seeds, ${result.sampling} sampling`);
      if (theory) {
        const e = theory.estimate;
        const captured = e.traceCaptured ? `, Tr(VᵀH̄V)/Tr(H̄) = ${e.traceCaptured.fraction.toFixed(3)} ± ${e.traceCaptured.stdError.toFixed(3)}` : '';
        console.log(`theory: ${e.kind} model, M = ${e.dimension}, r = ${e.rank}${captured}; top curvatures ${e.curvatures.slice(0, 5).map((v) => v.toPrecision(4)).join(', ')}; ${e.cost.hvps} HVPs, ${theorySeconds.toFixed(1)} s`);
      }
      console.log(escapeTable(result, theory?.predictions));
      console.log(`times: ${result.curves.map((x) => `${x.algorithm} ${x.seconds.toFixed(1)} s`).join(', ')}; total ${summary.seconds.toFixed(1)} s — ${join(out, 'escape.jsonl')}`);
    }
    return 0;
  },
};
