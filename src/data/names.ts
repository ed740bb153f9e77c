// Dataset names and the partition spellings ("dirichlet:0.5"), apart from the readers
// and the partitioners so that a config can be checked (and --help written)
// without loading libtorch.
import { ConfigError } from '../errors.js';

export const DATASETS = [
  'mnist',
  'fashion-mnist',
  'cifar10',
  'gaussian-mixture',
  'two-moons',
  'teacher-student',
] as const;
export type DatasetName = (typeof DATASETS)[number];

export type PartitionSpec =
  | { kind: 'iid' }
  | { kind: 'dirichlet'; alpha: number }
  | { kind: 'shards'; shardsPerAgent: number }
  | { kind: 'quantity'; alpha: number };

export const PARTITION_KINDS = ['iid', 'dirichlet', 'shards', 'quantity'] as const;

/** Parse "iid", "dirichlet:0.5", "shards:2", "quantity:1" (defaults α = 0.5, s = 2). */
export function parsePartition(text: string): PartitionSpec {
  const [kind, arg, ...rest] = text.trim().split(':');
  const value = arg === undefined ? undefined : Number(arg);
  if (rest.length > 0 || (arg !== undefined && !Number.isFinite(value))) {
    throw new ConfigError(
      'partition',
      `cannot read "${text}": expected iid, dirichlet[:alpha], shards[:shardsPerAgent] or quantity[:alpha]`,
    );
  }
  switch (kind) {
    case 'iid':
      if (arg !== undefined) throw new ConfigError('partition', `iid takes no parameter, got "${text}"`);
      return { kind: 'iid' };
    case 'dirichlet':
      return { kind: 'dirichlet', alpha: value ?? 0.5 };
    case 'shards':
      return { kind: 'shards', shardsPerAgent: value ?? 2 };
    case 'quantity':
      return { kind: 'quantity', alpha: value ?? 0.5 };
    default:
      throw new ConfigError('partition', `unknown partition "${kind}"; allowed: ${PARTITION_KINDS.join(', ')}`);
  }
}
