// One seed fixes a run: every random stream (initialization, partition, each agent's
// batches, evaluation subsets, measures, experiments) gets its own seed derived from the
// run's seed and a purpose, so streams do not depend on each other or on which process
// hosts an agent. This is the only derivation of seeds in flatdist.

/**
 * A 53-bit seed from (seed, purpose, index): FNV-1a (64 bits) over the text
 * `${seed}/${purpose}/${index}`, top 53 bits — stable across machines and languages
 * (examples/pytorch_agent.py derives the same numbers).
 */
export function deriveSeed(seed: number | bigint, purpose: string, index = 0): number {
  let h = 0xcbf29ce484222325n;
  for (const byte of Buffer.from(`${seed}/${purpose}/${index}`)) {
    h ^= BigInt(byte);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return Number(h >> 11n);
}
