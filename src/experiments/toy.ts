/*
 * A 2-D landscape with a sharp and a flat minimum, where one can see where each
 * algorithm ends up. The global risk is two Gaussian wells of equal depth and
 * different widths, held in by a weak quadratic:
 *
 *   J(w) = −D exp(−‖w − c_s‖²/(2 s_s²)) − D exp(−‖w − c_f‖²/(2 s_f²)) + ‖w‖²/(2L²)
 *
 * (s_s ≪ s_f: curvature D/s² at the bottom, sharp vs flat). Agent k sees the
 * heterogeneous local risk J_k(w) = J(w) + b_kᵀw with Σ_k b_k = 0 (so J = (1/K) Σ_k J_k;
 * the b_k are drawn afresh for each replica)
 * and a stochastic gradient ∇J_k(w) + v, v ~ N(0, σ²/B · I) — per-sample noise σ,
 * batch size B. Every replica starts all agents at one point drawn uniformly in the
 * box; after N steps of the unified recursion its centroid's basin is where plain
 * gradient descent on J from the centroid ends.
 */
import { replicaMixer, unifiedForm, type Algorithm } from '../algorithms/recursion.js';
import { plainSgd } from '../algorithms/local.js';
import { sgdStep } from '../algorithms/step.js';
import { combinationMatrix, makeGraph } from '../graph/index.js';
import { Generator, fromArray, grad, keep, noGrad, rand, randn, scope, tensor, type Tensor } from '../tensor/index.js';
import { deriveSeed } from '../util/seed.js';
import { centroids } from '../measures/index.js';

export interface Well {
  centre: [number, number];
  width: number;
}

export interface ToyLandscape {
  sharp: Well;
  flat: Well;
  depth: number;
  /** L of the confining quadratic ‖w‖²/(2L²). */
  confinement: number;
  /** Where runs start: uniform in [x0, x1] × [y0, y1]. */
  box: [number, number, number, number];
}

export const defaultLandscape: ToyLandscape = {
  sharp: { centre: [-1, 0], width: 0.3 },
  flat: { centre: [1.5, 0], width: 1 },
  depth: 1,
  confinement: 4,
  box: [-2.5, 3, -1.5, 1.5],
};

export interface ToyRunSettings {
  algorithm: Algorithm;
  agents: number;
  topology: string;
  replicas: number;
  steps: number;
  stepSize: number;
  batchSize: number;
  /** σ, the per-sample gradient noise. */
  noise: number;
  /** ‖b_k‖ scale: the b_k are N(0, h²I) draws, centred. */
  heterogeneity: number;
  /** 'sharp': every replica starts at the sharp minimum (escape); 'uniform': at a uniform draw in the box. */
  start: 'sharp' | 'uniform';
  seed: number;
}

/** J(w) for points w [..., 2]: [...]. */
export function toyRisk(l: ToyLandscape, w: Tensor): Tensor {
  const well = (c: Well): Tensor =>
    w
      .sub(tensor(c.centre, w.dtype))
      .square()
      .sum(-1)
      .div(-2 * c.width * c.width)
      .exp()
      .mul(-l.depth);
  return well(l.sharp)
    .add(well(l.flat))
    .add(
      w
        .square()
        .sum(-1)
        .div(2 * l.confinement ** 2),
    );
}

/** Which basin gradient descent on J from each point [n, 2] ends in: true for the flat one. */
export function inFlatBasin(l: ToyLandscape, points: number[][]): boolean[] {
  const ends = scope(() => {
    let w = fromArray(Float64Array.from(points.flat()), [points.length, 2]);
    const mu = (0.2 * l.sharp.width ** 2) / l.depth;
    for (let i = 0; i < 4000; i++) {
      w = scope(() => {
        const x = w.detach().requiresGrad_();
        const [g] = grad(toyRisk(l, x).sum(), [x]);
        return noGrad(() => x.sub(g.mul(mu)));
      });
    }
    return w.toNumbers();
  });
  const dist = (i: number, c: [number, number]): number => Math.hypot(ends[2 * i] - c[0], ends[2 * i + 1] - c[1]);
  return points.map((_, i) => dist(i, l.flat.centre) < dist(i, l.sharp.centre));
}

export interface ToyRun {
  algorithm: Algorithm;
  /** Each replica's start and final centroid. */
  starts: number[][];
  ends: number[][];
  flat: boolean[];
  /** Final J(w_c) per replica. */
  risk: number[];
}

/** The replicas' common starting points: one uniform draw in the box per replica, the same for every algorithm. */
export function toyStarts(l: ToyLandscape, replicas: number, seed: number): number[][] {
  const u = scope(() => rand([replicas, 2], new Generator(deriveSeed(seed, 'toy-start')), 'float64').toNumbers());
  const [x0, x1, y0, y1] = l.box;
  return Array.from({ length: replicas }, (_, r) => [x0 + (x1 - x0) * u[2 * r], y0 + (y1 - y0) * u[2 * r + 1]]);
}

export function toyRun(l: ToyLandscape, s: ToyRunSettings): ToyRun {
  const { agents: K, replicas: R } = s;
  const starts = s.start === 'sharp' ? Array.from({ length: R }, () => [...l.sharp.centre]) : toyStarts(l, R, s.seed);
  const A = combinationMatrix(
    'metropolis',
    makeGraph({ topology: s.topology, agents: K, seed: deriveSeed(s.seed, 'graph') }),
  );
  return scope(() => {
    const form = unifiedForm(s.algorithm, A, 'float64');
    const mixer = replicaMixer(R);
    // b_k: drawn afresh for every replica (the same for every algorithm), centred so Σ_k b_k = 0.
    const draws = randn([R, K, 2], new Generator(deriveSeed(s.seed, 'toy-heterogeneity')), 'float64').mul(
      s.heterogeneity,
    );
    const b = keep(draws.sub(draws.mean(1, true)).reshape([R * K, 2]));
    const noiseGen = new Generator(deriveSeed(s.seed, 'toy-noise'));
    const noiseScale = s.noise / Math.sqrt(s.batchSize);
    let w = [
      keep(fromArray(Float64Array.from(starts.flatMap((p) => Array.from({ length: K }, () => p).flat())), [R * K, 2])),
    ];
    const settings = { form, stepSize: s.stepSize, local: plainSgd, momentum: null, mixer };
    for (let n = 0; n < s.steps; n++) {
      const next = scope(() => {
        const v = randn([R * K, 2], noiseGen, 'float64').mul(noiseScale);
        // Agent k's risk J + b_kᵀw, and the gradient noise v as a linear term vᵀw (its gradient is v).
        return sgdStep(w, ([x]) => toyRisk(l, x).add(x.mul(b.add(v)).sum(-1)), settings).w;
      });
      w.forEach((t) => t.dispose());
      w = next.map(keep);
    }
    const [wc] = centroids(w, undefined, R);
    const flatEnds = wc.toNumbers();
    const ends = Array.from({ length: R }, (_, r) => [flatEnds[2 * r], flatEnds[2 * r + 1]]);
    const risk = toyRisk(l, wc).toNumbers();
    w.forEach((t) => t.dispose());
    b.dispose();
    return { algorithm: s.algorithm, starts, ends, flat: inFlatBasin(l, ends), risk };
  });
}

/** J on a grid over the box, for the background of the density plot. */
export function toyGrid(l: ToyLandscape, cells: number): { x: number; y: number; risk: number }[] {
  const [x0, x1, y0, y1] = l.box;
  const pts: number[][] = [];
  for (let i = 0; i < cells; i++)
    for (let j = 0; j < cells; j++)
      pts.push([x0 + ((i + 0.5) * (x1 - x0)) / cells, y0 + ((j + 0.5) * (y1 - y0)) / cells]);
  const risk = scope(() => toyRisk(l, fromArray(Float64Array.from(pts.flat()), [pts.length, 2])).toNumbers());
  return pts.map(([x, y], i) => ({ x, y, risk: risk[i] }));
}
