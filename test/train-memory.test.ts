// Work that cannot fit is refused before it starts, with the estimate: no V8 heap crash
// (exit 134) for K = 20000 agents, no hang for a batch of 10⁸ examples.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { activationBytesPerExample, makeModel } from '../src/models/index.js';
import { packageRoot } from '../src/util/package.js';
import { requireRunFits, runMemory } from '../src/train/memory.js';
import { cli } from './support/cli.js';

for (const [name, flags, message] of [
  [
    '20000 agents (a dense K×K matrix beyond the JavaScript heap)',
    ['--agents', '20000', '--batch-size', '1', '--steps', '1'],
    /K = 20000 agents: the dense K×K combination matrix takes 3\.0 GiB per copy.*JavaScript heap, whose limit is .*--agents/,
  ],
  [
    'a batch of 10⁸ examples per agent',
    ['--train-subset', '800', '--agents', '8', '--batch-size', '100000000'],
    /this run needs about .* TiB .*batch activations \(K·B = 8·100000000 examples\).* lower --batch-size or --agents/,
  ],
] as const) {
  test(`train refuses ${name} with its estimate, in seconds`, () => {
    const r = spawnSync(
      process.execPath,
      [cli, 'train', '--dataset', 'mnist', ...flags, '--out', join(packageRoot(), 'never-written')],
      { encoding: 'utf8', timeout: 60_000 },
    );
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr.trim(), message);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  });
}

test('the activation probe sees at least the inputs and hidden units of an MLP, and a usual run fits', () => {
  const mlp = makeModel({ model: 'mlp', inputShape: [784], classes: 10, hidden: [256], activation: 'relu' });
  const perExample = activationBytesPerExample(mlp);
  assert.ok(perExample >= 4 * (784 + 256 + 10), `${perExample} bytes per example`);
  assert.ok(perExample < 4 * 20 * (784 + 256 + 10), `${perExample} bytes per example`);
  assert.equal(activationBytesPerExample(mlp), perExample, 'deterministic');
  requireRunFits(
    runMemory({ agents: 8, batchSize: 64, parameterCount: mlp.parameterCount, activationBytesPerExample: perExample }),
  );
});
