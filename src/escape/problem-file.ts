// The linearized theory's problem as a file (`theory --problem FILE`, `--save-problem FILE`):
// the local quantities at w* — H_k = ∇²J_k(w*) [K, M, M], d_k = ∇J_k(w*) [K, M], R_k the
// per-sample gradient covariance [K, M, M], p the weights of J = Σ_k p_k J_k [K] — and the
// combination matrix A [K, K] (a_lk in row l, column k; columns sum to one). In place of d a
// file may give c [K, M], the local minimizers of quadratic J_k(w) = ½(w − c_k)ᵀH_k(w − c_k):
// then w* = (Σ_k p_k H_k)⁻¹ Σ_k p_k H_k c_k and d_k = H_k (w* − c_k). p defaults to the Perron
// vector of A. Two spellings: JSON ({"H": [[[…]]], "d": [[…]], "R": …, "A": …, "p": […]}, nested
// arrays) and safetensors (float64 tensors named H, d or c, R, A, p). Values are float64 and
// round-trip exactly, so a saved problem gives the same predictions. A saved problem also records
// the setting it was made for (μ, B, N: JSON's "setting", safetensors' metadata), which
// `theory --problem` takes unless the flags say otherwise.
import { DataError } from '../errors.js';
import { quadraticHeterogeneity } from '../data/index.js';
import { perronVector, type Matrix } from '../graph/index.js';
import { fromArray, scope, type Tensor } from '../tensor/index.js';
import { linearizedModel, type LinearizedModel } from '../theory/index.js';
import { readSafetensors, writeSafetensors } from '../train/safetensors.js';
import { readUserText, writeFileAtomic } from '../util/files.js';

export const problemFormat = 'flatdist-problem/1';

/** The run setting a problem was made for: step size μ, batch size B, steps N. */
export interface ProblemSetting {
  stepSize: number;
  batchSize: number;
  steps: number;
}

const settingKeys = ['stepSize', 'batchSize', 'steps'] as const;

/** A theory problem: the linearized model at w* and the combination matrix, and the setting it was made for if known. */
export interface TheoryProblem {
  model: LinearizedModel;
  A: Matrix;
  setting?: ProblemSetting;
}

const isJson = (path: string): boolean => path.toLowerCase().endsWith('.json');

/** Nested arrays of a tensor's values, in its shape. */
function nested(t: Tensor): unknown {
  const values = Array.from(t.toArray() as Float64Array);
  const build = (shape: number[], offset: number): unknown => {
    if (shape.length === 0) return values[offset];
    const [n, ...rest] = shape;
    const size = rest.reduce((a, b) => a * b, 1);
    return Array.from({ length: n }, (_, i) => build(rest, offset + i * size));
  };
  return build(t.shape, 0);
}

/**
 * Writes a problem: JSON when the path ends in .json, safetensors otherwise (atomically).
 * @throws FileSystemError when it cannot be written
 */
export function saveProblem(path: string, problem: TheoryProblem): void {
  scope(() => {
    const { H, d, R, p } = problem.model;
    const A = fromArray(Float64Array.from(problem.A.flat()), [problem.A.length, problem.A.length]);
    const tensors: Record<string, Tensor> = { H, d, R, A, p };
    const setting = problem.setting;
    if (isJson(path)) {
      const body = Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, nested(t)]));
      writeFileAtomic(path, `${JSON.stringify({ format: problemFormat, ...(setting && { setting }), ...body })}\n`);
    } else {
      const recorded = setting ? Object.fromEntries(settingKeys.map((k) => [k, String(setting[k])])) : {};
      writeSafetensors(path, tensors, { format: problemFormat, ...recorded });
    }
  });
}

/** A value's numbers, checked to have the shape: nested arrays of finite numbers. */
function numbers(
  file: string,
  name: string,
  value: unknown,
  shape: (number | null)[],
): { data: number[]; shape: number[] } {
  const found: number[] = [];
  const data: number[] = [];
  const walk = (v: unknown, depth: number): void => {
    if (depth === shape.length) {
      if (typeof v !== 'number' || !Number.isFinite(v))
        throw new DataError(file, `${name}: ${JSON.stringify(v)} is not a finite number`);
      data.push(v);
      return;
    }
    if (!Array.isArray(v)) throw new DataError(file, `${name}: expected ${shape.length} levels of nested arrays`);
    if (found[depth] === undefined) found[depth] = v.length;
    if (v.length !== found[depth] || (shape[depth] !== null && v.length !== shape[depth]))
      throw new DataError(
        file,
        `${name}: expected shape [${shape.map((s) => s ?? '·').join(', ')}], got a row of ${v.length}`,
      );
    v.forEach((x) => walk(x, depth + 1));
  };
  walk(value, 0);
  return { data, shape: found };
}

type Raw = Partial<Record<'H' | 'd' | 'c' | 'R' | 'A' | 'p', { data: number[]; shape: number[] }>> & {
  setting?: ProblemSetting;
};

/** The recorded setting, when the file has one: each of μ, B, N a positive number (B and N integers). */
function recordedSetting(file: string, given: Record<string, unknown> | undefined): ProblemSetting | undefined {
  if (given === undefined || settingKeys.every((k) => given[k] === undefined)) return undefined;
  const value = (k: (typeof settingKeys)[number]): number => {
    const v = Number(given[k]);
    if (!(v > 0) || !Number.isFinite(v) || (k !== 'stepSize' && !Number.isInteger(v)))
      throw new DataError(
        file,
        `setting: ${k} ${JSON.stringify(given[k])} is not a positive ${k === 'stepSize' ? 'number' : 'integer'}`,
      );
    return v;
  };
  return { stepSize: value('stepSize'), batchSize: value('batchSize'), steps: value('steps') };
}

function readRaw(file: string): Raw {
  if (!isJson(file)) {
    const { tensors, metadata } = readSafetensors(file);
    return {
      ...Object.fromEntries(
        Object.entries(tensors).map(([k, t]) => [
          k,
          { data: Array.from(t.toArray() as Float64Array, Number), shape: t.shape },
        ]),
      ),
      setting: recordedSetting(file, metadata),
    };
  }
  const text = readUserText(file);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new DataError(file, `cannot read a JSON problem (${(e as Error).message.split('\n')[0]})`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new DataError(file, 'a problem file holds an object {H, d or c, R, A, p}');
  const v = value as Record<string, unknown>;
  const levels = { H: 3, d: 2, c: 2, R: 3, A: 2, p: 1 } as const;
  const setting = v.setting;
  if (setting !== undefined && (setting === null || typeof setting !== 'object' || Array.isArray(setting)))
    throw new DataError(file, 'setting: expected an object {stepSize, batchSize, steps}');
  const raw: Raw = { setting: recordedSetting(file, setting as Record<string, unknown> | undefined) };
  for (const [k, n] of Object.entries(levels) as [keyof typeof levels, number][]) {
    if (v[k] !== undefined) raw[k] = numbers(file, k, v[k], new Array<null>(n).fill(null));
  }
  return raw;
}

/**
 * Reads a problem file (JSON or safetensors, see above).
 * @throws DataError naming the file and what is missing or malformed: shapes that disagree, A whose columns do not sum to one
 */
export function loadProblem(file: string): TheoryProblem {
  const raw = readRaw(file);
  for (const k of ['H', 'R', 'A'] as const)
    if (!raw[k]) throw new DataError(file, `no ${k}: a problem needs H, d or c, R and A`);
  if (!raw.d === !raw.c)
    throw new DataError(file, 'give one of d (the local gradients at w*) and c (the local minimizers)');
  const [K, M] = raw.H!.shape;
  if (raw.H!.shape.length !== 3 || raw.H!.shape[2] !== M)
    throw new DataError(file, `H: expected [K, M, M], got [${raw.H!.shape.join(', ')}]`);
  const A = raw.A!;
  if (A.shape.length !== 2 || A.shape[0] !== K || A.shape[1] !== K)
    throw new DataError(file, `A: expected [${K}, ${K}], got [${A.shape.join(', ')}]`);
  const matrix: Matrix = Array.from({ length: K }, (_, l) => A.data.slice(l * K, (l + 1) * K));
  for (let k = 0; k < K; k++) {
    const column = matrix.reduce((s, row) => s + row[k], 0);
    if (Math.abs(column - 1) > 1e-9 || matrix.some((row) => row[k] < 0))
      throw new DataError(file, `A: column ${k} must be nonnegative and sum to one (it sums to ${column})`);
  }
  const p = raw.p ? raw.p.data : perronVector(matrix);
  const block = (x: { data: number[] }, i: number, size: number): Float64Array =>
    Float64Array.from(x.data.slice(i * size, (i + 1) * size));
  const d = raw.d
    ? raw.d.data
    : quadraticHeterogeneity(
        {
          K,
          M,
          H: Array.from({ length: K }, (_, k) => block(raw.H!, k, M * M)),
          wo: Array.from({ length: K }, (_, k) => block(raw.c!, k, M)),
          R: Array.from({ length: K }, (_, k) => block(raw.R!, k, M * M)),
        },
        p,
      ).flatMap((x) => Array.from(x));
  const model = scope(() =>
    linearizedModel(
      fromArray(Float64Array.from(raw.H!.data), [K, M, M]),
      fromArray(Float64Array.from(d), [d.length / M, M]),
      fromArray(Float64Array.from(raw.R!.data), raw.R!.shape),
      fromArray(Float64Array.from(p), [p.length]),
    ),
  );
  return { model, A: matrix, ...(raw.setting && { setting: raw.setting }) };
}
