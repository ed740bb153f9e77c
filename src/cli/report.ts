// `flatdist report RUN… --out DIR`: training runs side by side — loss, accuracy, consensus
// distance and (with --measure-every) curvature against steps, per algorithm (src/report/runs.ts).
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UserError } from '../errors.js';
import { command, onRun } from './command.js';

/** What a runs report leaves in its folder: what --overwrite replaces. */
const reportFiles = ['report.html', 'runs.json', 'figures'];

/**
 * The run folders the operands name: a run folder itself, or a folder holding runs (each of its
 * subfolders with a run.json and metrics.jsonl, in name order). A folder holding neither is left for readRuns to refuse.
 * @throws UserError when a run is named twice
 */
async function runFolders(operands: string[]): Promise<string[]> {
  const { listFolder } = await import('../util/files.js');
  const isRun = (dir: string): boolean => existsSync(join(dir, 'run.json'));
  const dirs = operands.flatMap((dir) => {
    if (isRun(dir)) return [dir];
    // Training runs only: a minimum (flatdist minimize) has a run.json but no metrics.
    const held = listFolder(dir)
      .sort()
      .map((name) => join(dir, name))
      .filter((d) => isRun(d) && existsSync(join(d, 'metrics.jsonl')));
    return held.length > 0 ? held : [dir];
  });
  const seen = new Map<string, string>();
  for (const dir of dirs) {
    const earlier = seen.get(resolve(dir));
    if (earlier !== undefined)
      throw new UserError(
        `${dir}: the same run is given twice${earlier === dir ? '' : ` (also as ${earlier})`} — name each run once`,
      );
    seen.set(resolve(dir), dir);
  }
  return dirs;
}

export const report = command({
  name: 'report',
  summary: 'draw training runs side by side: loss, accuracy, consensus distance and curvature against steps',
  define(cmd, ctx) {
    cmd
      .argument(
        '<runs...>',
        'run folders (the --out of flatdist train), or folders holding them (each run in it is drawn)',
      )
      .requiredOption('--out <DIR>', 'where report.html, figures/ (SVG, PNG, Vega-Lite) and runs.json go')
      .option('--overwrite', 'replace a report already in --out (report.html, runs.json, figures/)')
      .option('--json', 'print the files written as JSON')
      .addHelpText(
        'after',
        '\nCurvature (Tr ∇²J, λ_max) is drawn for runs trained with --measure-every N. The page is self-contained.',
      );
    onRun(cmd, ctx, async (options, operands) => {
      // A variadic argument arrives as one list.
      const dirs = await runFolders(operands.flat());
      const out = String(options.out);
      const [{ readRuns, writeRunsReport }, { claimRunFolder }] = await Promise.all([
        import('../report/runs.js'),
        import('../train/rundir.js'),
      ]);
      readRuns(dirs); // a folder that holds no run is refused before --out is made
      const lock = claimRunFolder(out, {
        command: 'flatdist report',
        resume: false,
        resumable: false,
        overwrite: options.overwrite === true,
        files: reportFiles,
      });
      let files;
      try {
        files = await writeRunsReport(dirs, out);
      } finally {
        lock.release();
      }
      if (options.json) console.log(JSON.stringify(files));
      else console.log(`report of ${dirs.length} ${dirs.length === 1 ? 'run' : 'runs'}: ${files.html}`);
      return 0;
    });
  },
});
