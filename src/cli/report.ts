// `flatdist report RUN… --out DIR`: training runs side by side — loss, accuracy, consensus
// distance and (with --measure-every) curvature against steps, per algorithm (src/report/runs.ts).
import { command, onRun } from './command.js';

export const report = command({
  name: 'report',
  summary: 'draw training runs side by side: loss, accuracy, consensus distance and curvature against steps',
  define(cmd, ctx) {
    cmd
      .argument('<runs...>', 'run folders (the --out of flatdist train)')
      .requiredOption('--out <DIR>', 'where report.html, figures/ (SVG, PNG, Vega-Lite) and runs.json go')
      .option('--json', 'print the files written as JSON')
      .addHelpText(
        'after',
        '\nCurvature (Tr ∇²J, λ_max) is drawn for runs trained with --measure-every N. The page is self-contained.',
      );
    onRun(cmd, ctx, async (options, operands) => {
      // A variadic argument arrives as one list.
      const dirs = operands.flat();
      const { writeRunsReport } = await import('../report/runs.js');
      const files = await writeRunsReport(dirs, String(options.out));
      if (options.json) console.log(JSON.stringify(files));
      else console.log(`report of ${dirs.length} runs: ${files.html}`);
      return 0;
    });
  },
});
