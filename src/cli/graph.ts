// `flatdist graph`: build a topology and a combination matrix, and say how fast it mixes.
// Graph options are spelled as train spells them (--edges, --edge-probability).
import { z } from 'zod';
import { reporter } from '../util/reporter.js';
import type { GraphReport } from '../graph/report.js';
import { runFields } from '../train/config.js';
import { ConfigError } from '../errors.js';
import { field, infoOf, integer, optional } from '../train/fields.js';
import { addFields, command, onRun, parseOptions } from './command.js';

export type { GraphReport } from '../graph/report.js';

const graphFields = {
  topology: field(optional(runFields.topology.unwrap()), null, {
    ...infoOf(runFields.topology),
    description: 'the graph of the agents (default ring; file with --edges)',
  }),
  agents: field(optional(integer(1)), null, {
    ...infoOf(runFields.agents),
    description: 'number of agents K (required unless --matrix gives it)',
  }),
  rule: field(optional(runFields.rule.unwrap()), null, {
    ...infoOf(runFields.rule),
    description: 'combination rule giving the weights a_lk (default metropolis)',
  }),
  seed: field(integer(0), 1, {
    placeholder: 'S',
    description: "the run's seed: erdos-renyi and geometric draw the graph train draws with it",
  }),
  edgeProbability: runFields.edgeProbability,
  radius: runFields.radius,
  rows: runFields.rows,
  edges: runFields.edges,
  matrix: runFields.matrix,
};
const graphSchema = z.strictObject(graphFields);

const fmt = (x: number, digits = 6): string => (Math.abs(x) < 1e-12 ? '0' : x.toFixed(digits));

function summary(r: GraphReport): string {
  const [dmin, dmax] = [Math.min(...r.degrees), Math.max(...r.degrees)];
  const kind = r.doublyStochastic ? 'doubly stochastic' : r.leftStochastic ? 'left-stochastic' : 'not stochastic';
  const uniformPerron = r.perron.every((p) => Math.abs(p - 1 / r.agents) < 1e-9);
  const lines = [
    `${r.topology}: ${r.agents} agents, ${r.edges} edges, degree ${dmin === dmax ? dmin : `${dmin}–${dmax}`}`,
    `rule ${r.rule}: ${kind}${r.symmetric ? ', symmetric' : ''}`,
    ...(r.periodic
      ? [
          `mixing rate per step over a period of τ = ${r.periodic.period} steps: λ = ρ(A₀A₁⋯A_{τ−1} − p1ᵀ)^{1/τ} = ${fmt(r.lambda)}, spectral gap 1 − λ = ${fmt(r.spectralGap)}`,
          `step 0's matrix alone (shown below): ρ(A₀ − p1ᵀ) = ${fmt(r.periodic.stepZeroRate)}`,
        ]
      : [`mixing rate λ = ρ(A − p1ᵀ) = ${fmt(r.lambda)}, spectral gap 1 − λ = ${fmt(r.spectralGap)}`]),
    `Perron vector p = ${uniformPerron ? `1/${r.agents} (uniform)` : `[${r.perron.map((p) => fmt(p, 4)).join(', ')}]`}`,
  ];
  if (r.agents <= 12)
    lines.push(
      'A =',
      ...r.matrix.map((row) => `  ${row.map((a) => (a === 0 ? '     .' : a.toFixed(3).padStart(6))).join(' ')}`),
    );
  return lines.join('\n');
}

export const graph = command({
  name: 'graph',
  summary: 'build a topology and combination matrix; print its mixing rate and Perron vector',
  define(cmd, ctx) {
    addFields(cmd, graphFields, { group: 'graph' })
      .option(
        '--json',
        'print {agents, edges, topology, rule, lambda, spectralGap, perron, doublyStochastic, matrix, …}',
      )
      .addHelpText('after', "\nWith --matrix alone the graph is the matrix's support.");
    onRun(cmd, ctx, async (options) => {
      const o = parseOptions(graphSchema, options);
      const progress = reporter({ quiet: options.json === true });
      if (o.agents === null && o.matrix === null)
        throw new ConfigError('agents', 'is required (or a --matrix, whose size is K)');
      const [{ graphReport }, { deriveSeed }] = await Promise.all([
        import('../graph/report.js'),
        import('../util/seed.js'),
      ]);
      const report = graphReport({
        topology: o.topology ?? undefined,
        agents: o.agents ?? undefined,
        rule: o.rule ?? undefined,
        seed: deriveSeed(o.seed, 'graph'),
        p: o.edgeProbability ?? undefined,
        radius: o.radius ?? undefined,
        rows: o.rows ?? undefined,
        file: o.edges ?? undefined,
        matrix: o.matrix ?? undefined,
        onProgress: progress.update,
      });
      progress.end();
      console.log(options.json ? JSON.stringify(report) : summary(report));
      return 0;
    });
  },
});
