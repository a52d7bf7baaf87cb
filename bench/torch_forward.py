#!/usr/bin/env python3
"""The PyTorch peer of `landscape interpolate`: one forward pass of the whole dataset per grid point.

    bench/torch_forward.py WIDTHS SAMPLES [--threads 2] [--repeats 20] [--min-seconds 2] [--seed 0]

WIDTHS are the layer widths, input to output, e.g. 100,30,30,10 or 784,100,100,10. Li et al.'s
loss-landscape code (Visualizing the Loss Landscape of Neural Nets, 2018) evaluates a grid point by
setting the weights and running the whole dataset forward once; this times that forward pass for
the same MLP in float64 on the CPU: torch.nn.Linear layers with ReLU between them, a linear output,
the mean softmax cross-entropy and the accuracy (the two numbers a plane point reports), on SAMPLES
random N(0, 1) inputs with random labels, under torch.no_grad(), after a warm-up. The time is the
median of at least --repeats calls lasting at least --min-seconds in all. Prints one JSON line:
widths, samples, seconds_per_forward, forwards_per_second, gflop_per_forward (the dgemm FLOPs
2·N·Σ in·out), gflops, threads, torch.
"""
import argparse
import json
import statistics
import time

import torch
from torch import nn


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("widths", help="layer widths, input to output, e.g. 100,30,30,10")
    parser.add_argument("samples", type=int)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--min-seconds", type=float, default=2.0)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    widths = [int(w) for w in args.widths.split(",")]
    layers = []
    for i, (fan_in, fan_out) in enumerate(zip(widths, widths[1:])):
        layers.append(nn.Linear(fan_in, fan_out, dtype=torch.float64))
        if i < len(widths) - 2:
            layers.append(nn.ReLU())
    model = nn.Sequential(*layers).eval()
    x = torch.randn(args.samples, widths[0], dtype=torch.float64)
    y = torch.randint(0, widths[-1], (args.samples,))
    loss_fn = nn.CrossEntropyLoss()

    def point():
        logits = model(x)
        return loss_fn(logits, y).item(), (logits.argmax(dim=1) == y).double().mean().item()

    with torch.no_grad():
        for _ in range(args.warmup):
            point()
        times = []
        start = time.perf_counter()
        while len(times) < args.repeats or time.perf_counter() - start < args.min_seconds:
            t0 = time.perf_counter()
            point()
            times.append(time.perf_counter() - t0)
    seconds = statistics.median(times)
    gflop = 2.0 * args.samples * sum(a * b for a, b in zip(widths, widths[1:])) / 1e9
    print(json.dumps({
        "widths": widths, "samples": args.samples, "seconds_per_forward": seconds,
        "forwards_per_second": 1.0 / seconds, "calls": len(times), "gflop_per_forward": gflop,
        "gflops": gflop / seconds, "threads": torch.get_num_threads(), "torch": torch.__version__,
    }))


if __name__ == "__main__":
    main()
