// A training checkpoint: the stacked agent parameters (and momentum buffers) as
// safetensors, with everything else a resumed run needs — step, each agent's
// sampler state — in the header's metadata, and the data's SHA-256 beside them.
// Written atomically; a pointer file, latest.json, names the latest complete one.
// Every load checks the file (checksum, structure, finite values); a reader that
// knows its model checks names, shapes and dtypes against it (checkAgainstModel).
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DataError, UserError } from '../errors.js';
import { noGrad, scope, type Tensor } from '../tensor/index.js';
import { listFolder, makeFolder, osError, remove, writeFileAtomic } from '../util/files.js';
import { checksumKey, readSafetensors, writeSafetensors } from './safetensors.js';

export const checkpointFormat = 'flatdist-checkpoint/1';

export interface Checkpoint {
  step: number;
  paramNames: string[];
  /** Stacked [K, ...] parameters, in paramNames order. */
  params: Tensor[];
  /** Momentum buffers, when momentum is on. */
  momentum: Tensor[] | null;
  /** Perron vector p of the combination matrix: the centroid's weights. */
  perron: number[];
  /** Opaque per-agent sampler states, to continue the batch streams exactly. */
  samplers: unknown[];
  /** The run's config, for a reader that has only the checkpoint. */
  config: unknown;
}

/** A checkpoint as loaded: with the file it came from, for error messages. */
export interface LoadedCheckpoint extends Checkpoint {
  file: string;
}

/** What a model says its parameters are (a Model has both). */
export interface ParamLayout {
  paramNames: string[];
  paramShapes: number[][];
}

const fileName = (step: number): string => `step-${String(step).padStart(8, '0')}.safetensors`;
const filePattern = /^step-(\d{8,})\.safetensors$/;

const allFinite = (t: Tensor): boolean => noGrad(() => scope(() => t.isfinite().all().item() === 1));

/**
 * Writes a checkpoint, then points latest.json at it; with `keep`, removes all but the last
 * `keep` checkpoints (never latest.json's). A failed write leaves the previous checkpoint and
 * latest.json as they were.
 * @throws UserError when a tensor holds NaN or Inf (nothing is written)
 * @throws FileSystemError when a file cannot be written
 */
export function saveCheckpoint(dir: string, c: Checkpoint, keep: number | null = null): string {
  const tensors: Record<string, Tensor> = {};
  c.paramNames.forEach((name, i) => {
    tensors[`agents.${name}`] = c.params[i];
    if (c.momentum) tensors[`momentum.${name}`] = c.momentum[i];
  });
  const path = join(dir, fileName(c.step));
  for (const [name, t] of Object.entries(tensors)) {
    if (!allFinite(t)) throw new UserError(`${path}: not written — tensor ${name} holds NaN or Inf`);
  }
  makeFolder(dir);
  writeSafetensors(path, tensors, {
    format: checkpointFormat,
    step: String(c.step),
    paramNames: JSON.stringify(c.paramNames),
    perron: JSON.stringify(c.perron),
    samplers: JSON.stringify(c.samplers),
    config: JSON.stringify(c.config),
  });
  writeFileAtomic(join(dir, 'latest.json'), `${JSON.stringify({ step: c.step, file: fileName(c.step) })}\n`);
  if (keep !== null) {
    const files = checkpointFiles(dir);
    for (const f of files.slice(0, Math.max(0, files.length - keep))) if (f.step !== c.step) remove(join(dir, f.file));
  }
  return path;
}

/** The checkpoint files in a folder, by step. */
export function checkpointFiles(dir: string): { step: number; file: string }[] {
  return listFolder(dir)
    .flatMap((file) => {
      const m = filePattern.exec(file);
      return m ? [{ step: Number(m[1]), file }] : [];
    })
    .sort((a, b) => a.step - b.step);
}

/** Removes checkpoints past a step: written after the one a resumed run restarts from, before latest.json named them. */
export function discardCheckpointsAfter(dir: string, step: number): void {
  for (const f of checkpointFiles(dir)) if (f.step > step) remove(join(dir, f.file));
}

/**
 * The latest checkpoint in a run's checkpoint folder, or null when there is none.
 * @throws DataError when latest.json is damaged or names a missing file
 */
export function latestCheckpointPath(dir: string): string | null {
  const pointer = join(dir, 'latest.json');
  let text: string;
  try {
    text = readFileSync(pointer, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw osError(e, 'cannot read', pointer);
  }
  let file: unknown;
  try {
    file = (JSON.parse(text) as { file?: unknown }).file;
  } catch {
    throw new DataError(pointer, 'not JSON — the pointer to the latest checkpoint is damaged');
  }
  if (typeof file !== 'string' || !filePattern.test(file))
    throw new DataError(pointer, `names no checkpoint file (got ${JSON.stringify(file)})`);
  const path = join(dir, file);
  if (!checkpointFiles(dir).some((f) => f.file === file))
    throw new DataError(pointer, `names ${file}, which is missing`);
  return path;
}

const metadataJson = (file: string, metadata: Record<string, string>, key: string): unknown => {
  if (metadata[key] === undefined) throw new DataError(file, `the checkpoint has no '${key}' in its metadata`);
  try {
    return JSON.parse(metadata[key]);
  } catch {
    throw new DataError(file, `the checkpoint's '${key}' metadata is not JSON`);
  }
};

const isFolder = (path: string): boolean => {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
};

/**
 * A checkpoint file's tensors and metadata; a file that is no safetensors at all (a run.json, a metrics.jsonl)
 * is named as not a checkpoint, with what to give instead.
 * @throws DataError as readSafetensors
 */
function readCheckpointFile(file: string): ReturnType<typeof readSafetensors> {
  try {
    return readSafetensors(file);
  } catch (e) {
    if (e instanceof DataError && !file.endsWith('.safetensors') && e.message.includes('not a valid safetensors file'))
      throw new DataError(file, 'not a checkpoint — give a run folder or a .safetensors checkpoint');
    throw e;
  }
}

/**
 * A checkpoint file, or a run folder (its latest checkpoint), checked: checksum, structure,
 * one agent count K across the tensors and the Perron vector, finite values.
 * @throws DataError naming the file (and the tensor) when anything is wrong
 */
export function loadCheckpoint(path: string): LoadedCheckpoint {
  const folder = isFolder(path);
  if (folder && !isFolder(join(path, 'checkpoints')))
    throw new DataError(path, 'a folder without checkpoints/ — give a run folder or a .safetensors file');
  const file = folder ? latestCheckpointPath(join(path, 'checkpoints')) : path;
  if (file === null) throw new DataError(path, 'the run has no checkpoint yet');
  // In a scope: tensors of the file that are not returned (or all, on an error) are freed.
  return scope(() => {
    const { tensors, metadata } = readCheckpointFile(file);
    if (metadata.format !== checkpointFormat)
      throw new DataError(
        file,
        `not a flatdist checkpoint (format '${metadata.format ?? 'none'}', expected ${checkpointFormat})`,
      );
    // Every checkpoint flatdist writes carries its checksum: one without it was written by hand or edited.
    if (metadata[checksumKey] === undefined)
      throw new DataError(
        file,
        `has no ${checksumKey} checksum in its metadata, so its data cannot be verified — flatdist writes one into every checkpoint; this file was edited or written by another tool`,
      );
    const paramNames = metadataJson(file, metadata, 'paramNames');
    if (!Array.isArray(paramNames) || paramNames.length === 0 || !paramNames.every((n) => typeof n === 'string'))
      throw new DataError(file, "the checkpoint's paramNames is not a list of names");
    const perron = metadataJson(file, metadata, 'perron');
    if (!Array.isArray(perron) || !perron.every((p) => typeof p === 'number' && Number.isFinite(p)))
      throw new DataError(file, "the checkpoint's Perron vector is not a list of finite numbers");
    const samplers = metadataJson(file, metadata, 'samplers');
    if (!Array.isArray(samplers)) throw new DataError(file, "the checkpoint's sampler states are not a list");
    const step = Number(metadata.step);
    if (!Number.isInteger(step) || step < 0)
      throw new DataError(
        file,
        `the checkpoint's step is not a non-negative integer (got ${JSON.stringify(metadata.step)})`,
      );
    const K = perron.length;
    const get = (name: string): Tensor => {
      const t = tensors[name];
      if (t === undefined) throw new DataError(file, `missing tensor ${name}`);
      if (t.dtype !== 'float32') throw new DataError(file, `tensor ${name} is ${t.dtype}, expected float32`);
      if (t.shape[0] !== K)
        throw new DataError(
          file,
          `tensor ${name} has shape [${t.shape.join(', ')}], expected ${K} agents (the Perron vector's length) first`,
        );
      if (!allFinite(t))
        throw new DataError(file, `tensor ${name} holds NaN or Inf values — the checkpoint cannot be used`);
      return t;
    };
    const params = (paramNames as string[]).map((n) => get(`agents.${n}`));
    const hasMomentum = (paramNames as string[]).some((n) => `momentum.${n}` in tensors);
    const momentum = hasMomentum ? (paramNames as string[]).map((n) => get(`momentum.${n}`)) : null;
    const config = metadataJson(file, metadata, 'config');
    return {
      step,
      paramNames: paramNames as string[],
      params,
      momentum,
      perron: perron as number[],
      samplers,
      config,
      file,
    };
  });
}

/**
 * Checks tensors read from a checkpoint file (GROUP.NAME) against a model: the same names in
 * the same order, each of shape [...leading, ...the model's shape], floating point.
 * @param leading e.g. [K] for stacked agents, [] for one model
 * @param group the tensors' prefix in the file: agents (parameters) or momentum
 * @throws DataError naming the file and the first tensor that does not fit
 */
export function checkAgainstModel(
  file: string,
  names: string[],
  params: Tensor[],
  model: ParamLayout,
  leading: number[],
  group = 'agents',
): void {
  if (names.join() !== model.paramNames.join()) {
    throw new DataError(
      file,
      `holds tensors ${names.join(', ')}; the model needs ${model.paramNames.join(', ')} — give the model flags of the run that wrote it`,
    );
  }
  params.forEach((t, i) => {
    const want = [...leading, ...model.paramShapes[i]];
    if (t.shape.join() !== want.join()) {
      throw new DataError(
        file,
        `tensor ${group}.${names[i]} has shape [${t.shape.join(', ')}], the model needs [${want.join(', ')}] — the file was changed, or the model flags differ from the run's`,
      );
    }
    if (t.dtype !== 'float32' && t.dtype !== 'float64')
      throw new DataError(file, `tensor ${group}.${names[i]} is ${t.dtype}, expected floating point`);
  });
}

/**
 * A loaded checkpoint against the model and agent count a command will use it with.
 * @param samplers whether the sampler states must be there (to resume training)
 * @throws DataError naming the file and what does not fit
 */
export function checkCheckpoint(ck: LoadedCheckpoint, model: ParamLayout, agents: number, samplers = false): void {
  if (ck.perron.length !== agents)
    throw new DataError(ck.file, `holds ${ck.perron.length} agents, the run has ${agents}`);
  checkAgainstModel(ck.file, ck.paramNames, ck.params, model, [agents]);
  if (ck.momentum) checkAgainstModel(ck.file, ck.paramNames, ck.momentum, model, [agents], 'momentum');
  if (samplers && ck.samplers.length !== agents)
    throw new DataError(
      ck.file,
      `holds ${ck.samplers.length} sampler states, the run has ${agents} agents — it cannot be resumed`,
    );
}
