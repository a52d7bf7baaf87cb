#!/usr/bin/env python3
"""The same Hessian by JAX, as a user without Landscape would compute it (issue 4's comparison).

    bench/jax_hessian.py DATA_DIR PARAMS.npy LAYERS [--eigenvalues landscape/eigenvalues.npy]

DATA_DIR holds X.npy and y.npy from `landscape data export`; PARAMS.npy is a parameter vector in
Landscape's layout (docs/formats.md: per layer W row-major out × in, then b); LAYERS the widths,
e.g. 100,30,30,50. The model is the one Landscape trains: ReLU hidden layers, a linear output and
the mean softmax cross-entropy. Prints one JSON line: the seconds of `jax.hessian` (compiled, then
warm — the warm figure is the fair one), of `numpy.linalg.eigvalsh`, and, with --eigenvalues,
the largest difference from Landscape's spectrum relative to max |λ| — an independent check of
the exact Hessian by another implementation. float64 throughout; XLA uses every core.
"""
import argparse
import json
import time

import numpy as np
import jax
import jax.numpy as jnp

jax.config.update("jax_enable_x64", True)


def unflatten(theta, widths):
    layers, offset = [], 0
    for n_in, n_out in zip(widths[:-1], widths[1:]):
        w = theta[offset:offset + n_out * n_in].reshape(n_out, n_in)
        offset += n_out * n_in
        b = theta[offset:offset + n_out]
        offset += n_out
        layers.append((w, b))
    return layers


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("data")
    parser.add_argument("params")
    parser.add_argument("layers")
    parser.add_argument("--eigenvalues")
    args = parser.parse_args()
    widths = [int(w) for w in args.layers.split(",")]
    x = jnp.asarray(np.load(f"{args.data}/X.npy"), dtype=jnp.float64)
    labels = np.load(f"{args.data}/y.npy").astype(np.int64)
    y = jax.nn.one_hot(labels, widths[-1], dtype=jnp.float64)
    theta = jnp.asarray(np.load(args.params), dtype=jnp.float64)

    def loss(t):
        a = x
        layers = unflatten(t, widths)
        for k, (w, b) in enumerate(layers):
            a = a @ w.T + b
            if k < len(layers) - 1:
                a = jax.nn.relu(a)
        return -jnp.mean(jnp.sum(y * jax.nn.log_softmax(a), axis=1))

    hessian = jax.jit(jax.hessian(loss))
    start = time.perf_counter()
    h = hessian(theta).block_until_ready()
    first = time.perf_counter() - start
    start = time.perf_counter()
    h = hessian(theta).block_until_ready()
    warm = time.perf_counter() - start
    h = np.asarray(h)
    start = time.perf_counter()
    values = np.linalg.eigvalsh(h)
    eig = time.perf_counter() - start
    result = {"M": int(theta.shape[0]), "N": int(x.shape[0]), "loss": float(loss(theta)),
              "jax_hessian_first_s": round(first, 3), "jax_hessian_warm_s": round(warm, 3), "eigvalsh_s": round(eig, 3)}
    if args.eigenvalues:
        ours = np.load(args.eigenvalues)
        result["max_relative_difference_vs_landscape"] = float(np.max(np.abs(np.sort(values) - ours)) / np.max(np.abs(ours)))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
