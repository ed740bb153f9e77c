// A training run's configuration: one schema holds each field once — its type,
// default, allowed values, unit and description. It validates configs (YAML, JSON,
// run.json, flags), and the command line derives its flags and help from it.
// Loads no libtorch: the names it checks against live apart from the tensor code.
import { readUserText } from '../util/files.js';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { algorithms } from '../algorithms/names.js';
import { DATASETS, parsePartition } from '../data/names.js';
import { ConfigError, UserError } from '../errors.js';
import { rules, topologies } from '../graph/names.js';
import { activations, modelNames } from '../models/names.js';
import { choice, field, flag, infoOf, integer, list, optional, parseFields, real, text, widths } from './fields.js';
import { parseSchedule, scheduleSpellings, type Schedule } from './schedule.js';

const torchscriptPrefix = 'torchscript:';
const data = 'data';
const model = 'model';
const network = 'agents and network';
const optimization = 'optimization';
const output = 'evaluation and output';
const curvature = 'curvature during training';

/** The curvature measures a run can record as it trains (src/train/curvature.ts). */
export const trainingMeasures = ['trace', 'eigs'] as const;

/** A partition spelling, checked by the partitioner's own parser. */
const partitionKind = text().superRefine((v, ctx) => {
  try {
    parsePartition(v);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    ctx.addIssue({ code: 'custom', message: e.detail, input: v });
  }
});

const scheduleKind = z.unknown().transform((v, ctx): Schedule => {
  try {
    return parseSchedule(v);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    ctx.addIssue({ code: 'custom', message: e.detail, input: v });
    return z.NEVER;
  }
});

/** An algorithm's name; 'diffusion' is another name for ATC. */
export const algorithmName = choice(algorithms, 'algorithm', { diffusion: 'atc' });

/** The fields of a run, in the order help lists them. */
export const runFields = {
  dataset: field(choice(DATASETS, 'dataset'), 'mnist', {
    group: data,
    placeholder: 'NAME',
    description: 'the data set',
    values: DATASETS,
  }),
  dataDir: field(optional(text()), null, {
    group: data,
    placeholder: 'DIR',
    resumable: true,
    description: "folder of the data set's files: required for cifar10, else the bundled copy",
  }),
  trainSubset: field(optional(integer(1)), null, {
    group: data,
    placeholder: 'N',
    unit: 'examples',
    description: 'train on N training examples drawn by the seed (default: all)',
  }),
  partition: field(partitionKind, 'iid', {
    group: data,
    placeholder: 'SPEC',
    description: 'how the training examples are split among the agents',
    values: ['iid', 'dirichlet[:α]', 'shards[:per agent]', 'quantity[:α]'],
  }),
  // A TorchScript module's path is kept absolute, so measure and --resume find it from any folder.
  model: field(
    text().transform((v) =>
      v.startsWith(torchscriptPrefix) ? torchscriptPrefix + resolve(v.slice(torchscriptPrefix.length)) : v,
    ),
    'mlp',
    {
      group: model,
      placeholder: 'NAME',
      description: 'the model',
      values: [...modelNames, 'resnet<6n+2>'],
    },
  ),
  hidden: field(widths(), [256], {
    group: model,
    placeholder: 'WIDTHS',
    unit: 'units',
    description: 'hidden layer widths of the MLP, e.g. 256 or 256,128',
  }),
  activation: field(choice(activations, 'activation'), 'relu', {
    group: model,
    placeholder: 'NAME',
    description: 'activation of the MLP and LeNet',
    values: activations,
  }),
  algorithm: field(algorithmName, 'atc', {
    group: network,
    placeholder: 'NAME',
    description: 'the strategy (diffusion = atc)',
    values: algorithms,
  }),
  agents: field(integer(1), 8, { group: network, placeholder: 'K', description: 'number of agents K' }),
  // Typed as text: a problem built on a given matrix names its graph 'given'.
  topology: field(
    choice(topologies, 'topology').transform((t): string => t),
    'ring',
    { group: network, placeholder: 'NAME', description: 'the graph of the agents', values: topologies },
  ),
  edges: field(optional(text()), null, {
    group: network,
    placeholder: 'FILE',
    description: 'edge list of topology file: JSON [[l, k], …] or CSV "l,k" lines',
  }),
  edgeProbability: field(optional(real({ above: 0, max: 1 })), null, {
    group: network,
    placeholder: 'P',
    description: 'erdos-renyi edge probability (default 2 ln K / K)',
  }),
  radius: field(optional(real({ above: 0 })), null, {
    group: network,
    placeholder: 'R',
    unit: 'unit square',
    description: 'geometric link radius (default √(2 ln K / (πK)))',
  }),
  rows: field(optional(integer(1)), null, {
    group: network,
    placeholder: 'R',
    description: 'rows of grid and torus, dividing K (default the most square)',
  }),
  rule: field(choice(rules, 'combination rule'), 'metropolis', {
    group: network,
    placeholder: 'RULE',
    description: 'combination rule giving the weights a_lk',
    values: rules,
  }),
  matrix: field(optional(text()), null, {
    group: network,
    placeholder: 'FILE',
    description: 'a combination matrix in place of the rule: JSON rows or CSV, a_lk in row l, column k',
  }),
  batchSize: field(integer(1), 64, {
    group: optimization,
    placeholder: 'B',
    unit: 'examples',
    description: 'batch size B of each agent',
  }),
  stepSize: field(real({ above: 0 }), 0.1, { group: optimization, placeholder: 'μ', description: 'step size μ' }),
  schedule: field(
    scheduleKind,
    { kind: 'constant' },
    { group: optimization, placeholder: 'SPEC', description: `step-size schedule: ${scheduleSpellings}` },
  ),
  momentum: field(real({ min: 0, below: 1 }), 0, {
    group: optimization,
    placeholder: 'β',
    description: 'heavy-ball momentum β, in [0, 1)',
  }),
  weightDecay: field(real({ min: 0 }), 0, {
    group: optimization,
    placeholder: 'λ',
    description: 'weight decay λ: J gains (λ/2)‖w‖²',
  }),
  clipNorm: field(optional(real({ above: 0 })), null, {
    group: optimization,
    placeholder: 'C',
    description: "clip each agent's gradient to norm C (default: no clipping)",
  }),
  steps: field(integer(1), 300, {
    group: optimization,
    placeholder: 'N',
    unit: 'steps',
    resumable: true,
    description: 'number of steps N',
  }),
  epochs: field(optional(real({ above: 0 })), null, {
    group: optimization,
    placeholder: 'E',
    unit: 'epochs',
    resumable: true,
    description: 'train for E passes instead: steps = ⌈E · n / (K·B)⌉',
  }),
  divergenceFactor: field(real({ above: 1 }), 1000, {
    group: optimization,
    placeholder: 'F',
    resumable: true,
    description:
      'stop as diverged when a loss exceeds F × the initial loss (or any loss or the consensus distance is not finite)',
  }),
  seed: field(integer(0), 1, {
    group: optimization,
    placeholder: 'S',
    description: 'fixes initialization, partition, batch order and noise',
  }),
  sameInit: field(flag(), true, {
    group: optimization,
    placeholder: 'BOOL',
    description: 'every agent starts from the same point (false: independent draws)',
  }),
  evalEvery: field(integer(1), 100, {
    group: output,
    placeholder: 'N',
    unit: 'steps',
    resumable: true,
    description: 'evaluate every N steps',
  }),
  evalSubset: field(integer(1), 10000, {
    group: output,
    placeholder: 'N',
    unit: 'examples',
    description: 'training examples the train metrics are computed on',
  }),
  checkpointEvery: field(integer(1), 100, {
    group: output,
    placeholder: 'N',
    unit: 'steps',
    resumable: true,
    description: 'save a checkpoint every N steps',
  }),
  keepCheckpoints: field(optional(integer(1)), null, {
    group: output,
    placeholder: 'N',
    resumable: true,
    description: "keep only the last N checkpoints (default: all); latest.json's is always kept",
  }),
  measureEvery: field(optional(integer(1)), null, {
    group: curvature,
    placeholder: 'N',
    unit: 'steps',
    description:
      'also record the curvature of the centroid in metrics.jsonl every N steps (default: never). Cost per model measured: ' +
      'trace --measure-probes HVPs, eigs a Krylov space of max(4·top-k, 40) HVPs; one HVP ≈ 2 gradients over --measure-subset examples',
  }),
  measures: field(list(choice(trainingMeasures, 'measure'), 'measure'), ['trace', 'eigs'], {
    group: curvature,
    placeholder: 'LIST',
    description: 'with --measure-every: Tr ∇²J (Hutchinson) and/or the top eigenvalues of ∇²J (Lanczos)',
    values: trainingMeasures,
  }),
  measureProbes: field(integer(1), 30, {
    group: curvature,
    placeholder: 'N',
    description: 'trace: most Rademacher probes',
  }),
  measureTopK: field(integer(1), 3, {
    group: curvature,
    placeholder: 'K',
    description: 'eigs: how many top eigenvalues',
  }),
  measureSubset: field(integer(1), 1000, {
    group: curvature,
    placeholder: 'N',
    unit: 'examples',
    description: "J's examples for the curvature: a stratified subset of N training examples",
  }),
  measureSeed: field(optional(integer(0)), null, {
    group: curvature,
    placeholder: 'S',
    description: "fixes the curvature's subset and probes, the same at every step (default: from --seed)",
  }),
  measureAgents: field(flag(), false, {
    group: curvature,
    placeholder: 'BOOL',
    description: 'measure every agent too, on the same J (K + 1 times the cost)',
  }),
  device: field(
    z
      .string({ error: (iss) => `must be text, got ${JSON.stringify(iss.input)}` })
      .regex(/^(cpu|cuda(:\d+)?)$/, { error: (iss) => `unknown device '${String(iss.input)}' — cpu, cuda or cuda:N` }),
    'cpu',
    {
      group: output,
      placeholder: 'DEVICE',
      values: ['cpu', 'cuda', 'cuda:N'],
      description: 'where tensors live and the computation runs (cuda: the first GPU libtorch sees)',
    },
  ),
  out: field(text(), 'runs/latest', {
    group: output,
    placeholder: 'DIR',
    resumable: true,
    description: 'the run directory (run.json, metrics.jsonl, checkpoints)',
  }),
};

export const runSchema = z.strictObject(runFields);

/** A run's configuration, as run.json records it. */
export type TrainConfig = z.output<typeof runSchema>;

export const defaults: TrainConfig = runSchema.parse({});

/**
 * Validate a partial config (from a file and/or flags; keys as batchSize or batch-size) over the defaults.
 * @throws ConfigError naming the field (as the schema spells it) and what is allowed.
 */
export const makeConfig = (partial: Record<string, unknown>): TrainConfig => parseFields(runSchema, partial);

/** The run fields `--resume` may change: those that only extend the run or shape its output (marked resumable). */
export const resumableFields = (Object.keys(runFields) as (keyof TrainConfig)[]).filter(
  (k) => infoOf(runFields[k]).resumable === true,
);

/** A field whose value differs between a recorded run and the one asked for. */
export interface FieldChange {
  field: keyof TrainConfig;
  from: unknown;
  to: unknown;
}

/**
 * The fields in which `next` differs from the recorded run, split into those a resume may change
 * (resumableFields) and those it may not.
 */
export function resumeChanges(
  recorded: TrainConfig,
  next: TrainConfig,
): { allowed: FieldChange[]; refused: FieldChange[] } {
  const changes = (Object.keys(runFields) as (keyof TrainConfig)[])
    .filter((k) => JSON.stringify(recorded[k]) !== JSON.stringify(next[k]))
    .map((k) => ({ field: k, from: recorded[k], to: next[k] }));
  return {
    allowed: changes.filter((c) => resumableFields.includes(c.field)),
    refused: changes.filter((c) => !resumableFields.includes(c.field)),
  };
}

/**
 * A YAML or JSON config file, as a partial config.
 * @throws UserError when it cannot be read or is not a mapping.
 */
export function readConfigFile(path: string): Record<string, unknown> {
  const text = readUserText(path);
  let value: unknown;
  try {
    value = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new UserError(
      `${path}: not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'} (${(e as Error).message.split('\n')[0]})`,
    );
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new UserError(`${path}: a config file must hold a mapping of field: value`);
  return value as Record<string, unknown>;
}
