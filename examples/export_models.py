#!/usr/bin/env python3
"""PyTorch models for flatdist, and flatdist's checkpoints back into PyTorch.

flatdist trains any module saved by torch.jit.save (from torch.jit.script or
torch.jit.trace) with --model torchscript:PATH. The module takes a batch of
examples shaped as the dataset gives them, x [B, *input_shape] (MNIST and
Fashion-MNIST: [B, 1, 28, 28]; CIFAR-10: [B, 3, 32, 32]), and returns logits
[B, classes]. flatdist runs it in eval mode: every agent starts from the
module's own parameters, its parameters are trained under their PyTorch names,
and its buffers (BatchNorm running statistics) stay as saved.

Export a small CNN and a small residual network:

    /usr/bin/python3 examples/export_models.py export --out models \\
        [--input-shape 1,28,28] [--classes 10] [--method script|trace] [--seed 0]

writes models/cnn.pt and models/resnet.pt. Train one over a ring of 8 agents:

    node bin/flatdist.js train --dataset fashion-mnist --model torchscript:models/cnn.pt \\
        --agents 8 --topology ring --steps 500 --out runs/cnn

Load the network centroid w_c = Σ_k p_k w_k of the last checkpoint (or agent
k's weights) back into the module, with load_state_dict(strict=True):

    /usr/bin/python3 examples/export_models.py load runs/cnn --module models/cnn.pt \\
        [--agent k] [--save centroid.pt]

--save writes the loaded module (torch.jit.save). Needs only python3 and torch
(1.13 tested); flatdist's checkpoints are safetensors, read here without the
safetensors package.
"""
import argparse
import json
import os
import struct
import sys

import torch
from torch import nn
import torch.nn.functional as F


# --- Models -------------------------------------------------------------------

class SmallCNN(nn.Module):
    """conv 8@5×5 (padding 2) → relu → max-pool 2 → conv 16@5×5 → relu → max-pool 2 → fc 32 → relu → fc classes."""

    def __init__(self, input_shape, classes):
        super().__init__()
        channels, height, width = input_shape
        self.conv1 = nn.Conv2d(channels, 8, 5, padding=2)
        self.conv2 = nn.Conv2d(8, 16, 5)
        side = lambda s: (s // 2 - 4) // 2
        self.fc1 = nn.Linear(16 * side(height) * side(width), 32)
        self.fc2 = nn.Linear(32, classes)

    def forward(self, x):
        h = F.max_pool2d(F.relu(self.conv1(x)), 2)
        h = F.max_pool2d(F.relu(self.conv2(h)), 2)
        return self.fc2(F.relu(self.fc1(torch.flatten(h, 1))))


class Block(nn.Module):
    """Two 3×3 convolutions with normalization, and a shortcut (a 1×1 convolution when the shape changes)."""

    def __init__(self, inputs, outputs, stride, norm):
        super().__init__()
        self.conv1 = nn.Conv2d(inputs, outputs, 3, stride=stride, padding=1, bias=False)
        self.norm1 = norm(outputs)
        self.conv2 = nn.Conv2d(outputs, outputs, 3, padding=1, bias=False)
        self.norm2 = norm(outputs)
        self.shortcut = nn.Sequential()
        if stride != 1 or inputs != outputs:
            self.shortcut = nn.Sequential(nn.Conv2d(inputs, outputs, 1, stride=stride, bias=False), norm(outputs))

    def forward(self, x):
        h = F.relu(self.norm1(self.conv1(x)))
        return F.relu(self.norm2(self.conv2(h)) + self.shortcut(x))


class SmallResNet(nn.Module):
    """A ResNet-8-style network: a 3×3 stem of 8 channels, blocks of 8, 16, 32 channels (strides 1, 2, 2), global average pooling, fc.

    norm 'group' (default): GroupNorm with 4 groups, no buffers, the same in
    training and evaluation. norm 'batch': BatchNorm, whose running statistics
    flatdist keeps fixed (eval mode): it then acts as a fixed affine map.
    """

    def __init__(self, input_shape, classes, norm='group'):
        super().__init__()
        make = (lambda c: nn.GroupNorm(4, c)) if norm == 'group' else nn.BatchNorm2d
        self.conv = nn.Conv2d(input_shape[0], 8, 3, padding=1, bias=False)
        self.norm = make(8)
        self.layers = nn.Sequential(Block(8, 8, 1, make), Block(8, 16, 2, make), Block(16, 32, 2, make))
        self.fc = nn.Linear(32, classes)

    def forward(self, x):
        h = self.layers(F.relu(self.norm(self.conv(x))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(h, 1), 1))


def to_torchscript(model, input_shape, method):
    """The model in eval mode, scripted or traced on a batch of two examples."""
    model.eval()
    if method == 'script':
        return torch.jit.script(model)
    return torch.jit.trace(model, torch.randn(2, *input_shape))


def export(out, input_shape, classes, method, seed, norm):
    os.makedirs(out, exist_ok=True)
    written = {}
    for name, build in (('cnn', lambda: SmallCNN(input_shape, classes)), ('resnet', lambda: SmallResNet(input_shape, classes, norm))):
        torch.manual_seed(seed)
        module = to_torchscript(build(), input_shape, method)
        path = os.path.join(out, f'{name}.pt')
        module.save(path)
        written[name] = {'path': path, 'parameters': sum(p.numel() for p in module.parameters())}
    return written


# --- flatdist checkpoints -------------------------------------------------------

DTYPES = {'F32': torch.float32, 'F64': torch.float64, 'I64': torch.int64, 'BOOL': torch.bool}


def read_safetensors(path):
    """(tensors by name, metadata): an 8-byte little-endian header length, a JSON header, then the data."""
    with open(path, 'rb') as f:
        raw = f.read()
    (length,) = struct.unpack('<Q', raw[:8])
    header = json.loads(raw[8:8 + length])
    metadata = header.pop('__metadata__', {})
    data = raw[8 + length:]
    tensors = {}
    for name, entry in header.items():
        start, end = entry['data_offsets']
        dtype = DTYPES[entry['dtype']]
        # frombuffer refuses an empty buffer
        flat = torch.frombuffer(bytearray(data[start:end]), dtype=dtype) if end > start else torch.empty(0, dtype=dtype)
        tensors[name] = flat.reshape(entry['shape'])
    return tensors, metadata


def checkpoint_file(path):
    """A checkpoint file, or a run folder's latest checkpoint (checkpoints/latest.json)."""
    folder = os.path.join(path, 'checkpoints')
    if not os.path.isdir(folder):
        return path
    with open(os.path.join(folder, 'latest.json')) as f:
        return os.path.join(folder, json.load(f)['file'])


def state_dict(path, agent=None):
    """One model's parameters from a flatdist checkpoint, under their PyTorch names:
    agent k's, or the network centroid w_c = Σ_k p_k w_k (p, the Perron vector of
    the combination matrix, is in the checkpoint)."""
    tensors, metadata = read_safetensors(checkpoint_file(path))
    names = json.loads(metadata['paramNames'])
    perron = torch.tensor(json.loads(metadata['perron']), dtype=torch.float64)
    if agent is not None and not 0 <= agent < len(perron):
        raise SystemExit(f'--agent: the checkpoint holds agents 0 to {len(perron) - 1}, not {agent}')
    out = {}
    for name in names:
        w = tensors[f'agents.{name}']
        if agent is None:
            out[name] = torch.tensordot(perron, w.double(), dims=1).to(w.dtype)
        else:
            out[name] = w[agent].clone()
    return out


def load_into(module, params):
    """load_state_dict(strict=True) with the parameters given and the module's own buffers (flatdist keeps them fixed)."""
    full = dict(module.state_dict())
    unknown = set(params) - set(full)
    if unknown:
        raise SystemExit(f'the checkpoint holds parameters the module lacks: {sorted(unknown)} — give the module the run was trained with')
    full.update(params)
    module.load_state_dict(full, strict=True)
    return module


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest='command', required=True)
    e = commands.add_parser('export', help='write cnn.pt and resnet.pt')
    e.add_argument('--out', default='models')
    e.add_argument('--input-shape', default='1,28,28', help='one example, C,H,W (default 1,28,28)')
    e.add_argument('--classes', type=int, default=10)
    e.add_argument('--method', choices=['script', 'trace'], default='script')
    e.add_argument('--norm', choices=['group', 'batch'], default='group', help="the residual network's normalization")
    e.add_argument('--seed', type=int, default=0, help='torch.manual_seed before building each model')
    l = commands.add_parser('load', help="load a checkpoint's centroid (or an agent) into a TorchScript module")
    l.add_argument('checkpoint', help='a run folder or a checkpoint file')
    l.add_argument('--module', required=True, help='the TorchScript module the run trained')
    l.add_argument('--agent', type=int, help="agent k's weights instead of the centroid")
    l.add_argument('--save', help='write the loaded module here (torch.jit.save)')
    args = parser.parse_args()
    if args.command == 'export':
        shape = tuple(int(s) for s in args.input_shape.split(','))
        if len(shape) != 3:
            raise SystemExit(f'--input-shape: give C,H,W, got {args.input_shape}')
        print(json.dumps(export(args.out, shape, args.classes, args.method, args.seed, args.norm)))
    else:
        module = load_into(torch.jit.load(args.module), state_dict(args.checkpoint, args.agent))
        if args.save:
            module.save(args.save)
        loaded = 'centroid' if args.agent is None else f'agent {args.agent}'
        print(json.dumps({'loaded': loaded, 'parameters': sum(p.numel() for p in module.parameters()), 'saved': args.save}))


if __name__ == '__main__':
    sys.exit(main())
