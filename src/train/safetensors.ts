// The safetensors format (readable by PyTorch, JAX and others): an 8-byte
// little-endian header length, a JSON header naming each tensor's dtype, shape and
// byte range, then the raw little-endian data. String metadata rides in the header.
import { readFileSync } from 'node:fs';
import { DataError } from '../errors.js';
import { fromArray, type DType, type Tensor } from '../tensor/index.js';
import { writeFileAtomic } from './atomic.js';

const codes: Record<DType, string> = { float32: 'F32', float64: 'F64', int64: 'I64', bool: 'BOOL' };
const dtypes: Record<string, DType> = { F32: 'float32', F64: 'float64', I64: 'int64', BOOL: 'bool' };

interface Entry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

export function encodeSafetensors(tensors: Record<string, Tensor>, metadata: Record<string, string> = {}): Buffer {
  const header: Record<string, Entry | Record<string, string>> = { __metadata__: metadata };
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const a = t.toArray();
    const bytes = Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    header[name] = { dtype: codes[t.dtype], shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    chunks.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([head, Buffer.from(json), ...chunks]);
}

export function writeSafetensors(path: string, tensors: Record<string, Tensor>, metadata: Record<string, string> = {}): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

export interface Safetensors {
  tensors: Record<string, Tensor>;
  metadata: Record<string, string>;
}

export function readSafetensors(path: string): Safetensors {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch {
    throw new DataError(path, 'cannot read the checkpoint (missing or unreadable) — expected a .safetensors file');
  }
  const bad = (why: string): never => {
    throw new DataError(path, `not a valid safetensors file: ${why}`);
  };
  if (buf.length < 8) bad('shorter than its 8-byte header length');
  const n = Number(buf.readBigUInt64LE(0));
  if (8 + n > buf.length) bad(`header length ${n} exceeds the file size ${buf.length}`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, unknown>;
  } catch {
    return bad('the header is not JSON');
  }
  const data = buf.subarray(8 + n);
  const tensors: Record<string, Tensor> = {};
  for (const [name, value] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const e = value as Entry;
    const dtype = dtypes[e.dtype] ?? bad(`tensor '${name}' has unsupported dtype ${e.dtype}`);
    const [begin, end] = e.data_offsets;
    if (!(begin >= 0 && end <= data.length && begin <= end)) bad(`tensor '${name}' lies outside the data (truncated file?)`);
    const bytes = new Uint8Array(end - begin);
    bytes.set(data.subarray(begin, end));
    const array =
      dtype === 'float32' ? new Float32Array(bytes.buffer)
      : dtype === 'float64' ? new Float64Array(bytes.buffer)
      : dtype === 'int64' ? new BigInt64Array(bytes.buffer)
      : bytes;
    const expected = e.shape.reduce((a, b) => a * b, 1);
    if (array.length !== expected) bad(`tensor '${name}' has ${array.length} elements, its shape needs ${expected}`);
    tensors[name] = fromArray(array, e.shape);
  }
  return { tensors, metadata: (header.__metadata__ as Record<string, string> | undefined) ?? {} };
}
