// The safetensors format (readable by PyTorch, JAX and others): an 8-byte
// little-endian header length, a JSON header naming each tensor's dtype, shape and
// byte range, then the raw little-endian data. String metadata rides in the header;
// flatdist adds `sha256`, the SHA-256 of the data section, and checks it on every read.
import { createHash } from 'node:crypto';
import { DataError } from '../errors.js';
import { fromArray, type DType, type Tensor } from '../tensor/index.js';
import { readUserFile, writeFileAtomic } from '../util/files.js';

const codes: Record<DType, string> = { float32: 'F32', float64: 'F64', int64: 'I64', bool: 'BOOL' };
const dtypes: Record<string, DType> = { F32: 'float32', F64: 'float64', I64: 'int64', BOOL: 'bool' };
const itemBytes: Record<DType, number> = { float32: 4, float64: 8, int64: 8, bool: 1 };

/** The metadata key of the data section's checksum. */
export const checksumKey = 'sha256';

interface Entry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

const sha256 = (chunks: Uint8Array[]): string => {
  const h = createHash('sha256');
  for (const c of chunks) h.update(c);
  return h.digest('hex');
};

/** The file's bytes; the metadata gets the data section's checksum (`sha256`). */
export function encodeSafetensors(tensors: Record<string, Tensor>, metadata: Record<string, string> = {}): Buffer {
  const entries: Record<string, Entry> = {};
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const a = t.toArray();
    const bytes = Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    entries[name] = { dtype: codes[t.dtype], shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    chunks.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify({ __metadata__: { ...metadata, [checksumKey]: sha256(chunks) }, ...entries });
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([head, Buffer.from(json), ...chunks]);
}

/** Writes a safetensors file atomically (see util/files). */
export function writeSafetensors(
  path: string,
  tensors: Record<string, Tensor>,
  metadata: Record<string, string> = {},
): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

export interface Safetensors {
  tensors: Record<string, Tensor>;
  metadata: Record<string, string>;
}

const isEntry = (v: unknown): v is Entry => {
  const e = v as Entry;
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof e.dtype === 'string' &&
    Array.isArray(e.shape) &&
    e.shape.every((d) => Number.isInteger(d) && d >= 0) &&
    Array.isArray(e.data_offsets) &&
    e.data_offsets.length === 2 &&
    e.data_offsets.every((d) => Number.isInteger(d))
  );
};

/**
 * Reads a safetensors file, checking its structure and (when present) its checksum.
 * @throws DataError naming the file: unreadable, truncated, malformed, or its data changed since it was written
 */
export function readSafetensors(path: string): Safetensors {
  const buf = readUserFile(path, 'give a run folder (with checkpoints/) or a .safetensors file');
  const bad = (why: string): never => {
    throw new DataError(path, `not a valid safetensors file: ${why}`);
  };
  if (buf.length < 8) bad('shorter than its 8-byte header length');
  const n = Number(buf.readBigUInt64LE(0));
  if (8 + n > buf.length) bad(`header length ${n} exceeds the file size ${buf.length} (truncated file?)`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, unknown>;
  } catch {
    return bad('the header is not JSON');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) bad('the header is not a JSON object');
  const metadata = (header.__metadata__ as Record<string, string> | undefined) ?? {};
  const data = buf.subarray(8 + n);
  const entries = Object.entries(header).filter(([name]) => name !== '__metadata__');
  for (const [name, e] of entries) {
    if (!isEntry(e)) bad(`tensor '${name}' has a malformed entry (dtype, shape and data_offsets expected)`);
    const dtype = dtypes[(e as Entry).dtype] ?? bad(`tensor '${name}' has unsupported dtype ${(e as Entry).dtype}`);
    const [begin, end] = (e as Entry).data_offsets;
    if (!(begin >= 0 && end <= data.length && begin <= end))
      bad(`tensor '${name}' lies outside the data (truncated file?)`);
    const expected = (e as Entry).shape.reduce((a, b) => a * b, 1) * itemBytes[dtype];
    if (end - begin !== expected)
      bad(`tensor '${name}' has ${end - begin} bytes, its shape [${(e as Entry).shape.join(', ')}] needs ${expected}`);
  }
  if (metadata[checksumKey] !== undefined && sha256([data]) !== metadata[checksumKey]) {
    throw new DataError(
      path,
      'the data does not match its checksum (sha256): the file was damaged or changed after it was written',
    );
  }
  const tensors: Record<string, Tensor> = {};
  for (const [name, value] of entries) {
    const e = value as Entry;
    const dtype = dtypes[e.dtype];
    const [begin, end] = e.data_offsets;
    const bytes = new Uint8Array(end - begin);
    bytes.set(data.subarray(begin, end));
    const array =
      dtype === 'float32'
        ? new Float32Array(bytes.buffer)
        : dtype === 'float64'
          ? new Float64Array(bytes.buffer)
          : dtype === 'int64'
            ? new BigInt64Array(bytes.buffer)
            : bytes;
    tensors[name] = fromArray(array, e.shape);
  }
  return { tensors, metadata };
}
