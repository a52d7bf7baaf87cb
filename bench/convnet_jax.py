#!/usr/bin/env python3
"""The exact Hessian of a small convnet by JAX, as a user without Landscape would compute it.

    bench/convnet_jax.py DATA_DIR PARAMS.npy LAYERS [--classes 10] [--shape 1,28,28]
                         [--activation relu] [--chunk B] [--eigenvalues landscape/eigenvalues.npy]
                         [--loss-landscape L]

DATA_DIR holds X.npy (N × C·H·W, NCHW rows) and y.npy from `landscape data export`; PARAMS.npy a
parameter vector in Landscape's convnet layout (docs/formats.md, "Convolutional networks": per
affine layer in chain order its weight — a convolution's W[o, c, kh, kw], a dense layer's
W[units, C·H·W] on the NCHW-flattened input — then its bias); LAYERS the chain of
`model.convolution` comma-separated ("conv 4 5x5 stride 2,maxpool 2,dense 32"). The network is
Landscape's (Sources/Networks/ConvolutionalNetwork.swift): cross-correlation with zero padding,
the activation after every convolution and hidden dense layer, max / average pooling without
padding, a dense layer to the k outputs, and the mean softmax cross-entropy over the N samples.

The Hessian is `jax.jacfwd(jax.grad(loss))` — what `jax.hessian` is — jitted, float64. With
`--chunk B` (default 0: `jax.hessian` in one piece) its M columns are computed B at a time with
`jax.lax.map(..., batch_size=B)` of the same forward-over-reverse product inside one jitted call:
the one-piece `jax.hessian` carries all M tangents of every intermediate of all N samples at once,
which does not fit in memory for a convnet of this size. Prints one JSON line: seconds of the
XLA compilation (`jit(...).lower(θ).compile()`, apart) and of one call of the compiled Hessian (the
fair figure: compilation is paid once per shape), of `numpy.linalg.eigvalsh`, and
with --eigenvalues the largest difference from Landscape's spectrum relative to max |λ|. With
`--columns K` only the first K columns are computed and timed (JAX's rate per column, e.g. to
choose the chunk).
XLA and OpenBLAS use every core.
"""
import argparse
import json
import re
import time

import numpy as np
import jax
import jax.numpy as jnp
from jax import lax

jax.config.update("jax_enable_x64", True)

ACTIVATIONS = {"relu": jax.nn.relu, "tanh": jnp.tanh, "sigmoid": jax.nn.sigmoid,
               "linear": lambda z: z, "softplus": jax.nn.softplus}


def parse(entry):
    """One model.convolution entry → (kind, settings)."""
    words = entry.split()
    head, rest = words[0], words[1:]
    if head == "conv":
        channels = int(rest[0])
        m = re.fullmatch(r"(\d+)(?:x(\d+))?", rest[1])
        kh, kw = int(m.group(1)), int(m.group(2) or m.group(1))
        opts = {rest[i]: int(rest[i + 1]) for i in range(2, len(rest), 2)}
        return ("conv", dict(channels=channels, kh=kh, kw=kw, stride=opts.get("stride", 1), pad=opts.get("pad", 0)))
    if head in ("maxpool", "avgpool"):
        size = int(rest[0])
        opts = {rest[i]: int(rest[i + 1]) for i in range(1, len(rest), 2)}
        return (head, dict(size=size, stride=opts.get("stride", size)))
    if head == "dense":
        return ("dense", dict(units=int(rest[0])))
    if head == "flatten":
        return None
    raise SystemExit(f"convnet_jax.py: '{entry}' is not a layer")


def build(layers, shape, classes):
    """The chain with its output layer, each affine layer's (offset, weight shape, bias length)."""
    chain = [p for p in (parse(e) for e in layers) if p is not None] + [("output", dict(units=classes))]
    c, h, w = shape
    offset, plan = 0, []
    for kind, s in chain:
        if kind == "conv":
            wshape = (s["channels"], c, s["kh"], s["kw"])
            plan.append((kind, s, offset, wshape))
            offset += int(np.prod(wshape)) + s["channels"]
            h = (h + 2 * s["pad"] - s["kh"]) // s["stride"] + 1
            w = (w + 2 * s["pad"] - s["kw"]) // s["stride"] + 1
            c = s["channels"]
        elif kind in ("maxpool", "avgpool"):
            plan.append((kind, s, None, None))
            h = (h - s["size"]) // s["stride"] + 1
            w = (w - s["size"]) // s["stride"] + 1
        else:
            wshape = (s["units"], c * h * w)
            plan.append((kind, s, offset, wshape))
            offset += int(np.prod(wshape)) + s["units"]
            c, h, w = s["units"], 1, 1
    return plan, offset


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("data")
    parser.add_argument("params")
    parser.add_argument("layers")
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--shape", default="1,28,28")
    parser.add_argument("--activation", default="relu")
    parser.add_argument("--chunk", type=int, default=0)
    parser.add_argument("--columns", type=int, default=0,
                        help="time only the first K columns of H (with --chunk; no spectrum): JAX's rate per column")
    parser.add_argument("--eigenvalues")
    parser.add_argument("--loss-landscape", type=float)
    args = parser.parse_args()
    shape = tuple(int(v) for v in args.shape.split(","))
    sigma = ACTIVATIONS[args.activation]
    plan, count = build([e.strip() for e in args.layers.split(",")], shape, args.classes)
    x = jnp.asarray(np.load(f"{args.data}/X.npy"), dtype=jnp.float64).reshape((-1,) + shape)
    labels = np.load(f"{args.data}/y.npy").astype(np.int64)
    y = jax.nn.one_hot(labels, args.classes, dtype=jnp.float64)
    theta = jnp.asarray(np.load(args.params), dtype=jnp.float64)
    if theta.shape[0] != count:
        raise SystemExit(f"convnet_jax.py: {args.params} holds {theta.shape[0]} values, the network has M = {count}")

    def loss(t):
        a = x
        for kind, s, off, wshape in plan:
            if kind == "conv":
                n = int(np.prod(wshape))
                W = t[off:off + n].reshape(wshape)
                b = t[off + n:off + n + wshape[0]]
                a = lax.conv_general_dilated(a, W, (s["stride"], s["stride"]), [(s["pad"], s["pad"])] * 2,
                                             dimension_numbers=("NCHW", "OIHW", "NCHW"),
                                             precision=lax.Precision.HIGHEST)
                a = sigma(a + b[None, :, None, None])
            elif kind == "maxpool":
                a = lax.reduce_window(a, -jnp.inf, lax.max, (1, 1, s["size"], s["size"]), (1, 1, s["stride"], s["stride"]), "VALID")
            elif kind == "avgpool":
                a = lax.reduce_window(a, 0.0, lax.add, (1, 1, s["size"], s["size"]), (1, 1, s["stride"], s["stride"]), "VALID") / s["size"] ** 2
            else:
                n = int(np.prod(wshape))
                W = t[off:off + n].reshape(wshape)
                b = t[off + n:off + n + wshape[0]]
                a = a.reshape(a.shape[0], -1) @ W.T + b
                if kind == "dense":
                    a = sigma(a)
        return -jnp.mean(jnp.sum(y * jax.nn.log_softmax(a), axis=1))

    if args.chunk > 0:
        gradient = jax.grad(loss)

        def columns(t):
            def column(e):
                return jax.jvp(gradient, (t,), (e,))[1]
            basis = jnp.eye(t.shape[0], dtype=t.dtype)
            return lax.map(column, basis[:args.columns] if args.columns else basis, batch_size=args.chunk)
        hessian = jax.jit(columns)
    else:
        hessian = jax.jit(jax.hessian(loss))
    start = time.perf_counter()
    compiled = hessian.lower(theta).compile()
    compile_s = time.perf_counter() - start
    start, cpu = time.perf_counter(), time.process_time()
    h = compiled(theta).block_until_ready()
    run, cpu = time.perf_counter() - start, time.process_time() - cpu
    h = np.asarray(h)
    if args.columns:
        print(json.dumps({"M": count, "N": int(x.shape[0]), "chunk": args.chunk, "columns": args.columns,
                          "jax_compile_s": round(compile_s, 3), "jax_columns_s": round(run, 3), "jax_columns_cpu_s": round(cpu, 3),
                          "extrapolated_hessian_s": round(run * count / args.columns, 1),
                          "extrapolated_hessian_cpu_s": round(cpu * count / args.columns, 1)}))
        return
    start = time.perf_counter()
    values = np.linalg.eigvalsh(h)
    eig = time.perf_counter() - start
    value = float(jax.jit(loss)(theta))
    result = {"M": count, "N": int(x.shape[0]), "loss": value, "chunk": args.chunk,
              "symmetry_defect": float(np.max(np.abs(h - h.T)) / np.max(np.abs(h))),
              "jax_compile_s": round(compile_s, 3), "jax_hessian_s": round(run, 3), "jax_hessian_cpu_s": round(cpu, 3), "eigvalsh_s": round(eig, 3)}
    if args.loss_landscape is not None:
        result["loss_relative_difference_vs_landscape"] = abs(value - args.loss_landscape) / abs(args.loss_landscape)
    if args.eigenvalues:
        ours = np.load(args.eigenvalues)
        result["max_relative_difference_vs_landscape"] = float(np.max(np.abs(np.sort(values) - ours)) / np.max(np.abs(ours)))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
