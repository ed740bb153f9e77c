/*
 * Escape from a minimum w* on real data: every agent of every replica starts at w*
 * and runs the unified recursion (the engine's unifiedStep) with batches of B
 * examples drawn with replacement from its own data, so its gradient noise has
 * covariance R_k/B exactly as the linearized theory assumes. Recorded along the way,
 * per replica r:
 *
 *   centroid:  J(w_{c,n}) − J(w*),        w_{c,n} = Σ_k p_k w_{k,n}
 *   agents:    (1/K) Σ_k J(w_{k,n}) − J(w*)
 *
 * with J = Σ_k p_k J_k over the full training data. Their means over replicas estimate
 * the escaping efficiency E J(w_{c,n}) − J(w*) (larger = faster escape).
 */
import { unifiedForm, unifiedStep, type Algorithm } from '../algorithms/recursion.js';
import type { Matrix } from '../graph/index.js';
import { agentLosses, type Model } from '../models/index.js';
import { Generator, fromArray, grad, keep, noGrad, rand, scope, type Tensor } from '../tensor/index.js';
import type { AgentData } from './data.js';
import { replicaCentroids, replicaMixer } from './replicas.js';

/** J(w) = Σ_i weight_i ℓ(w; x_i, y_i) for each of the G models stacked in params [G, …], in data chunks: [G] numbers. */
export function stackedRisk(model: Model, data: AgentData, params: Tensor[], chunk = 4096): number[] {
  return noGrad(() =>
    scope(() => {
      const G = params[0].shape[0];
      const n = data.y.shape[0];
      let total: Tensor | null = null;
      for (let start = 0; start < n; start += chunk) {
        const part = scope(() => {
          const len = Math.min(chunk, n - start);
          const x = data.x.narrow(0, start, len);
          const logits = model.forward(params, x.unsqueeze(0).expand([G, len, x.shape[1]]));
          const y = data.y.narrow(0, start, len).unsqueeze(0).expand([G, len]);
          const nll = logits.logSoftmax(2).gather(2, y.unsqueeze(2)).squeeze(2).neg();
          return nll.to('float64').matmul(data.weights.narrow(0, start, len).to('float64'));
        });
        total = total ? total.add(part) : part;
      }
      return total!.toNumbers();
    }),
  );
}

/** R·K batches of B examples, agent k's drawn uniformly with replacement from its own data: x [RK, B, F], y [RK, B]. */
export function replicaBatches(data: AgentData, replicas: number, B: number, gen: Generator): { x: Tensor; y: Tensor } {
  return scope(() => {
    const K = data.K;
    const sizes = fromArray(Float64Array.from(data.sizes), [1, K, 1]);
    const last = fromArray(Int32Array.from(data.sizes.map((n) => n - 1)), [1, K, 1]);
    const offsets = fromArray(Int32Array.from(data.offsets), [1, K, 1]);
    // ⌊u·N_k⌋ for u ~ U[0, 1): uniform over agent k's examples (truncation is the floor here).
    const index = rand([replicas, K, B], gen, 'float64').mul(sizes).to('int64').minimum(last).add(offsets).reshape([-1]);
    return {
      x: data.x.indexSelect(0, index).reshape([replicas * K, B, data.x.shape[1]]),
      y: data.y.indexSelect(0, index).reshape([replicas * K, B]),
    };
  });
}

export interface EscapeSettings {
  algorithm: Algorithm;
  /** The K×K combination matrix A (columns sum to one). */
  A: Matrix;
  stepSize: number;
  batchSize: number;
  steps: number;
  replicas: number;
  /** Steps n at which J(w_c) is recorded (0 = the start). */
  record: number[];
  /** The recorded steps at which the agents' J(w_k) are evaluated too (default: all); NaN at the others. K times the cost of the centroid's. */
  recordAgents?: number[];
  seed: number;
}

export interface EscapeCurves {
  algorithm: Algorithm;
  steps: number[];
  /** [replica][record]: J(w_{c,n}) − J(w*). */
  centroid: number[][];
  /** [replica][record]: (1/K) Σ_k J(w_{k,n}) − J(w*), NaN where not evaluated. */
  agents: number[][];
  seconds: number;
}

/** Runs R replicas from w* (one model's parameters) and records the excess risks. */
export function escapeRun(model: Model, data: AgentData, wStar: Tensor[], riskStar: number, s: EscapeSettings): EscapeCurves {
  const started = Date.now();
  const { replicas: R } = s;
  const K = data.K;
  const gen = new Generator(s.seed);
  const p = keep(fromArray(Float32Array.from(data.p)));
  const form = scope(() => unifiedForm(s.algorithm, fromArray(Float32Array.from(s.A.flat()), [K, K])));
  for (const A of [form.Ao, form.A1, form.A2]) if (A) keep(A);
  const mixer = replicaMixer(R);
  let w = wStar.map((t) => keep(t.unsqueeze(0).expand([R * K, ...t.shape]).contiguous()));
  const centroid: number[][] = Array.from({ length: R }, () => []);
  const agents: number[][] = Array.from({ length: R }, () => []);
  const withAgents = new Set(s.recordAgents ?? s.record);
  const record = (n: number): void => {
    const c = stackedRisk(model, data, scope(() => replicaCentroids(w, R, p)));
    const a = withAgents.has(n) ? stackedRisk(model, data, w) : null;
    for (let r = 0; r < R; r++) {
      centroid[r].push(c[r] - riskStar);
      agents[r].push(a ? a.slice(r * K, (r + 1) * K).reduce((x, y) => x + y, 0) / K - riskStar : Number.NaN);
    }
  };
  const marks = new Set(s.record);
  if (marks.has(0)) record(0);
  for (let n = 1; n <= s.steps; n++) {
    const next = scope(() => {
      const batch = replicaBatches(data, R, s.batchSize, gen);
      return unifiedStep(w, (phi) => {
        const leaves = phi.map((t) => t.detach().requiresGrad_());
        return grad(agentLosses(model, leaves, batch.x, batch.y).sum(), leaves);
      }, form, s.stepSize, mixer);
    });
    w.forEach((t) => t.dispose());
    w = next.map(keep);
    if (marks.has(n)) record(n);
  }
  w.forEach((t) => t.dispose());
  for (const A of [form.Ao, form.A1, form.A2]) A?.dispose();
  p.dispose();
  return { algorithm: s.algorithm, steps: s.record.filter((n) => n <= s.steps), centroid, agents, seconds: (Date.now() - started) / 1000 };
}
