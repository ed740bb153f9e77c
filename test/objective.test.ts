// The one objective J(w) = Σ_k p_k J_k(w) + (λ/2)‖w‖² (src/measures/risk.ts): its parts agree
// with each other, and every command reports the same J for the same point — minimize,
// measure and escape one J(w*), metrics.jsonl and measure one consensus distance.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Generator, randn, scope } from '../src/tensor/index.js';
import {
  agentRisk,
  centroid,
  centroids,
  consensusDistance,
  decayTerms,
  flat,
  globalRisk,
  hvp,
  risk,
  riskObjective,
  stackedScores,
} from '../src/measures/index.js';
import { makeConfig } from '../src/train/config.js';
import { prepare } from '../src/train/setup.js';
import { packageRoot } from '../src/util/package.js';

const close = (actual: number, expected: number, tol: number, what: string): void =>
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} vs ${expected} (tolerance ${tol})`);

// Unequal parts (Dirichlet label skew) and a non-uniform Perron vector (uniform rule on a star), λ > 0.
const setup = prepare(
  makeConfig({
    dataset: 'two-moons',
    trainSubset: 300,
    model: 'mlp',
    hidden: [5],
    activation: 'tanh',
    agents: 4,
    topology: 'star',
    rule: 'uniform',
    partition: 'dirichlet:0.5',
    weightDecay: 0.01,
  }),
);

test('J = Σ_k p_k J_k with p non-uniform and unequal parts; its data loss is J − (λ/2)‖w‖²; stacked scores agree', () =>
  scope(() => {
    assert.ok(
      new Set(setup.parts.map((p) => p.length)).size > 1 && new Set(setup.perron).size > 1,
      'unequal parts and weights',
    );
    const params = setup.model.init(3, new Generator(2), { sameInit: false, dtype: 'float64' });
    const one = params.map((t) => t.select(0, 1).contiguous());
    const J = risk(riskObjective(globalRisk(setup), 70), one);
    const Jk = setup.parts.map((_, k) => risk(riskObjective(agentRisk(setup, k)), one));
    close(
      J,
      Jk.reduce((s, j, k) => s + setup.perron[k] * j, 0),
      1e-13,
      'J = Σ p_k J_k',
    );
    const scores = stackedScores(globalRisk(setup), params);
    close(scores.risk[1], J, 1e-13, 'stacked J');
    close(scores.dataLoss[1], J - decayTerms(params, 0.01)[1], 1e-15, 'data loss');
    close(decayTerms(params, 0.01)[1], 0.005 * flat(one).square().sum().item(), 1e-15, '(λ/2)‖w‖²');
  }));

test('∇²J v = H v + λ v: the weight decay shifts the Hessian by λI exactly', () =>
  scope(() => {
    const w = setup.model.init(1, new Generator(4), { dtype: 'float64' }).map((t) => t.squeeze(0));
    const v = w.map((t) => randn(t.shape, new Generator(5), 'float64'));
    const withDecay = hvp(riskObjective(globalRisk(setup)), w, v);
    const without = hvp(riskObjective(globalRisk({ ...setup, config: { weightDecay: 0 } })), w, v);
    assert.ok(flat(withDecay).sub(flat(without)).sub(flat(v).mul(0.01)).abs().amax().item() < 1e-13);
  }));

test('a stratified subset of J has about maxExamples examples, every part represented, and estimates J', () =>
  scope(() => {
    const sub = globalRisk(setup, { maxExamples: 150, seed: 9 });
    assert.ok(Math.abs(sub.weights.length - 150) <= setup.parts.length);
    const owner = new Map(setup.parts.flatMap((part, k) => part.map((i) => [i, k] as const)));
    assert.deepEqual(new Set(Array.from(sub.index ?? [], (i) => owner.get(i))).size, setup.parts.length);
    close(
      sub.weights.reduce((a, b) => a + b, 0),
      sub.weights.length,
      1e-9,
      'weights n·ω_i average one',
    );
    const w = setup.model.init(1, new Generator(6)).map((t) => t.squeeze(0));
    close(risk(riskObjective(sub), w), risk(riskObjective(globalRisk(setup)), w), 0.1, 'subset estimate of J');
  }));

test('the centroid of identical agents is their common point exactly; replicas have their own centroids', () =>
  scope(() => {
    const one = [randn([1, 3, 2], new Generator(7))];
    const same = [one[0].repeat([5, 1, 1])];
    const p = [0.1, 0.3, 0.2, 0.15, 0.25];
    assert.equal(centroid(same, p)[0].sub(one[0].squeeze(0)).abs().amax().item(), 0);
    assert.equal(consensusDistance(same, p), 0);
    const two = [randn([2 * 5, 3, 2], new Generator(8), 'float64')];
    const [both] = centroids(two, p, 2);
    for (let r = 0; r < 2; r++) {
      const [alone] = centroid([two[0].narrow(0, 5 * r, 5)], p);
      assert.ok(both.select(0, r).sub(alone).abs().amax().item() < 1e-15);
    }
  }));

const cli = join(packageRoot(), 'bin', 'flatdist.js');
const scratch = mkdtempSync(join(tmpdir(), 'flatdist-objective-'));
test.after(() => rmSync(scratch, { recursive: true, force: true }));

function run(args: string[]): string {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, `${args[0]}: ${r.stderr}`);
  return r.stdout;
}

const data = [
  '--dataset',
  'gaussian-mixture',
  '--train-subset',
  '800',
  '--eval-subset',
  '300',
  '--model',
  'logistic',
  '--agents',
  '4',
  '--weight-decay',
  '1e-3',
  '--batch-size',
  '16',
  '--step-size',
  '0.2',
];
const lastLine = (dir: string): { objective: { weightDecay: number }; consensusDistance: number } =>
  JSON.parse(readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').pop()!);
const measured = (
  dir: string,
): {
  weightDecay: number;
  reports: {
    report: { consensusDistance: number; optimization: { risk: number; dataLoss: number; weightDecay: number } };
  }[];
} => JSON.parse(run(['measure', dir, '--measures', 'opt', '--json']));

test('metrics.jsonl and measure report one consensus distance for the same checkpoint (0 for centralized)', () => {
  for (const algorithm of ['centralized', 'consensus']) {
    const dir = join(scratch, algorithm);
    run(['train', ...data, '--algorithm', algorithm, '--steps', '30', '--eval-every', '30', '--out', dir, '--json']);
    const m = measured(dir).reports[0].report;
    assert.equal(m.consensusDistance, lastLine(dir).consensusDistance, algorithm);
    if (algorithm === 'centralized') assert.equal(m.consensusDistance, 0);
    else assert.ok(m.consensusDistance > 0);
    assert.equal(lastLine(dir).objective.weightDecay, 1e-3);
  }
});

test('minimize, measure and escape report one J(w*), and say it is the data loss + (λ/2)‖w‖² with λ', () => {
  const minimum = join(scratch, 'minimum');
  const min = JSON.parse(
    run(['minimize', '--init', join(scratch, 'centralized'), '--max-steps', '40', '--out', minimum, '--json']),
  ) as { risk: number; dataLoss: number; weightDecay: number };
  const meas = measured(minimum);
  const opt = meas.reports[0].report.optimization;
  const esc = JSON.parse(run(['escape', '--minimum', minimum, '--steps', '2', '--seeds', '2', '--json'])) as {
    objective: { risk: number; dataLoss: number; weightDecay: number; examples: number };
    evaluationExamples: number;
  };
  assert.equal(esc.objective.examples, 800);
  assert.ok(esc.evaluationExamples < 800, 'the curves are scored on a subset, J(w*) on every example');
  for (const [what, r] of [
    ['measure', opt],
    ['escape', esc.objective],
  ] as const) {
    close(r.risk, min.risk, 1e-6, `J(w*) in ${what}`);
    close(r.dataLoss, min.dataLoss, 1e-6, `data loss in ${what}`);
    assert.equal(r.weightDecay, 1e-3);
  }
  assert.equal(min.weightDecay, 1e-3);
  assert.ok(min.risk - min.dataLoss > 0, 'the decay term is in J');
  assert.equal(meas.weightDecay, 1e-3);
});
