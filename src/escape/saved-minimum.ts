// A minimum w* on disk: a run directory whose checkpoint holds w* for every agent (all equal,
// so any reader of checkpoints sees a network sitting at w*), run.json with the config that
// defines J, and minimum.json with J(w*) (and its data loss), ‖∇J(w*)‖ and how w* was found.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataError, UserError } from '../errors.js';
import { scope, type Tensor } from '../tensor/index.js';
import { centroid } from '../measures/index.js';
import { checkAgainstModel, loadCheckpoint, saveCheckpoint, type ParamLayout } from '../train/checkpoint.js';
import { makeConfig, type TrainConfig } from '../train/config.js';
import { writeFileAtomic } from '../util/files.js';
import { environment, writeRunRecord } from '../train/rundir.js';
import type { MinimizeMethod, MinimizeStep } from './descent.js';

export interface MinimumRecord {
  method: MinimizeMethod;
  /** J(w*) = data loss + (λ/2)‖w*‖² and ‖∇J(w*)‖ at the saved (float32) w*, computed in float64 (src/measures/risk.ts). */
  risk: number;
  dataLoss: number;
  weightDecay: number;
  gradientNorm: number;
  tolerance: number;
  steps: number;
  converged: boolean;
  stopped: string;
  /** Where the minimization started: a checkpoint path, or 'init' (the config's initialization). */
  init: string;
  seconds: number;
  history: MinimizeStep[];
}

export interface Minimum {
  config: TrainConfig;
  /** w*, one model's parameters (paramShapes). */
  params: Tensor[];
  paramNames: string[];
  record: MinimumRecord | null;
  /** The checkpoint file w* was read from. */
  file: string;
}

export const minimumFile = (dir: string): string => join(dir, 'minimum.json');

/**
 * Writes w* (one model's parameters) as a K-agent checkpoint with run.json and minimum.json.
 * @throws UserError when w*, J(w*) or ‖∇J(w*)‖ is not finite (nothing is written)
 * @throws FileSystemError when a file cannot be written
 */
export function saveMinimum(
  dir: string,
  config: TrainConfig,
  paramNames: string[],
  perron: number[],
  params: Tensor[],
  record: MinimumRecord,
): void {
  if (!Number.isFinite(record.risk) || !Number.isFinite(record.gradientNorm)) {
    throw new UserError(`${dir}: w* not written — J(w*) = ${record.risk}, ‖∇J(w*)‖ = ${record.gradientNorm}`);
  }
  // The checkpoint first: saveCheckpoint refuses a non-finite w* before anything is written.
  scope(() =>
    saveCheckpoint(join(dir, 'checkpoints'), {
      step: record.steps,
      paramNames,
      params: params.map((p) =>
        p
          .to('float32')
          .unsqueeze(0)
          .expand([config.agents, ...p.shape])
          .contiguous(),
      ),
      momentum: null,
      perron,
      samplers: [],
      config,
    }),
  );
  writeRunRecord(dir, {
    config,
    environment: environment(),
    minimum: {
      risk: record.risk,
      dataLoss: record.dataLoss,
      weightDecay: record.weightDecay,
      gradientNorm: record.gradientNorm,
    },
    written: new Date().toISOString(),
  });
  writeFileAtomic(minimumFile(dir), `${JSON.stringify(record, null, 2)}\n`);
}

/**
 * A minimum (or any run directory or checkpoint): its config, the centroid of its agents, and
 * minimum.json when there is one. Check it against the model it is used with (checkMinimum).
 * @throws DataError when it is missing or its checkpoint is damaged or not finite
 */
export function loadMinimum(path: string): Minimum {
  if (!existsSync(path))
    throw new DataError(
      path,
      'no such checkpoint file or run directory — give the --out folder of flatdist minimize or train',
    );
  const ck = loadCheckpoint(path);
  const config = makeConfig(ck.config as Record<string, unknown>);
  const params = centroid(ck.params, ck.perron);
  ck.params.forEach((t) => t.dispose());
  ck.momentum?.forEach((t) => t.dispose());
  const file = minimumFile(path);
  const record = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as MinimumRecord) : null;
  return { config, params, paramNames: ck.paramNames, record, file: ck.file };
}

/**
 * w* against the model a command evaluates it with: names, shapes, dtypes.
 * @throws DataError naming the file and the tensor that does not fit
 */
export function checkMinimum(m: Minimum, model: ParamLayout): void {
  checkAgainstModel(m.file, m.paramNames, m.params, model, []);
}
