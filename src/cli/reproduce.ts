// `flatdist reproduce [--scale quick|full|cnn|cnn-gpu] --out DIR [--data-dir CIFAR] [--device D]`: test the
// paper's claims on real data and write a report (report.html, figures/, summary.md, results.json).
// --quick, --full and --tiny are kept as the names of their scales.
import { Option } from 'commander';
import { z } from 'zod';
import { scales, type Scale } from '../experiments/scale.js';
import { runFields } from '../train/config.js';
import { addFields, command, onRun, parseOptions } from './command.js';
import { formatSeconds, reporter } from '../util/reporter.js';
import { measured } from './timings.js';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { osError } from '../util/files.js';

/** The flag that asks for a scale (--quick, --full and --tiny are the names of theirs). */
const scaleFlag = (scale: Scale): string =>
  scale === 'quick' || scale === 'full' || scale === 'tiny' ? `--${scale}` : `--scale ${scale}`;

/** What a reproduction leaves in its folder besides work/: what --overwrite replaces. */
const reportFiles = ['report.html', 'summary.md', 'results.json', 'figures'];

/**
 * The scale of the report already in `out`: null when there is none, 'not a reproduction'
 * for a report.html without results.json (flatdist report's).
 */
function earlierScale(out: string): string | null {
  const results = join(out, 'results.json');
  if (!existsSync(results)) return existsSync(join(out, 'report.html')) ? 'not a reproduction' : null;
  try {
    const scale = (JSON.parse(readFileSync(results, 'utf8')) as { scale?: unknown }).scale;
    return typeof scale === 'string' ? scale : 'unknown';
  } catch (e) {
    if (e instanceof SyntaxError) return 'unknown';
    throw osError(e, 'cannot read', results);
  }
}

const reproduceFields = { device: runFields.device };

export const reproduce = command({
  name: 'reproduce',
  summary: `test the paper's claims on real data and write a report (--quick ≈ ${measured.quickMinutes} min, --full ≈ ${measured.fullMinutes} min)`,
  define(cmd, ctx) {
    cmd
      .addOption(
        new Option(
          '--quick',
          `all four suites in about ${measured.quickMinutes === 1 ? 'a minute' : `${measured.quickMinutes} minutes`} (the default)`,
        ).conflicts(['full', 'tiny']),
      )
      .addOption(
        new Option(
          '--full',
          `more batch sizes, topologies, seeds and Fashion-MNIST: up to ${measured.fullMinutes} minutes`,
        ).conflicts(['tiny', 'scale']),
      )
      .addOption(new Option('--tiny', 'seconds, numbers meaningless (for tests)').hideHelp().conflicts('scale'))
      .addOption(
        new Option(
          '--scale <SCALE>',
          'quick | full (as --quick, --full); cnn: the trade-off suite on LeNet-5 over Fashion-MNIST, K = 16, four topologies against centralized, total batch 1024 and 8192, 3 seeds (under an hour on two cores); cnn-gpu: the same at full size, for --device cuda',
        )
          .choices(scales)
          .conflicts('quick'),
      )
      .requiredOption('--out <DIR>', 'where report.html, figures/, summary.md, results.json and work/ go')
      .option('--data-dir <DIR>', 'CIFAR-10 binary batches: adds CIFAR-10 to the full trade-off suite')
      .option(
        '--overwrite',
        "replace another scale's report in --out (report.html, summary.md, results.json, figures/)",
      )
      .option('--json', "print results.json's verdicts instead of the summary");
    addFields(cmd, reproduceFields, { group: 'compute' }).addHelpText(
      'after',
      "\nCtrl-C or SIGTERM stops it before the next unit (exit 130 or 143); run again, it resumes from DIR/work/ without redoing finished units; a folder holding another scale's report is refused without --overwrite.",
    );
    onRun(cmd, ctx, async (options) => {
      const { device } = parseOptions(z.strictObject(reproduceFields), options);
      const scale: Scale = options.full
        ? 'full'
        : options.tiny
          ? 'tiny'
          : typeof options.scale === 'string'
            ? (options.scale as Scale)
            : 'quick';
      const flag = scaleFlag(scale);
      const out = String(options.out);
      const json = options.json === true;
      const [{ reproduce: run }, { statusLabel }, { useDevice }] = await Promise.all([
        import('../experiments/reproduction.js'),
        import('../report/html.js'),
        import('../tensor/index.js'),
      ]);
      useDevice(device); // a device libtorch cannot see is refused before anything is written or said
      // The same scale resumes; another scale's report is replaced only when asked (its units in work/ stay).
      const earlier = earlierScale(out);
      const overwrite = options.overwrite === true;
      if (earlier !== null && earlier !== scale && !overwrite) {
        const present = reportFiles.filter((f) => existsSync(join(out, f))).join(', ');
        const known = (scales as readonly string[]).includes(earlier);
        throw new UserError(
          `${out} holds ${known ? `the ${earlier} scale's report` : `another report (${earlier})`} already (${present}) — ${known ? `resume it with ${scaleFlag(earlier as Scale)}, ` : ''}replace it with --overwrite, or give another --out`,
        );
      }
      const { claimRunFolder } = await import('../train/rundir.js');
      const claim =
        earlier !== null && (earlier !== scale || overwrite)
          ? claimRunFolder(out, { command: 'flatdist reproduce', resume: false, overwrite: true, files: reportFiles })
          : null;
      const progress = reporter({ quiet: json });
      const log = (m: string): void => {
        progress.end();
        progress.log(m);
      };
      log(`flatdist reproduce ${flag}: writing to ${out} (finished units in ${out}/work/ are reused)`);
      const dataDir = typeof options.dataDir === 'string' ? options.dataDir : undefined;
      const command = `flatdist reproduce ${flag} --out ${out}${dataDir === undefined ? '' : ` --data-dir ${dataDir}`}${device === 'cpu' ? '' : ` --device ${device}`}`;
      // SIGINT or SIGTERM stops before the next unit (a training unit after its current step): the lock is
      // released, finished units stay in work/, and the exit status is 128 + the signal's number.
      const stop = new AbortController();
      const statusOf = { SIGINT: 130, SIGTERM: 143 } as const;
      let caught: keyof typeof statusOf = 'SIGINT';
      const handlers = (Object.keys(statusOf) as (keyof typeof statusOf)[]).map((name) => {
        const handler = (): void => {
          caught = name;
          stop.abort();
        };
        process.once(name, handler);
        return [name, handler] as const;
      });
      const [{ WorkInterrupted }, { Interrupted }] = await Promise.all([
        import('../experiments/work.js'),
        import('../train/trainer.js'),
      ]);
      let r;
      try {
        r = await run({ scale, out, dataDir, device, command, log, progress: progress.update, signal: stop.signal });
      } catch (e) {
        if (!(e instanceof WorkInterrupted || e instanceof Interrupted)) throw e;
        progress.end();
        console.error(
          `flatdist: reproduce stopped by ${caught}; finished units are kept in ${out}/work/ — continue with: ${command}`,
        );
        if (json) console.log(JSON.stringify({ interrupted: { signal: caught, resume: command } }));
        return statusOf[caught];
      } finally {
        for (const [name, handler] of handlers) process.off(name, handler);
        claim?.release();
      }
      progress.end();
      if (json) {
        console.log(
          JSON.stringify(
            {
              scale,
              seconds: r.results.seconds,
              computed: r.computed,
              reused: r.reused,
              verdicts: r.results.suites.map((s) => ({ suite: s.id, ...s.verdict })),
              files: r.files,
            },
            null,
            2,
          ),
        );
        return 0;
      }
      console.log('');
      for (const s of r.results.suites)
        console.log(`${s.title}: ${statusLabel[s.verdict.status].toUpperCase()} — ${s.verdict.statement}\n`);
      console.log(
        `${r.computed} units computed, ${r.reused} reused; this run ${formatSeconds(r.results.seconds)}, all units ${formatSeconds(r.results.work.seconds)} of compute (earlier runs' included). Report: ${r.files.html}`,
      );
      return 0;
    });
  },
});
