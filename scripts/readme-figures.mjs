#!/usr/bin/env node
// The README's figures from real runs, so they cannot drift from what the commands print:
// runs `flatdist demo` and `flatdist reproduce --quick` (in a fresh folder) and rewrites
// the README's demo table, its reproduce timing, and src/cli/timings.ts, which the help's
// "≈ N min" claims read. `--demo-only` skips the reproduction (a minute instead of several).
// Run it from the repository root after `npm run build`: `npm run readme-figures`.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { URL, fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = join(root, 'bin', 'flatdist.js');
const readme = join(root, 'README.md');
const timings = join(root, 'src', 'cli', 'timings.ts');
const demoOnly = process.argv.includes('--demo-only');

/** stdout of a flatdist command, with its wall time in seconds; stderr passes through. */
function flatdist(args) {
  const began = Date.now();
  const stdout = execFileSync(process.execPath, [cli, ...args], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return { stdout, seconds: (Date.now() - began) / 1000 };
}

/** Replaces exactly one match of `pattern` in `text`, or stops: a README that changed shape needs this script changed. */
function replaceOnce(text, pattern, replacement, what) {
  const matches = text.match(new RegExp(pattern.source, `${pattern.flags.replace('g', '')}g`)) ?? [];
  if (matches.length !== 1)
    throw new Error(`readme-figures: expected one ${what} in the README, found ${matches.length}`);
  return text.replace(pattern, replacement);
}

const load = loadavg()[0].toFixed(1);
let text = readFileSync(readme, 'utf8');

console.error('readme-figures: flatdist demo ...');
const demo = flatdist(['demo']);
const table = demo.stdout
  .split('\n')
  .filter((l) => l.startsWith('|'))
  .join('\n');
if (!table.includes('| algorithm')) throw new Error('readme-figures: the demo printed no table');
text = replaceOnce(text, /```\n\| algorithm[^`]*?```/, `\`\`\`\n${table}\n\`\`\``, 'demo table');
text = replaceOnce(
  text,
  /\(Same seed, same numbers;[^)]*\)/,
  `(Same seed, same numbers; the seconds are this project's 2-core machine, load average ${load} — written by \`npm run readme-figures\` from a real run.)`,
  'demo note',
);

if (!demoOnly) {
  const out = mkdtempSync(join(tmpdir(), 'flatdist-readme-'));
  try {
    console.error('readme-figures: flatdist reproduce --quick ...');
    const quick = flatdist(['reproduce', '--quick', '--out', out, '--json']);
    const minutes = Math.ceil(quick.seconds / 60);
    const s = Math.round(quick.seconds);
    const took = s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
    text = replaceOnce(
      text,
      /(npx flatdist reproduce --quick --out runs\/repro +# ).*$/m,
      `$1${minutes === 1 ? 'about a minute' : `about ${minutes} minutes`} on 2 cores (${took} measured, load ${load})`,
      'reproduce --quick timing',
    );
    const source = readFileSync(timings, 'utf8');
    writeFileSync(timings, replaceOnce(source, /quickMinutes: \d+,/, `quickMinutes: ${minutes},`, 'quickMinutes'));
    console.error(`readme-figures: reproduce --quick took ${took}`);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
writeFileSync(readme, text);
console.error(`readme-figures: README.md rewritten${demoOnly ? ' (demo only)' : ''}`);
