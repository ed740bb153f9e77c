// Layers over K agents at once. Dense layers act on [K, B, features] with one
// batched matrix product. Convolutional layers act on the "grouped" layout
// [B, K·C, H, W], agent k owning channels k·C … (k+1)·C − 1, so a convolution is
// one grouped convolution (groups = K) and a group norm with K·G groups keeps
// each agent's statistics to itself.
import {
  addmm,
  avgPool2d,
  baddbmm,
  cat,
  chunk,
  conv2d,
  groupNorm,
  scope,
  zeros,
  type Tensor,
} from '../tensor/index.js';
import type { Activation } from './names.js';

export { activations, type Activation } from './names.js';

export function activate(h: Tensor, a: Activation): Tensor {
  switch (a) {
    case 'relu':
      return h.relu();
    case 'tanh':
      return h.tanh();
    case 'gelu':
      return h.gelu();
    case 'sigmoid':
      return h.sigmoid();
    case 'softplus':
      return h.softplus();
  }
}

/**
 * h [K, B, in], weight [K, out, in], bias [K, out] → [K, B, out], computed as
 * (bias + W·hᵀ)ᵀ in one baddbmm: with W on the left, the weight's gradient
 * (δ·h) comes out in W's own layout, so the update and the combination run on
 * contiguous memory instead of transposing [K, out, in] every step.
 */
export function dense(h: Tensor, weight: Tensor, bias: Tensor): Tensor {
  // One agent (the measures evaluate one w): addmm on the [out, in] matrix. The same products, and the
  // same bits above libtorch's small-matrix cutoff, but its graph's double backward costs ~7% less
  // CPU than bmm's at K = 1 (MLP 784-256-10, B = 256: 1.93 against 2.06 ms).
  // The views made on the way are let go at once (the graph holds what it needs): not counted as activations.
  if (weight.shape[0] === 1)
    return scope(() => addmm(bias.squeeze(0).unsqueeze(1), weight.squeeze(0), h.squeeze(0).mT).mT.unsqueeze(0));
  return baddbmm(bias.unsqueeze(2), weight, h.mT).mT;
}

/** Inputs [K, B, C, H, W] → the grouped layout [B, K·C, H, W]. */
export function toGrouped(x: Tensor): Tensor {
  const [K, B, C, H, W] = x.shape;
  return x.transpose(0, 1).reshape([B, K * C, H, W]);
}

/** Grouped [B, K·C, H, W] → features [K, B, C·H·W], each agent's in PyTorch's flatten order. */
export function fromGrouped(h: Tensor, K: number): Tensor {
  const [B] = h.shape;
  return h.reshape([B, K, -1]).transpose(0, 1);
}

export interface ConvOptions {
  stride?: number;
  padding?: number;
}

/** Convolution of every agent's channels by its own kernels: weight [K, Cout, Cin, kh, kw], bias [K, Cout] or null. */
export function groupedConv(h: Tensor, weight: Tensor, bias: Tensor | null, o: ConvOptions = {}): Tensor {
  const [K, Cout, Cin, kh, kw] = weight.shape;
  const stride = o.stride ?? 1;
  const padding = o.padding ?? 0;
  // libtorch 1.13's CPU kernel for groups = K is slow with few input channels per
  // group (measured 1.6× slower than K ordinary convolutions on LeNet's 1→6 and 6→16,
  // K = 16, one thread; LeNet's whole step at two threads 91 → 50 ms per step; 10% faster on
  // ResNet's 16→16 and 64→64): there, one per agent.
  // The agents' inputs, weights and biases as chunk views: the gradient of each is put back together by one
  // cat, where a narrow or select per agent has each agent's gradient fill a zero tensor of the whole size
  // (K times the layer's input: LeNet's step at K = 16 took 72 ms of CPU that way, 62 ms this way; the same bits).
  if (Cin < 16 && K > 1) {
    const inputs = chunk(h, K, 1);
    const weights = chunk(weight, K, 0);
    const biases = bias === null ? null : chunk(bias, K, 0);
    return cat(
      inputs.map((input, k) =>
        conv2d(input, weights[k].squeeze(0), { bias: biases === null ? null : biases[k].squeeze(0), stride, padding }),
      ),
      1,
    );
  }
  return conv2d(h, weight.reshape([K * Cout, Cin, kh, kw]), {
    bias: bias === null ? null : bias.reshape([K * Cout]),
    stride,
    padding,
    groups: K,
  });
}

/** GroupNorm with `groups` groups per agent, affine weight and bias [K, C]. */
export function agentGroupNorm(h: Tensor, groups: number, weight: Tensor, bias: Tensor): Tensor {
  const [K, C] = weight.shape;
  return groupNorm(h, K * groups, weight.reshape([K * C]), bias.reshape([K * C]));
}

/**
 * ResNet's parameter-free shortcut to a block that halves the resolution and
 * doubles the width ("option A" of He et al. 2016 for CIFAR): every other pixel,
 * and zero channels added on both sides of each agent's channels.
 */
export function downsampleShortcut(h: Tensor, K: number): Tensor {
  const sub = avgPool2d(h, 1, { stride: 2 });
  const [B, KC, H, W] = sub.shape;
  const C = KC / K;
  const pad = zeros([B, K, C / 2, H, W], h.dtype);
  return cat([pad, sub.reshape([B, K, C, H, W]), pad], 2).reshape([B, 2 * KC, H, W]);
}
