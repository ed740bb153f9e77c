// `flatdist bench`: flatdist against PyTorch peers on the same work (training
// steps, Hessian-vector products, matrix products, memory), interleaved, medians.
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { derive, runBench, type BenchResults } from '../bench/harness.js';
import { report } from '../bench/report.js';
import { UserError } from '../errors.js';
import { getNumThreads } from '../tensor/index.js';
import { packageRoot } from '../util/package.js';
import type { Command } from './main.js';

const usage = 'usage: flatdist bench [--quick] [--json] [--threads N] [--repeats N] [--python PATH] [--no-save] [--readme] [--from RESULTS.json]';

const positiveInt = (v: string | undefined, name: string, fallback: number): number => {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UserError(`--${name} must be a whole number ≥ 1, got '${v}'`);
  return n;
};

/** The README section a run goes to: one for the default thread count, one per other count (bench:results-t2 …). */
const markers = (suffix: string): [string, string] => [`<!-- bench:results${suffix}:start -->`, `<!-- bench:results${suffix}:end -->`];

/** Replaces the results section of bench/README.md for this run's thread count with its report. */
function updateReadme(root: string, res: BenchResults, file: string, suffix: string): void {
  const [readmeStart, readmeEnd] = markers(suffix);
  const path = join(root, 'bench', 'README.md');
  const text = existsSync(path) ? readFileSync(path, 'utf8') : `# Benchmarks\n\n${readmeStart}\n${readmeEnd}\n`;
  const i = text.indexOf(readmeStart);
  const j = text.indexOf(readmeEnd);
  if (i < 0 || j < i) throw new UserError(`${path} has no ${readmeStart} … ${readmeEnd} section to update`);
  const section = [readmeStart, '', `Run of ${res.date.slice(0, 10)}${res.quick ? ' (--quick)' : ''}, saved as \`${file}\`:`, '', '```', report(res), '```', ''].join('\n');
  writeFileSync(path, text.slice(0, i) + section + text.slice(j));
}

export const bench: Command = {
  summary: 'throughput, Hessian-vector products and memory against PyTorch peers (--quick, --json)',
  async run(args) {
    let values;
    try {
      values = parseArgs({
        args,
        options: {
          quick: { type: 'boolean' },
          json: { type: 'boolean' },
          threads: { type: 'string' },
          repeats: { type: 'string' },
          python: { type: 'string' },
          'no-save': { type: 'boolean' },
          readme: { type: 'boolean' },
          from: { type: 'string' },
          help: { type: 'boolean', short: 'h' },
        },
        strict: true,
      }).values;
    } catch (e) {
      throw new UserError(`${(e as Error).message} — ${usage}`);
    }
    if (values.help) {
      console.log(`${usage}\n\nMeasures flatdist and PyTorch peers (bench/peers/peer.py) side by side; see bench/README.md.`);
      return 0;
    }
    const root = packageRoot();
    if (values.from !== undefined) {
      // Report a saved run again (e.g. into the README) without measuring.
      if (!existsSync(values.from)) throw new UserError(`--from: ${values.from} does not exist (saved runs are in bench/results/)`);
      const saved = derive(JSON.parse(readFileSync(values.from, 'utf8')) as BenchResults);
      if (values.readme) updateReadme(root, saved, values.from, saved.threads === getNumThreads() ? '' : `-t${saved.threads}`);
      console.log(values.json ? JSON.stringify(saved, null, 2) : report(saved));
      return 0;
    }
    const quick = values.quick ?? false;
    const python = values.python ?? '/usr/bin/python3';
    if (!existsSync(python)) throw new UserError(`the PyTorch peers need Python with torch: ${python} does not exist — pass --python PATH`);
    const threads = positiveInt(values.threads, 'threads', getNumThreads());
    // Runs at another thread count than flatdist's default are kept apart.
    const suffix = threads === getNumThreads() ? '' : `-t${threads}`;
    const res = await runBench({
      quick,
      threads,
      repeats: positiveInt(values.repeats, 'repeats', quick ? 3 : 7),
      runSeconds: quick ? 0.2 : 0.3,
      python,
      root,
      log: (m) => { if (!values.json) process.stderr.write(`bench: ${m}\n`); },
    });
    let file: string | null = null;
    if (!values['no-save']) {
      const dir = join(root, 'bench', 'results');
      mkdirSync(dir, { recursive: true });
      file = join('bench', 'results', `${res.date.slice(0, 10)}${quick ? '-quick' : ''}${suffix}.json`);
      writeFileSync(join(root, file), JSON.stringify(res, null, 2) + '\n');
    }
    if (values.readme) updateReadme(root, res, file ?? '(not saved)', suffix);
    if (values.json) console.log(JSON.stringify(res, null, 2));
    else console.log(report(res) + (file ? `\n\nsaved ${file}` : ''));
    return 0;
  },
};
