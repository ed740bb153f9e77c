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
import { hessianOperator, riskObjective, splitRisk } from '../measures/index.js';
import { agentLosses, makeModel, type Model } from '../models/index.js';
import {
  Generator,
  buildConfig,
  getNumThreads,
  keep,
  rademacher,
  rand,
  randint,
  scope,
  setNumThreads,
  torchVersion,
  type Tensor,
} from '../tensor/index.js';
import type { HvpJob, Job, Request, TrainJob } from './protocol.js';

const inputShapes = { mlp: [784], lenet: [1, 28, 28] } as const;

function modelOf(name: 'mlp' | 'lenet'): Model {
  return makeModel({ model: name, inputShape: [...inputShapes[name]], classes: 10 });
}

interface Prepared {
  /** One unit of work; returns the loss (or vᵀHv) it computed. */
  step(): number;
  dispose(): void;
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

/** What Hutchinson's trace estimator does per probe: a Rademacher v, then vᵀ(∇²J v) through the measures' operator. */
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
  return {
    step: () =>
      scope(() => {
        const v = rademacher([m], gen);
        return v.dot(apply(v)).item();
      }),
    dispose() {
      [...params, x, y].forEach((t) => t.dispose());
    },
  };
}

function prepare(job: Job): Prepared {
  if (job.impl === 'flatdist') return trainer(job as TrainJob);
  if (job.impl === 'flatdist-hvp') return hessianProducts(job as HvpJob);
  throw new Error(`unknown implementation '${job.impl}'`);
}

/** GFLOP/s of float32 n×n matrix products through libtorch's mm. */
function sgemm(n: number, seconds: number): { libtorch: number } {
  return scope(() => {
    const gen = new Generator(0);
    const a = rand([n, n], gen);
    const b = rand([n, n], gen);
    scope(() => a.mm(b));
    let count = 0;
    const start = performance.now();
    for (;;) {
      scope(() => a.mm(b));
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
          reply = { seconds: (performance.now() - start) / 1000, cpuSeconds: (used.user + used.system) / 1e6, value };
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
