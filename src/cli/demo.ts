// `flatdist demo`: centralized SGD, consensus and diffusion on MNIST over a ring
// of 8 agents, side by side — the README's first command.
import { z } from 'zod';
import { makeConfig, runFields } from '../train/config.js';
import { field, infoOf } from '../train/fields.js';
import type { Summary } from '../train/trainer.js';
import { addFields, command, onRun, parseOptions } from './command.js';
import { exponential } from '../util/format.js';

const algorithms = ['centralized', 'consensus', 'atc'] as const;
const label: Record<string, string> = { centralized: 'centralized', consensus: 'consensus', atc: 'diffusion (ATC)' };

export function comparisonTable(rows: Summary[]): string {
  const header = ['algorithm', 'test acc', 'test loss', 'train loss', 'consensus dist', 'seconds'];
  const body = rows.map((s) => [
    label[s.algorithm] ?? s.algorithm,
    `${(s.testAccuracy * 100).toFixed(2)}%`,
    s.testLoss.toFixed(4),
    s.trainLoss.toFixed(4),
    exponential(s.consensusDistance, 2),
    s.seconds.toFixed(1),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (cells: string[]): string =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
  return [
    line(header),
    `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`,
    ...body.map(line),
  ].join('\n');
}

const demoFields = {
  steps: runFields.steps,
  out: field(runFields.out.unwrap(), 'runs/demo', {
    ...infoOf(runFields.out),
    description: 'folder of the three runs (DIR/centralized, DIR/consensus, DIR/atc)',
  }),
};

export const demo = command({
  name: 'demo',
  summary: 'centralized vs consensus vs diffusion on MNIST over a ring of 8 agents',
  define(cmd, ctx) {
    addFields(cmd, demoFields, { group: 'demo' })
      .option('--json', "print the three runs' summaries as JSON instead of the progress and the table")
      .addHelpText(
        'after',
        '\nThe three runs share the data, partition and initial point; each prints its progress, then one table compares them.',
      );
    onRun(cmd, ctx, async (options) => {
      const o = parseOptions(z.strictObject(demoFields), options);
      const json = options.json === true;
      const [
        { terminalProgress, silentProgress },
        { claimRunFolder, runRecord, writeRunRecord },
        { prepare },
        { train },
        { partsRecord },
      ] = await Promise.all([
        import('../train/progress.js'),
        import('../train/rundir.js'),
        import('../train/setup.js'),
        import('../train/trainer.js'),
        import('../train/parts.js'),
      ]);
      const base = makeConfig({
        dataset: 'mnist',
        model: 'mlp',
        topology: 'ring',
        agents: 8,
        batchSize: 64,
        stepSize: 0.1,
        steps: o.steps,
        evalEvery: 100,
        out: o.out,
      });
      if (!json)
        console.log(
          `flatdist demo: MNIST, MLP 784-256-10, ring of ${base.agents} agents (Metropolis), B = ${base.batchSize} per agent, μ = ${base.stepSize}, ${base.steps} steps each\n`,
        );
      const shared = prepare(base);
      const rows: Summary[] = [];
      for (const algorithm of algorithms) {
        const config = { ...base, algorithm, out: `${base.out}/${algorithm}` };
        const setup = { ...shared, config };
        // The demo's runs replace those of an earlier demo (never merged with them).
        const lock = claimRunFolder(config.out, { command: 'flatdist demo', resume: false, overwrite: true });
        try {
          writeRunRecord(config.out, runRecord(setup, { parts: partsRecord(setup) }));
          rows.push(await train(setup, { progress: json ? silentProgress : terminalProgress(label[algorithm]) }));
        } finally {
          lock.release();
        }
      }
      if (json) {
        console.log(JSON.stringify(rows));
        return 0;
      }
      console.log(`\n${comparisonTable(rows)}\n`);
      console.log(
        `Runs (metrics.jsonl, checkpoints) are in ${base.out}/. Next: flatdist train --help, flatdist reproduce --quick.`,
      );
      return 0;
    });
  },
});
