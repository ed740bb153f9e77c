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
      .option('--json', "print results.json's verdicts instead of the summary");
    addFields(cmd, reproduceFields, { group: 'compute' }).addHelpText(
      'after',
      '\nAn interrupted run resumes from DIR/work/ without redoing finished units.',
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
      const flag = scale === 'quick' || scale === 'full' || scale === 'tiny' ? `--${scale}` : `--scale ${scale}`;
      const out = String(options.out);
      const json = options.json === true;
      const [{ reproduce: run }, { statusLabel }, { useDevice }] = await Promise.all([
        import('../experiments/reproduction.js'),
        import('../report/html.js'),
        import('../tensor/index.js'),
      ]);
      useDevice(device); // a device libtorch cannot see is refused before anything is written or said
      const progress = reporter({ quiet: json });
      const log = (m: string): void => {
        progress.end();
        progress.log(m);
      };
      log(`flatdist reproduce ${flag}: writing to ${out} (finished units in ${out}/work/ are reused)`);
      const dataDir = typeof options.dataDir === 'string' ? options.dataDir : undefined;
      const r = await run({
        scale,
        out,
        dataDir,
        device,
        command: `flatdist reproduce ${flag} --out ${out}${dataDir === undefined ? '' : ` --data-dir ${dataDir}`}${device === 'cpu' ? '' : ` --device ${device}`}`,
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
