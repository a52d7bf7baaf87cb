#!/usr/bin/env python3
"""The PyTorch peer of `landscape bench throughput` for a small convnet, float64 on the CPU.

    bench/convnet_torch.py DATA_DIR PARAMS.npy [--threads 1] [--directions 64] [--repeats 5] [--min-seconds 1]

The network of bench/convnet-jax.sh — Conv2d(1, 4, 5, stride 2), ReLU, MaxPool2d(2), Flatten,
Linear(144, 32), ReLU, Linear(32, 10), the mean softmax cross-entropy — with Landscape's parameters
(PARAMS.npy, docs/formats.md: each layer's weight then bias, PyTorch's own layouts) on the exported
data (DATA_DIR/X.npy, y.npy from `landscape data export`). Times, like `landscape bench throughput`:
the loss and gradient (`loss.backward()`), one Hessian-vector product (double backward), and B
products at once (`torch.func.vmap` of `torch.func.jvp` over `torch.func.grad`, forward-over-reverse,
the batched form). Median of ≥ --repeats calls lasting ≥ --min-seconds. Prints one JSON line; also
the largest difference of its gradient and HVPs from a double-backward reference (a self-check).
"""
import argparse
import json
import statistics
import time

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, grad, jvp, vmap


def timed(call, repeats, min_seconds):
    call()
    times, start = [], time.perf_counter()
    while len(times) < repeats or time.perf_counter() - start < min_seconds:
        t = time.perf_counter()
        call()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("data")
    parser.add_argument("params")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--directions", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--min-seconds", type=float, default=1.0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_default_dtype(torch.float64)
    x = torch.from_numpy(np.load(f"{args.data}/X.npy")).reshape(-1, 1, 28, 28)
    y = torch.from_numpy(np.load(f"{args.data}/y.npy").astype(np.int64))
    model = nn.Sequential(nn.Conv2d(1, 4, 5, stride=2), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(144, 32), nn.ReLU(), nn.Linear(32, 10))
    theta = torch.from_numpy(np.load(args.params))
    names = [n for n, _ in model.named_parameters()]
    shapes = [p.shape for _, p in model.named_parameters()]
    sizes = [p.numel() for _, p in model.named_parameters()]
    if sum(sizes) != theta.numel():
        raise SystemExit(f"convnet_torch.py: {args.params} holds {theta.numel()} values, the network has M = {sum(sizes)}")

    def unflatten(t):
        return {n: c.reshape(s) for n, c, s in zip(names, torch.split(t, sizes), shapes)}

    def loss(t):
        return nn.functional.cross_entropy(functional_call(model, unflatten(t), (x,)), y)

    def gradient():
        t = theta.clone().requires_grad_(True)
        value = loss(t)
        value.backward()
        return value.detach(), t.grad

    def hvp_double_backward(v):
        t = theta.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(loss(t), t, create_graph=True)
        (hv,) = torch.autograd.grad(g, t, v)
        return hv

    g_fn = grad(loss)

    def hvp_batched(vs):
        return vmap(lambda v: jvp(g_fn, (theta,), (v,))[1])(vs)

    gen = torch.Generator().manual_seed(0)
    v1 = torch.randn(theta.numel(), generator=gen)
    vs = torch.randn(args.directions, theta.numel(), generator=gen)
    with torch.no_grad():
        t_loss = timed(lambda: loss(theta), args.repeats, args.min_seconds)
    t_grad = timed(gradient, args.repeats, args.min_seconds)
    t_hvp1 = timed(lambda: hvp_double_backward(v1), args.repeats, args.min_seconds)
    t_hvpb = timed(lambda: hvp_batched(vs), args.repeats, args.min_seconds)
    value, g = gradient()
    batched = hvp_batched(vs[:4])
    reference = torch.stack([hvp_double_backward(v) for v in vs[:4]])
    n = x.shape[0]
    print(json.dumps({
        "torch": torch.__version__, "threads": args.threads, "M": theta.numel(), "N": n, "directions": args.directions,
        "loss": float(value), "loss_s": t_loss, "gradient_s": t_grad, "hvp_s": t_hvp1, "hvp_batch_s": t_hvpb,
        "gradient_samples_per_s": n / t_grad, "hvp_batch_samples_directions_per_s": n * args.directions / t_hvpb,
        "hvp_batched_vs_double_backward": float((batched - reference).abs().max() / reference.abs().max()),
    }))


if __name__ == "__main__":
    main()
