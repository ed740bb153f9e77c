// A graph's report: the topology, its combination matrix (a rule's or a user's) and
// its spectrum: mixing rate λ = ρ(A − p1ᵀ), spectral gap, Perron vector.
import { ConfigError } from '../errors.js';
import { combinationMatrix, fromMatrixFile, onePeerExponential, onePeerPeriod, type Matrix } from './matrix.js';
import { graphOfMatrix } from './validate.js';
import { mixingRate, periodicMixingRate, spectrum } from './spectrum.js';
import { degrees, makeGraph, type Graph } from './topology.js';
import type { OnProgress } from '../util/reporter.js';

export interface GraphReport {
  agents: number;
  edges: number;
  topology: string;
  rule: string;
  /** The mixing rate: ρ(A − p1ᵀ); for a time-varying graph, the per-step rate over one period (see `periodic`). */
  lambda: number;
  spectralGap: number;
  perron: number[];
  doublyStochastic: boolean;
  leftStochastic: boolean;
  symmetric: boolean;
  degrees: number[];
  edgeList: [number, number][];
  /** A[l][k] = a_{lk}; for the one-peer exponential graph, A at step 0 */
  matrix: Matrix;
  /**
   * A time-varying graph (one-peer exponential): its period τ, and ρ(A₀ − p1ᵀ) of step 0's matrix alone —
   * λ above is ρ(A₀A₁⋯A_{τ−1} − p1ᵀ)^{1/τ}, the rate per step over a whole period.
   */
  periodic?: { period: number; stepZeroRate: number };
}

export interface GraphOptions {
  topology?: string;
  agents?: number;
  rule?: string;
  seed?: number;
  p?: number;
  radius?: number;
  rows?: number;
  /** an edge list (topology 'file') */
  file?: string;
  /** a user combination matrix, in place of a rule */
  matrix?: string;
  /** Told at each phase (graph, combination matrix, spectrum): seconds each for thousands of agents. */
  onProgress?: OnProgress;
}

/** The graph, its combination matrix, and its spectrum. */
export function graphReport(o: GraphOptions): GraphReport {
  const topology = o.topology ?? (o.file !== undefined ? 'file' : o.matrix !== undefined ? undefined : 'ring');
  if (topology === 'one-peer-exponential') return onePeerReport(o);
  let g: Graph;
  let A: Matrix;
  let rule: string;
  const phase = (done: number, label: string): void => o.onProgress?.(done, 3, label);
  phase(0, 'graph and combination matrix');
  if (o.matrix !== undefined) {
    if (o.rule !== undefined) throw new ConfigError('rule', 'a rule and a matrix both give the weights — keep one');
    const given = topology === undefined ? undefined : makeGraph({ ...o, topology, agents: o.agents ?? Number.NaN });
    A = fromMatrixFile(o.matrix, given);
    g = given ?? graphOfMatrix(A, `matrix:${o.matrix}`);
    rule = `matrix:${o.matrix}`;
  } else {
    g = makeGraph({ ...o, topology: topology ?? 'ring', agents: o.agents ?? Number.NaN });
    rule = o.rule ?? 'metropolis';
    A = combinationMatrix(rule, g);
  }
  phase(2, `spectrum of the ${A.length}×${A.length} matrix`);
  const s = spectrum(A);
  phase(3, 'graph, matrix and spectrum');
  return { ...describe(g), rule, ...s, matrix: A };
}

const describe = (g: Graph): Pick<GraphReport, 'agents' | 'edges' | 'topology' | 'degrees' | 'edgeList'> => ({
  agents: g.agents,
  edges: g.edges.length,
  topology: g.name,
  degrees: degrees(g),
  edgeList: g.edges,
});

/**
 * The time-varying one-peer exponential graph: its weights are fixed (1/2, 1/2), λ is the
 * per-step rate over one period, and the matrix shown is step 0's.
 */
function onePeerReport(o: GraphOptions): GraphReport {
  if (o.rule !== undefined || o.matrix !== undefined) {
    throw new ConfigError(
      'rule',
      'one-peer-exponential fixes its weights (each agent averages 1/2, 1/2 with one peer) — give neither a rule nor a matrix',
    );
  }
  const g = makeGraph({ topology: 'one-peer-exponential', agents: o.agents ?? Number.NaN });
  const K = g.agents;
  const period = Array.from({ length: Math.max(onePeerPeriod(K), 1) }, (_, n) => onePeerExponential(K, n));
  const lambda = periodicMixingRate(period);
  return {
    ...describe(g),
    rule: 'one-peer',
    lambda,
    spectralGap: 1 - lambda,
    perron: new Array<number>(K).fill(1 / K),
    doublyStochastic: true,
    leftStochastic: true,
    symmetric: K <= 2,
    matrix: period[0],
    periodic: { period: period.length, stepZeroRate: mixingRate(period[0]) },
  };
}
