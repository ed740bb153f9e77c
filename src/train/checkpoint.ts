// A training checkpoint: the stacked agent parameters (and momentum buffers) as
// safetensors, with everything else a resumed run needs — step, each agent's
// sampler state — in the header's metadata. Written atomically; a pointer file
// names the latest complete one.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataError } from '../errors.js';
import type { Tensor } from '../tensor/index.js';
import { writeFileAtomic } from './atomic.js';
import { readSafetensors, writeSafetensors } from './safetensors.js';

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

const fileName = (step: number): string => `step-${String(step).padStart(8, '0')}.safetensors`;

export function saveCheckpoint(dir: string, c: Checkpoint): string {
  mkdirSync(dir, { recursive: true });
  const tensors: Record<string, Tensor> = {};
  c.paramNames.forEach((name, i) => {
    tensors[`agents.${name}`] = c.params[i];
    if (c.momentum) tensors[`momentum.${name}`] = c.momentum[i];
  });
  const path = join(dir, fileName(c.step));
  writeSafetensors(path, tensors, {
    format: checkpointFormat,
    step: String(c.step),
    paramNames: JSON.stringify(c.paramNames),
    perron: JSON.stringify(c.perron),
    samplers: JSON.stringify(c.samplers),
    config: JSON.stringify(c.config),
  });
  writeFileAtomic(join(dir, 'latest.json'), `${JSON.stringify({ step: c.step, file: fileName(c.step) })}\n`);
  return path;
}

/** The latest checkpoint in a run's checkpoint folder, or null when there is none. */
export function latestCheckpointPath(dir: string): string | null {
  const pointer = join(dir, 'latest.json');
  if (!existsSync(pointer)) return null;
  const { file } = JSON.parse(readFileSync(pointer, 'utf8')) as { file: string };
  return join(dir, file);
}

/** A checkpoint file, or a run folder (its latest checkpoint). */
export function loadCheckpoint(path: string): Checkpoint {
  const file = existsSync(join(path, 'checkpoints')) ? latestCheckpointPath(join(path, 'checkpoints')) : path;
  if (file === null) throw new DataError(path, 'the run has no checkpoint yet');
  const { tensors, metadata } = readSafetensors(file);
  if (metadata.format !== checkpointFormat) throw new DataError(file, `not a flatdist checkpoint (format '${metadata.format ?? 'none'}', expected ${checkpointFormat})`);
  const paramNames = JSON.parse(metadata.paramNames) as string[];
  const params = paramNames.map((n) => tensors[`agents.${n}`] ?? (() => { throw new DataError(file, `missing tensor agents.${n}`); })());
  const hasMomentum = paramNames.every((n) => `momentum.${n}` in tensors);
  return {
    step: Number(metadata.step),
    paramNames,
    params,
    momentum: hasMomentum ? paramNames.map((n) => tensors[`momentum.${n}`]) : null,
    perron: JSON.parse(metadata.perron) as number[],
    samplers: JSON.parse(metadata.samplers) as unknown[],
    config: JSON.parse(metadata.config) as unknown,
  };
}
