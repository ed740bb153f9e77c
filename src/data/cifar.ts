// CIFAR-10, "binary version" (cifar-10-binary.tar.gz → cifar-10-batches-bin/):
// data_batch_1.bin … data_batch_5.bin (training) and test_batch.bin, each a
// sequence of 3073-byte records: 1 label byte (0..9), then 3072 pixel bytes —
// 1024 red, 1024 green, 1024 blue, each plane 32×32 row-major (so CHW already).
// Pixels are scaled to [0, 1], then standardized per channel with the training
// set's mean (0.4914, 0.4822, 0.4465) and standard deviation (0.2470, 0.2435, 0.2616).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DataError } from '../errors.js';
import { standardizePixels, type Dataset } from './dataset.js';
import type { Split } from './mnist.js';

export const CIFAR10_NORMALIZATION = { mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616] };
export const CIFAR10_RECORD = 1 + 3 * 32 * 32;
export const CIFAR10_TRAIN_FILES = [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`);
export const CIFAR10_TEST_FILES = ['test_batch.bin'];

const FORMAT = `CIFAR-10 binary batches (records of 1 label byte + 3072 pixel bytes, from cifar-10-binary.tar.gz)`;

/**
 * CIFAR-10 from `dir`: the folder holding the .bin batches, or its parent
 * (where the archive was unpacked, holding cifar-10-batches-bin/).
 */
export function cifar10(dir: string, split: Split): Dataset {
  const batches = batchFiles(dir, split).map(readBatch);
  const n = batches.reduce((s, b) => s + b.labels.length, 0);
  const pixels = new Uint8Array(n * (CIFAR10_RECORD - 1));
  const y = new Int32Array(n);
  let at = 0;
  for (const b of batches) {
    pixels.set(b.pixels, at * (CIFAR10_RECORD - 1));
    y.set(b.labels, at);
    at += b.labels.length;
  }
  const shape = [3, 32, 32];
  return {
    name: `cifar10-${split}`,
    x: standardizePixels(pixels, shape, CIFAR10_NORMALIZATION.mean, CIFAR10_NORMALIZATION.std),
    shape,
    y,
    classes: 10,
    n,
    normalization: CIFAR10_NORMALIZATION,
  };
}

/** The batch files of a split, in `dir` or in its cifar-10-batches-bin/. */
function batchFiles(dir: string, split: Split): string[] {
  const unpacked = join(dir, 'cifar-10-batches-bin');
  const folder = existsSync(unpacked) ? unpacked : dir;
  return (split === 'train' ? CIFAR10_TRAIN_FILES : CIFAR10_TEST_FILES).map((f) => join(folder, f));
}

/**
 * Checks, without reading the pixels, that every batch file of both splits is there and
 * holds whole records: a long run can refuse a wrong --data-dir before it starts.
 * @throws DataError naming the first file that is missing, unreadable or truncated.
 */
export function checkCifar10(dir: string): void {
  for (const path of [...batchFiles(dir, 'train'), ...batchFiles(dir, 'test')]) {
    let size: number;
    try {
      size = statSync(path).size;
    } catch (e) {
      throw batchError(path, e);
    }
    checkRecords(path, size);
  }
}

function batchError(path: string, e: unknown): DataError {
  const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
  return new DataError(
    path,
    missing ? `missing: expected ${FORMAT}; give their folder with --data-dir` : `cannot read: ${(e as Error).message}`,
  );
}

function checkRecords(path: string, size: number): void {
  if (size === 0 || size % CIFAR10_RECORD !== 0) {
    const whole = Math.floor(size / CIFAR10_RECORD);
    throw new DataError(
      path,
      `truncated: ${size} bytes is not a whole number of ${CIFAR10_RECORD}-byte records (${whole} full, ${size - whole * CIFAR10_RECORD} left over); expected ${FORMAT}`,
    );
  }
}

function readBatch(path: string): { labels: Int32Array; pixels: Uint8Array } {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw batchError(path, e);
  }
  checkRecords(path, bytes.length);
  const records = bytes.length / CIFAR10_RECORD;
  const labels = new Int32Array(records);
  const pixels = new Uint8Array(records * (CIFAR10_RECORD - 1));
  for (let r = 0; r < records; r++) {
    const label = bytes[r * CIFAR10_RECORD];
    if (label > 9)
      throw new DataError(path, `corrupt: record ${r} has label byte ${label}, expected 0..9 in ${FORMAT}`);
    labels[r] = label;
    pixels.set(bytes.subarray(r * CIFAR10_RECORD + 1, (r + 1) * CIFAR10_RECORD), r * (CIFAR10_RECORD - 1));
  }
  return { labels, pixels };
}
