// Graphs, combination matrices and their spectra: the specification.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, DataError, UserError } from '../src/errors.js';
import {
  averaging,
  combinationMatrix,
  complete,
  degrees,
  erdosRenyi,
  exponential,
  fromEdgeList,
  fromMatrixFile,
  grid,
  hypercube,
  identity,
  isConnected,
  isDoublyStochastic,
  isLeftStochastic,
  isSymmetric,
  laplacian,
  lazy,
  line,
  makeGraph,
  metropolis,
  mixingRate,
  neighbourhoods,
  neighbourhoodSizes,
  onePeerExponential,
  onePeerPeriod,
  perronVector,
  periodicMixingRate,
  randomGeometric,
  ring,
  spectrum,
  star,
  torus,
  uniform,
  validateCombination,
  validateGraph,
  type Graph,
  type Matrix,
} from '../src/graph/index.js';
import { graph as graphCommand, type GraphReport } from '../src/cli/graph.js';
import { makeConfig } from '../src/train/config.js';
import { prepare } from '../src/train/setup.js';

const dir = mkdtempSync(join(tmpdir(), 'flatdist-graph-'));
const file = (name: string, text: string): string => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const close = (a: number, b: number, tol = 1e-12): void =>
  assert.ok(Math.abs(a - b) <= tol, `${a} ≠ ${b} (tolerance ${tol})`);
/** assert.throws with the error's class and a pattern its message must match. */
const throwsWith = (fn: () => unknown, kind: abstract new (...args: never[]) => Error, pattern: RegExp): void =>
  assert.throws(fn, (e: unknown) => e instanceof kind && pattern.test((e as Error).message));
const rejectsWith = (
  p: Promise<unknown>,
  kind: abstract new (...args: never[]) => Error,
  pattern: RegExp,
): Promise<void> => assert.rejects(p, (e: unknown) => e instanceof kind && pattern.test((e as Error).message));
const counts = (xs: number[]): Record<number, number> =>
  xs.reduce<Record<number, number>>((c, x) => ({ ...c, [x]: (c[x] ?? 0) + 1 }), {});

test('each topology has the edge count and degrees of its definition, and is connected', () => {
  const cases: [Graph, number, Record<number, number>][] = [
    [ring(8), 8, { 2: 8 }],
    [ring(2), 1, { 1: 2 }],
    [ring(1), 0, { 0: 1 }],
    [line(8), 7, { 1: 2, 2: 6 }],
    [star(8), 7, { 7: 1, 1: 7 }],
    [complete(8), 28, { 7: 8 }],
    [grid(3, 4), 3 * 3 + 2 * 4, { 2: 4, 3: 6, 4: 2 }],
    [torus(3, 4), 24, { 4: 12 }],
    [hypercube(16), 32, { 4: 16 }],
    // hops 1, 2, 4: ±1, ±2 and 4 (= −4) → 5 neighbours; with K = 16, ±1, ±2, ±4, 8 → 7
    [exponential(8), 20, { 5: 8 }],
    [exponential(16), 56, { 7: 16 }],
  ];
  for (const [g, edges, degreeCounts] of cases) {
    assert.equal(g.edges.length, edges, `${g.name} ${g.agents}: edges`);
    assert.deepEqual(counts(degrees(g)), degreeCounts, `${g.name} ${g.agents}: degrees`);
    assert.ok(isConnected(g), `${g.name} connected`);
    assert.ok(
      g.edges.every(([l, k]) => l < k),
      `${g.name}: l < k`,
    );
    validateGraph(g);
  }
  assert.deepEqual(neighbourhoods(star(4)), [
    [0, 1, 2, 3],
    [0, 1],
    [0, 2],
    [0, 3],
  ]);
  assert.deepEqual(neighbourhoodSizes(line(3)), [2, 3, 2]);
});

test('makeGraph builds by name, defaults grids to the most square shape, and names the bad field', () => {
  assert.deepEqual(makeGraph({ topology: 'grid', agents: 12 }), grid(3, 4));
  assert.deepEqual(makeGraph({ topology: 'torus', agents: 16, rows: 2 }), torus(2, 8));
  assert.deepEqual(makeGraph({ topology: 'hypercube', agents: 8 }), hypercube(8));
  assert.deepEqual(makeGraph({ topology: 'erdos-renyi', agents: 12, seed: 3, p: 0.4 }), erdosRenyi(12, 0.4, 3));
  assert.equal(makeGraph({ topology: 'one-peer-exponential', agents: 8 }).edges.length, exponential(8).edges.length);
  throwsWith(
    () => makeGraph({ topology: 'mesh', agents: 4 }),
    ConfigError,
    /^topology: unknown topology 'mesh' — one of: ring, line, .*erdos-renyi/,
  );
  throwsWith(() => makeGraph({ topology: 'grid', agents: 12, rows: 5 }), ConfigError, /^rows: /);
  throwsWith(() => makeGraph({ topology: 'hypercube', agents: 12 }), ConfigError, /^agents: .*power of two/);
  throwsWith(() => makeGraph({ topology: 'file', agents: 4 }), ConfigError, /^file: /);
  // A parameter of another topology would be silently ignored: each is refused, naming who uses it.
  throwsWith(
    () => makeGraph({ topology: 'ring', agents: 4, file: 'ring.csv' }),
    ConfigError,
    /^file: only 'file' uses an edge list, not 'ring'/,
  );
  throwsWith(() => makeGraph({ topology: 'ring', agents: 4, p: 0.5 }), ConfigError, /^p: only 'erdos-renyi' uses/);
  throwsWith(() => makeGraph({ topology: 'grid', agents: 4, radius: 0.5 }), ConfigError, /^radius: only 'geometric'/);
  throwsWith(
    () => makeGraph({ topology: 'exponential', agents: 4, rows: 2 }),
    ConfigError,
    /^rows: only 'grid' and 'torus' use a number of rows, not 'exponential'/,
  );
});

test('fewer than one agent is refused everywhere', () => {
  throwsWith(() => ring(0), ConfigError, /^agents: .*at least one agent/);
  throwsWith(() => makeGraph({ topology: 'complete', agents: -3 }), ConfigError, /^agents: /);
  throwsWith(() => makeGraph({ topology: 'ring', agents: 2.5 }), ConfigError, /^agents: /);
  throwsWith(() => validateCombination([]), ConfigError, /at least one agent/);
});

test('Metropolis–Hastings is symmetric and doubly stochastic, with weights only on edges', () => {
  for (const g of [star(6), grid(3, 4), line(5), erdosRenyi(15, 0.3, 7), randomGeometric(15, 0.4, 7)]) {
    const A = metropolis(g);
    validateCombination(A, g);
    assert.ok(isSymmetric(A), `${g.name} symmetric`);
    assert.ok(isDoublyStochastic(A), `${g.name} doubly stochastic`);
    const p = perronVector(A);
    for (const pk of p) close(pk, 1 / g.agents, 1e-12);
  }
  // a_{lk} = 1/max(n_k, n_l): on a star the hub has n = 6, so every link weighs 1/6
  const A = metropolis(star(6));
  close(A[0][3], 1 / 6);
  close(A[3][3], 5 / 6);
  close(A[0][0], 1 / 6);
});

test('uniform averaging is left-stochastic with Perron vector p_k = n_k / Σ n', () => {
  const g = star(5);
  const A = uniform(g);
  validateCombination(A, g);
  assert.ok(isLeftStochastic(A));
  assert.ok(!isDoublyStochastic(A));
  const n = neighbourhoodSizes(g);
  const total = n.reduce((a, b) => a + b, 0);
  perronVector(A).forEach((pk, k) => close(pk, n[k] / total));
  // A p = p, the defining property
  const p = perronVector(A);
  A.forEach((row, l) =>
    close(
      row.reduce((s, a, k) => s + a * p[k], 0),
      p[l],
    ),
  );
});

test('ring with Metropolis mixes at λ = max_{j≠0} |1/3 + 2/3 cos(2πj/K)|', () => {
  for (const K of [3, 5, 8, 16, 25]) {
    const A = metropolis(ring(K));
    const eig = Array.from({ length: K - 1 }, (_, i) => 1 / 3 + (2 / 3) * Math.cos((2 * Math.PI * (i + 1)) / K));
    close(mixingRate(A), Math.max(...eig.map(Math.abs)), 1e-12);
    // lazy(A) = (I + A)/2 shifts every eigenvalue μ to (1 + μ)/2
    close(mixingRate(lazy(A)), Math.max(...eig.map((m) => Math.abs((1 + m) / 2))), 1e-12);
  }
});

test('the complete graph with uniform averaging mixes in one step: λ = 0, A = 11ᵀ/K', () => {
  const A = uniform(complete(7));
  A.forEach((row, l) => row.forEach((a, k) => close(a, averaging(7)[l][k])));
  const s = spectrum(A);
  assert.ok(s.lambda < 1e-12, `λ = ${s.lambda}`);
  close(s.spectralGap, 1, 1e-12);
});

test('the Laplacian rule is I − L/n_max, and rules are found by name', () => {
  const g = grid(3, 3); // n_max = 5 at the centre
  const A = laplacian(g);
  validateCombination(A, g);
  assert.ok(isDoublyStochastic(A) && isSymmetric(A));
  close(A[4][1], 1 / 5);
  close(A[0][0], 1 - 2 / 5);
  close(A[4][4], 1 / 5);
  assert.deepEqual(combinationMatrix('laplacian', g), A);
  assert.deepEqual(combinationMatrix('lazy-uniform', g), lazy(uniform(g)));
  throwsWith(
    () => combinationMatrix('max-degree', g),
    ConfigError,
    /^rule: unknown combination rule 'max-degree' — one of: metropolis, uniform, laplacian, lazy-metropolis/,
  );
  throwsWith(() => combinationMatrix('lazy-toString', g), ConfigError, /^rule: /);
});

test('identity and averaging are the matrices of no and of full cooperation', () => {
  const I = identity(3);
  assert.deepEqual(I, [
    [1, 0, 0],
    [0, 1, 0],
    [0, 0, 1],
  ]);
  assert.ok(isDoublyStochastic(averaging(4)) && isDoublyStochastic(I));
});

test('bad combination matrices: each error says what is wrong and where', () => {
  throwsWith(
    () =>
      validateCombination([
        [1.5, 0],
        [-0.5, 1],
      ]),
    ConfigError,
    /entry \(1, 0\) is -0\.5: weights must be ≥ 0/,
  );
  throwsWith(
    () =>
      validateCombination([
        [0.5, 0.5],
        [0.4, 0.5],
      ]),
    ConfigError,
    /column 0 sums to 0\.9, not 1 \(tolerance 1e-9\)/,
  );
  throwsWith(
    () =>
      validateCombination([
        [1, 0, 0],
        [0, 1, 0],
      ]),
    ConfigError,
    /not square: row 0 has 3 entries, expected 2/,
  );
  throwsWith(() => validateCombination([[1, 0], [0]]), ConfigError, /not square: row 1 has 1 entries, expected 2/);
  throwsWith(() => validateCombination([[Number.NaN]]), ConfigError, /entry \(0, 0\) is NaN/);
  // weight between agents 0 and 2, which a line 0–1–2 does not link
  throwsWith(
    () => validateCombination(metropolis(complete(3)), line(3)),
    ConfigError,
    /entry \(0, 2\) is 0\.333.* agents 0 and 2 are not linked/,
  );
  throwsWith(
    () => validateCombination(metropolis(ring(4)), ring(5)),
    ConfigError,
    /is 4×4 but the graph 'ring' has 5 agents/,
  );
  // a disconnected matrix (the identity cooperates with no one), and a disconnected graph
  throwsWith(() => validateCombination(identity(3)), ConfigError, /disconnected/);
  const split: Graph = {
    name: 'two pairs',
    agents: 4,
    edges: [
      [0, 1],
      [2, 3],
    ],
  };
  throwsWith(() => validateGraph(split), ConfigError, /disconnected: agents 2, 3 cannot be reached from agent 0/);
  throwsWith(() => validateCombination(identity(4), split), ConfigError, /disconnected/);
  throwsWith(
    () => validateGraph({ name: 'g', agents: 3, edges: [[0, 3]] }),
    ConfigError,
    /edge 0 is \[0, 3\]; agent labels run 0\.\.2/,
  );
  throwsWith(() => validateGraph({ name: 'g', agents: 2, edges: [[1, 1]] }), ConfigError, /self-loop at agent 1/);
  // within the tolerance of 1e-9 a column sum is one
  validateCombination([
    [0.5 + 1e-10, 0.5],
    [0.5, 0.5],
  ]);
  throwsWith(
    () =>
      validateCombination([
        [0.5 + 1e-8, 0.5],
        [0.5, 0.5],
      ]),
    ConfigError,
    /column 0 sums to/,
  );
});

test('Erdős–Rényi and random geometric graphs are reproducible by seed and connected', () => {
  const a = erdosRenyi(20, 0.15, 42);
  assert.deepEqual(erdosRenyi(20, 0.15, 42), a);
  assert.notDeepEqual(erdosRenyi(20, 0.15, 43), a);
  assert.ok(isConnected(a));
  for (let seed = 0; seed < 5; seed++) assert.ok(isConnected(erdosRenyi(12, 0.2, seed)));
  const g = randomGeometric(20, 0.35, 42);
  assert.deepEqual(randomGeometric(20, 0.35, 42), g);
  assert.notDeepEqual(randomGeometric(20, 0.35, 43), g);
  assert.ok(isConnected(g));
  assert.equal(erdosRenyi(6, 1, 0).edges.length, 15);
  throwsWith(() => erdosRenyi(6, 0, 1), ConfigError, /^p: no connected Erdős–Rényi graph .* raise p/);
  throwsWith(() => erdosRenyi(6, 1.5, 1), ConfigError, /^p: /);
  throwsWith(() => randomGeometric(6, 0, 1), ConfigError, /^radius: /);
});

test('one-peer exponential: each step doubly stochastic, one period averages exactly when K = 2^d', () => {
  const K = 8;
  assert.equal(onePeerPeriod(K), 3);
  const steps = Array.from({ length: onePeerPeriod(K) }, (_, n) => onePeerExponential(K, n));
  for (const A of steps) {
    assert.ok(isDoublyStochastic(A));
    validateCombination(A, exponential(K)); // weights only on the exponential graph's edges
  }
  // agent k averages with agent k + 2^(n mod 3): at n = 4 the hop is 2
  assert.equal(onePeerExponential(K, 4)[(5 + 2) % K][5], 1 / 2);
  assert.deepEqual(onePeerExponential(K, 3), steps[0]);
  assert.equal(periodicMixingRate(steps), 0);
  const K6 = Array.from({ length: onePeerPeriod(6) }, (_, n) => onePeerExponential(6, n));
  const rate = periodicMixingRate(K6);
  assert.ok(rate > 0 && rate < 1, `K = 6: λ = ${rate}`);
  assert.deepEqual(onePeerExponential(1, 0), [[1]]);
});

test('edge lists and matrices from JSON and CSV files; bad files name the file and line', () => {
  const json = fromEdgeList(file('ring.json', '[[0, 1], [1, 2], [2, 3], [3, 0]]'));
  assert.deepEqual(json.edges, ring(4).edges);
  assert.equal(json.agents, 4);
  const csv = fromEdgeList(file('ring.csv', 'l,k\n0,1\n1,2\n# a comment\n2,3\n3,0\n'));
  assert.deepEqual(csv.edges, ring(4).edges);
  assert.deepEqual(makeGraph({ topology: 'file', agents: 4, file: join(dir, 'ring.csv') }).edges, ring(4).edges);
  throwsWith(
    () => makeGraph({ topology: 'file', agents: 5, file: join(dir, 'ring.csv') }),
    ConfigError,
    /^agents: 5 agents asked for/,
  );
  throwsWith(() => fromEdgeList(file('bad.csv', '0,1\n1,x\n')), DataError, /bad\.csv: line 2 is "1,x"/);
  throwsWith(() => fromEdgeList(file('bad.json', '[[0, 1], [2]]')), DataError, /bad\.json: entry 1 is \[2\]/);
  throwsWith(() => fromEdgeList(file('split.csv', '0,1\n2,3\n')), ConfigError, /split\.csv: the graph is disconnected/);
  throwsWith(
    () => fromEdgeList(join(dir, 'missing.csv')),
    DataError,
    /missing\.csv: cannot read the edge list \(ENOENT\)/,
  );

  const A: Matrix = metropolis(ring(4));
  assert.deepEqual(fromMatrixFile(file('A.json', JSON.stringify(A)), ring(4)), A);
  const fromCsv = fromMatrixFile(file('A.csv', A.map((row) => row.join(',')).join('\n')));
  assert.deepEqual(fromCsv, A);
  throwsWith(
    () => fromMatrixFile(file('neg.csv', '1.5,0\n-0.5,1\n')),
    ConfigError,
    /neg\.csv: entry \(1, 0\) is -0\.5/,
  );
  throwsWith(() => fromMatrixFile(file('text.csv', '1,0\n0,one\n')), DataError, /text\.csv: line 2, cell 2 is "one"/);
});

/** Runs `flatdist graph <args>` and returns what it printed. */
async function runGraph(args: string[]): Promise<string> {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...xs: unknown[]) => void lines.push(xs.join(' '));
  try {
    assert.equal(await graphCommand.run(args), 0);
  } finally {
    console.log = log;
  }
  return lines.join('\n');
}

test('flatdist graph --json prints the graph, its matrix and its spectrum', async () => {
  const out = JSON.parse(
    await runGraph(['--topology', 'ring', '--agents', '16', '--rule', 'metropolis', '--json']),
  ) as GraphReport;
  for (const key of [
    'agents',
    'edges',
    'topology',
    'rule',
    'lambda',
    'spectralGap',
    'perron',
    'doublyStochastic',
    'matrix',
  ])
    assert.ok(key in out, key);
  assert.equal(out.agents, 16);
  assert.equal(out.edges, 16);
  assert.equal(out.topology, 'ring');
  assert.equal(out.rule, 'metropolis');
  close(out.lambda, 1 / 3 + (2 / 3) * Math.cos((2 * Math.PI) / 16));
  close(out.spectralGap, 1 - out.lambda);
  out.perron.forEach((p) => close(p, 1 / 16));
  assert.equal(out.doublyStochastic, true);
  assert.deepEqual(out.matrix, metropolis(ring(16)));

  const star5 = JSON.parse(
    await runGraph(['--topology', 'star', '--agents', '5', '--rule', 'uniform', '--json']),
  ) as GraphReport;
  assert.equal(star5.doublyStochastic, false);
  close(star5.perron[0], 5 / 13);

  const text = await runGraph(['--topology', 'torus', '--agents', '12']);
  assert.match(
    text,
    /^torus: 12 agents, 24 edges, degree 4\nrule metropolis: doubly stochastic, symmetric\nmixing rate λ = /,
  );

  const fromMatrix = JSON.parse(await runGraph(['--matrix', join(dir, 'A.json'), '--json'])) as GraphReport;
  assert.equal(fromMatrix.edges, 4);
  close(fromMatrix.lambda, mixingRate(metropolis(ring(4))));

  const onePeer = JSON.parse(
    await runGraph(['--topology', 'one-peer-exponential', '--agents', '8', '--json']),
  ) as GraphReport;
  assert.equal(onePeer.lambda, 0);
  assert.deepEqual(onePeer.matrix, onePeerExponential(8, 0));
});

test('graph and train take the same graph flags and build the same matrix (--rows included)', async () => {
  const flags = { topology: 'grid', agents: 12, rows: 2, rule: 'metropolis' };
  const shown = JSON.parse(
    await runGraph(['--topology', 'grid', '--agents', '12', '--rows', '2', '--rule', 'metropolis', '--json']),
  ) as GraphReport;
  const trained = prepare(makeConfig({ dataset: 'mnist', trainSubset: 240, ...flags }));
  assert.deepEqual(trained.combination(0), shown.matrix);
  assert.deepEqual(shown.matrix, metropolis(grid(2, 6)));
  assert.notDeepEqual(shown.matrix, metropolis(grid(3, 4)), 'the rows were not the most square default');
});

test('flatdist graph refuses unknown flags and bad values with a one-line UserError', async () => {
  await rejectsWith(graphCommand.run(['--agents', '4', '--bogus']), UserError, /^graph: Unknown option '--bogus'/);
  await rejectsWith(graphCommand.run(['--agents', 'four']), ConfigError, /^agents: 'four' is not a whole number/);
  await rejectsWith(graphCommand.run(['--topology', 'ring']), ConfigError, /^agents: /);
  await rejectsWith(
    graphCommand.run(['--agents', '4', '--rule', 'best']),
    ConfigError,
    /^rule: unknown combination rule 'best'/,
  );
  await rejectsWith(
    graphCommand.run(['--topology', 'one-peer-exponential', '--agents', '8', '--rule', 'uniform']),
    ConfigError,
    /^rule: one-peer-exponential fixes its weights/,
  );
});

test('graph names what the one-peer exponential rate is: per step over a period, beside step 0 alone (cos(π/8) for K = 8)', async () => {
  const report = JSON.parse(
    await runGraph(['--topology', 'one-peer-exponential', '--agents', '8', '--json']),
  ) as GraphReport;
  assert.equal(report.periodic?.period, 3);
  close(report.periodic?.stepZeroRate ?? Number.NaN, Math.cos(Math.PI / 8), 1e-9);
  const text = await runGraph(['--topology', 'one-peer-exponential', '--agents', '8']);
  assert.match(text, /mixing rate per step over a period of τ = 3 steps: λ = ρ\(A₀A₁⋯A_\{τ−1\} − p1ᵀ\)\^\{1\/τ\} = 0,/);
  assert.match(text, /step 0's matrix alone \(shown below\): ρ\(A₀ − p1ᵀ\) = 0\.923880/);
  assert.doesNotMatch(text, /λ = ρ\(A − p1ᵀ\)/);
});
