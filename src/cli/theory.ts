// `flatdist theory`: the linearized theory's predictions — the exact escape curve, the exact
// steady state (Lyapunov) and the small-μ closed form — for a generated quadratic problem
// with known H_k, d_k, R_k, or for the model estimated at a minimum w* (--minimum DIR).
import { ConfigError, UserError } from '../errors.js';
import { combinationMatrix, makeGraph, perronVector } from '../graph/index.js';
import { quadraticHeterogeneity, quadraticProblem } from '../data/index.js';
import { fromArray, scope, stack } from '../tensor/index.js';
import { unifiedForm, type Algorithm } from '../algorithms/recursion.js';
import { linearizedModel, predictEscape, predictionTable, type EscapePrediction } from '../theory/index.js';
import { readConfigFile } from '../train/config.js';
import { numberFlag, parseStrict, stringFlag, type Values } from './minimize.js';
import { minimumSetup, parseAlgorithms, predictionSummary, theoryAt } from './escape.js';
import { trainOptions } from './train.js';
import type { Command } from './main.js';

const options = {
  ...trainOptions,
  minimum: { type: 'string' as const },
  algorithms: { type: 'string' as const },
  dimension: { type: 'string' as const },
  eigenvalues: { type: 'string' as const },
  heterogeneity: { type: 'string' as const },
  noise: { type: 'string' as const },
  'common-hessian': { type: 'boolean' as const },
  rank: { type: 'string' as const },
  'max-full': { type: 'string' as const },
};

const help = [
  'usage: flatdist theory [--algorithms centralized,consensus,atc] [--step-size μ] [--batch-size B] [--steps N] [--json]',
  '         (a generated quadratic:) [--agents 8] [--dimension 10] [--seed 1] [--eigenvalues 0.1,1] [--heterogeneity 1]',
  '                                   [--noise 1] [--common-hessian] [--topology ring] [--rule metropolis] [--config quad.yaml]',
  '         (or a real minimum:)     --minimum DIR [train flags] [--rank 20] [--max-full 400]',
  '',
  'Prints, per algorithm, E J(w_c,N) − J(w*) and (1/K) Σ_k E J(w_k,N) − J(w*) from the exact propagation of the',
  'linearized recursion\'s moments, the exact steady state and the small-μ closed form. The quadratic problem has',
  'J_k(w) = ½(w − w_k°)ᵀH_k(w − w_k°) with per-sample gradient noise of covariance R_k (src/data/quadratic.ts); a',
  '--config file holds the same fields (agents, dimension, seed, eigenvalues, heterogeneity, noise, commonHessian,',
  'topology, rule, stepSize, batchSize, steps, algorithms).',
].join('\n');

interface Quadratic {
  agents: number;
  dimension: number;
  seed: number;
  eigenvalues: [number, number];
  heterogeneity: number;
  noise: number;
  commonHessian: boolean;
  topology: string;
  rule: string;
  stepSize: number;
  batchSize: number;
  steps: number;
  algorithms: string;
}

const quadraticFields = ['agents', 'dimension', 'seed', 'eigenvalues', 'heterogeneity', 'noise', 'commonHessian', 'topology', 'rule', 'stepSize', 'batchSize', 'steps', 'algorithms'];

function quadraticFrom(values: Values): Quadratic {
  const file = stringFlag(values, 'config');
  const fromFile: Record<string, unknown> = file === undefined ? {} : readConfigFile(file);
  for (const k of Object.keys(fromFile)) if (!quadraticFields.includes(k)) throw new ConfigError(k, `unknown field of a quadratic problem — allowed: ${quadraticFields.join(', ')}`);
  const kebab = (s: string): string => s.replace(/[A-Z]/g, (ch) => `-${ch.toLowerCase()}`);
  const merged: Values = {};
  for (const k of quadraticFields) {
    const v = fromFile[k];
    if (v !== undefined) merged[kebab(k)] = Array.isArray(v) ? v.join(',') : typeof v === 'boolean' ? v : String(v);
    if (values[kebab(k)] !== undefined) merged[kebab(k)] = values[kebab(k)];
  }
  const eigen = (stringFlag(merged, 'eigenvalues') ?? '0.1,1').split(',').map(Number);
  if (eigen.length !== 2 || !eigen.every((x) => x > 0) || eigen[0] > eigen[1]) throw new ConfigError('eigenvalues', `expected MIN,MAX with 0 < MIN ≤ MAX, got '${stringFlag(merged, 'eigenvalues')}'`);
  return {
    agents: numberFlag(merged, 'agents', 8, { integer: true, positive: true }),
    dimension: numberFlag(merged, 'dimension', 10, { integer: true, positive: true }),
    seed: numberFlag(merged, 'seed', 1, { integer: true }),
    eigenvalues: [eigen[0], eigen[1]],
    heterogeneity: numberFlag(merged, 'heterogeneity', 1),
    noise: numberFlag(merged, 'noise', 1),
    commonHessian: merged['common-hessian'] === true || merged['common-hessian'] === 'true',
    topology: stringFlag(merged, 'topology') ?? 'ring',
    rule: stringFlag(merged, 'rule') ?? 'metropolis',
    stepSize: numberFlag(merged, 'step-size', 0.05, { positive: true }),
    batchSize: numberFlag(merged, 'batch-size', 32, { integer: true, positive: true }),
    steps: numberFlag(merged, 'steps', 300, { integer: true, positive: true }),
    algorithms: stringFlag(merged, 'algorithms') ?? 'centralized,consensus,atc',
  };
}

/** Predictions on the generated quadratic problem. */
export function quadraticPredictions(q: Quadratic): { algorithm: Algorithm; prediction: EscapePrediction }[] {
  const algorithms = parseAlgorithms(q.algorithms);
  const problem = quadraticProblem({ K: q.agents, M: q.dimension, seed: q.seed, eigenvalues: q.eigenvalues, heterogeneity: q.heterogeneity, noise: q.noise, commonHessian: q.commonHessian });
  const graph = makeGraph({ topology: q.topology, agents: q.agents, seed: q.seed });
  const A = combinationMatrix(q.rule, graph);
  const p = perronVector(A);
  const d = quadraticHeterogeneity(problem, p);
  const M = q.dimension;
  return scope(() => {
    const model = linearizedModel(
      stack(problem.H.map((h) => fromArray(h, [M, M]))),
      stack(d.map((x) => fromArray(x, [M]))),
      stack(problem.R.map((r) => fromArray(r, [M, M]))),
      fromArray(Float64Array.from(p)),
    );
    const At = fromArray(Float64Array.from(A.flat()), [q.agents, q.agents]);
    return algorithms.map((algorithm) => ({ algorithm, prediction: predictEscape(model, { form: unifiedForm(algorithm, At), stepSize: q.stepSize, batchSize: q.batchSize }, q.steps) }));
  });
}

/** A few points of each curve: n = 0, N/4, N/2, 3N/4, N. */
function curveTable(rows: { algorithm: string; prediction: EscapePrediction }[]): string {
  const N = rows[0].prediction.curve.centroid.length - 1;
  const at = [...new Set([0, Math.round(N / 4), Math.round(N / 2), Math.round((3 * N) / 4), N])];
  const header = ['algorithm', ...at.map((n) => `centroid n=${n}`), ...at.map((n) => `agents n=${n}`)];
  const lines = rows.map(({ algorithm, prediction: p }) => [algorithm, ...at.map((n) => p.curve.centroid[n].toExponential(3)), ...at.map((n) => p.curve.agentAverage[n].toExponential(3))]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  return [header, ...lines].map((l) => l.map((x, i) => x.padEnd(widths[i])).join('  ').trimEnd()).join('\n');
}

export const theoryCommand: Command = {
  summary: 'linearized-theory predictions (exact curve, steady state, closed form) for a quadratic or a minimum',
  run(args) {
    const { values } = parseStrict(args, options, 'theory');
    if (values.help) {
      console.log(help);
      return 0;
    }
    if (values.resume !== undefined) throw new UserError('theory has no --resume');
    let source: object;
    let rows: { algorithm: Algorithm; prediction: EscapePrediction }[];
    if (values.minimum !== undefined) {
      const { dir, setup, wStar } = minimumSetup(values, 'theory');
      const algorithms = parseAlgorithms(stringFlag(values, 'algorithms') ?? 'centralized,consensus,atc');
      const { estimate, predictions } = theoryAt(setup, wStar, algorithms, setup.config.steps, values);
      source = { minimum: dir, agents: setup.config.agents, stepSize: setup.config.stepSize, batchSize: setup.config.batchSize, steps: setup.config.steps, estimate };
      rows = predictions;
    } else {
      const q = quadraticFrom(values);
      source = { quadratic: q };
      rows = quadraticPredictions(q);
    }
    if (values.json) {
      console.log(JSON.stringify({ ...source, predictions: rows.map((r) => ({ algorithm: r.algorithm, ...predictionSummary(r.prediction), curve: r.prediction.curve })) }));
    } else {
      console.log(predictionTable(rows));
      console.log('');
      console.log(curveTable(rows));
    }
    return 0;
  },
};
