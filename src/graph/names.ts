// Topology and combination-rule names, apart from the graph code so that a config
// can be checked (and --help written) without loading libtorch.
export const topologies = [
  'ring',
  'line',
  'star',
  'complete',
  'grid',
  'torus',
  'hypercube',
  'exponential',
  'one-peer-exponential',
  'erdos-renyi',
  'geometric',
  'file',
] as const;
export type TopologyName = (typeof topologies)[number];

export const rules = [
  'metropolis',
  'uniform',
  'laplacian',
  'lazy-metropolis',
  'lazy-uniform',
  'lazy-laplacian',
] as const;
export type RuleName = (typeof rules)[number];
