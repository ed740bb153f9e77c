// `flatdist reproduce [--quick | --full] --out DIR [--data-dir CIFAR]`: test the paper's
// claims on real data and write a report (report.html, figures/, summary.md, results.json).
import { parseArgs } from 'node:util';
import { UserError } from '../errors.js';
import { reproduce } from '../experiments/reproduction.js';
import type { Scale } from '../experiments/scale.js';
import { statusLabel } from '../report/html.js';
import type { Command } from './main.js';

const usage = 'usage: flatdist reproduce [--quick | --full] --out DIR [--data-dir CIFAR10_DIR] [--json]';

export const reproduceCommand: Command = {
  summary: "test the paper's claims on real data and write a report (--quick ≈ 5 min, --full ≈ 90 min)",
  async run(args) {
    let values;
    try {
      values = parseArgs({ args, options: { quick: { type: 'boolean' }, full: { type: 'boolean' }, tiny: { type: 'boolean' }, out: { type: 'string' }, 'data-dir': { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, strict: true }).values;
    } catch (e) {
      throw new UserError(`${(e as Error).message} — ${usage}`);
    }
    if (values.help) {
      console.log(`${usage}\n\n  --quick     all four suites in about 5 minutes (default)\n  --full      more batch sizes, topologies, seeds and Fashion-MNIST: up to 90 minutes\n  --out DIR   where report.html, figures/, summary.md, results.json and work/ go\n  --data-dir  CIFAR-10 binary batches: adds CIFAR-10 to the full trade-off suite\n  --json      print results.json's verdicts instead of the summary\n\nAn interrupted run resumes from DIR/work/ without redoing finished units.`);
      return 0;
    }
    const chosen = [values.quick && 'quick', values.full && 'full', values.tiny && 'tiny'].filter(Boolean);
    if (chosen.length > 1) throw new UserError(`choose one of --quick and --full, not ${chosen.map((c) => `--${c}`).join(' and ')}`);
    if (!values.out) throw new UserError(`--out DIR is required — ${usage}`);
    const scale = (chosen[0] || 'quick') as Scale;
    const log = (m: string): void => { if (!values.json) console.error(m); };
    log(`flatdist reproduce --${scale}: writing to ${values.out} (finished units in ${values.out}/work/ are reused)`);
    const r = await reproduce({ scale, out: values.out, dataDir: values['data-dir'], command: ['flatdist', 'reproduce', ...args].join(' '), log });
    if (values.json) {
      console.log(JSON.stringify({ scale, seconds: r.results.seconds, computed: r.computed, reused: r.reused, verdicts: r.results.suites.map((s) => ({ suite: s.id, ...s.verdict })), files: r.files }, null, 2));
      return 0;
    }
    console.log('');
    for (const s of r.results.suites) console.log(`${s.title}: ${statusLabel[s.verdict.status].toUpperCase()} — ${s.verdict.statement}\n`);
    console.log(`${r.computed} units computed, ${r.reused} reused, ${r.results.seconds.toFixed(0)} s. Report: ${r.files.html}`);
    return 0;
  },
};
