"""PyTorch peers for `flatdist bench`: the same training step, Hessian-vector
product and matrix product as flatdist, written the way PyTorch users write them.

Training step (diffusion ATC over the combination matrix A, a_{lk} = A[l][k]):
    psi_k = w_k - mu * grad J_k(w_k)        (agent k's mean cross-entropy on its own batch)
    w_k   = sum_l a_{lk} psi_l              (A^T W, one matrix product per parameter)

Implementations:
  loop  one nn.Module and torch.optim.SGD per agent, forward/backward agent by agent,
        then the combination on the stacked parameters (typical simulation code);
  bmm   agent-batched: stacked [K, ...] parameters, batched matrix products (grouped
        convolutions for LeNet), one backward, SGD, combination as a matrix product;
  vmap  agent-batched with functorch: vmap(grad_and_value(loss)) over stacked parameters.

Protocol (bench/protocol.ts): one JSON object per line on stdin, one JSON reply
per line on stdout; prepared configurations stay until "clear".
`python3 peer.py memory '<prepare json>'` instead runs a few steps of one
configuration and prints its peak resident set (VmHWM).
"""
import json
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

try:
    import functorch
except ImportError:  # functorch ships with PyTorch 1.13; older builds go without the vmap peer
    functorch = None


def mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))


def lenet():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    )


MODELS = {"mlp": mlp, "lenet": lenet}
INPUT = {"mlp": (784,), "lenet": (1, 28, 28)}


def batch(model, K, B, gen):
    x = torch.rand((K, B) + INPUT[model], generator=gen)
    y = torch.randint(0, 10, (K, B), generator=gen)
    return x, y


class Loop:
    """One module and one optimizer per agent."""

    def __init__(self, model, K, B, A, mu, gen):
        torch.manual_seed(0)
        self.models = [MODELS[model]() for _ in range(K)]
        self.opts = [torch.optim.SGD(m.parameters(), lr=mu) for m in self.models]
        self.At = torch.tensor(A, dtype=torch.float32).t().contiguous()
        self.K = K
        self.x, self.y = batch(model, K, B, gen)

    def step(self):
        total = 0.0
        for k in range(self.K):
            self.opts[k].zero_grad()
            loss = F.cross_entropy(self.models[k](self.x[k]), self.y[k])
            loss.backward()
            self.opts[k].step()
            total += loss.item()
        with torch.no_grad():
            for ps in zip(*(m.parameters() for m in self.models)):
                mixed = self.At.mm(torch.stack(ps).view(self.K, -1))
                for k, p in enumerate(ps):
                    p.copy_(mixed[k].view_as(p))
        return total / self.K


def stacked_params(model, K):
    torch.manual_seed(0)
    one = MODELS[model]()
    return [nn.Parameter(p.detach().unsqueeze(0).repeat((K,) + (1,) * p.dim())) for p in one.parameters()]


def dense(h, w, b):
    return torch.baddbmm(b.unsqueeze(1), h, w.transpose(1, 2))


def grouped_conv(h, w, b, K, padding=0):
    return F.conv2d(h, w.reshape((-1,) + tuple(w.shape[2:])), b.reshape(-1), padding=padding, groups=K)


def forward_batched(model, p, x):
    K, B = x.shape[:2]
    if model == "mlp":
        return dense(torch.relu(dense(x, p[0], p[1])), p[2], p[3])
    h = x.transpose(0, 1).reshape(B, K, 28, 28)
    h = F.max_pool2d(torch.relu(grouped_conv(h, p[0], p[1], K, padding=2)), 2)
    h = F.max_pool2d(torch.relu(grouped_conv(h, p[2], p[3], K)), 2)
    f = h.reshape(B, K, -1).transpose(0, 1)
    f = torch.relu(dense(f, p[4], p[5]))
    f = torch.relu(dense(f, p[6], p[7]))
    return dense(f, p[8], p[9])


class Bmm:
    """Stacked parameters, one forward/backward for all agents."""

    def __init__(self, model, K, B, A, mu, gen):
        self.model = model
        self.params = stacked_params(model, K)
        self.opt = torch.optim.SGD(self.params, lr=mu)
        self.At = torch.tensor(A, dtype=torch.float32).t().contiguous()
        self.K, self.B = K, B
        self.x, self.y = batch(model, K, B, gen)

    def step(self):
        K, B = self.K, self.B
        self.opt.zero_grad(set_to_none=True)
        logits = forward_batched(self.model, self.params, self.x)
        losses = F.cross_entropy(logits.reshape(K * B, 10), self.y.reshape(K * B), reduction="none").view(K, B).mean(1)
        losses.sum().backward()
        self.opt.step()
        with torch.no_grad():
            for p in self.params:
                p.copy_(self.At.mm(p.view(K, -1)).view_as(p))
        return losses.mean().item()


class Vmap:
    """functorch: vmap of grad_and_value over the agents' stacked parameters."""

    def __init__(self, model, K, B, A, mu, gen):
        torch.manual_seed(0)
        fmodel, params = functorch.make_functional(MODELS[model]())
        self.params = [p.detach().unsqueeze(0).repeat((K,) + (1,) * p.dim()) for p in params]

        def loss(p, x, y):
            return F.cross_entropy(fmodel(p, x), y)

        self.grad = functorch.vmap(functorch.grad_and_value(loss))
        self.At = torch.tensor(A, dtype=torch.float32).t().contiguous()
        self.K, self.mu = K, mu
        self.x, self.y = batch(model, K, B, gen)

    def step(self):
        g, losses = self.grad(tuple(self.params), self.x, self.y)
        with torch.no_grad():
            self.params = [self.At.mm((p - self.mu * gp).view(self.K, -1)).view_as(p) for p, gp in zip(self.params, g)]
        return losses.mean().item()


class Hvp:
    """PyHessian-style Hessian-vector products by double backward (torch.autograd.grad, create_graph=True).
    reuse: the gradient graph is built once and each product is one more backward (PyHessian on one batch);
    rebuild: forward and gradient again for every product (PyHessian over a data loader)."""

    def __init__(self, model, B, reuse, gen):
        torch.manual_seed(0)
        self.net = MODELS[model]()
        self.params = [p for p in self.net.parameters()]
        x, y = batch(model, 1, B, gen)
        self.x, self.y = x[0], y[0]
        self.reuse = reuse
        self.gen = gen
        self.gradsH = self.gradients() if reuse else None

    def gradients(self):
        loss = F.cross_entropy(self.net(self.x), self.y)
        return torch.autograd.grad(loss, self.params, create_graph=True)

    def step(self):
        v = [torch.randint(0, 2, p.shape, generator=self.gen).float() * 2 - 1 for p in self.params]
        gradsH = self.gradsH if self.reuse else self.gradients()
        hv = torch.autograd.grad(gradsH, self.params, grad_outputs=v, retain_graph=self.reuse)
        return sum(torch.sum(a * b) for a, b in zip(v, hv)).item()


def prepare(cmd):
    gen = torch.Generator().manual_seed(cmd.get("seed", 0))
    impl = cmd["impl"]
    if impl in ("hvp-reuse", "hvp-rebuild"):
        return Hvp(cmd["model"], cmd["B"], impl == "hvp-reuse", gen)
    cls = {"loop": Loop, "bmm": Bmm, "vmap": Vmap}[impl]
    if cls is Vmap and functorch is None:
        raise RuntimeError("functorch is not available")
    return cls(cmd["model"], cmd["K"], cmd["B"], cmd["A"], cmd.get("mu", 0.01), gen)


def sgemm(n, seconds):
    """GFLOP/s of float32 n x n matrix products: torch.mm, and numpy.dot on the same OpenBLAS."""
    out = {}
    a, b = torch.rand(n, n), torch.rand(n, n)
    c = torch.empty(n, n)
    out["torch"] = rate(lambda: torch.mm(a, b, out=c), 2 * n ** 3, seconds)
    try:
        import numpy as np
        an, bn = a.numpy(), b.numpy()
        cn = np.empty((n, n), dtype=np.float32)
        out["numpy"] = rate(lambda: np.dot(an, bn, out=cn), 2 * n ** 3, seconds)
    except ImportError:
        pass
    return out


def rate(f, flop, seconds):
    f()
    count, start = 0, time.perf_counter()
    while True:
        f()
        count += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return flop * count / elapsed / 1e9


def info():
    cfg = torch.__config__.show()
    blas = [line.strip() for line in cfg.splitlines() if "BLAS" in line]
    maps = open("/proc/self/maps").read()
    libs = sorted({os.path.basename(l.split()[-1]) for l in maps.splitlines() if "blas" in l.lower() and "/" in l})
    return {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "functorch": functorch.__version__ if functorch else None,
        "blasLibraries": libs,
        "buildBlas": blas,
    }


def peak_rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return None


def serve():
    states = {}
    for line in sys.stdin:
        cmd = json.loads(line)
        try:
            op = cmd["op"]
            if op == "info":
                reply = info()
            elif op == "prepare":
                states[cmd["id"]] = prepare(cmd)
                reply = {}
            elif op == "clear":
                states.clear()
                reply = {}
            elif op == "run":
                s = states[cmd["id"]]
                start, cpu = time.perf_counter(), time.process_time()
                for _ in range(cmd["steps"]):
                    value = s.step()
                reply = {"seconds": time.perf_counter() - start, "cpuSeconds": time.process_time() - cpu, "value": value}
            elif op == "sgemm":
                reply = sgemm(cmd["n"], cmd["seconds"])
            else:
                raise ValueError("unknown op " + op)
        except Exception as e:  # the harness reports it and goes on without this measurement
            reply = {"error": f"{type(e).__name__}: {e}"}
        print(json.dumps(reply), flush=True)


def main():
    threads = int(os.environ.get("FLATDIST_BENCH_THREADS", "0"))
    if threads > 0:
        torch.set_num_threads(threads)
    if len(sys.argv) > 2 and sys.argv[1] == "memory":
        cmd = json.loads(sys.argv[2])
        s = prepare(cmd)
        for _ in range(cmd.get("steps", 3)):
            s.step()
        print(json.dumps({"peakRss": peak_rss()}), flush=True)
    else:
        serve()


if __name__ == "__main__":
    main()
