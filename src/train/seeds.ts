// One seed fixes a run: every random stream (initialization, partition, each
// agent's batches) gets its own seed derived from the run's seed and a purpose,
// so streams do not depend on each other or on which process hosts an agent.

/** A 53-bit seed from (seed, purpose, index) by FNV-1a, stable across machines. */
export function deriveSeed(seed: number, purpose: string, index = 0): number {
  let h = 0xcbf29ce484222325n;
  for (const byte of Buffer.from(`${seed}/${purpose}/${index}`)) {
    h ^= BigInt(byte);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return Number(h >> 11n);
}
