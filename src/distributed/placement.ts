// Which process hosts which agents. owner[k] is the rank hosting agent k; a
// rank's agents are kept in increasing order, the order of its stacked rows.
import { ConfigError } from '../errors.js';

/** K agents in contiguous blocks over the ranks, sizes differing by at most one. */
export function blockPlacement(K: number, worldSize: number): number[] {
  if (worldSize > K)
    throw new ConfigError(
      'nproc',
      `${worldSize} processes for ${K} agents: every process must host at least one agent`,
    );
  return Array.from({ length: K }, (_, k) => Math.floor((k * worldSize) / K));
}

/** The agents rank hosts, in increasing order. */
export function hostedAgents(owner: number[], rank: number): number[] {
  return owner.flatMap((r, k) => (r === rank ? [k] : []));
}
