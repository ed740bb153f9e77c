// The Hessian's spectral density by stochastic Lanczos quadrature (Ubaru, Chen & Saad 2017;
// Ghorbani, Krishnan & Xiao 2019). For a normalized random probe v, m Lanczos steps give a
// Gauss quadrature of the spectral measure seen from v:
//   vᵀ f(H) v ≈ Σ_i τ_i f(θ_i),   θ_i the Ritz values, τ_i = s_i[1]² (Σ_i τ_i = 1).
// Averaged over probes it estimates (1/M) Σ_j f(λ_j); with f a Gaussian of width σ,
//   φ(t) = (1/P) Σ_p Σ_i τ_{p,i} N(t; θ_{p,i}, σ²),
// a smoothed density of the M eigenvalues with total mass 1.
import { rademacher, scope, tensor, type Generator, type Tensor } from '../tensor/index.js';
import { Meter, type Cost } from './cost.js';
import { lanczos, ritz } from './lanczos.js';
import { hessianAt, type Objective } from './objective.js';
import { meanAndStdError } from '../stats/index.js';
import { dimension, flat, unflat } from './vector.js';

export interface DensityOptions {
  gen: Generator;
  /** Random probes (default 5). */
  probes?: number;
  /** Lanczos steps per probe (default min(M, 80)). */
  steps?: number;
  /** Points of the grid the density is drawn on (default 256). */
  gridPoints?: number;
  /** Width of the Gaussian smoothing (default 1% of the span of the nodes). */
  sigma?: number;
}

export interface SpectralDensity {
  /** Quadrature nodes θ (Ritz values) per probe, ascending. */
  nodes: number[][];
  /** Quadrature weights τ per probe, each row summing to 1. */
  weights: number[][];
  /** Grid over [min node − 5σ, max node + 5σ] and the smoothed density on it. */
  grid: number[];
  density: number[];
  sigma: number;
  /** Mean eigenvalue Tr(H)/M as estimated by the quadrature (Σ τθ averaged over probes), with its standard error. */
  meanEigenvalue: number;
  meanEigenvalueStdError: number;
  probes: number;
  steps: number;
  cost: Cost;
}

export function spectralDensity(obj: Objective, params: Tensor[], o: DensityOptions): SpectralDensity {
  const probes = o.probes ?? 5;
  const m = dimension(params);
  const steps = Math.min(o.steps ?? 80, m);
  const gridPoints = o.gridPoints ?? 256;
  const meter = new Meter();
  // One gradient graph per chunk for every probe's Lanczos steps (HessianAt).
  const hessian = hessianAt(obj, params, { meter });
  const apply = (v: Tensor): Tensor => scope(() => flat(hessian.apply([unflat(v, params)])[0]));
  const nodes: number[][] = [];
  const weights: number[][] = [];
  try {
    for (let p = 0; p < probes; p++) {
      const r = ritz(scope(() => lanczos(apply, rademacher([m], o.gen, params[0].dtype), { steps })));
      nodes.push(r.values);
      weights.push(r.weights);
    }
  } finally {
    hessian.dispose();
  }
  const all = nodes.flat();
  const lo = Math.min(...all);
  const hi = Math.max(...all);
  const sigma = o.sigma ?? 0.01 * (hi - lo || Math.max(Math.abs(hi), 1));
  const grid = Array.from(
    { length: gridPoints },
    (_, i) => lo - 5 * sigma + ((hi - lo + 10 * sigma) * i) / (gridPoints - 1),
  );
  const density = scope(() => {
    const t = tensor(grid, 'float64').unsqueeze(1);
    const theta = tensor(all, 'float64').unsqueeze(0);
    const tau = tensor(weights.flat(), 'float64').div(probes).unsqueeze(0);
    const gauss = t
      .sub(theta)
      .div(sigma)
      .square()
      .mul(-0.5)
      .exp()
      .div(sigma * Math.sqrt(2 * Math.PI));
    return gauss.mul(tau).sum(1).toNumbers();
  });
  const means = nodes.map((row, p) => row.reduce((s, theta, i) => s + weights[p][i] * theta, 0));
  const { mean, stdError } = meanAndStdError(means);
  return {
    nodes,
    weights,
    grid,
    density,
    sigma,
    meanEigenvalue: mean,
    meanEigenvalueStdError: stdError,
    probes,
    steps,
    cost: meter.cost(),
  };
}
