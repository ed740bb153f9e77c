// The algorithms, specified by their equivalences: ATC with A = 11ᵀ/K is
// centralized SGD with batch K·B; consensus with A = I is K independent SGD runs;
// a two-agent quadratic worked by hand; the batched combination is the per-agent sum.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { unifiedForm, unifiedStep, localMixer, averaging, type Algorithm } from '../src/algorithms/recursion.js';
import { localDirection, momentumBuffers, agentNorms } from '../src/algorithms/local.js';
import { agentLosses, makeModel } from '../src/models/index.js';
import { Generator, eye, grad, randint, randn, scope, stack, tensor, type Tensor } from '../src/tensor/index.js';

const K = 4;
const B = 5;
const model = makeModel({ model: 'mlp', inputShape: [6], classes: 3, hidden: [7], activation: 'tanh' });

function maxDiff(a: Tensor[], b: Tensor[]): number {
  return scope(() => Math.max(...a.map((t, i) => t.sub(b[i]).abs().amax().item())));
}

/** Stochastic gradients of every agent on its own batch x [K, B, …], y [K, B]. */
const gradientOn =
  (x: Tensor, y: Tensor) =>
  (phi: Tensor[]): Tensor[] => {
    const leaves = phi.map((t) => t.detach().requiresGrad_());
    return grad(agentLosses(model, leaves, x, y).sum(), leaves);
  };

function batches(gen: Generator, steps: number): { x: Tensor; y: Tensor }[] {
  return Array.from({ length: steps }, () => ({ x: randn([K, B, 6], gen, 'float64'), y: randint(0, 3, [K, B], gen) }));
}

test('ATC with A = 11ᵀ/K from a common start equals centralized SGD with batch K·B on the same samples', () => {
  scope(() => {
    const gen = new Generator(1);
    const w0 = model.init(K, gen, { dtype: 'float64' });
    const data = batches(gen, 5);
    const A = averaging(K, eye(K, 'float64'));
    let w = w0;
    for (const { x, y } of data) w = unifiedStep(w, gradientOn(x, y), unifiedForm('atc', A), 0.3);
    // Centralized: one model, one batch of K·B samples, w ← w − μ ∇(mean loss).
    let c = w0.map((t) => t.narrow(0, 0, 1));
    for (const { x, y } of data) {
      const leaves = c.map((t) => t.detach().requiresGrad_());
      const g = grad(agentLosses(model, leaves, x.reshape([1, K * B, 6]), y.reshape([1, K * B])).sum(), leaves);
      c = c.map((t, i) => t.sub(g[i].mul(0.3)));
    }
    for (let k = 0; k < K; k++)
      assert.ok(
        maxDiff(
          w.map((t) => t.narrow(0, k, 1)),
          c,
        ) < 1e-12,
      );
  });
});

test("'centralized' is ATC with the averaging matrix, whatever A is given", () => {
  scope(() => {
    const gen = new Generator(2);
    const w0 = model.init(K, gen, { dtype: 'float64' });
    const [{ x, y }] = batches(gen, 1);
    const ring = tensor(
      [
        [0.5, 0.25, 0, 0.25],
        [0.25, 0.5, 0.25, 0],
        [0, 0.25, 0.5, 0.25],
        [0.25, 0, 0.25, 0.5],
      ],
      'float64',
    );
    const a = unifiedStep(w0, gradientOn(x, y), unifiedForm('centralized', ring), 0.1);
    const b = unifiedStep(w0, gradientOn(x, y), unifiedForm('atc', averaging(K, ring)), 0.1);
    assert.ok(maxDiff(a, b) < 1e-15);
  });
});

test('consensus with A = I equals K independent SGD runs', () => {
  scope(() => {
    const gen = new Generator(3);
    const w0 = model.init(K, gen, { dtype: 'float64', sameInit: false });
    const data = batches(gen, 4);
    let w = w0;
    for (const { x, y } of data) w = unifiedStep(w, gradientOn(x, y), unifiedForm('consensus', eye(K, 'float64')), 0.2);
    for (let k = 0; k < K; k++) {
      let v = w0.map((t) => t.narrow(0, k, 1));
      for (const { x, y } of data) {
        const leaves = v.map((t) => t.detach().requiresGrad_());
        const g = grad(agentLosses(model, leaves, x.narrow(0, k, 1), y.narrow(0, k, 1)).sum(), leaves);
        v = v.map((t, i) => t.sub(g[i].mul(0.2)));
      }
      assert.ok(
        maxDiff(
          w.map((t) => t.narrow(0, k, 1)),
          v,
        ) < 1e-12,
      );
    }
  });
});

test('two agents on scalar quadratics J_k(w) = ½(w − b_k)², worked by hand', () => {
  scope(() => {
    // a_{lk}: agent 1 gives weight 0.3 to agent 2 and vice versa.
    const A = tensor(
      [
        [0.7, 0.3],
        [0.3, 0.7],
      ],
      'float64',
    );
    const b = [1, -2];
    const w = [tensor([[0.5], [1.5]], 'float64')];
    const mu = 0.1;
    const gradient = (phi: Tensor[]): Tensor[] => [phi[0].sub(tensor([[b[0]], [b[1]]], 'float64'))];
    const [w1, w2] = [0.5, 1.5];
    const g = (x: number, k: number): number => x - b[k];
    const expected: Record<Algorithm, [number, number]> = {
      // consensus: Σ_l a_{lk} w_l − μ g_k(w_k)
      consensus: [0.7 * w1 + 0.3 * w2 - mu * g(w1, 0), 0.3 * w1 + 0.7 * w2 - mu * g(w2, 1)],
      // ATC: adapt ψ_k = w_k − μ g_k(w_k), then combine
      atc: [
        0.7 * (w1 - mu * g(w1, 0)) + 0.3 * (w2 - mu * g(w2, 1)),
        0.3 * (w1 - mu * g(w1, 0)) + 0.7 * (w2 - mu * g(w2, 1)),
      ],
      // CTA: combine φ_k, then adapt at φ_k
      cta: [0, 0].map((_, k) => {
        const phi = k === 0 ? 0.7 * w1 + 0.3 * w2 : 0.3 * w1 + 0.7 * w2;
        return phi - mu * g(phi, k);
      }) as [number, number],
      noncooperative: [w1 - mu * g(w1, 0), w2 - mu * g(w2, 1)],
      // centralized: both move by the average gradient and then average
      centralized: [0, 0].map(() => (w1 - mu * g(w1, 0) + (w2 - mu * g(w2, 1))) / 2) as [number, number],
    };
    for (const [algorithm, want] of Object.entries(expected) as [Algorithm, [number, number]][]) {
      const got = unifiedStep(w, gradient, unifiedForm(algorithm, A), mu)[0].toNumbers();
      assert.ok(
        Math.abs(got[0] - want[0]) < 1e-14 && Math.abs(got[1] - want[1]) < 1e-14,
        `${algorithm}: got ${got}, want ${want}`,
      );
    }
  });
});

test('the batched combination Aᵀ·W equals the per-agent sums Σ_l a_{lk} w_l', () => {
  scope(() => {
    const gen = new Generator(4);
    const raw = randn([K, K], gen, 'float64').abs();
    const A = raw.div(raw.sum(0, true)); // columns sum to one
    const w = [randn([K, 3, 2], gen, 'float64'), randn([K, 5], gen, 'float64')];
    const mixed = localMixer.mix(A, w);
    const a = A.toNumbers();
    for (let k = 0; k < K; k++) {
      for (let i = 0; i < w.length; i++) {
        let sum = w[i].select(0, 0).mul(a[0 * K + k]);
        for (let l = 1; l < K; l++) sum = sum.add(w[i].select(0, l).mul(a[l * K + k]));
        assert.ok(mixed[i].select(0, k).sub(sum).abs().amax().item() < 1e-14);
      }
    }
  });
});

test('local options: weight decay adds λφ, clipping caps each agent’s norm, momentum accumulates', () => {
  scope(() => {
    const g = [
      tensor(
        [
          [3, 4],
          [0.3, 0.4],
        ],
        'float64',
      ),
    ];
    const phi = [
      tensor(
        [
          [1, 1],
          [2, 2],
        ],
        'float64',
      ),
    ];
    const wd = localDirection(g, phi, { weightDecay: 0.5, clipNorm: null, momentum: 0 }, null);
    assert.deepEqual(wd[0].toNumbers(), [3.5, 4.5, 1.3, 1.4]);
    const clipped = localDirection(g, phi, { weightDecay: 0, clipNorm: 1, momentum: 0 }, null);
    const norms = agentNorms(clipped).toNumbers();
    assert.ok(Math.abs(norms[0] - 1) < 1e-12, 'the large gradient is scaled to norm 1');
    assert.ok(Math.abs(norms[1] - 0.5) < 1e-12, 'the small one is left alone');
    const o = { weightDecay: 0, clipNorm: null, momentum: 0.9 };
    const buffers = momentumBuffers(o, g)!;
    localDirection(g, phi, o, buffers);
    const second = localDirection(g, phi, o, buffers);
    assert.deepEqual(
      second[0].toNumbers().map((v) => +v.toFixed(12)),
      g[0].toNumbers().map((v) => +(1.9 * v).toFixed(12)),
    );
  });
});

test('ATC over a ring keeps every agent’s average on the centralized path when gradients are equal (stack check)', () => {
  scope(() => {
    // With identical agents and identical batches, any doubly stochastic A leaves the agents identical.
    const gen = new Generator(5);
    const w0 = model.init(K, gen, { dtype: 'float64' });
    const x1 = randn([1, B, 6], gen, 'float64');
    const y1 = randint(0, 3, [1, B], gen);
    const x = stack(Array.from({ length: K }, () => x1.select(0, 0)));
    const y = stack(Array.from({ length: K }, () => y1.select(0, 0)));
    const ring = tensor(
      [
        [0.5, 0.25, 0, 0.25],
        [0.25, 0.5, 0.25, 0],
        [0, 0.25, 0.5, 0.25],
        [0.25, 0, 0.25, 0.5],
      ],
      'float64',
    );
    const w = unifiedStep(w0, gradientOn(x, y), unifiedForm('atc', ring), 0.5);
    for (let k = 1; k < K; k++)
      assert.ok(
        maxDiff(
          w.map((t) => t.narrow(0, k, 1)),
          w.map((t) => t.narrow(0, 0, 1)),
        ) < 1e-14,
      );
  });
});
