// Tensor factories.
import { native, type DType } from './native.js';
import { wrap, type Tensor, type TypedArray } from './tensor.js';

export type NestedNumbers = number | NestedNumbers[];

export function zeros(shape: number[], dtype: DType = 'float32'): Tensor {
  return wrap(native.zeros(shape, dtype));
}
export function ones(shape: number[], dtype: DType = 'float32'): Tensor {
  return wrap(native.ones(shape, dtype));
}
export function full(shape: number[], value: number, dtype: DType = 'float32'): Tensor {
  return wrap(native.full(shape, value, dtype));
}
export function eye(n: number, dtype: DType = 'float32'): Tensor {
  return wrap(native.eye(n, dtype));
}
export function arange(start: number, end: number, step = 1, dtype: DType = 'int64'): Tensor {
  return wrap(native.arange(start, end, step, dtype));
}

/** A tensor holding a copy of a typed array's elements (Int32Array becomes int64, Uint8Array bool). */
export function fromArray(data: TypedArray, shape: number[] = [data.length]): Tensor {
  return wrap(native.fromArray(data, shape));
}

function shapeOf(x: NestedNumbers): number[] {
  const shape: number[] = [];
  for (let v = x; Array.isArray(v); v = v[0]) shape.push(v.length);
  return shape;
}

/** A tensor from (nested) JavaScript numbers; float32 unless a dtype is given. */
export function tensor(data: NestedNumbers, dtype: DType = 'float32'): Tensor {
  const shape = shapeOf(data);
  const flat: number[] = [];
  const walk = (x: NestedNumbers): void => {
    if (Array.isArray(x)) x.forEach(walk);
    else flat.push(x);
  };
  walk(data);
  const expected = shape.reduce((a, b) => a * b, 1);
  if (flat.length !== expected)
    throw new Error(`ragged nested array: shape [${shape.join(', ')}] needs ${expected} numbers, got ${flat.length}`);
  switch (dtype) {
    case 'float32':
      return fromArray(Float32Array.from(flat), shape);
    case 'float64':
      return fromArray(Float64Array.from(flat), shape);
    case 'int64':
      return fromArray(
        BigInt64Array.from(flat, (v) => BigInt(v)),
        shape,
      );
    case 'bool':
      return fromArray(
        Uint8Array.from(flat, (v) => (v ? 1 : 0)),
        shape,
      );
  }
}
