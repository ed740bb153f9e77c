// The image data of the MNIST-family suites: a seeded subset, optionally average-pooled
// (28×28 → 14×14 or 7×7) so small MLPs and exact theory stay affordable, as flat feature
// tensors [n, F].
import { avgPool2d, fromArray, keep, scope, type Tensor } from '../tensor/index.js';
import { loadDataset, type Dataset } from '../data/index.js';
import { deriveSeed } from '../util/seed.js';

export interface ImageSplit {
  x: Tensor;
  y: Tensor;
  labels: Int32Array;
  n: number;
}

export interface ImageData {
  name: string;
  features: number;
  classes: number;
  train: ImageSplit;
  test: ImageSplit;
}

export interface ImageDataSpec {
  dataset: string;
  dataDir?: string;
  trainSubset: number;
  testSubset: number;
  /** Average-pooling window (1: none). */
  pool: number;
  seed: number;
}

function split(ds: Dataset, pool: number): ImageSplit {
  const x = scope(() => {
    const images = fromArray(ds.x, [ds.n, ...ds.shape]);
    const pooled = pool > 1 && ds.shape.length === 3 ? avgPool2d(images, pool) : images;
    return keep(pooled.reshape([ds.n, -1]).contiguous());
  });
  return { x, y: keep(fromArray(ds.y, [ds.n])), labels: ds.y, n: ds.n };
}

const cache = new Map<string, ImageData>();

/** Loaded once per process and spec; the tensors live as long as the process. */
export function imageData(spec: ImageDataSpec): ImageData {
  const key = JSON.stringify(spec);
  const hit = cache.get(key);
  if (hit) return hit;
  const d = loadDataset(spec.dataset, {
    dataDir: spec.dataDir,
    trainSubset: spec.trainSubset,
    testSubset: spec.testSubset,
    seed: deriveSeed(spec.seed, 'subset'),
  });
  const train = split(d.train, spec.pool);
  const data = {
    name: spec.dataset,
    features: train.x.shape[1],
    classes: d.train.classes,
    train,
    test: split(d.test, spec.pool),
  };
  cache.set(key, data);
  return data;
}
