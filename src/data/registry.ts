// Datasets by name, as {train, test} splits: the CLI's --dataset.
import { ConfigError } from '../errors.js';
import { takeSubset, type Splits } from './dataset.js';
import { deriveSeed } from '../util/seed.js';
import { checkCifar10, cifar10 } from './cifar.js';
import { checkFashionMnist, fashionMnist, mnist, FASHION_MNIST_DIR } from './mnist.js';
import { gaussianMixture, teacherStudent, twoMoons } from './synthetic.js';
import { DATASETS, type DatasetName } from './names.js';

export { DATASETS, type DatasetName } from './names.js';

export interface LoadOptions {
  /** Folder of the files: required for cifar10; overrides the default for mnist and fashion-mnist. */
  dataDir?: string;
  /**
   * Fixes the generated datasets, and makes subsets random (n examples drawn
   * without replacement); without a seed a subset is the first n examples and
   * generated data use seed 0.
   */
  seed?: number;
  /** Keep only this many training examples. */
  trainSubset?: number;
  /** Keep only this many test examples. */
  testSubset?: number;
}

/** Sizes of the generated datasets (a subset option shrinks them like real ones). */
export const GENERATED_TRAIN_SIZE = 10000;
export const GENERATED_TEST_SIZE = 2000;

export function isDatasetName(name: string): name is DatasetName {
  return (DATASETS as readonly string[]).includes(name);
}

export function loadDataset(name: string, o: LoadOptions = {}): Splits {
  if (!isDatasetName(name))
    throw new ConfigError('dataset', `unknown dataset "${name}"; allowed: ${DATASETS.join(', ')}`);
  const full = load(name, o);
  // Distinct streams for the two subsets, so they do not pick the same positions.
  const testSeed = o.seed === undefined ? undefined : deriveSeed(o.seed, 'test-subset');
  // A recorded subset larger than the data would claim examples the run never had.
  if (o.trainSubset !== undefined && o.trainSubset > full.train.n) {
    throw new ConfigError(
      'trainSubset',
      `${o.trainSubset} is more than the ${full.train.n} training examples of ${name}`,
    );
  }
  return {
    train: o.trainSubset === undefined ? full.train : takeSubset(full.train, o.trainSubset, o.seed),
    test: o.testSubset === undefined ? full.test : takeSubset(full.test, o.testSubset, testSeed),
  };
}

/**
 * Checks that a dataset's files are there without loading them, so a long job can refuse
 * a missing or truncated dataset before it starts (the generated ones always are).
 * @throws ConfigError for an unknown name or cifar10 without a folder; DataError naming a missing or truncated file.
 */
export function checkDataset(name: string, dataDir?: string): void {
  if (!isDatasetName(name))
    throw new ConfigError('dataset', `unknown dataset "${name}"; allowed: ${DATASETS.join(', ')}`);
  if (name === 'fashion-mnist') checkFashionMnist(dataDir ?? FASHION_MNIST_DIR);
  if (name === 'cifar10') {
    if (dataDir === undefined)
      throw new ConfigError('dataDir', 'cifar10 needs the folder of its binary batches: give it with --data-dir');
    checkCifar10(dataDir);
  }
}

function load(name: DatasetName, o: LoadOptions): Splits {
  const sizes = { trainSize: GENERATED_TRAIN_SIZE, testSize: GENERATED_TEST_SIZE, seed: o.seed ?? 0 };
  switch (name) {
    case 'mnist':
      return o.dataDir === undefined
        ? { train: mnist('train'), test: mnist('test') }
        : { train: mnist('train', o.dataDir), test: mnist('test', o.dataDir) };
    case 'fashion-mnist': {
      const dir = o.dataDir ?? FASHION_MNIST_DIR;
      return { train: fashionMnist('train', dir), test: fashionMnist('test', dir) };
    }
    case 'cifar10':
      if (o.dataDir === undefined) {
        throw new ConfigError(
          'dataDir',
          'cifar10 needs the folder of its binary batches (cifar-10-batches-bin from cifar-10-binary.tar.gz): give it with --data-dir',
        );
      }
      return { train: cifar10(o.dataDir, 'train'), test: cifar10(o.dataDir, 'test') };
    case 'gaussian-mixture':
      return gaussianMixture({ ...sizes, classes: 10, dim: 20, separation: 0.5 });
    case 'two-moons':
      return twoMoons({ ...sizes, noise: 0.1 });
    case 'teacher-student':
      return teacherStudent({ ...sizes, dim: 20, hidden: 32, classes: 10 });
  }
}
