// flatdist's side of the benchmark: the training step the trainer runs
// (sgdStep, src/algorithms/step.ts), the Hessian-vector product of the objective
// exactly as the flatness measures run it (src/measures/risk.ts, objective.ts), and a matrix product.
// Speaks the line protocol of protocol.ts on stdin/stdout; `worker.js memory
// '<job json>'` instead runs a few steps of one job and prints its peak RSS.
import { createInterface } from 'node:readline';
import { readFileSync } from 'node:fs';
import { plainSgd } from '../algorithms/local.js';
import { unifiedForm, type UnifiedForm } from '../algorithms/recursion.js';
import { sgdStep } from '../algorithms/step.js';
import {
  flat,
  hessianAt,
  hessianOperator,
  hutchinsonTrace,
  riskObjective,
  splitRisk,
  topEigenvalues,
  unflat,
} from '../measures/index.js';
import { runEscape, type EscapeProblem } from '../escape/index.js';
import { perronVector } from '../graph/index.js';
import { agentLosses, makeModel, type Model } from '../models/index.js';
import {
  Generator,
  buildConfig,
  getNumThreads,
  keep,
  rademacher,
  fromArray,
  rand,
  randint,
  scope,
  setNumThreads,
  torchVersion,
  useDevice,
  type Tensor,
} from '../tensor/index.js';
import type { CurvatureJob, EscapeJob, HvpJob, Job, Request, TrainJob } from './protocol.js';

const inputShapes = { mlp: [784], lenet: [1, 28, 28] } as const;

function modelOf(name: 'mlp' | 'lenet'): Model {
  return makeModel({ model: name, inputShape: [...inputShapes[name]], classes: 10 });
}

interface Prepared {
  /** One unit of work; returns the loss (or vᵀHv) it computed. */
  step(): number;
  /** What the last step found (a trace's mean and standard error, eigenvalues). */
  detail?: () => number[];
  /** Hessian-vector products the last step took. */
  products?: () => number;
  dispose(): void;
}

/**
 * n float32 numbers both sides of the benchmark make alike (peer.py's pattern): frac(t·φ + offset)
 * for t = 0 … n−1 in float64, mapped to [−scale, scale) (or [0, 1) with scale 0) and rounded to float32.
 */
export function pattern(n: number, offset: number, scale: number): Float32Array {
  const phi = 0.6180339887498949;
  return Float32Array.from({ length: n }, (_, t) => {
    const u = t * phi + offset;
    const f = u - Math.floor(u);
    return scale === 0 ? f : (f - 0.5) * 2 * scale;
  });
}

/** The trainer's step: stacked forward/backward of all K agents, then the ATC combination. */
function trainer(job: TrainJob): Prepared {
  const { K, B } = job;
  const model = modelOf(job.model);
  const gen = new Generator(job.seed);
  let w = model.init(K, gen);
  const x = keep(rand([K, B, ...model.inputShape], gen));
  const y = keep(randint(0, 10, [K, B], gen));
  const form: UnifiedForm = scope(() => unifiedForm('atc', job.A));
  keep(form.A2 as Tensor);
  const settings = { form, stepSize: job.mu, local: plainSgd, momentum: null };
  return {
    step() {
      const next = scope(() => sgdStep(w, (phi) => agentLosses(model, phi, x, y), settings));
      w.forEach((t) => t.dispose());
      w = next.w;
      return next.lossSum / K;
    },
    dispose() {
      [...w, x, y, form.A2 as Tensor].forEach((t) => t.dispose());
    },
  };
}

/**
 * What Hutchinson's trace estimator does: Rademacher probes v, then vᵀ(∇²J v): `probes` of them per step
 * through a gradient graph built once and kept (hessianAt), or one at a time through hessianOperator,
 * which rebuilds the graph for every product.
 */
function hessianProducts(job: HvpJob): Prepared {
  const model = modelOf(job.model);
  const gen = new Generator(job.seed);
  const params = model.init(1, gen);
  const x = keep(rand([job.B, ...model.inputShape], gen));
  const y = keep(randint(0, 10, [job.B], gen));
  const objective = riskObjective(splitRisk(model, { x, y }, 0), job.B);
  const apply = hessianOperator(
    objective,
    params.map((p) => p.squeeze(0)),
  );
  const m = params.reduce((s, p) => s + p.numel, 0);
  const P = job.probes ?? 1;
  const single = params.map((p) => p.squeeze(0));
  // P > 1: the graph built once and kept, as the peer's reused graph is (hessianAt).
  const kept = P > 1 ? hessianAt(objective, single) : null;
  return {
    step: () =>
      scope(() => {
        if (kept === null) {
          const v = rademacher([m], gen);
          return v.dot(apply(v)).item();
        }
        const vs = rademacher([P, m], gen);
        const hv = kept.apply(Array.from({ length: P }, (_, i) => unflat(vs.select(0, i), single)));
        return hv.reduce((s, h, i) => s + flat(h).dot(vs.select(0, i)).item(), 0) / P;
      }),
    dispose() {
      kept?.dispose();
      [...params, x, y].forEach((t) => t.dispose());
    },
  };
}

/** The MLP 784-256-10 at pattern parameters, and its mean cross-entropy over `batches` batches of B pattern examples. */
function patternProblem(B: number, batches: number) {
  const model = modelOf('mlp');
  const n = B * batches;
  const x = keep(fromArray(pattern(n * 784, 0.1, 0), [n, 784]));
  const y = keep(fromArray(Int32Array.from({ length: n }, (_, i) => i % 10)).to('int64'));
  const params = model.paramShapes.map((shape, j) => {
    const fanIn = model.paramShapes[j - (j % 2)][1];
    return keep(
      fromArray(
        pattern(
          shape.reduce((a, b) => a * b, 1),
          0.1 * (j + 1),
          1 / Math.sqrt(fanIn),
        ),
        shape,
      ),
    );
  });
  return { model, x, y, params, objective: riskObjective(splitRisk(model, { x, y }, 0), B) };
}

/** flatdist's curvature measures as `flatdist measure` runs them: Hutchinson's trace, the top eigenvalues by Lanczos. */
function curvature(job: CurvatureJob): Prepared {
  const { x, y, params, objective } = patternProblem(job.B, job.batches);
  let detail: number[] = [];
  let products = 0;
  return {
    step() {
      // The same probes at every step, and the peer's (libtorch's generator, the same seed).
      const gen = new Generator(job.seed);
      if (job.kind === 'trace') {
        const t = hutchinsonTrace(objective, params, {
          gen,
          maxProbes: job.probes,
          minProbes: job.probes,
          probesPerPass: job.probes,
        });
        detail = [t.mean, t.stdError];
        products = t.cost.hvps;
        return t.mean;
      }
      const e = topEigenvalues(objective, params, {
        k: job.k,
        gen,
        tol: job.tol,
        method: 'lanczos',
        maxIterations: job.maxIterations,
      });
      detail = e.values;
      products = e.cost.hvps;
      return e.values[0];
    },
    detail: () => detail,
    products: () => products,
    dispose() {
      [...params, x, y].forEach((t) => t.dispose());
    },
  };
}

/** An escape experiment through the escape library's runEscape: R replicas × K agents stacked, one algorithm after another. */
function escape(job: EscapeJob): Prepared {
  const { K, R, B } = job;
  const { model, x, y, params } = patternProblem(job.examples, 1);
  const parts = Array.from({ length: K }, (_, k) =>
    Array.from({ length: job.examples / K }, (_, i) => k * (job.examples / K) + i),
  );
  const setup: EscapeProblem = {
    model,
    train: { x, y },
    parts,
    perron: perronVector(job.A),
    config: {
      agents: K,
      topology: 'ring',
      stepSize: job.mu,
      batchSize: B,
      schedule: { kind: 'constant' },
      weightDecay: 0,
      clipNorm: null,
      momentum: 0,
      evalSubset: job.examples,
      seed: job.seed,
    },
    combination: () => job.A,
    timeVarying: false,
  };
  let detail: number[] = [];
  return {
    step() {
      const r = runEscape(setup, params, {
        algorithms: ['consensus', 'atc', 'centralized'],
        steps: job.steps,
        seeds: R,
        every: job.every,
        recordAgents: [],
      });
      detail = r.curves.map((c) => c.points[c.points.length - 1].centroid.estimate);
      return detail[0];
    },
    detail: () => detail,
    dispose() {
      [...params, x, y].forEach((t) => t.dispose());
    },
  };
}

function prepare(job: Job): Prepared {
  if (job.impl === 'flatdist') return trainer(job as TrainJob);
  if (job.impl.startsWith('flatdist-hvp')) return hessianProducts(job as HvpJob);
  if (job.impl === 'flatdist-trace' || job.impl === 'flatdist-eigen') return curvature(job as CurvatureJob);
  if (job.impl === 'flatdist-escape') return escape(job as EscapeJob);
  throw new Error(`unknown implementation '${job.impl}'`);
}

/** GFLOP/s of float32 n×n matrix products through libtorch's mm. */
function sgemm(n: number, seconds: number): { libtorch: number } {
  return scope(() => {
    const gen = new Generator(0);
    const a = rand([n, n], gen);
    const b = rand([n, n], gen);
    // item() waits for the product on a GPU, whose calls return before it is done.
    const product = (): number => scope(() => a.mm(b).select(0, 0).select(0, 0).item());
    product();
    let count = 0;
    const start = performance.now();
    for (;;) {
      product();
      count++;
      const elapsed = (performance.now() - start) / 1000;
      if (elapsed >= seconds) return { libtorch: (2 * n ** 3 * count) / elapsed / 1e9 };
    }
  });
}

/** Peak resident set of this process so far, in bytes (VmHWM). */
export function peakRss(): number {
  const line = readFileSync('/proc/self/status', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmHWM:'));
  return line ? Number(line.split(/\s+/)[1]) * 1024 : Number.NaN;
}

function info(): Record<string, unknown> {
  const blas = /BLAS_INFO=(\w+)/.exec(buildConfig());
  return { node: process.version, libtorch: torchVersion, threads: getNumThreads(), buildBlas: blas ? blas[1] : null };
}

async function serve(): Promise<void> {
  const prepared = new Map<number, Prepared>();
  for await (const line of createInterface({ input: process.stdin })) {
    const req = JSON.parse(line) as Request;
    let reply: unknown;
    try {
      switch (req.op) {
        case 'info':
          reply = info();
          break;
        case 'prepare': {
          const { op: _op, id, ...job } = req;
          prepared.set(id, prepare(job));
          reply = {};
          break;
        }
        case 'clear':
          prepared.forEach((p) => p.dispose());
          prepared.clear();
          reply = {};
          break;
        case 'run': {
          const p = prepared.get(req.id);
          if (!p) throw new Error(`job ${req.id} is not prepared`);
          let value = Number.NaN;
          const start = performance.now();
          const cpu = process.cpuUsage();
          for (let i = 0; i < req.steps; i++) value = p.step();
          const used = process.cpuUsage(cpu);
          reply = {
            seconds: (performance.now() - start) / 1000,
            cpuSeconds: (used.user + used.system) / 1e6,
            value,
            detail: p.detail?.(),
            products: p.products?.(),
          };
          break;
        }
        case 'sgemm':
          reply = sgemm(req.n, req.seconds);
          break;
      }
    } catch (e) {
      reply = { error: e instanceof Error ? e.message.split('\n')[0] : String(e) };
    }
    process.stdout.write(JSON.stringify(reply) + '\n');
  }
}

function main(): void {
  const threads = Number(process.env.FLATDIST_BENCH_THREADS ?? 0);
  if (threads > 0) setNumThreads(threads);
  useDevice(process.env.FLATDIST_BENCH_DEVICE ?? 'cpu');
  if (process.argv[2] === 'memory') {
    const job = JSON.parse(process.argv[3]) as Job & { steps?: number };
    const p = prepare(job);
    for (let i = 0; i < (job.steps ?? 3); i++) p.step();
    process.stdout.write(JSON.stringify({ peakRss: peakRss() }) + '\n');
    return;
  }
  void serve();
}

main();
