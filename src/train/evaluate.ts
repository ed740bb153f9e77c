// Evaluation of a multi-agent model: loss and accuracy of every agent and of the
// centroid w_c = Σ_k p_k w_k, in one batched forward pass over K + 1 models.
import { cat, grad, noGrad, scope, type Tensor } from '../tensor/index.js';
import type { Model } from '../models/model.js';

export interface Split {
  /** Examples [n, ...inputShape] */
  x: Tensor;
  /** int64 labels [n] */
  y: Tensor;
}

export interface Score {
  loss: number;
  accuracy: number;
}

export interface Evaluation {
  centroid: Score;
  agents: Score[];
}

/** w_c = Σ_k p_k w_k for each stacked parameter: [1, ...shape]. */
export function centroid(w: Tensor[], p: Tensor): Tensor[] {
  return scope(() =>
    w.map((t) => {
      const K = t.shape[0];
      return p.reshape([1, K]).mm(t.reshape([K, -1])).reshape([1, ...t.shape.slice(1)]);
    }),
  );
}

/** (1/K) Σ_k ‖w_k − w_c‖² */
export function consensusDistance(w: Tensor[], p: Tensor): number {
  return scope(() => {
    const K = w[0].shape[0];
    const wc = centroid(w, p);
    return w.map((t, i) => t.sub(wc[i]).square().sum()).reduce((a, b) => a.add(b)).item() / K;
  });
}

/** Scores of the K agents and their centroid on a split, in chunks of `chunk` examples. */
export function evaluate(model: Model, w: Tensor[], p: Tensor, split: Split, chunk = 2000): Evaluation {
  return noGrad(() =>
    scope(() => {
      const K = w[0].shape[0];
      const wc = centroid(w, p);
      const models = w.map((t, i) => cat([t, wc[i]], 0));
      const n = split.y.shape[0];
      let lossSum: Tensor | null = null;
      let correct: Tensor | null = null;
      for (let start = 0; start < n; start += chunk) {
        const [l, c] = scope(() => {
          const len = Math.min(chunk, n - start);
          const x = split.x.narrow(0, start, len);
          const y = split.y.narrow(0, start, len);
          const logits = model.forward(models, x.unsqueeze(0).expand([K + 1, ...x.shape]));
          const logp = logits.logSoftmax(2);
          const yy = y.unsqueeze(0).expand([K + 1, len]);
          const nll = logp.gather(2, yy.unsqueeze(2)).squeeze(2).neg().sum(1);
          const hits = logits.argmax(2).eq(yy).to('float64').sum(1);
          return [nll.to('float64'), hits];
        });
        lossSum = lossSum ? lossSum.add(l) : l;
        correct = correct ? correct.add(c) : c;
      }
      const losses = lossSum!.div(n).toNumbers();
      const accs = correct!.div(n).toNumbers();
      const scores = losses.map((loss, i) => ({ loss, accuracy: accs[i] }));
      return { centroid: scores[K], agents: scores.slice(0, K) };
    }),
  );
}

/** ‖∇J(w_c)‖ on a split: the full-batch gradient norm at the centroid. */
export function centroidGradNorm(model: Model, w: Tensor[], p: Tensor, split: Split, chunk = 2000): number {
  return scope(() => {
    const wc = centroid(w, p).map((t) => t.detach().requiresGrad_());
    const n = split.y.shape[0];
    let total: Tensor[] | null = null;
    for (let start = 0; start < n; start += chunk) {
      const g = scope(() => {
        const len = Math.min(chunk, n - start);
        const x = split.x.narrow(0, start, len).unsqueeze(0);
        const y = split.y.narrow(0, start, len).unsqueeze(0);
        const logits = model.forward(wc, x);
        const loss = logits.logSoftmax(2).gather(2, y.unsqueeze(2)).neg().sum().div(n);
        return grad(loss, wc);
      });
      total = total ? total.map((t, i) => t.add(g[i])) : g;
    }
    return Math.sqrt(total!.map((t) => t.square().sum().item()).reduce((a, b) => a + b, 0));
  });
}
