// The benchmark's results as text: the ratio table printed on stdout and the
// section of bench/README.md that records a run.
import { mlpStepFlops, overBatched, overLoop, rateOf, type BenchResults, type Measurement } from './harness.js';

type Cells = string[];

function table(header: Cells, rows: Cells[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: Cells): string =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

const num = (v: number | null, digits = 0): string => (v === null ? '—' : v.toFixed(digits));
const rate = (m: Measurement | undefined): string =>
  m === undefined ? '—' : 'median' in m ? m.median.toFixed(0) : 'error';
const times = (v: number | null): string => (v === null ? '—' : `${v.toFixed(2)}×`);
const mib = (b: number | null): string => (b === null ? '—' : (b / 2 ** 20).toFixed(1));

function trainTable(res: BenchResults): string {
  const rows = res.train.map((r) => [
    r.model === 'mlp' ? 'MLP 784-256-10' : 'LeNet-5',
    String(r.K),
    String(r.B),
    rate(r.rates.flatdist),
    rate(r.rates.loop),
    rate(r.rates.bmm),
    rate(r.rates.vmap),
    times(overLoop(r)),
    times(overBatched(r)),
    times(overLoop(r, 'cpu')),
    times(overBatched(r, 'cpu')),
  ]);
  return table(
    ['model', 'K', 'B', 'flatdist', 'loop', 'bmm', 'vmap', '× loop', '× batched', '× loop (cpu)', '× batched (cpu)'],
    rows,
  );
}

function flopsTable(res: BenchResults): string {
  const percent = (gflops: number | null): string =>
    gflops === null || res.sgemm.limit === null ? '—' : `${((gflops / res.sgemm.limit) * 100).toFixed(0)}%`;
  const rows = res.mlpFlops.map((f) => {
    const row = res.train.find((t) => t.model === 'mlp' && t.K === f.K && t.B === f.B);
    // The peers run the same products: the same nominal count gives their rate.
    const peer = (impl: string): number | null => {
      const r = rateOf(row?.rates[impl]);
      return r === null ? null : ((r / f.K) * mlpStepFlops(f.K, f.B).exact) / 1e9;
    };
    return [
      'MLP 784-256-10',
      String(f.K),
      String(f.B),
      num(f.nominalGflops, 1),
      num(f.exactGflops, 1),
      percent(f.nominalGflops),
      percent(f.exactGflops),
      percent(peer('loop')),
      percent(peer('bmm')),
      percent(peer('vmap')),
    ];
  });
  return table(
    [
      'model',
      'K',
      'B',
      'GFLOP/s nominal',
      'GFLOP/s exact',
      'flatdist nominal',
      'flatdist exact',
      'loop exact',
      'bmm exact',
      'vmap exact',
    ],
    rows,
  );
}

/** A ratio of two implementations' rates, by wall clock and by CPU time. */
function ratios(rates: Record<string, Measurement>, mine: string, peer: string): string {
  const by = (basis: 'wall' | 'cpu'): number | null => {
    const f = rateOf(rates[mine], basis);
    const p = rateOf(rates[peer], basis);
    return f === null || p === null ? null : f / p;
  };
  return `${times(by('wall'))} (cpu ${times(by('cpu'))})`;
}

const cpuRate = (m: Measurement | undefined, digits = 0): string => num(rateOf(m, 'cpu'), digits);

function hvpTable(res: BenchResults): string {
  const r = res.hvp.rates;
  const P = res.hvp.probes ?? 8;
  return table(
    ['Hessian-vector products/s, MLP B=' + res.hvp.B, 'wall', 'cpu', 'flatdist ×, wall (cpu)'],
    [
      ['flatdist, graph rebuilt per product', rate(r['flatdist-hvp']), cpuRate(r['flatdist-hvp']), ''],
      [`flatdist, graph kept, ${P} per call`, rate(r['flatdist-hvps']), cpuRate(r['flatdist-hvps']), ''],
      ['PyTorch, graph reused', rate(r['hvp-reuse']), cpuRate(r['hvp-reuse']), ratios(r, 'flatdist-hvps', 'hvp-reuse')],
      [
        'PyTorch, graph rebuilt',
        rate(r['hvp-rebuild']),
        cpuRate(r['hvp-rebuild']),
        ratios(r, 'flatdist-hvp', 'hvp-rebuild'),
      ],
    ],
  );
}

const detail = (m: Measurement | undefined, digits: number): string =>
  m && 'detail' in m && m.detail ? m.detail.map((x) => x.toFixed(digits)).join(', ') : '—';

/**
 * Eigenvalues found, the products they took, and their error: the largest |θ_i − λ_i| over the reference's
 * top k (residual ≤ 1e-7·‖H‖), relative to λ_1.
 */
function eigenFound(m: Measurement | undefined, reference: number[] | undefined): string {
  if (!m || !('detail' in m) || !m.detail) return '—';
  const notes = [m.products ? `${m.products} HVPs` : null];
  if (reference && reference.length === m.detail.length) {
    const error = Math.max(...m.detail.map((x, i) => Math.abs(x - reference[i]))) / Math.abs(reference[0]);
    notes.push(`error ${error.toExponential(1)}`);
  }
  const said = notes.filter((n) => n !== null);
  return detail(m, 3) + (said.length > 0 ? ` (${said.join(', ')})` : '');
}

function curvatureTable(res: BenchResults): string {
  const rows = (res.curvature ?? []).map((c) => {
    const keys = Object.keys(c.rates);
    const mine = keys.find((k) => k.startsWith('flatdist')) ?? '';
    const peer = keys.find((k) => !k.startsWith('flatdist')) ?? '';
    const trace = c.name.startsWith('trace');
    return [
      `${c.name} (${c.batches}×${c.B} examples${trace ? `, ${c.probes} probes` : ''})`,
      num(rateOf(c.rates[mine], 'wall'), 2),
      num(rateOf(c.rates[peer], 'wall'), 2),
      ratios(c.rates, mine, peer),
      trace ? detail(c.rates[mine], 1) : eigenFound(c.rates[mine], c.reference),
      trace ? detail(c.rates[peer], 1) : eigenFound(c.rates[peer], c.reference),
    ];
  });
  const reference = res.curvature?.find((c) => c.reference)?.reference;
  return [
    table(
      ['estimates/s', 'flatdist', 'PyHessian-style', 'flatdist ×, wall (cpu)', 'flatdist found', 'peer found'],
      rows,
    ),
    'Found: a trace and its standard error; eigenvalues, the HVPs they took and their error.',
    reference
      ? `Eigenvalue error: the largest |θ_i − λ_i| relative to λ_1, against λ = ${reference.map((x) => x.toFixed(4)).join(', ')} (Lanczos to residual ≤ 1e-7·‖H‖).\n` +
        'The first eigenvalue row stops both sides at residual ≤ 1e-3·‖H‖ for every value. The second is context only, not at\n' +
        "equal accuracy: the same flatdist work against the peer stopped by PyHessian's own rule."
      : '',
  ]
    .filter((s) => s !== '')
    .join('\n');
}

function escapeTable(res: BenchResults): string {
  const e = res.escape;
  if (!e) return '';
  const r = e.rates;
  return [
    `Escape experiment, agent-steps/s: R = ${e.R} seeds × 3 algorithms × K = ${e.K} agents (MLP, ring), N = ${e.steps} steps of B = ${e.B}, J of the centroids every ${e.every}:`,
    table(
      ['implementation', 'wall', 'cpu', 'flatdist ×, wall (cpu)', 'J(w_c,N) − J(w_0): consensus, ATC, centralized'],
      [
        [
          'flatdist (runEscape)',
          rate(r['flatdist-escape']),
          cpuRate(r['flatdist-escape']),
          '',
          detail(r['flatdist-escape'], 3),
        ],
        [
          'loop over seeds and agents',
          rate(r['escape-loop']),
          cpuRate(r['escape-loop']),
          ratios(r, 'flatdist-escape', 'escape-loop'),
          detail(r['escape-loop'], 3),
        ],
        [
          'batched PyTorch',
          rate(r['escape-batched']),
          cpuRate(r['escape-batched']),
          ratios(r, 'flatdist-escape', 'escape-batched'),
          detail(r['escape-batched'], 3),
        ],
      ],
    ),
    'w_0: the common start (the pattern parameters, not a minimum, so J falls). Each side draws its own batches:',
    'the J columns differ by sampling noise, not digit for digit.',
  ].join('\n');
}

function memoryTable(res: BenchResults): string {
  const keys = [...new Set(res.memory.map((m) => `${m.model} ${m.K}`))];
  const impls = [...new Set(res.memory.map((m) => m.impl))];
  const rows = keys.map((key) => {
    const [model, K] = key.split(' ');
    const cells = impls.map((impl) => {
      const m = res.memory.find((x) => x.impl === impl && x.model === model && String(x.K) === K);
      if (!m || m.peakRss === null) return 'error';
      return `${mib(m.perAgent)} / ${mib(m.marginalPerAgent)}`;
    });
    return [model === 'mlp' ? 'MLP 784-256-10' : 'LeNet-5', K, ...cells];
  });
  return table(['model', 'K', ...impls], rows);
}

function targetLines(res: BenchResults): string {
  return res.targets
    .map((t) => {
      const fraction = t.name.includes('fraction');
      const show = (v: number | null): string =>
        v === null ? '—' : fraction ? `${(v * 100).toFixed(0)}%` : `${v.toFixed(2)}×`;
      const cpu = (t.cpuValue === null ? '' : `, by CPU time ${show(t.cpuValue)}`) + (t.detail ? `; ${t.detail}` : '');
      return `${t.met ? 'met   ' : 'missed'}  ${t.name}: ${show(t.value)} (goal ${fraction ? `${t.goal * 100}%` : `${t.goal}×`}${cpu})`;
    })
    .join('\n');
}

function machineLine(res: BenchResults): string {
  const m = res.machine as {
    cpu: string;
    logicalCpus: number;
    memoryBytes: number;
    kernel: string;
    loadAverage?: number[];
    device?: string;
    flatdist: Record<string, unknown>;
    pytorch: Record<string, unknown>;
  };
  const load = m.loadAverage ? `; load average at start ${m.loadAverage.map((x) => x.toFixed(1)).join(', ')}` : '';
  const libs = (m.pytorch.blasLibraries as string[] | undefined)?.join(', ') ?? 'unknown';
  return [
    `CPU: ${m.cpu}, ${m.logicalCpus} logical CPUs, ${(m.memoryBytes / 2 ** 30).toFixed(1)} GiB, Linux ${m.kernel}${load}`,
    `flatdist: libtorch ${String(m.flatdist.libtorch)} on Node ${String(m.flatdist.node)}; PyTorch ${String(m.pytorch.torch)} (functorch ${String(m.pytorch.functorch)}) on Python ${String(m.pytorch.python)}`,
    `BLAS: ${libs} (libtorch built with BLAS_INFO=${String(m.flatdist.buildBlas)}); threads: ${res.threads} (libtorch/OpenMP and OpenBLAS, every process); device: ${m.device ?? 'cpu'}`,
  ].join('\n');
}

export function report(res: BenchResults): string {
  const sg = res.sgemm;
  return [
    machineLine(res),
    `sgemm ${sg.n}×${sg.n} GFLOP/s (medians): torch.mm ${rate(sg.torch)}, numpy ${rate(sg.numpy)}, libtorch from Node ${rate(sg.libtorchFromNode)} — limit (best run) ${num(sg.limit, 1)}`,
    '',
    'Training step throughput, agent-steps/s by wall clock (diffusion ATC, Metropolis ring; median of interleaved runs);',
    "ratios by wall clock and by each process's CPU time:",
    trainTable(res),
    '',
    "flatdist's GFLOP/s on the MLP step (nominal: backward = 2× forward; exact: the products libtorch runs — the data",
    "needs no gradient), and as fractions of the sgemm limit, with the peers' exact fractions:",
    flopsTable(res),
    '',
    hvpTable(res),
    '',
    'Curvature at the same parameters and examples (the same formula on both sides; the same Rademacher probes), one estimate per step:',
    curvatureTable(res),
    '',
    escapeTable(res),
    '',
    res.memory.length > 0
      ? 'Peak RSS per agent / marginal per agent (MiB), B = 64:'
      : 'Peak RSS: measured on the CPU only.',
    res.memory.length > 0 ? memoryTable(res) : '',
    '',
    'Targets:',
    targetLines(res),
  ].join('\n');
}
