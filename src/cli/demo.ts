// `flatdist demo`: centralized SGD, consensus and diffusion on MNIST over a ring
// of 8 agents, side by side — the README's first command.
import { parseArgs } from 'node:util';
import { UserError } from '../errors.js';
import { makeConfig } from '../train/config.js';
import { terminalProgress } from '../train/progress.js';
import { claimRunFolder, environment, writeRunRecord } from '../train/rundir.js';
import { prepare } from '../train/setup.js';
import { train, type Summary } from '../train/trainer.js';
import type { Command } from './main.js';

const algorithms = ['centralized', 'consensus', 'atc'] as const;
const label: Record<string, string> = { centralized: 'centralized', consensus: 'consensus', atc: 'diffusion (ATC)' };

export function comparisonTable(rows: Summary[]): string {
  const header = ['algorithm', 'test acc', 'test loss', 'train loss', 'consensus dist', 'seconds'];
  const body = rows.map((s) => [
    label[s.algorithm] ?? s.algorithm,
    `${(s.testAccuracy * 100).toFixed(2)}%`,
    s.testLoss.toFixed(4),
    s.trainLoss.toFixed(4),
    s.consensusDistance.toExponential(2),
    s.seconds.toFixed(1),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
  return [line(header), `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...body.map(line)].join('\n');
}

export const demo: Command = {
  summary: 'centralized vs consensus vs diffusion on MNIST over a ring of 8 agents',
  async run(args) {
    let values;
    try {
      values = parseArgs({ args, options: { steps: { type: 'string' }, out: { type: 'string' } }, strict: true }).values;
    } catch (e) {
      throw new UserError(`${(e as Error).message} — usage: flatdist demo [--steps N] [--out DIR] (replaces the runs of an earlier demo in DIR)`);
    }
    const base = makeConfig({ dataset: 'mnist', model: 'mlp', topology: 'ring', agents: 8, batchSize: 64, stepSize: 0.1, steps: values.steps ?? 300, evalEvery: 100, out: values.out ?? 'runs/demo' });
    console.log(`flatdist demo: MNIST, MLP 784-256-10, ring of ${base.agents} agents (Metropolis), B = ${base.batchSize} per agent, μ = ${base.stepSize}, ${base.steps} steps each\n`);
    const shared = prepare(base);
    const rows: Summary[] = [];
    for (const algorithm of algorithms) {
      const config = { ...base, algorithm, out: `${base.out}/${algorithm}` };
      const setup = { ...shared, config };
      // The demo's runs replace those of an earlier demo (never merged with them).
      const lock = claimRunFolder(config.out, { command: 'flatdist demo', resume: false, overwrite: true });
      try {
        writeRunRecord(config.out, { config, environment: environment(), graph: { topology: shared.graph.name, agents: base.agents, ...shared.spectrum }, labelHistogram: shared.labelHistogram, started: new Date().toISOString() });
        rows.push(await train(setup, { progress: terminalProgress(label[algorithm]) }));
      } finally {
        lock.release();
      }
    }
    console.log(`\n${comparisonTable(rows)}\n`);
    console.log(`Runs (metrics.jsonl, checkpoints) are in ${base.out}/. Next: flatdist train --help, flatdist reproduce --quick.`);
    return 0;
  },
};
