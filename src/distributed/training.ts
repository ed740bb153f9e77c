// What the trainer needs to run as one process of a group: the agents this rank
// hosts, the neighbour-exchange mixer, and the gathers that give evaluation and
// checkpoints every agent's state.
import type { SamplerState } from '../data/sampler.js';
import { modelIdentity } from '../models/index.js';
import { fromArray, scope } from '../tensor/index.js';
import type { TrainConfig } from '../train/config.js';
import type { TrainOptions } from '../train/trainer.js';
import { allgatherJson, gatherAgents } from './gather.js';
import type { ProcessGroup } from './group.js';
import { NeighborMixer } from './mixer.js';
import { blockPlacement, hostedAgents } from './placement.js';

export type DistributedOptions = Required<
  Pick<
    TrainOptions,
    'mixer' | 'agents' | 'gatherAll' | 'gatherSamplerStates' | 'writer' | 'sumOverProcesses' | 'communication'
  >
> & { mixer: NeighborMixer };

/** K agents in blocks over the group's ranks; rank 0 writes the run directory. */
export function distributedOptions(
  group: ProcessGroup,
  K: number,
  owner: number[] = blockPlacement(K, group.worldSize),
): DistributedOptions {
  const hostedBy = Array.from({ length: group.worldSize }, (_, r) => hostedAgents(owner, r));
  const mixer = new NeighborMixer(group, owner);
  return {
    agents: hostedBy[group.rank],
    mixer,
    gatherAll: (w) => gatherAgents(group, owner, w),
    gatherSamplerStates: (states: SamplerState[]) => {
      const byRank = allgatherJson(group, states);
      return owner.map((r, k) => byRank[r][hostedBy[r].indexOf(k)]);
    },
    writer: group.rank === 0,
    sumOverProcesses: (xs) =>
      scope(() => {
        const t = fromArray(Float64Array.from(xs));
        group.allreduce(t);
        return t.toNumbers();
      }),
    // Bytes of the combination steps; seconds of every collective, gathers for evaluation included.
    communication: () => ({ bytesSent: mixer.totalBytesSent, seconds: group.stats.seconds }),
  };
}

/**
 * The run every rank of a group must agree on at join: the config's fields and
 * whether it resumes. Left out are the locations, which may differ from machine
 * to machine: out (where rank 0 writes) and dataDir (where a machine keeps the data),
 * and keepCheckpoints and the curvature-during-training fields, which only the writing rank reads.
 * A TorchScript model is agreed by its file's content (modelIdentity), not by its path.
 * @throws FileSystemError when a TorchScript module file cannot be read
 */
export function agreedRun(config: TrainConfig, resume: boolean): Record<string, unknown> {
  // What only the writer reads (curvature during training is measured by the writer) is left out.
  const {
    out: _out,
    dataDir: _dataDir,
    keepCheckpoints: _keep,
    device: _device,
    measureEvery: _measureEvery,
    measures: _measures,
    measureProbes: _probes,
    measureTopK: _topK,
    measureSubset: _subset,
    measureSeed: _seed,
    measureAgents: _agents,
    ...run
  } = config;
  return { ...run, model: modelIdentity(run.model), resume };
}
