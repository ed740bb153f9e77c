// `flatdist measure`: flatness and optimization error at a checkpoint — the centroid, one
// agent or all of them — on the training or test data, each measure with its uncertainty
// and cost (Hessian-vector products, seconds). J here is the run's objective
// Σ_k p_k J_k(w) + (λ/2)‖w‖² (src/measures/risk.ts), computed in chunks, with exact HVPs.
import { existsSync } from 'node:fs';
import { ConfigError, DataError, UserError } from '../errors.js';
import { scope, type Tensor } from '../tensor/index.js';
import { centroid, globalRisk, measure, risk, riskObjective, splitRisk, type MeasureReport, type MeasureSpec, type Objective } from '../measures/index.js';
import { deriveSeed } from '../util/seed.js';
import { loadCheckpoint } from '../train/checkpoint.js';
import { makeConfig } from '../train/config.js';
import { prepare } from '../train/setup.js';
import { loadMinimum } from '../escape/index.js';
import { numberFlag, parseStrict, stringFlag } from './minimize.js';
import type { Command } from './main.js';

const measureNames = ['trace', 'eigs', 'density', 'gaussian', 'worst', 'slice1d', 'slice2d', 'opt'] as const;
type MeasureName = (typeof measureNames)[number];

const options = {
  which: { type: 'string' as const },
  split: { type: 'string' as const },
  subset: { type: 'string' as const },
  seed: { type: 'string' as const },
  measures: { type: 'string' as const },
  reference: { type: 'string' as const },
  'max-probes': { type: 'string' as const },
  'top-k': { type: 'string' as const },
  sigma: { type: 'string' as const },
  samples: { type: 'string' as const },
  rho: { type: 'string' as const },
  points: { type: 'string' as const },
  chunk: { type: 'string' as const },
  json: { type: 'boolean' as const },
  help: { type: 'boolean' as const, short: 'h' },
};

const help = [
  'usage: flatdist measure <checkpoint or run dir> [--which centroid|agent:K|all] [--split train|test]',
  '         [--subset N] [--seed S] [--measures trace,eigs,...] [--reference VALUE|CHECKPOINT] [--json]',
  '',
  `measures: ${measureNames.join(', ')} (default trace,eigs; opt — J, ‖∇J‖, excess risk — is always reported)`,
  'knobs: --max-probes 100 (trace)  --top-k 5 (eigs, Lanczos)  --sigma 0.01 --samples 50 (gaussian)',
  '       --rho 0.05 (worst, relative to ‖w‖)  --points 21 (slices; 2-D uses points×points)  --chunk 1000',
  'J is the run\'s objective, data loss + (λ/2)‖w‖² (λ its --weight-decay), so its Hessian is H + λI: on the',
  'train split Σ_k p_k J_k over the agents\' parts (a stratified --subset of N examples, fixed by --seed), on the',
  'test split the mean loss over its examples (a random --subset) + (λ/2)‖w‖². Both J and the data loss are reported.',
].join('\n');

export interface Target {
  which: string;
  params: Tensor[];
}

/** The models --which names: the centroid Σ p_k w_k, agent k, or every agent and the centroid. */
export function targets(stacked: Tensor[], perron: number[], which: string): Target[] {
  const K = stacked[0].shape[0];
  const agent = (k: number): Target => ({ which: `agent:${k}`, params: stacked.map((t) => t.select(0, k)) });
  const centre = (): Target => ({ which: 'centroid', params: centroid(stacked, perron) });
  if (which === 'centroid') return [centre()];
  if (which === 'all') return [...Array.from({ length: K }, (_, k) => agent(k)), centre()];
  const m = /^agent:(\d+)$/.exec(which);
  if (m && Number(m[1]) < K) return [agent(Number(m[1]))];
  throw new ConfigError('which', `expected centroid, agent:K with 0 ≤ K < ${K}, or all — got '${which}'`);
}

function parseMeasures(list: string): Set<MeasureName> {
  const names = list.split(',').map((s) => s.trim()).filter(Boolean);
  for (const n of names) if (!(measureNames as readonly string[]).includes(n)) throw new ConfigError('measures', `unknown measure '${n}' — one of ${measureNames.join(', ')}`);
  return new Set(names as MeasureName[]);
}

const pm = (mean: number, se: number): string => `${mean.toPrecision(6)} ± ${se.toPrecision(2)}`;
const cost = (c: { hvps: number; seconds: number }): string => `[${c.hvps} HVPs, ${c.seconds.toFixed(2)} s]`;

function describe(r: MeasureReport): string[] {
  const o = r.optimization;
  const lines = [`J(w) = ${o.risk.toPrecision(8)} (data loss ${o.dataLoss.toPrecision(8)} + (λ/2)‖w‖²), ‖∇J(w)‖ = ${o.gradientNorm.toExponential(3)}` +
    (r.optimization.excessRisk === null ? '' : `, excess risk ${r.optimization.excessRisk.toExponential(3)}`) + ` ${cost(r.optimization.cost)}`];
  if (r.consensusDistance !== undefined) lines.push(`consensus distance (1/K)Σ‖w_k − w_c‖² = ${r.consensusDistance.toExponential(3)}`);
  if (r.trace) lines.push(`Tr ∇²J = Tr(H + λI) = ${pm(r.trace.mean, r.trace.stdError)} (${r.trace.probes} Rademacher probes) ${cost(r.trace.cost)}`);
  if (r.eigenvalues) {
    const e = r.eigenvalues;
    lines.push(`top eigenvalues of ∇²J = H + λI (${e.method}) ${e.values.map((v, i) => `${v.toPrecision(5)}${e.converged[i] ? '' : '*'}`).join(', ')}${e.converged.every(Boolean) ? '' : ' (* not converged)'} ${cost(e.cost)}`);
  }
  if (r.density) lines.push(`spectral density: mean eigenvalue ${pm(r.density.meanEigenvalue, r.density.meanEigenvalueStdError)}, ${r.density.grid.length} grid points (--json for the curve) ${cost(r.density.cost)}`);
  if (r.gaussian) lines.push(`Gaussian sharpness of J (σ = ${r.gaussian.sigma}) = ${pm(r.gaussian.mean, r.gaussian.stdError)} (${r.gaussian.samples} samples) ${cost(r.gaussian.cost)}`);
  if (r.worstCase) lines.push(`worst-case sharpness (‖δ‖ ≤ ${r.worstCase.radius.toPrecision(4)}) = ${r.worstCase.value.toPrecision(6)} (${r.worstCase.steps} ascent steps) ${cost(r.worstCase.cost)}`);
  if (r.slice1d) lines.push(`1-D slice: J from ${Math.min(...r.slice1d.losses).toPrecision(5)} to ${Math.max(...r.slice1d.losses).toPrecision(5)} over α ∈ [${r.slice1d.alphas[0]}, ${r.slice1d.alphas[r.slice1d.alphas.length - 1]}] ${cost(r.slice1d.cost)}`);
  if (r.slice2d) {
    const all = r.slice2d.losses.flat();
    lines.push(`2-D slice: J from ${Math.min(...all).toPrecision(5)} to ${Math.max(...all).toPrecision(5)} on ${r.slice2d.alphas.length}×${r.slice2d.betas.length} points ${cost(r.slice2d.cost)}`);
  }
  return lines;
}

export const measureCommand: Command = {
  summary: 'flatness and optimization error at a checkpoint: trace, eigenvalues, density, sharpness, slices',
  run(args) {
    const { values, positionals } = parseStrict(args, options, 'measure', true);
    if (values.help) {
      console.log(help);
      return 0;
    }
    if (positionals.length !== 1) throw new UserError(`give one checkpoint or run directory (got ${positionals.length}) — see 'flatdist measure --help'`);
    const path = positionals[0];
    if (!existsSync(path)) throw new DataError(path, 'no such checkpoint file or run directory');
    const which = stringFlag(values, 'which') ?? 'centroid';
    const split = stringFlag(values, 'split') ?? 'train';
    if (split !== 'train' && split !== 'test') throw new ConfigError('split', `expected train or test, got '${split}'`);
    const wanted = parseMeasures(stringFlag(values, 'measures') ?? 'trace,eigs');
    const seed = numberFlag(values, 'seed', 1, { integer: true });
    const subset = values.subset === undefined ? null : numberFlag(values, 'subset', 0, { integer: true, positive: true });
    const chunk = numberFlag(values, 'chunk', 1000, { integer: true, positive: true });
    const ck = loadCheckpoint(path);
    const chosen = targets(ck.params, ck.perron, which);
    const setup = prepare(makeConfig(ck.config as Record<string, unknown>));
    return scope(() => {
      const weightDecay = setup.config.weightDecay;
      const examples = { maxExamples: subset ?? undefined, seed: deriveSeed(seed, 'subset') };
      const r = split === 'train' ? globalRisk(setup, examples) : splitRisk(setup.model, setup.test, weightDecay, examples);
      const objective: Objective = riskObjective(r, chunk);
      let reference: number | undefined;
      const given = stringFlag(values, 'reference');
      if (given !== undefined) {
        const asNumber = Number(given);
        reference = Number.isFinite(asNumber) && !existsSync(given) ? asNumber : risk(objective, loadMinimum(given).params);
      }
      const spec: MeasureSpec = { seed, reference, weightDecay };
      if (wanted.has('trace')) spec.trace = { maxProbes: numberFlag(values, 'max-probes', 100, { integer: true, positive: true }) };
      if (wanted.has('eigs')) spec.eigenvalues = { k: numberFlag(values, 'top-k', 5, { integer: true, positive: true }), method: 'lanczos' };
      if (wanted.has('density')) spec.density = {};
      if (wanted.has('gaussian')) spec.gaussian = { sigma: numberFlag(values, 'sigma', 0.01, { positive: true }), samples: numberFlag(values, 'samples', 50, { integer: true, positive: true }) };
      if (wanted.has('worst')) spec.worstCase = { rho: numberFlag(values, 'rho', 0.05, { positive: true }), relative: true };
      const points = numberFlag(values, 'points', 21, { integer: true, positive: true });
      if (wanted.has('slice1d')) spec.slice1d = { points };
      if (wanted.has('slice2d')) spec.slice2d = { points };
      const reports = chosen.map((t) => ({
        which: t.which,
        report: measure(objective, t.params, spec, t.which === 'centroid' && ck.params[0].shape[0] > 1 ? { stacked: ck.params, p: ck.perron } : undefined),
      }));
      const record = { checkpoint: path, step: ck.step, split, examples: r.weights.length, objective: 'J(w) = data loss + (λ/2)‖w‖²', weightDecay, seed, reports };
      if (values.json) console.log(JSON.stringify(record));
      else {
        console.log(`${path} (step ${ck.step}), ${split} split, ${record.examples} examples, M = ${reports[0].report.dimension}; J(w) = data loss + (λ/2)‖w‖², λ = ${weightDecay}, ∇²J = H + λI`);
        for (const { which: w, report } of reports) {
          console.log(`${w}:`);
          for (const line of describe(report)) console.log(`  ${line}`);
        }
      }
      return 0;
    });
  },
};
