#!/usr/bin/env python3
"""A PyTorch process taking one rank of a flatdist group.

flatdist runs its process groups on Gloo through libtorch's c10d, the engine
torch.distributed uses on CPUs, so a PyTorch process can join one: it connects
to the same rendezvous store, proves it holds the group's token, and calls
torch.distributed.init_process_group(backend="gloo", store=...), exactly as
flatdist's own processes do.

    FLATDIST_TOKEN=... python3 examples/pytorch_agent.py \\
        --rank 1 --world-size 2 --store 127.0.0.1:29500 --mode selftest

Modes (both print one JSON line of results):
  selftest  the collectives flatdist's tests run (allreduce, allgather, broadcast,
            a ring of send/recv), to check wire compatibility;
  mix       one neighbour exchange of a combination step (see neighbor_mix):
            this rank's agents' columns of Aᵀ·W, computed with the rows that
            neighbouring ranks send.
Later this script becomes a full agent of a flatdist ring: it will host its
agents' models and run the unified recursion with neighbor_mix as its
combination step, once flatdist's trainer and launcher define the run.

Needs only python3 and torch (1.13 tested).
"""
import argparse
import datetime
import hashlib
import hmac
import json
import os
import sys

import torch
import torch.distributed as dist

# --- Joining a flatdist group ------------------------------------------------
# Keys and proofs as in flatdist's src/dist/auth.ts and src/dist/group.ts.
SCHEME = "flatdist-join-v1"
NONCE_KEY = "flatdist/auth/nonce"
VERDICT_KEY = "flatdist/auth/verdict"


def proof_key(rank):
    return f"flatdist/auth/proof/{rank}"


def proof(token, nonce, rank):
    """HMAC-SHA256(token, scheme|nonce|rank), hex: shows the token without sending it."""
    return hmac.new(token.encode(), f"{SCHEME}|{nonce}|{rank}".encode(), hashlib.sha256).hexdigest()


def authenticate(store, rank, token):
    """The token check of a rank other than 0: publish our proof, check rank 0's, await its verdict."""
    if rank == 0:
        raise SystemExit("pytorch_agent.py joins as a rank other than 0; rank 0 runs flatdist")
    nonce = store.get(NONCE_KEY).decode()
    store.set(proof_key(rank), proof(token, nonce, rank))
    if not hmac.compare_digest(store.get(proof_key(0)).decode(), proof(token, nonce, 0)):
        raise SystemExit(f"rank {rank}: wrong token — the store belongs to a group with a different token")
    verdict = store.get(VERDICT_KEY).decode()
    if verdict != "ok":
        raise SystemExit(f"rank {rank}: rank 0 refused rank {verdict.split()[1]}, which presented a wrong token")


def join(rank, world_size, host, port, token, timeout):
    # world_size=None: flatdist's store does not count workers at connection time.
    store = dist.TCPStore(host, port, None, False, timeout)
    authenticate(store, rank, token)
    # Announces this connection as this rank, so the others can name it if it dies.
    store.set(f"flatdist/alive/{rank}", str(os.getpid()))
    dist.init_process_group("gloo", store=store, rank=rank, world_size=world_size, timeout=timeout)
    return store


# --- The combination step across processes -----------------------------------
# Agent k's new parameters are sum_l a_lk w_l (A's columns sum to one). This rank
# hosts some agents (owner[k] == rank), stacked in increasing order; it receives,
# from each other rank q, the rows of q's agents l with a_lk != 0 for one of its
# agents k, and sends q the rows q needs likewise: all parameter tensors of one
# neighbour in one flat message, agents in increasing order, tensor after tensor.
MIX_TAG = 0x6D6978  # 'mix', as in src/dist/mixer.ts


def block_placement(K, world_size):
    return [k * world_size // K for k in range(K)]


def neighbor_mix(A, W, owner, rank):
    """A: [K, K]; W: this rank's stacked parameters, each [h, ...]. Returns the mixed stacks."""
    K = len(owner)
    mine = [k for k in range(K) if owner[k] == rank]
    if torch.allclose(A, torch.full_like(A, 1.0 / K)):
        # Averaging (centralized): one allreduce of the local sums.
        sums = torch.cat([p.sum(0).reshape(-1) for p in W])
        dist.all_reduce(sums)
        out, offset = [], 0
        for p in W:
            n = p[0].numel()
            out.append((sums[offset:offset + n] / K).reshape(p.shape[1:]).expand(p.shape).contiguous())
            offset += n
        return out
    send_to, recv_from = {}, {}
    for pos, l in enumerate(mine):
        for k in range(K):
            if owner[k] != rank and A[l, k] != 0:
                rows = send_to.setdefault(owner[k], [])
                if not rows or rows[-1] != pos:
                    rows.append(pos)
    for l in range(K):
        if owner[l] != rank and any(A[l, k] != 0 for k in mine):
            recv_from.setdefault(owner[l], []).append(l)
    widths = [p[0].numel() for p in W]
    works = [dist.isend(torch.cat([p[rows].reshape(-1) for p in W]), q, tag=MIX_TAG) for q, rows in send_to.items()]
    buffers = {q: torch.zeros(len(agents) * sum(widths), dtype=W[0].dtype) for q, agents in recv_from.items()}
    works += [dist.irecv(buffers[q], q, tag=MIX_TAG) for q in recv_from]
    for w in works:
        w.wait()
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


def ring_matrix(K):
    """Each agent averages itself and its two ring neighbours: a_lk = 1/3."""
    A = torch.zeros(K, K, dtype=torch.float64)
    for k in range(K):
        for l in (k, (k + 1) % K, (k - 1) % K):
            A[l, k] = 1.0 / 3
    return A


# --- Modes -------------------------------------------------------------------
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
    dist.barrier()
    return out


def mix(rank, N, K):
    """One ring combination step, checked against the full product computed here."""
    A = ring_matrix(K)
    owner = block_placement(K, N)
    mine = [k for k in range(K) if owner[k] == rank]
    W = [torch.randn(K, 3, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(11)),
         torch.randn(K, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(12))]
    got = neighbor_mix(A, [p[mine] for p in W], owner, rank)
    expected = [(A.T @ p.reshape(K, -1)).reshape(p.shape)[mine] for p in W]
    dist.barrier()
    return {"rank": rank, "maxDiff": max((g - e).abs().max().item() for g, e in zip(got, expected))}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rank", type=int, required=True)
    ap.add_argument("--world-size", type=int, required=True)
    ap.add_argument("--store", required=True, help="host:port of the group's store")
    ap.add_argument("--token", default=os.environ.get("FLATDIST_TOKEN"), help="the group's token (default: $FLATDIST_TOKEN)")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for any peer (default 60)")
    ap.add_argument("--mode", choices=["selftest", "mix"], default="selftest")
    ap.add_argument("--agents", type=int, default=6, help="K, for --mode mix")
    a = ap.parse_args()
    if not a.token:
        raise SystemExit("--token: joining a group needs a shared token: pass --token or set FLATDIST_TOKEN")
    host, port = a.store.rsplit(":", 1)
    timeout = datetime.timedelta(seconds=a.timeout)
    join(a.rank, a.world_size, host.strip("[]"), int(port), a.token, timeout)
    out = selftest(a.rank, a.world_size) if a.mode == "selftest" else mix(a.rank, a.world_size, a.agents)
    print(json.dumps(out), flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    sys.exit(main())
