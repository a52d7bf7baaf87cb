#!/usr/bin/env python3
"""PyHessian on Landscape's model, data and parameters: the matrix-free peer, measured as users run it.

    bench/pyhessian_peer.py DATA_DIR PARAMS.npy LAYERS --activation relu|tanh
        [--matvecs 10,20,40,80] [--eigenvalues eigenvalues.npy] [--threads 2]
        [--top-k 10] [--density-steps 30] [--density-probes 1] [--seed 0]

DATA_DIR holds X.npy and y.npy from `landscape data export`; PARAMS.npy is a parameter vector in
Landscape's layout (docs/formats.md: per layer W row-major out × in, then b); LAYERS the widths,
e.g. 100,30,30,10. The model is the one Landscape trains: hidden layers with the activation, a
linear output and the mean softmax cross-entropy, on the full batch, float64, PyTorch on the CPU.

PyHessian (PyPI `pyhessian` 0.1) offers power iteration for the top eigenvalues, Hutchinson for the
trace and stochastic Lanczos quadrature (SLQ) for the spectral density. Landscape's matrix-free
estimators answer the same questions, so this prints one JSON line with, for each, PyHessian's
seconds, its answer and the number of Hessian-vector products (HVPs) it spent, at its default
settings (what a user gets) and, for the trace, at fixed sample counts (--matvecs) to compare at
equal cost. With --eigenvalues (Landscape's exact spectrum, ascending) it adds the errors: relative
error of each top eigenvalue and of the trace, and the 1-Wasserstein distance of the SLQ measure
from the exact spectrum relative to λmax − λmin, with both measures' mass below zero. The loss
and gradient norm at PARAMS check that this is Landscape's model (compare summary.json `loss`).

PyHessian is left as it is (e.g. its ‖v‖ + 1e-6 normalisation) with two exceptions needed to run
and to count: `torch.eig`, removed in PyTorch 2, is supplied from `torch.linalg.eigh`, and the
HVP function it calls is wrapped with a counter.
"""
import argparse
import importlib
import importlib.metadata
import json
import math
import statistics
import time

import numpy as np
import torch
from torch import nn

# `pyhessian.hessian` is shadowed by the class of that name; the module is the one whose global
# `hessian_vector_product` the estimators call, so that is where the counter goes.
pyhessian_module = importlib.import_module("pyhessian.hessian")


def eig_from_eigh(a, eigenvectors=False):
    """torch.eig's old return shape: eigenvalues as (n, 2) real/imaginary columns, vectors as columns."""
    values, vectors = torch.linalg.eigh(a)
    return torch.stack([values, torch.zeros_like(values)], dim=1), vectors


torch.eig = eig_from_eigh  # PyHessian's density() calls it on its symmetric tridiagonal T


class HVPCounter:
    """Wraps PyHessian's hessian_vector_product; `count` is the number of calls since reset."""

    def __init__(self, function):
        self.function = function
        self.count = 0

    def __call__(self, *args, **kwargs):
        self.count += 1
        return self.function(*args, **kwargs)


def unflatten(theta, widths):
    layers, offset = [], 0
    for n_in, n_out in zip(widths[:-1], widths[1:]):
        w = theta[offset:offset + n_out * n_in].reshape(n_out, n_in)
        offset += n_out * n_in
        b = theta[offset:offset + n_out]
        offset += n_out
        layers.append((w, b))
    assert offset == theta.shape[0], f"PARAMS has {theta.shape[0]} entries, LAYERS need {offset}"
    return layers


def build_model(theta, widths, activation):
    # nn.Linear stores weight as out × in, Landscape's own orientation, so W copies straight in.
    modules = []
    layers = unflatten(theta, widths)
    for k, (w, b) in enumerate(layers):
        linear = nn.Linear(w.shape[1], w.shape[0])
        with torch.no_grad():
            linear.weight.copy_(w)
            linear.bias.copy_(b)
        modules.append(linear)
        if k < len(layers) - 1:
            modules.append(nn.ReLU() if activation == "relu" else nn.Tanh())
    return nn.Sequential(*modules)


def timed(counter, call):
    counter.count = 0
    start = time.perf_counter()
    value = call()
    return value, time.perf_counter() - start, counter.count


def wasserstein1(nodes_a, weights_a, nodes_b, weights_b):
    """W1 between two discrete measures on the line: the integral of |F_a − F_b|."""
    points = np.concatenate([nodes_a, nodes_b])
    order = np.argsort(points, kind="stable")
    signed = np.concatenate([weights_a, -weights_b])[order]
    cdf_gap = np.cumsum(signed)[:-1]
    return float(np.sum(np.abs(cdf_gap) * np.diff(points[order])))


def relative_error(estimate, exact):
    return abs(estimate - exact) / abs(exact)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data")
    parser.add_argument("params")
    parser.add_argument("layers")
    parser.add_argument("--activation", choices=["relu", "tanh"], required=True)
    parser.add_argument("--matvecs", default="10,20,40,80", help="fixed Hutchinson sample counts")
    parser.add_argument("--eigenvalues", help="exact spectrum, ascending, length M")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--top-k", type=int, default=10)
    parser.add_argument("--density-steps", type=int, default=30)
    parser.add_argument("--density-probes", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0, help="torch seed for PyHessian's random vectors")
    args = parser.parse_args()

    torch.set_default_dtype(torch.float64)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    widths = [int(w) for w in args.layers.split(",")]
    matvecs = [int(m) for m in args.matvecs.split(",")]
    x = torch.from_numpy(np.load(f"{args.data}/X.npy").astype(np.float64))
    y = torch.from_numpy(np.load(f"{args.data}/y.npy").astype(np.int64))
    theta = torch.from_numpy(np.load(args.params).astype(np.float64))
    model = build_model(theta, widths, args.activation)
    criterion = nn.CrossEntropyLoss()

    # The model check, by plain autograd so that no .grad is left behind for PyHessian to add to.
    loss = criterion(model(x), y)
    gradient = torch.autograd.grad(loss, list(model.parameters()))
    gradient_norm = math.sqrt(sum(float(torch.sum(g * g)) for g in gradient))

    counter = HVPCounter(pyhessian_module.hessian_vector_product)
    pyhessian_module.hessian_vector_product = counter
    computer = pyhessian_module.hessian(model, criterion, data=(x, y), cuda=False)

    # One HVP as PyHessian computes it on a full batch: autograd.grad through its stored gradient.
    v = [torch.randn_like(p) for p in computer.params]
    samples = []
    for _ in range(1 + 9):
        start = time.perf_counter()
        counter(computer.gradsH, computer.params, v)
        samples.append(time.perf_counter() - start)
    seconds_per_hvp = statistics.median(samples[1:])  # the first is the warm-up

    top = []
    for top_n in sorted({1, args.top_k}):
        (values, _), seconds, hvps = timed(counter, lambda: computer.eigenvalues(maxIter=100, tol=1e-3, top_n=top_n))
        top.append({"top_n": top_n, "max_iter": 100, "tol": 1e-3, "seconds": seconds, "hvps": hvps,
                    "eigenvalues": values})

    # PyHessian stops when |mean − previous mean| / (previous mean + 1e-6) < tol. A tolerance of
    # −inf never fires (0 would, whenever the running mean goes negative), so it takes maxIter samples.
    trace = []
    for max_iter, tol in [(100, 1e-3)] + [(m, -math.inf) for m in matvecs]:
        vhv, seconds, hvps = timed(counter, lambda: computer.trace(maxIter=max_iter, tol=tol))
        trace.append({"max_iter": max_iter, "tol": tol if tol > 0 else None, "seconds": seconds, "hvps": hvps,
                      "estimate": float(np.mean(vhv))})

    (nodes, weights), seconds, hvps = timed(
        counter, lambda: computer.density(iter=args.density_steps, n_v=args.density_probes))
    nodes = [[float(t) for t in probe] for probe in nodes]
    weights = [[float(w) for w in probe] for probe in weights]
    density = {"iter": args.density_steps, "n_v": args.density_probes, "seconds": seconds, "hvps": hvps,
               "nodes": nodes, "weights": weights}

    result = {"parameters": int(theta.shape[0]), "samples": int(x.shape[0]), "layers": widths,
              "activation": args.activation, "torch": torch.__version__,
              "pyhessian": importlib.metadata.version("pyhessian"), "threads": args.threads, "seed": args.seed,
              "loss": loss.item(), "gradient_norm": gradient_norm, "seconds_per_hvp": seconds_per_hvp,
              "top": top, "trace": trace, "density": density}

    if args.eigenvalues:
        exact = np.load(args.eigenvalues).astype(np.float64)
        assert exact.shape == (theta.shape[0],), f"--eigenvalues has {exact.shape}, expected ({theta.shape[0]},)"
        exact = np.sort(exact)
        exact_trace = float(np.sum(exact))
        result["exact"] = {"lambda_max": float(exact[-1]), "lambda_min": float(exact[0]), "trace": exact_trace}
        # Power iteration finds the largest |λ|, in deflation order; compare, as a user would,
        # its values sorted descending with the largest exact ones.
        for entry in top:
            found = sorted(entry["eigenvalues"], reverse=True)
            entry["relative_errors"] = [relative_error(t, l) for t, l in zip(found, exact[::-1])]
        for entry in trace:
            entry["relative_error"] = relative_error(entry["estimate"], exact_trace)
        slq_nodes, slq_weights = np.concatenate(nodes), np.concatenate(weights)
        slq_weights = slq_weights / slq_weights.sum()
        uniform = np.full(exact.shape, 1.0 / exact.shape[0])
        density["wasserstein1_relative"] = (wasserstein1(slq_nodes, slq_weights, exact, uniform)
                                            / (exact[-1] - exact[0]))
        density["mass_below_zero"] = float(slq_weights[slq_nodes < 0].sum())
        density["exact_mass_below_zero"] = float(np.mean(exact < 0))

    print(json.dumps(result))


if __name__ == "__main__":
    main()
