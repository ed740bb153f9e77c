// The messages `flatdist bench` exchanges with its measuring processes (the
// flatdist worker and the PyTorch peer): one JSON object per line each way.
// A process holds the configurations prepared since the last 'clear' and times
// `steps` of one on request, so the harness can interleave implementations run by run.

/** Training: diffusion ATC over the combination matrix A (A[l][k] = a_{lk}), μ = mu. */
export interface TrainJob {
  impl: string;
  model: 'mlp' | 'lenet';
  K: number;
  B: number;
  A: number[][];
  mu: number;
  seed: number;
}

/** Hessian-vector products of one model's mean cross-entropy on one batch of B examples; `probes` products per step. */
export interface HvpJob {
  impl: string;
  model: 'mlp' | 'lenet';
  B: number;
  seed: number;
  probes?: number;
}

/**
 * Curvature of the MLP's mean cross-entropy over `batches` batches of B examples, at parameters and
 * examples both sides make from the same formula (`pattern` in worker.ts and peer.py), so their results
 * can be compared: one step is a whole Hutchinson trace of `probes` Rademacher probes ('trace'), or the
 * top `k` eigenvalues to relative tolerance `tol` ('eigen').
 */
export interface CurvatureJob {
  impl: string;
  kind: 'trace' | 'eigen';
  B: number;
  batches: number;
  probes: number;
  k: number;
  tol: number;
  seed: number;
  /**
   * The peer's stopping rule for eigenvalues: 'residual' (default), flatdist's certificate ‖Hv − θv‖ ≤ tol·‖H‖, so
   * both sides stop at the same accuracy; 'pyhessian', PyHessian's own (θ changes by less than tol relative).
   */
  rule?: 'residual' | 'pyhessian';
  /** flatdist's Lanczos: the most dimensions of its Krylov space (the reference run needs more than the default). */
  maxIterations?: number;
}

/**
 * An escape experiment: R seeds × the algorithms (consensus, ATC, centralized) × K agents on a
 * Metropolis ring, all from one w*, N steps of batch B (drawn with replacement from each agent's part
 * of `examples` examples, μ = mu), J of every replica's centroid recorded every m steps on all examples.
 * One step is the whole experiment.
 */
export interface EscapeJob {
  impl: string;
  K: number;
  R: number;
  steps: number;
  every: number;
  B: number;
  examples: number;
  mu: number;
  A: number[][];
  seed: number;
}

export type Job = TrainJob | HvpJob | CurvatureJob | EscapeJob;

export type Request =
  | { op: 'info' }
  | ({ op: 'prepare'; id: number } & Job)
  | { op: 'run'; id: number; steps: number }
  | { op: 'clear' }
  | { op: 'sgemm'; n: number; seconds: number };

export interface RunReply {
  /** Wall-clock time of the run. */
  seconds: number;
  /** CPU time of the whole process (all its threads) during the run: less disturbed by other work on a shared machine. */
  cpuSeconds: number;
  /** The last step's loss (or vᵀHv): a check that real work was done. */
  value: number;
  /** What the last step found, for comparing results: a trace's mean and standard error, or the eigenvalues. */
  detail?: number[];
  /** Hessian-vector products the last step took (curvature jobs). */
  products?: number;
}

/**
 * The environment every measuring process runs in: the same device, the same thread count for
 * libtorch's OpenMP pool and OpenBLAS, and idle threads that sleep instead of
 * spinning — the processes take turns, and a waiting process's spinning threads
 * would take the cores from the one being measured.
 */
export function threadEnv(threads: number, device = 'cpu'): NodeJS.ProcessEnv {
  const t = String(threads);
  return {
    ...process.env,
    // The device every measuring process makes its tensors on (worker.ts, peer.py).
    FLATDIST_BENCH_DEVICE: device,
    OMP_NUM_THREADS: t,
    OPENBLAS_NUM_THREADS: t,
    FLATDIST_BENCH_THREADS: t,
    OMP_WAIT_POLICY: 'PASSIVE',
    OPENBLAS_THREAD_TIMEOUT: '4',
  };
}
