// Progress on a terminal: lines written while a bar runs, and what is written after it,
// stay on the screen. Checked on a small terminal model (carriage return, newline, cursor
// save/restore, column moves, erase to the end of the line), the escape codes cli-progress
// and readline write.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { reporter } from '../src/util/reporter.js';

/** The screen a terminal would show for what was written to it. */
function screen(written: string): string[] {
  const lines = [''];
  let [row, col] = [0, 0];
  let saved = [0, 0];
  const put = (ch: string): void => {
    lines[row] = lines[row].padEnd(col, ' ');
    lines[row] = lines[row].slice(0, col) + ch + lines[row].slice(col + 1);
    col++;
  };
  for (let i = 0; i < written.length; i++) {
    const c = written[i];
    if (c === '\x1b') {
      if (written[i + 1] === '7' || written[i + 1] === '8') {
        if (written[i + 1] === '7') saved = [row, col];
        else [row, col] = saved;
        i++;
        continue;
      }
      const m = new RegExp(`^${'\x1b'}\\[(\\??[0-9;]*)([A-Za-z])`).exec(written.slice(i));
      if (m) {
        if (m[2] === 'G') col = Number(m[1] || 1) - 1;
        if (m[2] === 'K') lines[row] = lines[row].slice(0, col);
        i += m[0].length - 1;
      }
      continue;
    }
    if (c === '\r') col = 0;
    else if (c === '\n') {
      row++;
      col = 0;
      if (row === lines.length) lines.push('');
    } else put(c);
  }
  return lines.filter((l) => l.trim() !== '');
}

/** A terminal stream and everything written to it. */
function terminal(): { tty: NodeJS.WriteStream; written: () => string } {
  let written = '';
  const tty = Object.assign(
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        written += chunk.toString();
        done();
      },
    }),
    { isTTY: true, columns: 120, rows: 40 },
  ) as unknown as NodeJS.WriteStream;
  return { tty, written: () => written };
}

test('a line logged while a bar runs, and the lines after the bar, all stay on the screen', async () => {
  const { tty, written } = terminal();
  const r = reporter({ stream: tty });
  for (let n = 1; n <= 60; n++) {
    r.update(n, 60, 'steps');
    if (n % 20 === 0) r.log(`evaluated at step ${n}`);
  }
  r.end();
  tty.write('the summary\n');
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.deepEqual(screen(written()), [
    'evaluated at step 20',
    'evaluated at step 40',
    'evaluated at step 60',
    'the summary',
  ]);
});

test('a bar that has not moved yet says its time left is unknown, in words, not "NF"', async () => {
  const { tty, written } = terminal();
  const r = reporter({ stream: tty });
  r.update(0, 3, 'spectrum of the 3000×3000 matrix');
  await new Promise((resolve) => setTimeout(resolve, 50));
  const shown = screen(written()).join('\n');
  r.end();
  assert.match(shown, /spectrum of the 3000×3000 matrix .* 0\/3 .*elapsed, \? left/);
  assert.doesNotMatch(shown, /NF|LL|NULL|INF/);
});
