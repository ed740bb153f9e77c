"""PyTorch peers for `flatdist bench`: the same training step, Hessian-vector
product and matrix product as flatdist, written the way PyTorch users write them.

Training step (diffusion ATC over the combination matrix A, a_{lk} = A[l][k]):
    psi_k = w_k - mu * grad J_k(w_k)        (agent k's mean cross-entropy on its own batch)
    w_k   = sum_l a_{lk} psi_l              (A^T W, one matrix product per parameter)

Also: Hutchinson's trace and the top eigenvalues PyHessian-style (one batch, or a loader of
batches), and an escape experiment as a loop over seeds and agents and as a batched version.

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


DEVICE = os.environ.get("FLATDIST_BENCH_DEVICE", "cpu")
if DEVICE != "cpu":
    # Every factory call, module parameter and generator on the device, as flatdist's useDevice does.
    torch.cuda.set_device(torch.device(DEVICE))
    torch.set_default_tensor_type(torch.cuda.FloatTensor)


def generator(seed):
    """A generator on the device, seeded."""
    return torch.Generator(device=DEVICE).manual_seed(seed)


def sync():
    """Waits for the device's queued work (the timed runs end with it)."""
    if DEVICE != "cpu":
        torch.cuda.synchronize()


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


def pattern(n, offset, scale):
    """flatdist's pattern (src/bench/worker.ts): frac(t*phi + offset) in float64, to [-scale, scale) or [0, 1)."""
    u = torch.arange(n, dtype=torch.float64) * 0.6180339887498949 + offset
    f = u - torch.floor(u)
    return (f if scale == 0 else (f - 0.5) * 2 * scale).float()


def pattern_problem(n):
    """The MLP at the pattern parameters and n pattern examples, as flatdist makes them."""
    net = mlp()
    with torch.no_grad():
        for j, p in enumerate(net.parameters()):
            fan_in = 784 if j < 2 else 256
            p.copy_(pattern(p.numel(), 0.1 * (j + 1), 1 / fan_in ** 0.5).view_as(p))
    x = pattern(n * 784, 0.1, 0).view(n, 784)
    y = torch.arange(n) % 10
    return net, x, y


# PyHessian's method (Yao et al. 2020, github.com/amirgholami/PyHessian), written out in plain PyTorch:
# lists of tensors as vectors, Hv by a second torch.autograd.grad through the gradient's graph.
def dot(xs, ys):
    return sum(torch.sum(x * y) for x, y in zip(xs, ys))


def normalized(v):
    norm = dot(v, v).sqrt().item()
    return [x / (norm + 1e-6) for x in v]


def orthonormalized(w, basis):
    for u in basis:
        c = dot(w, u)
        w = [wi - c * ui for wi, ui in zip(w, u)]
    return normalized(w)


class PyHessianStyle:
    """Hessian of the mean cross-entropy the PyHessian way. One batch: forward and backward with
    create_graph once, then every Hv is one more autograd.grad through that graph. A loader of
    batches: every Hv runs each batch's forward, gradient and double backward anew, weighted by
    the batch's size."""

    def __init__(self, net, batches):
        self.net, self.batches = net, batches
        self.params = list(net.parameters())
        if len(batches) == 1:
            x, y = batches[0]
            loss = F.cross_entropy(net(x), y)
            self.grads = torch.autograd.grad(loss, self.params, create_graph=True)

    def hv(self, v):
        if len(self.batches) == 1:
            return list(torch.autograd.grad(self.grads, self.params, grad_outputs=v, retain_graph=True))
        total = [torch.zeros_like(p) for p in self.params]
        count = 0
        for x, y in self.batches:
            loss = F.cross_entropy(self.net(x), y)
            grads = torch.autograd.grad(loss, self.params, create_graph=True)
            hv = torch.autograd.grad(grads, self.params, grad_outputs=v)
            total = [t + h * float(len(y)) for t, h in zip(total, hv)]
            count += len(y)
        return [t / float(count) for t in total]

    def trace(self, probes, gen):
        """Hutchinson: the mean of v^T H v over Rademacher probes (a fixed count, to match flatdist's)."""
        samples = []
        for _ in range(probes):
            v = [torch.randint(0, 2, p.shape, generator=gen).float() * 2 - 1 for p in self.params]
            samples.append(dot(self.hv(v), v).item())
        n = len(samples)
        mean = sum(samples) / n
        var = sum((s - mean) ** 2 for s in samples) / (n - 1)
        return [mean, (var / n) ** 0.5]

    def eigenvalues(self, k, tol, gen, rule):
        """Power iteration with deflation: each eigenvector kept orthogonal to those found. rule "pyhessian"
        is PyHessian's own stop (the Rayleigh quotient changes by less than tol relative to itself, at most
        100 iterations); rule "residual" stops at flatdist's certificate, the deflated operator's residual
        ||P H v - lambda v|| <= tol * |lambda_1| (lambda_1, the largest found, estimating ||H||), so both sides
        stop at the same accuracy (at most 5000 iterations per value)."""
        values, vectors = [], []
        self.products = 0
        for _ in range(k):
            v = normalized([torch.randn(p.shape, generator=gen) for p in self.params])
            value = None
            for _ in range(100 if rule == "pyhessian" else 5000):
                v = orthonormalized(v, vectors)
                hv = self.hv(v)
                self.products += 1
                estimate = dot(hv, v).item()
                if rule == "residual":
                    deflated = hv
                    for u in vectors:
                        c = dot(deflated, u)
                        deflated = [d - c * ui for d, ui in zip(deflated, u)]
                    r = [d - estimate * vi for d, vi in zip(deflated, v)]
                    if dot(r, r).sqrt().item() <= tol * abs(values[0] if values else estimate):
                        value = estimate
                        break
                    v = normalized(hv)
                else:
                    v = normalized(hv)
                    if value is not None and abs(value - estimate) / (abs(value) + 1e-6) < tol:
                        value = estimate
                        break
                value = estimate
            values.append(value)
            vectors.append(v)
        return values


class Curvature:
    """Hutchinson's trace or the top-k eigenvalues, PyHessian-style, on one batch or a loader of batches.
    The object is built per step, as a measurement at a new point builds it."""

    def __init__(self, cmd):
        self.cmd = cmd
        B, n = cmd["B"], cmd["B"] * cmd["batches"]
        self.net, x, y = pattern_problem(n)
        self.batches = [(x[i:i + B], y[i:i + B]) for i in range(0, n, B)]
        self.detail = []

    def step(self):
        h = PyHessianStyle(self.net, self.batches)
        c = self.cmd
        gen = generator(c.get("seed", 0))  # the same probes at every step, and flatdist's
        if c["kind"] == "trace":
            self.detail = h.trace(c["probes"], gen)
        else:
            self.detail = h.eigenvalues(c["k"], c["tol"], gen, c.get("rule", "residual"))
            self.products = h.products
        return self.detail[0]


class Escape:
    """R seeds x 3 algorithms x K agents from one w*, N steps, J of each replica's centroid every m steps.
    loop: one module per agent, seed after seed; batched: the R*K agents of an algorithm stacked."""

    ALGORITHMS = ("consensus", "atc", "centralized")

    def __init__(self, cmd, batched, gen):
        self.c, self.batched, self.gen = cmd, batched, gen
        K, n = cmd["K"], cmd["examples"]
        self.start, self.x, self.y = pattern_problem(n)
        self.At = torch.tensor(cmd["A"], dtype=torch.float32).t().contiguous()
        self.part = n // K
        self.detail = []

    def draw(self, gens, K):
        """Each agent's B examples, with replacement from its own part (rows k*part ... (k+1)*part - 1)."""
        B, part = self.c["B"], self.part
        return [torch.randint(0, part, (B,), generator=g) + (i % K) * part for i, g in enumerate(gens)]

    def step(self):
        return (self.batched_run if self.batched else self.loop_run)()

    def loop_run(self):
        c, K, R, mu = self.c, self.c["K"], self.c["R"], self.c["mu"]
        finals = []
        for algorithm in self.ALGORITHMS:
            per_seed = []
            for r in range(R):
                gen = generator(1000 + r)
                nets = [mlp() for _ in range(K)]
                for net in nets:
                    net.load_state_dict(self.start.state_dict())
                with torch.no_grad():
                    reference = F.cross_entropy(self.start(self.x), self.y).item()
                curve = []
                for n in range(c["steps"] + 1):
                    if n % c["every"] == 0 or n == c["steps"]:
                        with torch.no_grad():
                            centroid = [torch.stack(ps).mean(0) for ps in zip(*(net.parameters() for net in nets))]
                            h = torch.relu(F.linear(self.x, centroid[0], centroid[1]))
                            curve.append(F.cross_entropy(F.linear(h, centroid[2], centroid[3]), self.y).item() - reference)
                    if n == c["steps"]:
                        break
                    grads = []
                    for k, net in enumerate(nets):
                        idx = torch.randint(0, self.part, (c["B"],), generator=gen) + k * self.part
                        loss = F.cross_entropy(net(self.x[idx]), self.y[idx])
                        grads.append(torch.autograd.grad(loss, list(net.parameters())))
                    with torch.no_grad():
                        for j, ps in enumerate(zip(*(net.parameters() for net in nets))):
                            W = torch.stack(ps).view(K, -1)
                            G = torch.stack([g[j] for g in grads]).view(K, -1)
                            if algorithm == "consensus":
                                new = self.At.mm(W) - mu * G
                            elif algorithm == "atc":
                                new = self.At.mm(W - mu * G)
                            else:
                                new = (W - mu * G).mean(0, keepdim=True).expand(K, -1)
                            for k, p in enumerate(ps):
                                p.copy_(new[k].view_as(p))
                per_seed.append(curve[-1])
            finals.append(sum(per_seed) / R)
        self.detail = finals
        return finals[0]

    def batched_run(self):
        c, K, R, mu = self.c, self.c["K"], self.c["R"], self.c["mu"]
        finals = []
        with torch.no_grad():
            reference = F.cross_entropy(self.start(self.x), self.y).item()
        for algorithm in self.ALGORITHMS:
            params = [p.detach().unsqueeze(0).repeat((R * K,) + (1,) * p.dim()) for p in self.start.parameters()]
            gens = [generator(1000 + r) for r in range(R)]
            curve = []
            for n in range(c["steps"] + 1):
                if n % c["every"] == 0 or n == c["steps"]:
                    with torch.no_grad():
                        wc = [p.view(R, K, *p.shape[1:]).mean(1) for p in params]
                        xs = self.x.unsqueeze(0).expand(R, -1, -1)
                        logits = dense(torch.relu(dense(xs, wc[0], wc[1])), wc[2], wc[3])
                        losses = [F.cross_entropy(logits[r], self.y).item() - reference for r in range(R)]
                        curve.append(sum(losses) / R)
                if n == c["steps"]:
                    break
                idx = torch.cat([torch.randint(0, self.part, (K, c["B"]), generator=g)
                                 + torch.arange(K).unsqueeze(1) * self.part for g in gens])
                leaves = [p.requires_grad_() for p in params]
                logits = dense(torch.relu(dense(self.x[idx], leaves[0], leaves[1])), leaves[2], leaves[3])
                loss = F.cross_entropy(logits.reshape(-1, 10), self.y[idx].reshape(-1), reduction="sum") / c["B"]
                grads = torch.autograd.grad(loss, leaves)
                with torch.no_grad():
                    new = []
                    for p, g in zip(params, grads):
                        W, G = p.detach().reshape(R, K, -1), g.reshape(R, K, -1)
                        if algorithm == "consensus":
                            out = torch.matmul(self.At, W) - mu * G
                        elif algorithm == "atc":
                            out = torch.matmul(self.At, W - mu * G)
                        else:
                            out = (W - mu * G).mean(1, keepdim=True).expand(R, K, -1)
                        new.append(out.reshape(p.shape).contiguous())
                params = new
            finals.append(curve[-1])
        self.detail = finals
        return finals[0]


def prepare(cmd):
    gen = generator(cmd.get("seed", 0))
    impl = cmd["impl"]
    if impl in ("trace-batch", "trace-loader", "eigen-power"):
        return Curvature(cmd)
    if impl in ("escape-loop", "escape-batched"):
        return Escape(cmd, impl == "escape-batched", gen)
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
        an, bn = a.cpu().numpy(), b.cpu().numpy()
        cn = np.empty((n, n), dtype=np.float32)
        out["numpy"] = rate(lambda: np.dot(an, bn, out=cn), 2 * n ** 3, seconds)
    except ImportError:
        pass
    return out


def rate(f, flop, seconds):
    f()
    sync()
    count, start = 0, time.perf_counter()
    while True:
        f()
        sync()
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
                sync()
                reply = {"seconds": time.perf_counter() - start, "cpuSeconds": time.process_time() - cpu, "value": value}
                if getattr(s, "detail", None):
                    reply["detail"] = s.detail
                if getattr(s, "products", None):
                    reply["products"] = s.products
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
