// `flatdist demo`: logistic regression on generated data, trained by gradient
// descent through libtorch's autograd, printing its loss going down.
import { Generator, grad, noGrad, randn, scope, zeros, type Tensor } from '../tensor/index.js';
import type { Command } from './main.js';

function logisticLoss(w: Tensor, x: Tensor, y: Tensor): Tensor {
  const z = x.matmul(w);
  // log(1 + e^z) − y·z, the negative log-likelihood of y ∈ {0, 1}.
  return z.softplus().sub(y.mul(z)).mean();
}

export const demo: Command = {
  summary: 'train a small model and print its loss going down',
  run() {
    const gen = new Generator(1);
    const [n, d, stepSize] = [512, 8, 0.5];
    const wTrue = randn([d], gen);
    const x = randn([n, d], gen);
    const y = x.matmul(wTrue).gt(0).to('float32');
    const w = zeros([d]).requiresGrad_();
    for (let step = 0; step <= 200; step++) {
      scope(() => {
        const loss = logisticLoss(w, x, y);
        const [g] = grad(loss, [w]);
        noGrad(() => w.add_(g, -stepSize));
        if (step % 25 === 0) console.log(`step ${String(step).padStart(3)}  loss ${loss.item().toFixed(4)}`);
      });
    }
    return 0;
  },
};
