// Generated classification problems, seeded: the training and the test split are
// drawn one after the other from one generator, from the same distribution.
//   gaussianMixture  C classes in R^d, means μ_c ~ N(0, s²I), x | c ~ N(μ_c, I);
//   twoMoons         the two interleaved half circles of scikit-learn's make_moons,
//                    (cos t, sin t) and (1 − cos t, ½ − sin t), t ~ U(0, π), plus N(0, σ²I);
//   teacherStudent   x ~ N(0, I_d), y = argmax of a random teacher MLP
//                    W₂ᵀ tanh(W₁ᵀx + b₁), entries N(0, 1/fan-in) — a problem a student MLP can fit exactly.
import { ConfigError } from '../errors.js';
import { Generator, randint, randn, rand, scope, stack, type Tensor } from '../tensor/index.js';
import type { Dataset, Splits } from './dataset.js';

export interface GeneratedSizes {
  trainSize: number;
  testSize: number;
  seed: number;
}

export interface GaussianMixtureOptions extends GeneratedSizes {
  classes: number;
  dim: number;
  /** s, the standard deviation of the class means around the origin (noise has variance 1). */
  separation: number;
}

export interface TwoMoonsOptions extends GeneratedSizes {
  /** σ, the standard deviation of the Gaussian noise added to each point. */
  noise: number;
}

export interface TeacherStudentOptions extends GeneratedSizes {
  dim: number;
  hidden: number;
  classes: number;
}

function positiveInt(field: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw new ConfigError(field, `must be a positive integer, got ${v}`);
}

function checkSizes(o: GeneratedSizes): void {
  positiveInt('trainSize', o.trainSize);
  positiveInt('testSize', o.testSize);
}

function toDataset(name: string, x: Tensor, y: Tensor, classes: number): Dataset {
  const n = y.shape[0];
  const shape = x.shape.slice(1);
  return { name, x: x.contiguous().toArray() as Float32Array, shape, y: Int32Array.from(y.toNumbers()), classes, n };
}

/** Both splits from one draw function, train first. */
function splits(
  name: string,
  o: GeneratedSizes,
  classes: number,
  draw: (n: number) => { x: Tensor; y: Tensor },
): Splits {
  return scope(() => {
    const train = draw(o.trainSize);
    const test = draw(o.testSize);
    return {
      train: toDataset(`${name}-train`, train.x, train.y, classes),
      test: toDataset(`${name}-test`, test.x, test.y, classes),
    };
  });
}

export function gaussianMixture(o: GaussianMixtureOptions): Splits {
  checkSizes(o);
  positiveInt('classes', o.classes);
  positiveInt('dim', o.dim);
  const gen = new Generator(o.seed);
  return scope(() => {
    const means = randn([o.classes, o.dim], gen).mul(o.separation);
    return splits('gaussian-mixture', o, o.classes, (n) => {
      const y = randint(0, o.classes, [n], gen);
      return { x: means.indexSelect(0, y).add(randn([n, o.dim], gen)), y };
    });
  });
}

export function twoMoons(o: TwoMoonsOptions): Splits {
  checkSizes(o);
  const gen = new Generator(o.seed);
  return splits('two-moons', o, 2, (n) => {
    const y = randint(0, 2, [n], gen);
    const t = rand([n], gen).mul(Math.PI);
    // s = 1 − 2y flips the upper moon into the lower one, then shifts it by (y, y/2).
    const yf = y.to('float32');
    const s = yf.mul(-2).add(1);
    const x0 = t.cos().mul(s).add(yf);
    const x1 = t.sin().mul(s).add(yf.mul(0.5));
    return { x: stack([x0, x1], 1).add(randn([n, 2], gen).mul(o.noise)), y };
  });
}

export function teacherStudent(o: TeacherStudentOptions): Splits {
  checkSizes(o);
  positiveInt('dim', o.dim);
  positiveInt('hidden', o.hidden);
  positiveInt('classes', o.classes);
  const gen = new Generator(o.seed);
  return scope(() => {
    const W1 = randn([o.dim, o.hidden], gen).div(Math.sqrt(o.dim));
    const b1 = randn([o.hidden], gen).mul(0.1);
    const W2 = randn([o.hidden, o.classes], gen).div(Math.sqrt(o.hidden));
    return splits('teacher-student', o, o.classes, (n) => {
      const x = randn([n, o.dim], gen);
      return { x, y: x.matmul(W1).add(b1).tanh().matmul(W2).argmax(1) };
    });
  });
}
