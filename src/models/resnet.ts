// ResNet for CIFAR (He et al. 2016, §4.2), depth 6n + 2: ResNet-8 (n = 1),
// ResNet-20 (n = 3), …
//   conv 16@3×3 → norm → relu
//   → 3 stages of n basic blocks, 16, 32, 64 channels, the 2nd and 3rd starting with stride 2
//   → global average pool → fc classes
// Basic block: relu(norm(conv(relu(norm(conv(x))))) + shortcut(x)), the shortcut
// parameter-free (identity, or "option A" subsample-and-zero-pad when the width doubles).
//
// Normalization is GroupNorm with 2 groups per layer, not BatchNorm: its
// statistics are per example, so there are no running buffers, no train/eval
// modes, nothing but parameters to average between agents, and in the grouped
// layout each agent's groups are its own (K·2 groups over K·C channels).
// Convolutions have no bias (the norm's shift replaces it); norm weights start
// at 1 and shifts at 0, every other parameter at PyTorch's default U(±1/√fan_in).
import type { Tensor } from '../tensor/index.js';
import { activate, agentGroupNorm, dense, downsampleShortcut, groupedConv, toGrouped } from './layers.js';
import { defineModel, torchDefault, type Model, type ParamSpec } from './model.js';

/** Groups per GroupNorm layer. */
export const resnetNormGroups = 2;

const widths = [16, 32, 64];

export function resnet(depth: number, inputShape: number[], image: [number, number, number], classes: number): Model {
  const n = (depth - 2) / 6;
  const [C, H, W] = image;
  const specs: ParamSpec[] = [];
  const conv = (name: string, cout: number, cin: number): void => {
    const shape = [cout, cin, 3, 3];
    specs.push({ name: `${name}.weight`, shape, init: torchDefault(shape) });
  };
  const norm = (name: string, c: number): void => {
    specs.push({ name: `${name}.weight`, shape: [c], init: { kind: 'constant', value: 1 } });
    specs.push({ name: `${name}.bias`, shape: [c], init: { kind: 'constant', value: 0 } });
  };
  conv('conv1', widths[0], C);
  norm('gn1', widths[0]);
  let cin = widths[0];
  widths.forEach((w, s) => {
    for (let b = 0; b < n; b++) {
      const prefix = `layer${s + 1}.${b}`;
      conv(`${prefix}.conv1`, w, cin);
      norm(`${prefix}.gn1`, w);
      conv(`${prefix}.conv2`, w, w);
      norm(`${prefix}.gn2`, w);
      cin = w;
    }
  });
  const fc = [classes, widths[2]];
  specs.push({ name: 'fc.weight', shape: fc, init: torchDefault(fc) });
  specs.push({ name: 'fc.bias', shape: [classes], init: torchDefault(fc) });

  return defineModel(`resnet${depth}`, inputShape, classes, specs, (p, x) => {
    const [K, B] = x.shape;
    let i = 0;
    const convNorm = (h: Tensor, stride: number): Tensor => {
      const out = groupedConv(h, p[i], null, { stride, padding: 1 });
      const normed = agentGroupNorm(out, resnetNormGroups, p[i + 1], p[i + 2]);
      i += 3;
      return normed;
    };
    let h = activate(convNorm(toGrouped(x.reshape([K, B, C, H, W])), 1), 'relu');
    widths.forEach((_, s) => {
      for (let b = 0; b < n; b++) {
        const down = s > 0 && b === 0;
        const inner = activate(convNorm(h, down ? 2 : 1), 'relu');
        const out = convNorm(inner, 1);
        h = activate(out.add(down ? downsampleShortcut(h, K) : h), 'relu');
      }
    });
    const pooled = h.mean([2, 3]).reshape([B, K, widths[2]]).transpose(0, 1);
    return dense(pooled, p[i], p[i + 1]);
  });
}
