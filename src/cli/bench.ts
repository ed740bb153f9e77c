// `flatdist bench`: flatdist against PyTorch peers on the same work (training
// steps, Hessian-vector products, matrix products, memory), interleaved, medians.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { BenchResults } from '../bench/harness.js';
import { DataError, UserError } from '../errors.js';
import { makeFolder, readUserText, writeFileAtomic } from '../util/files.js';
import { packageRoot } from '../util/package.js';
import { runFields } from '../train/config.js';
import { field, integer, list, optional, text } from '../train/fields.js';
import { addFields, command, onRun, parseOptions } from './command.js';

const benchFields = {
  device: runFields.device,
  threads: field(optional(list(integer(1), 'thread count')), null, {
    placeholder: 'N[,N…]',
    description:
      "libtorch's intra-op threads for both sides (default libtorch's own count); several (1,2) run the whole benchmark once per count, one after the other, each saved and reported on its own",
  }),
  repeats: field(optional(integer(1)), null, {
    placeholder: 'N',
    description: 'interleaved repeats of each measurement (default 7, 3 with --quick)',
  }),
  python: field(text(), '/usr/bin/python3', {
    placeholder: 'PATH',
    description: 'Python with torch, for the PyTorch peers',
  }),
  from: field(optional(text()), null, {
    placeholder: 'FILE',
    description: 'report a saved run (bench/results/*.json) again instead of measuring',
  }),
};

/** The README section a run goes to: one for the default thread count, one per other count (bench:results-t2 …). */
const markers = (suffix: string): [string, string] => [
  `<!-- bench:results${suffix}:start -->`,
  `<!-- bench:results${suffix}:end -->`,
];

/** Replaces the results section of bench/README.md for this run's thread count with its report. */
function updateReadme(
  root: string,
  res: BenchResults,
  file: string,
  suffix: string,
  report: (r: BenchResults) => string,
): void {
  const [readmeStart, readmeEnd] = markers(suffix);
  const path = join(root, 'bench', 'README.md');
  const text = existsSync(path) ? readUserText(path) : `# Benchmarks\n\n${readmeStart}\n${readmeEnd}\n`;
  const i = text.indexOf(readmeStart);
  const j = text.indexOf(readmeEnd);
  if (i < 0 || j < i) throw new UserError(`${path} has no ${readmeStart} … ${readmeEnd} section to update`);
  const section = [
    readmeStart,
    '',
    `Run of ${res.date.slice(0, 10)}${res.quick ? ' (--quick)' : ''}, saved as \`${file}\`:`,
    '',
    '```',
    report(res),
    '```',
    '',
    '',
  ].join('\n');
  writeFileAtomic(path, text.slice(0, i) + section + text.slice(j));
}

/** What a saved run must hold for derive and report to read it (the rest is checked where it is read). */
const savedRun = z.looseObject({
  date: z.string(),
  quick: z.boolean(),
  threads: z.number().int().positive(),
  machine: z.record(z.string(), z.unknown()),
  sgemm: z.looseObject({ limit: z.number().nullable() }),
  train: z.array(
    z.looseObject({ model: z.string(), K: z.number(), B: z.number(), rates: z.record(z.string(), z.unknown()) }),
  ),
  hvp: z.looseObject({ rates: z.record(z.string(), z.unknown()) }),
  memory: z.array(z.unknown()),
});

/** A run saved by `flatdist bench` (bench/results/*.json), read back. */
function readSavedRun(path: string): BenchResults {
  const hint = 'a saved run is one of bench/results/*.json';
  let json: unknown;
  try {
    json = JSON.parse(readUserText(path, hint));
  } catch (e) {
    if (e instanceof SyntaxError) throw new DataError(path, `not JSON — ${hint}`);
    throw e;
  }
  const parsed = savedRun.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new DataError(
      path,
      `not a saved benchmark run (${issue.path.join('.') || 'the document'}: ${issue.message}) — ${hint}`,
    );
  }
  return parsed.data as unknown as BenchResults;
}

export const bench = command({
  name: 'bench',
  summary: 'throughput, Hessian-vector products and memory against PyTorch peers (--quick, --json)',
  define(cmd, ctx) {
    addFields(cmd.option('--quick', 'fewer sizes and repeats: about a minute'), benchFields, { group: 'bench' })
      .option('--no-save', 'do not write bench/results/DATE.json')
      .option('--readme', "write the report into bench/README.md's results section")
      .option('--json', 'print the results as JSON')
      .addHelpText(
        'after',
        '\nMeasures flatdist and PyTorch peers (bench/peers/peer.py) side by side, interleaved, medians; see bench/README.md.',
      );
    onRun(cmd, ctx, async (options) => {
      const o = parseOptions(z.strictObject(benchFields), options);
      const [{ derive, runBench }, { report }, { getNumThreads, useDevice }] = await Promise.all([
        import('../bench/harness.js'),
        import('../bench/report.js'),
        import('../tensor/index.js'),
      ]);
      const values = {
        ...o,
        quick: options.quick === true,
        json: options.json === true,
        save: options.save !== false,
        readme: options.readme === true,
      };
      const root = packageRoot();
      if (values.from !== null) {
        // Report a saved run again (e.g. into the README) without measuring.
        const saved = derive(readSavedRun(values.from));
        if (values.readme)
          updateReadme(root, saved, values.from, saved.threads === getNumThreads() ? '' : `-t${saved.threads}`, report);
        console.log(values.json ? JSON.stringify(saved, null, 2) : report(saved));
        return 0;
      }
      const quick = values.quick;
      const python = values.python;
      if (!existsSync(python))
        throw new UserError(`the PyTorch peers need Python with torch: ${python} does not exist — pass --python PATH`);
      // A device this libtorch lacks ends here, with one line, before any process starts.
      useDevice(values.device);
      const counts = values.threads ?? [getNumThreads()];
      const runs: BenchResults[] = [];
      for (const [i, threads] of counts.entries()) {
        if (i > 0 && !values.json) console.log('');
        runs.push(await benchAt(threads));
      }
      // One JSON document: the run, or the runs in the order of --threads.
      if (values.json) console.log(JSON.stringify(runs.length === 1 ? runs[0] : runs, null, 2));
      return 0;

      async function benchAt(threads: number): Promise<BenchResults> {
        // Runs at another thread count than flatdist's default are kept apart.
        const suffix = `${values.device === 'cpu' ? '' : `-${values.device.replace(':', '')}`}${threads === getNumThreads() ? '' : `-t${threads}`}`;
        const res = await runBench({
          quick,
          threads,
          device: values.device,
          repeats: values.repeats ?? (quick ? 3 : 7),
          runSeconds: quick ? 0.2 : 0.3,
          python,
          root,
          log: (m) => {
            if (!values.json) process.stderr.write(`bench: ${m}\n`);
          },
        });
        let file: string | null = null;
        if (values.save) {
          makeFolder(join(root, 'bench', 'results'));
          file = join('bench', 'results', `${res.date.slice(0, 10)}${quick ? '-quick' : ''}${suffix}.json`);
          writeFileAtomic(join(root, file), JSON.stringify(res, null, 2) + '\n');
        }
        if (values.readme) updateReadme(root, res, file ?? '(not saved)', suffix, report);
        if (!values.json) console.log(report(res) + (file ? `\n\nsaved ${file}` : ''));
        return res;
      }
    });
  },
});
