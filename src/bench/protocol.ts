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

/** Hessian-vector products of one model's mean cross-entropy on one batch of B examples. */
export interface HvpJob {
  impl: string;
  model: 'mlp' | 'lenet';
  B: number;
  seed: number;
}

export type Job = TrainJob | HvpJob;

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
}

/**
 * The environment every measuring process runs in: the same thread count for
 * libtorch's OpenMP pool and OpenBLAS, and idle threads that sleep instead of
 * spinning — the processes take turns, and a waiting process's spinning threads
 * would take the cores from the one being measured.
 */
export function threadEnv(threads: number): NodeJS.ProcessEnv {
  const t = String(threads);
  return {
    ...process.env,
    OMP_NUM_THREADS: t,
    OPENBLAS_NUM_THREADS: t,
    FLATDIST_BENCH_THREADS: t,
    OMP_WAIT_POLICY: 'PASSIVE',
    OPENBLAS_THREAD_TIMEOUT: '4',
  };
}
