// `flatdist measure`: flatness and optimization error at a checkpoint — the centroid, one
// agent or all of them — on the training or test data, each measure with its uncertainty
// and cost (Hessian-vector products, seconds). J here is the run's objective
// Σ_k p_k J_k(w) + (λ/2)‖w‖² (src/measures/risk.ts), computed in chunks, with exact HVPs.
// Each value carries two uncertainties apart: the estimator's (probes, residuals) and the data's
// (a jackknife over --data-groups random groups of the examples, src/measures/resampling.ts).
import { z } from 'zod';
import { ConfigError, DataError } from '../errors.js';
import type { DataUncertainty, Eigenvalues, MeasureReport, MeasureSpec, Objective } from '../measures/index.js';
import type { Tensor } from '../tensor/index.js';
import { choice, field, integer, list, optional, real, text } from '../train/fields.js';
import { runFields } from '../train/config.js';
import { addFields, command, onRun, parseOptions } from './command.js';
import { dirname, join } from 'node:path';
import { reporter } from '../util/reporter.js';
import { exponential } from '../util/format.js';

const measureNames = ['trace', 'eigs', 'density', 'gaussian', 'worst', 'slice1d', 'slice2d', 'opt'] as const;
const splits = ['train', 'test'] as const;
const spectrumEnds = ['largest', 'smallest', 'both'] as const;
const eigenMethods = ['lanczos', 'power'] as const;
const traceEstimators = ['hutchinson', 'hutch++'] as const;

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
    description:
      "a random subset of about N examples of the split, fixed by --seed (train: stratified over the agents' parts, each rounded, so a few more or fewer; default: all)",
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
      "J(w*) for the excess risk: a value, or a minimum's folder (default: the minimum's own when the checkpoint is one from flatdist minimize)",
  }),
  maxProbes: field(integer(1), 100, {
    placeholder: 'N',
    description:
      "trace: most Rademacher probes (Hutchinson; 4 share each pass over the data, holding 8·M numbers for M parameters beside the chunks' graphs, see --chunk), or the HVPs Hutch++ spends (at least 3)",
  }),
  traceEstimator: field(choice(traceEstimators, 'trace estimator'), 'hutchinson', {
    placeholder: 'NAME',
    description:
      'trace: hutchinson (E vᵀHv, probes until 2% standard error) or hutch++ (exact on a sketch of the top of the spectrum, Hutchinson on the rest: far smaller error when a few eigenvalues dominate)',
    values: traceEstimators,
  }),
  topK: field(integer(1), 5, { placeholder: 'K', description: 'eigs: how many eigenvalues at each end asked for' }),
  spectrumEnd: field(choice(spectrumEnds, 'spectrum end'), 'largest', {
    placeholder: 'END',
    description:
      'eigs: the largest eigenvalues, the smallest (most negative: the escape directions at a saddle), or both (not --which: that names the model)',
    values: spectrumEnds,
  }),
  eigMethod: field(choice(eigenMethods, 'eigenvalue method'), 'lanczos', {
    placeholder: 'NAME',
    description:
      'eigs: block Lanczos (block size K, right with repeated eigenvalues) or power iteration with deflation (as PyHessian; largest by magnitude)',
    values: eigenMethods,
  }),
  dataGroups: field(integer(2), 20, {
    placeholder: 'G',
    unit: 'groups',
    description:
      "the examples are split at random into G groups (at least; more when N/G exceeds --chunk) for the data's uncertainty, a delete-one-group jackknife",
  }),
  targetRelativeError: field(optional(real({ above: 0, below: 1 })), null, {
    placeholder: 'ε',
    description: 'also say about how many examples (and trace probes) a relative error ε of each value needs',
  }),
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
  chunk: field(integer(1), 1000, {
    placeholder: 'N',
    unit: 'examples',
    description:
      "examples per forward pass (at most N/G, one group of --data-groups); trace, eigs and density keep each chunk's forward and gradient graph for all their Hessian-vector products, up to 512 MiB by estimate (about 3× a chunk's activations each), and rebuild the chunks beyond it for every pass",
  }),
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

const cost = (c: { hvps: number; seconds: number }): string => `[${c.hvps} HVPs, ${c.seconds.toFixed(2)} s]`;

/** The data's uncertainty as "± se (data, G groups[, ~N examples for ε])", or nothing without groups. */
const fromData = (d: DataUncertainty | null, target: number | null): string =>
  d === null
    ? ''
    : d.resolved === false
      ? ` (data, ${d.groups} groups: not resolved, the probes' noise exceeds the spread over groups — more probes resolve it)`
      : ` ± ${d.stdError.toPrecision(2)} (data, ${d.groups} groups${
          d.examplesNeeded === undefined || target === null
            ? ''
            : d.examplesNeeded <= d.examples
              ? `; within ${target * 100}% already`
              : `; about ${d.examplesNeeded} examples for ${target * 100}%`
        })`;

function describeEigenvalues(e: Eigenvalues, target: number | null): string[] {
  const head = `${e.end} eigenvalues of ∇²J = H + λI (${e.method}${e.method === 'lanczos' ? `, block ${e.blockSize}, dimension ${e.iterations[0] ?? 0}` : ''}) ${cost(e.cost)}`;
  return [
    head,
    ...e.values.map(
      (v, i) =>
        `  ${v.toPrecision(6)} ± ${e.residuals[i].toPrecision(2)} (residual ‖Hv − θv‖${e.converged[i] ? '' : ', NOT CONVERGED'})${fromData(e.data[i], target)}`,
    ),
  ];
}

function describe(r: MeasureReport, target: number | null): string[] {
  const o = r.optimization;
  const lines = [
    `J(w) = ${o.risk.toPrecision(8)} (data loss ${o.dataLoss.toPrecision(8)} + (λ/2)‖w‖²), ‖∇J(w)‖ = ${exponential(o.gradientNorm, 3)}` +
      (r.optimization.excessRisk === null ? '' : `, excess risk ${exponential(r.optimization.excessRisk, 3)}`) +
      ` ${cost(r.optimization.cost)}`,
  ];
  if (r.consensusDistance !== undefined)
    lines.push(`consensus distance (1/K)Σ‖w_k − w_c‖² = ${exponential(r.consensusDistance, 3)}`);
  if (r.trace) {
    const t = r.trace;
    const by =
      t.estimator === 'hutch++'
        ? `Hutch++: rank ${t.rank} exact, ${t.probes} probes on the rest`
        : `${t.probes} Rademacher probes${t.converged === false ? ', NOT CONVERGED: standard error above 2% at --max-probes' : ''}`;
    const probes =
      t.probesNeeded === undefined || target === null
        ? ''
        : t.probesNeeded <= t.probes
          ? `; within ${target * 100}% already`
          : `; about ${t.probesNeeded} probes for ${target * 100}%`;
    lines.push(
      `Tr ∇²J = Tr(H + λI) = ${t.mean.toPrecision(6)} ± ${t.stdError.toPrecision(2)} (estimator, ${by}${probes})${fromData(t.data, target)} ${cost(t.cost)}`,
    );
  }
  for (const e of [r.eigenvalues, r.smallestEigenvalues]) if (e) lines.push(...describeEigenvalues(e, target));
  if (r.density)
    lines.push(
      `spectral density: mean eigenvalue ${r.density.meanEigenvalue.toPrecision(6)} ± ${r.density.meanEigenvalueStdError.toPrecision(2)}, ${r.density.grid.length} grid points (--json for the curve) ${cost(r.density.cost)}`,
    );
  if (r.gaussian)
    lines.push(
      `Gaussian sharpness of J (σ = ${r.gaussian.sigma}) = ${r.gaussian.mean.toPrecision(6)} ± ${r.gaussian.stdError.toPrecision(2)} (estimator, ${r.gaussian.samples} samples)${fromData(r.gaussian.data, target)} ${cost(r.gaussian.cost)}`,
    );
  if (r.worstCase)
    lines.push(
      `worst-case sharpness (‖δ‖ ≤ ${r.worstCase.radius.toPrecision(4)}) = ${r.worstCase.value.toPrecision(6)} (${r.worstCase.steps} ascent steps)${fromData(r.worstCase.data, target)} ${cost(r.worstCase.cost)}`,
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
          '',
          "Two uncertainties, apart: the estimator's (the probes' standard error for the trace and Gaussian sharpness, the",
          "residual ‖Hv − θv‖ for an eigenvalue) and the data's (± se over which examples: a delete-one-group jackknife over",
          '--data-groups random groups of them; it falls as 1/√N, so --target-relative-error ε says about how many examples',
          'ε needs). An eigenvalue whose residual is above 1e-3·‖H‖ is marked NOT CONVERGED (converged: false in --json), and',
          "so is Hutchinson's trace when its standard error is still above 2% of it at --max-probes. The data's error is",
          "'not resolved' (resolved: false) when the probes' noise exceeds its spread over groups: more probes resolve it.",
        ].join('\n'),
      );
    onRun(cmd, ctx, async (options, [path]) => {
      const o = parseOptions(z.strictObject(measureFields), options);
      const progress = reporter({ quiet: options.json === true });
      const [
        { existsSync },
        { scope, useDevice },
        { globalRisk, measure: run, risk, riskObjective, shuffledRisk, splitRisk },
        { checkCheckpoint, loadCheckpoint },
        { makeConfig },
        { prepare },
        { checkMinimum, loadMinimum, minimumFile },
        { deriveSeed },
        { examplesRecord },
      ] = await Promise.all([
        import('node:fs'),
        import('../tensor/index.js'),
        import('../measures/index.js'),
        import('../train/checkpoint.js'),
        import('../train/config.js'),
        import('../train/setup.js'),
        import('../escape/index.js'),
        import('../util/seed.js'),
        import('../train/parts.js'),
      ]);
      if (!existsSync(path)) throw new DataError(path, 'no such checkpoint file or run directory');
      const { which, split, seed, evalSubset, chunk } = o;
      if (o.traceEstimator === 'hutch++' && o.maxProbes < 3)
        throw new ConfigError('max-probes', `hutch++ spends at least 3 Hessian-vector products, got ${o.maxProbes}`);
      const wanted = new Set(o.measures);
      useDevice(o.device); // before the checkpoint's tensors are made
      const ck = loadCheckpoint(path);
      const setup = prepare(makeConfig({ ...(ck.config as Record<string, unknown>), device: o.device }));
      checkCheckpoint(ck, setup.model, setup.config.agents);
      const chosen = await targets(ck.params, ck.perron, which);
      return scope(() => {
        const weightDecay = setup.config.weightDecay;
        const examples = { maxExamples: evalSubset ?? undefined, seed: deriveSeed(seed, 'subset') };
        // In a random order, so that the objective's chunks are random groups of examples for the jackknife.
        const r = shuffledRisk(
          split === 'train' ? globalRisk(setup, examples) : splitRisk(setup.model, setup.test, weightDecay, examples),
          deriveSeed(seed, 'measure/groups'),
        );
        const objective: Objective = riskObjective(
          r,
          // ⌈n/G⌉ per chunk: G groups (⌊n/G⌋ left a small extra one: 21 groups of 1008 examples for G = 20).
          Math.max(1, Math.min(chunk, Math.ceil(r.weights.length / o.dataGroups))),
        );
        let reference: number | undefined;
        // A minimum's folder records J(w*): measuring the minimum itself, its J is the reference.
        const runFolder = existsSync(join(path, 'checkpoints')) ? path : dirname(dirname(path));
        const given = o.reference ?? (existsSync(minimumFile(runFolder)) ? runFolder : null);
        const referenceFrom =
          o.reference !== null ? `--reference ${o.reference}` : given !== null ? `the minimum ${given}` : null;
        if (given !== null) {
          const asNumber = Number(given);
          if (Number.isFinite(asNumber) && !existsSync(given)) reference = asNumber;
          else {
            const minimum = loadMinimum(given);
            checkMinimum(minimum, setup.model);
            reference = risk(objective, minimum.params);
          }
        }
        const target = o.targetRelativeError;
        const spec: MeasureSpec = {
          seed,
          reference,
          weightDecay,
          targetRelativeError: target ?? undefined,
          progress: progress.update,
        };
        if (wanted.has('trace')) spec.trace = { maxProbes: o.maxProbes, estimator: o.traceEstimator };
        if (wanted.has('eigs')) spec.eigenvalues = { k: o.topK, method: o.eigMethod, end: o.spectrumEnd };
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
          examplesUsed: examplesRecord(
            r,
            split,
            setup,
            `flatdist measure ${path} --split ${split}${evalSubset === null ? '' : ` --eval-subset ${evalSubset} --seed ${seed}`}`,
          ),
          objective: 'J(w) = data loss + (λ/2)‖w‖²',
          reference: referenceFrom,
          weightDecay,
          seed,
          // A TorchScript module runs as saved, its buffers (batch-norm statistics) fixed: the curvature is eval mode's.
          ...(setup.model.source ? { mode: 'eval', model: setup.model.source } : {}),
          dataGroups: objective.terms.filter((t) => t.data).length,
          targetRelativeError: target,
          reports,
        };
        // A bar still drawn would be redrawn over the report.
        progress.end();
        if (options.json) console.log(JSON.stringify(record));
        else {
          console.log(
            `${path} (step ${ck.step}), ${split} split, ${record.examples} examples, M = ${reports[0].report.dimension}; J(w) = data loss + (λ/2)‖w‖², λ = ${weightDecay}, ∇²J = H + λI`,
          );
          if (setup.model.source)
            console.log(
              `the TorchScript module ${setup.model.source.path} runs in eval mode (buffers such as batch-norm statistics fixed): the curvature is that of its eval-mode function`,
            );
          for (const { which: w, report } of reports) {
            console.log(`${w}:`);
            for (const line of describe(report, target)) console.log(`  ${line}`);
          }
          console.log(
            referenceFrom === null
              ? 'excess risk J(w) − J(w*): not known — no reference minimum (give --reference J or a minimum folder from flatdist minimize)'
              : `excess risk against J(w*) of ${referenceFrom}, on the same examples`,
          );
          progress.finish('measured');
        }
        return 0;
      });
    });
  },
});
