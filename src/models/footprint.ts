// How much memory one example's forward pass keeps alive in a model: what a batch or an
// evaluation chunk costs per example, so that callers can size them before they run.
import { Generator, grad, liveTensors, randn, scope } from '../tensor/index.js';
import type { Model } from './model.js';

const measured = new WeakMap<Model, number>();

/**
 * Bytes one example's forward pass keeps alive in a one-agent model (inputs, every
 * intermediate the autograd graph saves): measured on a probe batch of two examples.
 */
export function activationBytesPerExample(model: Model): number {
  const known = measured.get(model);
  if (known !== undefined) return known;
  const bytes = scope(() => {
    const gen = new Generator(0);
    const params = model.init(1, gen).map((p) => p.requiresGrad_());
    const before = liveTensors().bytes;
    const probe = 2;
    const logits = model.forward(params, randn([1, probe, ...model.inputShape], gen));
    const held = liveTensors().bytes - before;
    grad(logits.sum(), params);
    return held / probe;
  });
  measured.set(model, bytes);
  return bytes;
}
