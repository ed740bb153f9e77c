#!/usr/bin/env python3
"""Redo a `flatdist measure` from the run folder alone, in PyTorch, without flatdist.

    python3 reproduce_measure.py RUN_DIR MEASURE.json [--data-dir DIR]

Reads RUN_DIR/run.json's parts (each agent's training examples, as indices into the data
set's own training split), the checkpoint MEASURE.json names (a safetensors file of the
stacked agents' parameters [K, ...] and the centroid's weights p), and the examples the
measurement recorded (examplesUsed: indices and weights n·ω_i). It rebuilds the model from
the checkpoint's tensors, the data set from its IDX files, and computes in float64

    J(w_c) = (1/n) Σ_i weights_i ℓ(f(w_c; x_i), y_i) + (λ/2)‖w_c‖²,   w_c = Σ_k p_k w_k,

with ‖∇J(w_c)‖ by autograd and u = ∇J/‖∇J‖, uᵀ ∇²J u by a Hessian-vector product (double
backward). On the train split it first checks that the recorded weights are those of the
global risk Σ_k p_k J_k over each agent's share S_k: weights_i = n p_k / |S_k| for i ∈ S_k.
Prints one JSON object. Supported: mnist and fashion-mnist; models mlp and logistic.
"""
import argparse
import gzip
import hashlib
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

NORMALIZATION = {'mnist': (0.1307, 0.3081), 'fashion-mnist': (0.286, 0.353)}
ACTIVATIONS = {'relu': F.relu, 'tanh': torch.tanh, 'gelu': F.gelu, 'sigmoid': torch.sigmoid, 'softplus': F.softplus}


def read_safetensors(path):
    """The tensors (numpy, little-endian) and the string metadata of a safetensors file."""
    with open(path, 'rb') as f:
        raw = f.read()
    (n,) = struct.unpack('<Q', raw[:8])
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    kinds = {'F32': '<f4', 'F64': '<f8', 'I64': '<i8'}
    tensors = {}
    for name, e in header.items():
        if name == '__metadata__':
            continue
        begin, end = e['data_offsets']
        tensors[name] = np.frombuffer(data[begin:end], dtype=kinds[e['dtype']]).reshape(e['shape'])
    return tensors, header.get('__metadata__', {})


def read_idx(path):
    opener = gzip.open if path.endswith('.gz') else open
    with opener(path, 'rb') as f:
        raw = f.read()
    dims = raw[3]
    shape = struct.unpack('>' + 'I' * dims, raw[4:4 + 4 * dims])
    return np.frombuffer(raw[4 + 4 * dims:], dtype=np.uint8).reshape(shape)


def idx_file(folder, name):
    plain = os.path.join(folder, name)
    return plain if os.path.exists(plain) or not os.path.exists(plain + '.gz') else plain + '.gz'


def load_split(dataset, folder, split):
    """x float32 [n, 784] standardized as (b/255 − mean)/std (rounded once to float32), y int64 [n]."""
    prefix = 'train' if split == 'train' else 't10k'
    images = read_idx(idx_file(folder, f'{prefix}-images-idx3-ubyte'))
    labels = read_idx(idx_file(folder, f'{prefix}-labels-idx1-ubyte'))
    mean, std = NORMALIZATION[dataset]
    table = ((np.arange(256, dtype=np.float64) / 255 - mean) / std).astype(np.float32)
    return torch.from_numpy(table[images.reshape(len(images), -1)]), torch.from_numpy(labels.astype(np.int64))


def checkpoint_file(path):
    """A checkpoint file, or the latest checkpoint of a run folder."""
    if os.path.isfile(path):
        return path
    folder = os.path.join(path, 'checkpoints')
    with open(os.path.join(folder, 'latest.json')) as f:
        return os.path.join(folder, json.load(f)['file'])


def forward(config, names, params, x):
    """The model of the run's config, built here from its parameters: logits [n, classes]."""
    h = x
    layers = [(params[i], params[i + 1]) for i in range(0, len(params), 2)]
    act = ACTIVATIONS[config.get('activation', 'relu')]
    for i, (weight, bias) in enumerate(layers):
        h = h @ weight.T + bias
        if config['model'] == 'mlp' and i + 1 < len(layers):
            h = act(h)
    return h


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('run')
    ap.add_argument('measure')
    ap.add_argument('--data-dir', required=True, help="the data set's IDX files")
    args = ap.parse_args()

    with open(args.measure) as f:
        record = json.load(f)
    used = record['examplesUsed']
    if 'indices' not in used:
        sys.exit(f"{args.measure}: the measurement used {used['count']} examples, recorded by their hash only; "
                 f"measure again with --eval-subset N (at most 20000) to redo it here")
    indices = np.asarray(used['indices'], dtype='<i8')
    if hashlib.sha256(indices.tobytes()).hexdigest() != used['indicesSha256']:
        sys.exit('the recorded indices do not match their hash')

    with open(os.path.join(args.run, 'run.json')) as f:
        record_parts = json.load(f)['parts']
    K = record_parts['agents']
    parts = [np.asarray(ix, dtype='<i8') for ix in record_parts['indices']]
    if hashlib.sha256(b''.join(p.tobytes() for p in parts)).hexdigest() != record_parts['indicesSha256']:
        sys.exit('run.json: the parts do not match their hash')

    tensors, meta = read_safetensors(checkpoint_file(record['checkpoint']))
    config = json.loads(meta['config'])
    names = json.loads(meta['paramNames'])
    p = torch.tensor(json.loads(meta['perron']), dtype=torch.float64)
    stacked = [torch.from_numpy(tensors[f'agents.{n}'].copy()).double() for n in names]
    centroid = [torch.einsum('k,k...->...', p, t).requires_grad_(True) for t in stacked]

    n = len(indices)
    weights = torch.tensor(used['weights'], dtype=torch.float64)
    weight_check = None
    if used['split'] == 'train':
        owner = {int(i): k for k in range(K) for i in parts[k]}
        agent = np.array([owner[int(i)] for i in indices])
        shares = np.bincount(agent, minlength=K)
        ours = torch.tensor([n * float(p[k]) / shares[k] for k in agent], dtype=torch.float64)
        weight_check = float((ours - weights).abs().max())
        weights = ours

    x, y = load_split(record_parts['dataset'], args.data_dir, used['split'])
    at = torch.from_numpy(indices)
    x, y = x[at].double(), y[at]
    decay = config['weightDecay']

    def objective(params):
        losses = F.cross_entropy(forward(config, names, params, x), y, reduction='none')
        return (weights * losses).sum() / n + decay / 2 * sum((w * w).sum() for w in params)

    J = objective(centroid)
    grads = torch.autograd.grad(J, centroid, create_graph=True)
    g = torch.cat([t.reshape(-1) for t in grads])
    norm = g.norm()
    u = [(t / norm).detach() for t in grads]
    hu = torch.autograd.grad(sum((a * b).sum() for a, b in zip(grads, u)), centroid)
    curvature = sum((a * b).sum() for a, b in zip(hu, u))
    print(json.dumps({'J': J.item(), 'gradientNorm': norm.item(), 'gradientCurvature': curvature.item(),
                      'examples': n, 'weightsMaxDifference': weight_check}))


if __name__ == '__main__':
    main()
