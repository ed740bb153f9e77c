// The IDX format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/):
// a 4-byte magic 0x0000TTDD (TT the element type, DD the number of dimensions),
// DD big-endian uint32 sizes, then the elements, big-endian, row-major.
// Files may be gzipped; that is detected from the gzip magic bytes 1f 8b.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { DataError } from '../errors.js';

export type IdxType = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';
export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

export interface IdxArray {
  type: IdxType;
  dims: number[];
  data: IdxData;
}

const TYPES: Record<number, { type: IdxType; bytes: number }> = {
  0x08: { type: 'uint8', bytes: 1 },
  0x09: { type: 'int8', bytes: 1 },
  0x0b: { type: 'int16', bytes: 2 },
  0x0c: { type: 'int32', bytes: 4 },
  0x0d: { type: 'float32', bytes: 4 },
  0x0e: { type: 'float64', bytes: 8 },
};

/** The IDX magic number of an element type and a number of dimensions. */
export function idxMagic(type: IdxType, ndims: number): number {
  const code = Object.entries(TYPES).find(([, t]) => t.type === type)![0];
  return (Number(code) << 8) | ndims;
}

const hex = (m: number): string => `0x${m.toString(16).padStart(8, '0')}`;

/** What a reader expects: a magic number, and what the file holds (for the error message). */
export interface IdxExpectation {
  magic: number;
  what: string;
}

/** Read an IDX file, gzipped or not. Errors name the file and the format expected. */
export function readIdx(path: string, expect?: IdxExpectation): IdxArray {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DataError(
      path,
      code === 'ENOENT'
        ? `missing: expected an IDX file${expect ? ` of ${expect.what}` : ''}`
        : `cannot read: ${(e as Error).message}`,
    );
  }
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch (e) {
      const kind = (e as NodeJS.ErrnoException).code === 'Z_BUF_ERROR' ? 'truncated' : 'corrupt';
      throw new DataError(path, `${kind} gzip stream (${(e as Error).message}); expected a gzipped IDX file`);
    }
  }
  return parseIdx(bytes, path, expect);
}

/** Parse IDX bytes (already decompressed); `file` names them in errors. */
export function parseIdx(bytes: Uint8Array, file: string, expect?: IdxExpectation): IdxArray {
  const forWhat = expect ? ` for ${expect.what}` : '';
  if (bytes.length < 4) throw new DataError(file, `truncated: ${bytes.length} bytes, too short for an IDX header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0);
  if (expect && magic !== expect.magic) {
    throw new DataError(file, `expected IDX magic ${hex(expect.magic)}${forWhat}, found ${hex(magic)}`);
  }
  const element = TYPES[bytes[2]];
  if (bytes[0] !== 0 || bytes[1] !== 0 || !element || bytes[3] === 0) {
    throw new DataError(
      file,
      `not an IDX file: magic ${hex(magic)} (expected 0x0000TTDD with a known type TT and DD ≥ 1 dimensions)`,
    );
  }
  const ndims = bytes[3];
  const header = 4 + 4 * ndims;
  if (bytes.length < header)
    throw new DataError(
      file,
      `truncated: the IDX header of ${ndims} dimensions needs ${header} bytes, file has ${bytes.length}`,
    );
  const dims = Array.from({ length: ndims }, (_, i) => view.getUint32(4 + 4 * i));
  const items = dims[0];
  const itemBytes = dims.slice(1).reduce((a, b) => a * b, 1) * element.bytes;
  const expected = items * itemBytes;
  const body = bytes.length - header;
  if (body !== expected) {
    const kind = body < expected ? 'truncated' : 'corrupt';
    throw new DataError(
      file,
      `${kind}: the IDX header says ${items} items of ${itemBytes} bytes (${expected} bytes of data), file has ${body}`,
    );
  }
  return { type: element.type, dims, data: decode(view, header, items * (itemBytes / element.bytes), element.type) };
}

/** The IDX bytes of an array (uncompressed; gzip them with node:zlib if wanted). */
export function encodeIdx(a: IdxArray): Uint8Array {
  const element = TYPES[idxMagic(a.type, a.dims.length) >> 8];
  const header = 4 + 4 * a.dims.length;
  const out = new Uint8Array(header + a.data.length * element.bytes);
  const view = new DataView(out.buffer);
  view.setUint32(0, idxMagic(a.type, a.dims.length));
  a.dims.forEach((d, i) => view.setUint32(4 + 4 * i, d));
  a.data.forEach((v: number, i: number) => {
    const at = header + i * element.bytes;
    switch (a.type) {
      case 'uint8':
        view.setUint8(at, v);
        break;
      case 'int8':
        view.setInt8(at, v);
        break;
      case 'int16':
        view.setInt16(at, v);
        break;
      case 'int32':
        view.setInt32(at, v);
        break;
      case 'float32':
        view.setFloat32(at, v);
        break;
      case 'float64':
        view.setFloat64(at, v);
        break;
    }
  });
  return out;
}

function decode(view: DataView, offset: number, count: number, type: IdxType): IdxData {
  switch (type) {
    case 'uint8':
      return new Uint8Array(view.buffer, view.byteOffset + offset, count).slice();
    case 'int8':
      return new Int8Array(view.buffer, view.byteOffset + offset, count).slice();
    case 'int16':
      return Int16Array.from({ length: count }, (_, i) => view.getInt16(offset + 2 * i));
    case 'int32':
      return Int32Array.from({ length: count }, (_, i) => view.getInt32(offset + 4 * i));
    case 'float32':
      return Float32Array.from({ length: count }, (_, i) => view.getFloat32(offset + 4 * i));
    case 'float64':
      return Float64Array.from({ length: count }, (_, i) => view.getFloat64(offset + 8 * i));
  }
}
