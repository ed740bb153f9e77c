// R independent replicas (seeds) of a K-agent network run as one stacked network of
// R·K agents: agent k of replica r is row r·K + k of every [R·K, …] parameter. The
// combination step mixes within each replica only, Σ_l a_{lk} w_{r,l} for all r at once:
// a batched product Aᵀ·W_r, so R seeds cost one pass of the engine.
import type { Mixer } from '../algorithms/recursion.js';
import type { Tensor } from '../tensor/index.js';

export function replicaMixer(replicas: number): Mixer {
  return {
    mix(A, w) {
      const At = A.mT;
      return w.map((p) => At.matmul(p.reshape([replicas, A.shape[0], -1])).reshape(p.shape));
    },
  };
}

/** Each replica's centroid w_{c,r} = Σ_k p_k w_{r,k} of stacked [R·K, …] parameters: [R, …]. */
export function replicaCentroids(w: Tensor[], replicas: number, p: Tensor): Tensor[] {
  return w.map((t) => {
    const K = t.shape[0] / replicas;
    return p.reshape([1, 1, K]).matmul(t.reshape([replicas, K, -1])).reshape([replicas, ...t.shape.slice(1)]);
  });
}
