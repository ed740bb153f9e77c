// Topologies as plain data: K agents and the undirected edges between them.
// Neighbourhoods N_k include k itself, so n_k = |N_k| = degree_k + 1.
import { readFileSync } from 'node:fs';
import { ConfigError, DataError } from '../errors.js';
import { Generator, rand, scope } from '../tensor/index.js';
import { topologies, type TopologyName } from './names.js';

/** An undirected graph over agents 0..agents−1; every edge [l, k] has l < k, no self-loops, no repeats. */
export interface Graph {
  name: string;
  agents: number;
  edges: [number, number][];
}

function checkAgents(K: number, field = 'agents'): void {
  if (!Number.isInteger(K) || K < 1)
    throw new ConfigError(field, `needs a whole number ≥ 1 (at least one agent), got ${Number.isNaN(K) ? 'none' : K}`);
}

/** Edges normalized to l < k, without self-loops or repeats, in sorted order. */
function graphOf(name: string, agents: number, pairs: Iterable<[number, number]>): Graph {
  const seen = new Set<number>();
  const edges: [number, number][] = [];
  for (const [a, b] of pairs) {
    if (a === b) continue;
    const [l, k] = a < b ? [a, b] : [b, a];
    const key = l * agents + k;
    if (seen.has(key)) continue;
    seen.add(key);
    edges.push([l, k]);
  }
  edges.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  return { name, agents, edges };
}

const range = (n: number): number[] => Array.from({ length: Math.max(n, 0) }, (_, i) => i);

export function ring(K: number): Graph {
  checkAgents(K);
  return graphOf(
    'ring',
    K,
    range(K).map((k): [number, number] => [k, (k + 1) % K]),
  );
}

export function line(K: number): Graph {
  checkAgents(K);
  return graphOf(
    'line',
    K,
    range(K - 1).map((k): [number, number] => [k, k + 1]),
  );
}

/** Agent 0 is the hub. */
export function star(K: number): Graph {
  checkAgents(K);
  return graphOf(
    'star',
    K,
    range(K - 1).map((k): [number, number] => [0, k + 1]),
  );
}

export function complete(K: number): Graph {
  checkAgents(K);
  const pairs: [number, number][] = [];
  for (let l = 0; l < K; l++) for (let k = l + 1; k < K; k++) pairs.push([l, k]);
  return graphOf('complete', K, pairs);
}

function lattice(name: string, rows: number, cols: number, wrap: boolean): Graph {
  checkAgents(rows, 'rows');
  checkAgents(cols, 'cols');
  const at = (r: number, c: number): number => r * cols + c;
  const pairs: [number, number][] = [];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      if (c + 1 < cols || wrap) pairs.push([at(r, c), at(r, (c + 1) % cols)]);
      if (r + 1 < rows || wrap) pairs.push([at(r, c), at((r + 1) % rows, c)]);
    }
  }
  return graphOf(name, rows * cols, pairs);
}

/** A rows × cols lattice; agent r·cols + c sits at row r, column c. */
export const grid = (rows: number, cols: number): Graph => lattice('grid', rows, cols, false);
/** The grid with wrap-around links in both directions. */
export const torus = (rows: number, cols: number): Graph => lattice('torus', rows, cols, true);

const isPowerOfTwo = (K: number): boolean => Number.isInteger(K) && K >= 1 && (K & (K - 1)) === 0;

/** K = 2^d agents; l and k linked when their binary labels differ in one bit. */
export function hypercube(K: number): Graph {
  checkAgents(K);
  if (!isPowerOfTwo(K))
    throw new ConfigError('agents', `a hypercube needs a power of two agents (1, 2, 4, 8, …), got ${K}`);
  const pairs: [number, number][] = [];
  for (let k = 0; k < K; k++) for (let bit = 1; bit < K; bit <<= 1) pairs.push([k, k ^ bit]);
  return graphOf('hypercube', K, pairs);
}

/** The hops 2^0, 2^1, … below K that the exponential graphs use. */
export function exponentialHops(K: number): number[] {
  const hops: number[] = [];
  for (let h = 1; h < K; h *= 2) hops.push(h);
  return hops;
}

/** Agent k linked to k ± 2^i (mod K) for every 2^i < K. */
export function exponential(K: number): Graph {
  checkAgents(K);
  const pairs: [number, number][] = [];
  for (let k = 0; k < K; k++) for (const h of exponentialHops(K)) pairs.push([k, (k + h) % K]);
  return graphOf('exponential', K, pairs);
}

// A random graph is redrawn until connected; past this many draws the parameters
// are too sparse to be worth waiting for.
const maxDraws = 1000;

/** Each pair linked independently with probability p; seeded, redrawn until connected. */
export function erdosRenyi(K: number, p: number, seed: number): Graph {
  checkAgents(K);
  if (!(p >= 0 && p <= 1)) throw new ConfigError('p', `an edge probability needs 0 ≤ p ≤ 1, got ${p}`);
  const gen = new Generator(seed);
  for (let draw = 0; draw < maxDraws; draw++) {
    const u = scope(() => rand([K, K], gen, 'float64').toNumbers());
    const pairs: [number, number][] = [];
    for (let l = 0; l < K; l++) for (let k = l + 1; k < K; k++) if (u[l * K + k] < p) pairs.push([l, k]);
    const g = graphOf('erdos-renyi', K, pairs);
    if (isConnected(g)) return g;
  }
  throw new ConfigError(
    'p',
    `no connected Erdős–Rényi graph with K = ${K}, p = ${p} in ${maxDraws} draws — raise p (≈ ln K / K is the threshold)`,
  );
}

/** K points uniform in the unit square, linked when at most radius apart; seeded, redrawn until connected. */
export function randomGeometric(K: number, radius: number, seed: number): Graph {
  checkAgents(K);
  if (!(radius > 0)) throw new ConfigError('radius', `a link radius needs radius > 0, got ${radius}`);
  const gen = new Generator(seed);
  for (let draw = 0; draw < maxDraws; draw++) {
    const xy = scope(() => rand([K, 2], gen, 'float64').toNumbers());
    const pairs: [number, number][] = [];
    for (let l = 0; l < K; l++) {
      for (let k = l + 1; k < K; k++) {
        if (Math.hypot(xy[2 * l] - xy[2 * k], xy[2 * l + 1] - xy[2 * k + 1]) <= radius) pairs.push([l, k]);
      }
    }
    const g = graphOf('geometric', K, pairs);
    if (isConnected(g)) return g;
  }
  throw new ConfigError(
    'radius',
    `no connected random geometric graph with K = ${K}, radius = ${radius} in ${maxDraws} draws — raise the radius (≈ √(ln K / (πK)) is the threshold)`,
  );
}

/**
 * A user's edge list: JSON `[[l, k], …]` or CSV lines `l,k` (a header line and `#` comments
 * are skipped). Agents are 0-based; K is one past the largest label.
 */
export function fromEdgeList(path: string): Graph {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new DataError(
      path,
      `cannot read the edge list (${(e as NodeJS.ErrnoException).code ?? String(e)}) — give a JSON [[l, k], …] or CSV "l,k" file`,
    );
  }
  const pairs = text.trimStart().startsWith('[') ? parseJsonEdges(path, text) : parseCsvEdges(path, text);
  if (pairs.length === 0) throw new DataError(path, 'the edge list has no edges — give at least one pair l,k');
  const agents = 1 + Math.max(...pairs.flat());
  const g = graphOf(`file:${path}`, agents, pairs);
  validateGraph(g, path);
  return g;
}

const isLabel = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 0;

function parseJsonEdges(path: string, text: string): [number, number][] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new DataError(path, `not valid JSON (${(e as Error).message}) — expected [[l, k], …]`);
  }
  if (!Array.isArray(data)) throw new DataError(path, 'expected a JSON array of pairs [[l, k], …]');
  return data.map((pair: unknown, i): [number, number] => {
    if (!Array.isArray(pair) || pair.length !== 2 || !isLabel(pair[0]) || !isLabel(pair[1])) {
      throw new DataError(
        path,
        `entry ${i} is ${JSON.stringify(pair)}, expected a pair of agent labels [l, k] (integers ≥ 0)`,
      );
    }
    return [pair[0], pair[1]];
  });
}

function parseCsvEdges(path: string, text: string): [number, number][] {
  const pairs: [number, number][] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const row = raw.trim();
    if (row === '' || row.startsWith('#')) return;
    const cells = row.split(/[,;\s]+/);
    const [l, k] = cells.map(Number);
    if (cells.length !== 2 || !isLabel(l) || !isLabel(k)) {
      if (pairs.length === 0 && i === 0 && cells.some((c) => Number.isNaN(Number(c)))) return; // a header
      throw new DataError(path, `line ${i + 1} is "${row}", expected two agent labels "l,k" (integers ≥ 0)`);
    }
    pairs.push([l, k]);
  });
  return pairs;
}

/** Neighbour lists, each agent's own label excluded. */
export function adjacency(g: Graph): number[][] {
  const adj: number[][] = Array.from({ length: g.agents }, () => []);
  for (const [l, k] of g.edges) {
    adj[l].push(k);
    adj[k].push(l);
  }
  return adj;
}

/** N_k as sorted label lists, k itself included. */
export const neighbourhoods = (g: Graph): number[][] =>
  adjacency(g).map((nbrs, k) => [...nbrs, k].sort((a, b) => a - b));

/** Number of neighbours of each agent, not counting itself. */
export const degrees = (g: Graph): number[] => adjacency(g).map((nbrs) => nbrs.length);

/** n_k = |N_k| = degree + 1. */
export const neighbourhoodSizes = (g: Graph): number[] => degrees(g).map((d) => d + 1);

/** Agents reached from agent 0 by breadth-first search, in the order reached. */
function reachable(g: Graph): number[] {
  const adj = adjacency(g);
  const seen = new Uint8Array(g.agents);
  const order = [0];
  seen[0] = 1;
  for (let i = 0; i < order.length; i++) {
    for (const k of adj[order[i]]) {
      if (!seen[k]) {
        seen[k] = 1;
        order.push(k);
      }
    }
  }
  return order;
}

export const isConnected = (g: Graph): boolean => g.agents >= 1 && reachable(g).length === g.agents;

/** Throws unless g has ≥ 1 agent, well-formed edges and is connected. `field` names the source in errors. */
export function validateGraph(g: Graph, field = 'graph'): void {
  checkAgents(g.agents, field);
  const seen = new Set<number>();
  for (const [i, e] of g.edges.entries()) {
    const [l, k] = e;
    if (!isLabel(l) || !isLabel(k) || l >= g.agents || k >= g.agents) {
      throw new ConfigError(field, `edge ${i} is [${l}, ${k}]; agent labels run 0..${g.agents - 1}`);
    }
    if (l === k)
      throw new ConfigError(
        field,
        `edge ${i} is a self-loop at agent ${l}; N_k includes k already, list only links between distinct agents`,
      );
    const key = Math.min(l, k) * g.agents + Math.max(l, k);
    if (seen.has(key)) throw new ConfigError(field, `edge ${i} [${l}, ${k}] is listed twice`);
    seen.add(key);
  }
  if (!isConnected(g)) {
    const reached = new Set(reachable(g));
    const cut = range(g.agents).filter((k) => !reached.has(k));
    throw new ConfigError(
      field,
      `the graph is disconnected: agents ${listSome(cut)} cannot be reached from agent 0 — add edges joining them`,
    );
  }
}

const listSome = (xs: number[]): string =>
  xs.length <= 8 ? xs.join(', ') : `${xs.slice(0, 8).join(', ')}, … (${xs.length} in all)`;

/** The most square rows × cols = K factorization, rows ≤ cols. */
export function squarestRows(K: number): number {
  let rows = Math.floor(Math.sqrt(K));
  while (K % rows !== 0) rows--;
  return rows;
}

export { topologies, type TopologyName } from './names.js';

export interface GraphSpec {
  topology: string;
  agents: number;
  /** erdos-renyi and geometric; default 1 */
  seed?: number;
  /** erdos-renyi edge probability; default min(1, 2 ln K / K), twice the connectivity threshold */
  p?: number;
  /** geometric link radius; default √(2 ln K / (πK)), about twice the connectivity threshold */
  radius?: number;
  /** grid and torus; default the most square factorization of K */
  rows?: number;
  /** file: the edge list */
  file?: string;
}

interface Users {
  by: string[];
  what: string;
}

/** The topologies each optional parameter shapes: given with another topology it would be silently ignored. */
const parameterUsers = {
  p: { by: ['erdos-renyi'], what: 'an edge probability' },
  radius: { by: ['geometric'], what: 'a link radius' },
  rows: { by: ['grid', 'torus'], what: 'a number of rows' },
  file: { by: ['file'], what: 'an edge list' },
} satisfies Record<string, Users>;

/**
 * A graph by name. 'one-peer-exponential' is the exponential graph (the union of its
 * one-peer rounds); its time-varying weights come from onePeerExponential().
 */
export function makeGraph(spec: GraphSpec): Graph {
  const { topology, agents: K } = spec;
  if (!(topologies as readonly string[]).includes(topology)) {
    throw new ConfigError('topology', `unknown topology '${topology}' — one of: ${topologies.join(', ')}`);
  }
  if (topology !== 'file') checkAgents(K);
  for (const [parameter, { by, what }] of Object.entries(parameterUsers) as [keyof typeof parameterUsers, Users][]) {
    if (spec[parameter] !== undefined && !by.includes(topology))
      throw new ConfigError(
        parameter,
        `only ${by.map((t) => `'${t}'`).join(' and ')} ${by.length === 1 ? 'uses' : 'use'} ${what}, not '${topology}' — drop it or choose topology ${by.map((t) => `'${t}'`).join(' or ')}`,
      );
  }
  const seed = spec.seed ?? 1;
  switch (topology as TopologyName) {
    case 'ring':
      return ring(K);
    case 'line':
      return line(K);
    case 'star':
      return star(K);
    case 'complete':
      return complete(K);
    case 'grid':
    case 'torus': {
      const rows = spec.rows ?? squarestRows(K);
      if (!Number.isInteger(rows) || rows < 1 || K % rows !== 0) {
        throw new ConfigError(
          'rows',
          `${rows} rows do not divide ${K} agents — give rows that divide K (or leave it out)`,
        );
      }
      return topology === 'grid' ? grid(rows, K / rows) : torus(rows, K / rows);
    }
    case 'hypercube':
      return hypercube(K);
    case 'exponential':
      return exponential(K);
    case 'one-peer-exponential':
      return { ...exponential(K), name: 'one-peer-exponential' };
    case 'erdos-renyi':
      return erdosRenyi(K, spec.p ?? Math.min(1, (2 * Math.log(K)) / K), seed);
    case 'geometric':
      return randomGeometric(K, spec.radius ?? Math.sqrt((2 * Math.log(Math.max(K, 2))) / (Math.PI * K)), seed);
    case 'file': {
      if (!spec.file)
        throw new ConfigError(
          'file',
          'topology \'file\' needs the path of an edge list (JSON [[l, k], …] or CSV "l,k")',
        );
      const g = fromEdgeList(spec.file);
      if (Number.isInteger(K) && K >= 1 && K !== g.agents) {
        throw new ConfigError(
          'agents',
          `${K} agents asked for, but ${spec.file} has ${g.agents} (labels 0..${g.agents - 1})`,
        );
      }
      return g;
    }
  }
}
