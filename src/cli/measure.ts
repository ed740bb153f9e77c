// `flatdist measure`: flatness and optimization error at a checkpoint — the centroid, one
// agent or all of them — on the training or test data, each measure with its uncertainty
// and cost (Hessian-vector products, seconds). J here is the run's objective
// Σ_k p_k J_k(w) + (λ/2)‖w‖² (src/measures/risk.ts), computed in chunks, with exact HVPs.
import { z } from 'zod';
import { ConfigError, DataError } from '../errors.js';
import type { MeasureReport, MeasureSpec, Objective } from '../measures/index.js';
import type { Tensor } from '../tensor/index.js';
import { choice, field, integer, list, optional, real, text } from '../train/fields.js';
import { runFields } from '../train/config.js';
import { addFields, command, onRun, parseOptions } from './command.js';

const measureNames = ['trace', 'eigs', 'density', 'gaussian', 'worst', 'slice1d', 'slice2d', 'opt'] as const;
const splits = ['train', 'test'] as const;

const measureFields = {
  which: field(text(), 'centroid', {
    placeholder: 'WHICH',
    description: 'the model measured: the centroid Σ p_k w_k, agent k, or every agent and the centroid',
    values: ['centroid', 'agent:K', 'all'],
  }),
  split: field(choice(splits, 'split'), 'train', {
    placeholder: 'SPLIT',
    description: "the examples J is over: train (the agents' parts, Σ_k p_k J_k) or test",
    values: splits,
  }),
  evalSubset: field(optional(integer(1)), null, {
    placeholder: 'N',
    unit: 'examples',
    description: 'a random subset of N examples of the split, fixed by --seed (default: all)',
  }),
  seed: field(integer(0), 1, { placeholder: 'S', description: 'fixes the subset and the random probes' }),
  device: runFields.device,
  measures: field(list(choice(measureNames, 'measure'), 'measure'), ['trace', 'eigs'], {
    placeholder: 'LIST',
    description: 'comma-separated; J and ‖∇J‖ (opt) are always reported',
    values: measureNames,
  }),
  reference: field(optional(text()), null, {
    placeholder: 'J|DIR',
    description:
      "J(w*) for the excess risk: a value, or a minimum's checkpoint or run directory (default: no excess risk)",
  }),
  maxProbes: field(integer(1), 100, { placeholder: 'N', description: 'trace: most Rademacher probes (Hutchinson)' }),
  topK: field(integer(1), 5, { placeholder: 'K', description: 'eigs: how many top eigenvalues (Lanczos)' }),
  sigma: field(real({ above: 0 }), 0.01, {
    placeholder: 'σ',
    description: 'gaussian: σ of the perturbation u ~ N(0, σ²I)',
  }),
  samples: field(integer(1), 50, { placeholder: 'N', description: 'gaussian: perturbations drawn' }),
  rho: field(real({ above: 0 }), 0.05, {
    placeholder: 'ρ',
    description: 'worst: radius ρ of the ascent, relative to ‖w‖',
  }),
  points: field(integer(1), 21, { placeholder: 'N', description: 'slice1d, slice2d: points per axis' }),
  chunk: field(integer(1), 1000, { placeholder: 'N', unit: 'examples', description: 'examples per forward pass' }),
};

export interface Target {
  which: string;
  params: Tensor[];
}

/** The models --which names: the centroid Σ p_k w_k, agent k, or every agent and the centroid. */
export async function targets(stacked: Tensor[], perron: number[], which: string): Promise<Target[]> {
  const { centroid } = await import('../measures/index.js');
  const K = stacked[0].shape[0];
  const agent = (k: number): Target => ({ which: `agent:${k}`, params: stacked.map((t) => t.select(0, k)) });
  const centre = (): Target => ({ which: 'centroid', params: centroid(stacked, perron) });
  if (which === 'centroid') return [centre()];
  if (which === 'all') return [...Array.from({ length: K }, (_, k) => agent(k)), centre()];
  const m = /^agent:(\d+)$/.exec(which);
  if (m && Number(m[1]) < K) return [agent(Number(m[1]))];
  throw new ConfigError('which', `expected centroid, agent:K with 0 ≤ K < ${K}, or all — got '${which}'`);
}

const pm = (mean: number, se: number): string => `${mean.toPrecision(6)} ± ${se.toPrecision(2)}`;
const cost = (c: { hvps: number; seconds: number }): string => `[${c.hvps} HVPs, ${c.seconds.toFixed(2)} s]`;

function describe(r: MeasureReport): string[] {
  const o = r.optimization;
  const lines = [
    `J(w) = ${o.risk.toPrecision(8)} (data loss ${o.dataLoss.toPrecision(8)} + (λ/2)‖w‖²), ‖∇J(w)‖ = ${o.gradientNorm.toExponential(3)}` +
      (r.optimization.excessRisk === null ? '' : `, excess risk ${r.optimization.excessRisk.toExponential(3)}`) +
      ` ${cost(r.optimization.cost)}`,
  ];
  if (r.consensusDistance !== undefined)
    lines.push(`consensus distance (1/K)Σ‖w_k − w_c‖² = ${r.consensusDistance.toExponential(3)}`);
  if (r.trace)
    lines.push(
      `Tr ∇²J = Tr(H + λI) = ${pm(r.trace.mean, r.trace.stdError)} (${r.trace.probes} Rademacher probes) ${cost(r.trace.cost)}`,
    );
  if (r.eigenvalues) {
    const e = r.eigenvalues;
    lines.push(
      `top eigenvalues of ∇²J = H + λI (${e.method}) ${e.values.map((v, i) => `${v.toPrecision(5)}${e.converged[i] ? '' : '*'}`).join(', ')}${e.converged.every(Boolean) ? '' : ' (* not converged)'} ${cost(e.cost)}`,
    );
  }
  if (r.density)
    lines.push(
      `spectral density: mean eigenvalue ${pm(r.density.meanEigenvalue, r.density.meanEigenvalueStdError)}, ${r.density.grid.length} grid points (--json for the curve) ${cost(r.density.cost)}`,
    );
  if (r.gaussian)
    lines.push(
      `Gaussian sharpness of J (σ = ${r.gaussian.sigma}) = ${pm(r.gaussian.mean, r.gaussian.stdError)} (${r.gaussian.samples} samples) ${cost(r.gaussian.cost)}`,
    );
  if (r.worstCase)
    lines.push(
      `worst-case sharpness (‖δ‖ ≤ ${r.worstCase.radius.toPrecision(4)}) = ${r.worstCase.value.toPrecision(6)} (${r.worstCase.steps} ascent steps) ${cost(r.worstCase.cost)}`,
    );
  if (r.slice1d)
    lines.push(
      `1-D slice: J from ${Math.min(...r.slice1d.losses).toPrecision(5)} to ${Math.max(...r.slice1d.losses).toPrecision(5)} over α ∈ [${r.slice1d.alphas[0]}, ${r.slice1d.alphas[r.slice1d.alphas.length - 1]}] ${cost(r.slice1d.cost)}`,
    );
  if (r.slice2d) {
    const all = r.slice2d.losses.flat();
    lines.push(
      `2-D slice: J from ${Math.min(...all).toPrecision(5)} to ${Math.max(...all).toPrecision(5)} on ${r.slice2d.alphas.length}×${r.slice2d.betas.length} points ${cost(r.slice2d.cost)}`,
    );
  }
  return lines;
}

export const measure = command({
  name: 'measure',
  summary: 'flatness and optimization error at a checkpoint: trace, eigenvalues, density, sharpness, slices',
  define(cmd, ctx) {
    cmd.argument('<checkpoint>', 'a checkpoint file or run directory');
    addFields(cmd, measureFields, { group: 'measure' })
      .option('--json', 'print the reports as JSON')
      .addHelpText(
        'after',
        [
          '',
          "J is the run's objective, data loss + (λ/2)‖w‖² (λ its --weight-decay), so its Hessian is H + λI: on the train split",
          "Σ_k p_k J_k over the agents' parts (a stratified --eval-subset of N examples, fixed by --seed), on the test split the",
          'mean loss over its examples (a random --eval-subset) + (λ/2)‖w‖². Both J and the data loss are reported.',
        ].join('\n'),
      );
    onRun(cmd, ctx, async (options, [path]) => {
      const o = parseOptions(z.strictObject(measureFields), options);
      const [
        { existsSync },
        { scope, useDevice },
        { globalRisk, measure: run, risk, riskObjective, splitRisk },
        { checkCheckpoint, loadCheckpoint },
        { makeConfig },
        { prepare },
        { checkMinimum, loadMinimum },
        { deriveSeed },
      ] = await Promise.all([
        import('node:fs'),
        import('../tensor/index.js'),
        import('../measures/index.js'),
        import('../train/checkpoint.js'),
        import('../train/config.js'),
        import('../train/setup.js'),
        import('../escape/index.js'),
        import('../util/seed.js'),
      ]);
      if (!existsSync(path)) throw new DataError(path, 'no such checkpoint file or run directory');
      const { which, split, seed, evalSubset, chunk } = o;
      const wanted = new Set(o.measures);
      useDevice(o.device); // before the checkpoint's tensors are made
      const ck = loadCheckpoint(path);
      const setup = prepare(makeConfig({ ...(ck.config as Record<string, unknown>), device: o.device }));
      checkCheckpoint(ck, setup.model, setup.config.agents);
      const chosen = await targets(ck.params, ck.perron, which);
      return scope(() => {
        const weightDecay = setup.config.weightDecay;
        const examples = { maxExamples: evalSubset ?? undefined, seed: deriveSeed(seed, 'subset') };
        const r =
          split === 'train' ? globalRisk(setup, examples) : splitRisk(setup.model, setup.test, weightDecay, examples);
        const objective: Objective = riskObjective(r, chunk);
        let reference: number | undefined;
        const given = o.reference;
        if (given !== null) {
          const asNumber = Number(given);
          if (Number.isFinite(asNumber) && !existsSync(given)) reference = asNumber;
          else {
            const minimum = loadMinimum(given);
            checkMinimum(minimum, setup.model);
            reference = risk(objective, minimum.params);
          }
        }
        const spec: MeasureSpec = { seed, reference, weightDecay };
        if (wanted.has('trace')) spec.trace = { maxProbes: o.maxProbes };
        if (wanted.has('eigs')) spec.eigenvalues = { k: o.topK, method: 'lanczos' };
        if (wanted.has('density')) spec.density = {};
        if (wanted.has('gaussian')) spec.gaussian = { sigma: o.sigma, samples: o.samples };
        if (wanted.has('worst')) spec.worstCase = { rho: o.rho, relative: true };
        const points = o.points;
        if (wanted.has('slice1d')) spec.slice1d = { points };
        if (wanted.has('slice2d')) spec.slice2d = { points };
        const reports = chosen.map((t) => ({
          which: t.which,
          report: run(
            objective,
            t.params,
            spec,
            t.which === 'centroid' && ck.params[0].shape[0] > 1 ? { stacked: ck.params, p: ck.perron } : undefined,
          ),
        }));
        const record = {
          checkpoint: path,
          step: ck.step,
          split,
          examples: r.weights.length,
          objective: 'J(w) = data loss + (λ/2)‖w‖²',
          weightDecay,
          seed,
          reports,
        };
        if (options.json) console.log(JSON.stringify(record));
        else {
          console.log(
            `${path} (step ${ck.step}), ${split} split, ${record.examples} examples, M = ${reports[0].report.dimension}; J(w) = data loss + (λ/2)‖w‖², λ = ${weightDecay}, ∇²J = H + λI`,
          );
          for (const { which: w, report } of reports) {
            console.log(`${w}:`);
            for (const line of describe(report)) console.log(`  ${line}`);
          }
        }
        return 0;
      });
    });
  },
});
