// `flatdist reproduce [--quick | --full] --out DIR [--data-dir CIFAR]`: test the paper's
// claims on real data and write a report (report.html, figures/, summary.md, results.json).
import { Option } from 'commander';
import type { Scale } from '../experiments/scale.js';
import { command, onRun } from './command.js';
import { formatSeconds, reporter } from '../util/reporter.js';
import { measured } from './timings.js';

export const reproduce = command({
  name: 'reproduce',
  summary: `test the paper's claims on real data and write a report (--quick ≈ ${measured.quickMinutes} min, --full ≈ ${measured.fullMinutes} min)`,
  define(cmd, ctx) {
    cmd
      .addOption(
        new Option('--quick', `all four suites in about ${measured.quickMinutes} minutes (the default)`).conflicts([
          'full',
          'tiny',
        ]),
      )
      .addOption(
        new Option(
          '--full',
          `more batch sizes, topologies, seeds and Fashion-MNIST: up to ${measured.fullMinutes} minutes`,
        ).conflicts('tiny'),
      )
      .addOption(new Option('--tiny', 'seconds, numbers meaningless (for tests)').hideHelp())
      .requiredOption('--out <DIR>', 'where report.html, figures/, summary.md, results.json and work/ go')
      .option('--data-dir <DIR>', 'CIFAR-10 binary batches: adds CIFAR-10 to the full trade-off suite')
      .option('--json', "print results.json's verdicts instead of the summary")
      .addHelpText('after', '\nAn interrupted run resumes from DIR/work/ without redoing finished units.');
    onRun(cmd, ctx, async (options) => {
      const scale: Scale = options.full ? 'full' : options.tiny ? 'tiny' : 'quick';
      const out = String(options.out);
      const json = options.json === true;
      const [{ reproduce: run }, { statusLabel }] = await Promise.all([
        import('../experiments/reproduction.js'),
        import('../report/html.js'),
      ]);
      const progress = reporter({ quiet: json });
      const log = (m: string): void => {
        progress.end();
        progress.log(m);
      };
      log(`flatdist reproduce --${scale}: writing to ${out} (finished units in ${out}/work/ are reused)`);
      const dataDir = typeof options.dataDir === 'string' ? options.dataDir : undefined;
      const r = await run({
        scale,
        out,
        dataDir,
        command: `flatdist reproduce --${scale} --out ${out}${dataDir === undefined ? '' : ` --data-dir ${dataDir}`}`,
        log,
        progress: progress.update,
      });
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
