// `flatdist graph`: build a topology and a combination matrix, and say how fast it mixes.
import { parseArgs } from 'node:util';
import { ConfigError, UserError } from '../errors.js';
import {
  combinationMatrix,
  degrees,
  fromMatrixFile,
  graphOfMatrix,
  makeGraph,
  onePeerExponential,
  onePeerPeriod,
  periodicMixingRate,
  rules,
  spectrum,
  topologies,
  type Graph,
  type Matrix,
} from '../graph/index.js';
import type { Command } from './main.js';

export interface GraphReport {
  agents: number;
  edges: number;
  topology: string;
  rule: string;
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
}

/** The graph, its combination matrix, and its spectrum. */
export function graphReport(o: GraphOptions): GraphReport {
  const topology = o.topology ?? (o.file !== undefined ? 'file' : o.matrix !== undefined ? undefined : 'ring');
  if (topology === 'one-peer-exponential') return onePeerReport(o);
  let g: Graph;
  let A: Matrix;
  let rule: string;
  if (o.matrix !== undefined) {
    if (o.rule !== undefined) throw new ConfigError('rule', '--rule and --matrix both give the weights — keep one');
    const given = topology === undefined ? undefined : makeGraph({ ...o, topology, agents: o.agents ?? Number.NaN });
    A = fromMatrixFile(o.matrix, given);
    g = given ?? graphOfMatrix(A, `matrix:${o.matrix}`);
    rule = `matrix:${o.matrix}`;
  } else {
    g = makeGraph({ ...o, topology: topology ?? 'ring', agents: o.agents ?? Number.NaN });
    rule = o.rule ?? 'metropolis';
    A = combinationMatrix(rule, g);
  }
  const s = spectrum(A);
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
    throw new ConfigError('rule', 'one-peer-exponential fixes its weights (each agent averages 1/2, 1/2 with one peer) — leave out --rule and --matrix');
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
  };
}

const usage = `usage: flatdist graph --topology NAME --agents K [--rule RULE] [options] [--json]

  --topology  ${topologies.join(', ')} (default ring)
  --agents    number of agents K
  --rule      ${rules.join(', ')} (default metropolis)
  --seed      seed of erdos-renyi and geometric (default 1)
  --p         erdos-renyi edge probability (default 2 ln K / K)
  --radius    geometric link radius (default √(2 ln K / (πK)))
  --rows      grid/torus rows (default the most square)
  --file      edge list, JSON [[l, k], …] or CSV "l,k" lines (topology file)
  --matrix    combination matrix, JSON rows or CSV, A[l][k] = a_{lk} (replaces --rule)
  --json      print {agents, edges, topology, rule, lambda, spectralGap, perron, doublyStochastic, matrix, …}`;

function number(field: string, raw: string | undefined, integer: boolean): number | undefined {
  if (raw === undefined) return undefined;
  const x = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(x) || (integer && !Number.isInteger(x))) {
    throw new ConfigError(field, `'${raw}' is not ${integer ? 'a whole number' : 'a number'}`);
  }
  return x;
}

const fmt = (x: number, digits = 6): string => (Math.abs(x) < 1e-12 ? '0' : x.toFixed(digits));

function summary(r: GraphReport): string {
  const [dmin, dmax] = [Math.min(...r.degrees), Math.max(...r.degrees)];
  const kind = r.doublyStochastic ? 'doubly stochastic' : r.leftStochastic ? 'left-stochastic' : 'not stochastic';
  const uniformPerron = r.perron.every((p) => Math.abs(p - 1 / r.agents) < 1e-9);
  const lines = [
    `${r.topology}: ${r.agents} agents, ${r.edges} edges, degree ${dmin === dmax ? dmin : `${dmin}–${dmax}`}`,
    `rule ${r.rule}: ${kind}${r.symmetric ? ', symmetric' : ''}`,
    `mixing rate λ = ρ(A − p1ᵀ) = ${fmt(r.lambda)}, spectral gap 1 − λ = ${fmt(r.spectralGap)}`,
    `Perron vector p = ${uniformPerron ? `1/${r.agents} (uniform)` : `[${r.perron.map((p) => fmt(p, 4)).join(', ')}]`}`,
  ];
  if (r.agents <= 12) lines.push('A =', ...r.matrix.map((row) => `  ${row.map((a) => (a === 0 ? '     .' : a.toFixed(3).padStart(6))).join(' ')}`));
  return lines.join('\n');
}

export const graph: Command = {
  summary: 'build a topology and combination matrix; print its mixing rate and Perron vector',
  run(args) {
    let values;
    try {
      ({ values } = parseArgs({
        args,
        strict: true,
        allowPositionals: false,
        options: {
          topology: { type: 'string' },
          agents: { type: 'string' },
          rule: { type: 'string' },
          seed: { type: 'string' },
          p: { type: 'string' },
          radius: { type: 'string' },
          rows: { type: 'string' },
          file: { type: 'string' },
          matrix: { type: 'string' },
          json: { type: 'boolean' },
          help: { type: 'boolean', short: 'h' },
        },
      }));
    } catch (e) {
      throw new UserError(`graph: ${(e as Error).message.split('\n')[0]} — see flatdist graph --help`);
    }
    if (values.help) {
      console.log(usage);
      return 0;
    }
    const report = graphReport({
      topology: values.topology,
      agents: number('agents', values.agents, true),
      rule: values.rule,
      seed: number('seed', values.seed, true),
      p: number('p', values.p, false),
      radius: number('radius', values.radius, false),
      rows: number('rows', values.rows, true),
      file: values.file,
      matrix: values.matrix,
    });
    console.log(values.json ? JSON.stringify(report) : summary(report));
    return 0;
  },
};
