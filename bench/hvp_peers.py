#!/usr/bin/env python3
"""Hessian-vector products (HVPs) by Landscape's peers on Landscape's model, data and parameters.

    bench/hvp_peers.py PEER DATA_DIR PARAMS.npy LAYERS --check V.npy --reference products.npy
        [--directions 1,8,64] [--threads 2] [--repeats 3] [--min-seconds 1] [--call-budget 120]
        [--variants a,b] [--activation relu|tanh]

PEER is torch, pyhessian or jax. DATA_DIR holds X.npy and y.npy from `landscape data export`;
PARAMS.npy a parameter vector in Landscape's layout (docs/formats.md: per layer W row-major
out × in, then b); LAYERS the widths, e.g. 100,30,30,10. The model is the one Landscape trains:
hidden layers with the activation, a linear output, the mean softmax cross-entropy over the full
batch, float64 on the CPU. The product is H·v of that mean loss, Landscape's `evaluate --products`.

Per PEER and number of directions B it times one call computing B products H·v₁ … H·v_B:

* torch (torch.set_num_threads(--threads)), every variant, the fastest counting:
  - `double-backward`: per call the forward pass, ∇L with create_graph, then autograd.grad(∇L, θ, v)
    (B > 1: is_grads_batched=True, i.e. vmap over the second backward);
  - `double-backward, graph kept`: ∇L with its graph built once (untimed, as PyHessian does and as
    Landscape keeps its linearisation), per call only autograd.grad(∇L, θ, v, retain_graph=True);
  - `func jvp(grad)`: torch.func.jvp(torch.func.grad(L), (θ,), (v,)), vmapped for B > 1;
  - `func vmap(vjp(grad))`: per call torch.func.vjp(torch.func.grad(L), θ), then its vjp function
    applied to v (vmapped over the B directions for B > 1).
* pyhessian (B = 1 only: its products take one direction): `hessian(model, criterion, data=(X, y))`
  — full batch, ∇L kept with its graph — and `pyhessian.utils.hessian_vector_product(gradsH,
  params, v)`, the call its eigenvalues/trace/density make; and `dataloader_hv_product(v)` on a
  one-batch DataLoader of all N samples (forward and backward redone per product, plus vᵀHv).
* jax (jax_enable_x64; XLA's CPU thread pool, every core): `jax.jit(lambda θ, v: jax.jvp(jax.grad(L),
  (θ,), (v,))[1])` for B = 1 and `jax.jit(jax.vmap(…, in_axes=(None, 0)))` for B > 1, compiled ahead
  of time (`.lower(…).compile()`, its seconds reported apart), then timed warm. θ is an argument, not a closed
  over constant, so that XLA does not fold a 14 MB constant into the program.

Each (variant, B): one untimed warm-up call (none where the estimated call time exceeds
--warmup-budget: the large shape's B > 1), then calls until at least --repeats calls and
--min-seconds (but no more once --max-seconds are spent), the median counting and the fastest
call reported. A B whose estimated call time (B × the variant's B = 1 time per
direction) exceeds --call-budget seconds is skipped and reported as skipped.

Check: the first direction of every batch is the row of V.npy (shape (M,) or (1, M)); the product
computed for it is compared with Landscape's products.npy row (`landscape evaluate --params PARAMS
--products V.npy`): max |Hv − Hv_Landscape| / max |Hv_Landscape|. The loss at PARAMS is printed too.
Prints one JSON line.
"""
import argparse
import importlib
import importlib.metadata
import json
import os
import statistics
import sys
import time

import numpy as np


def unflatten_shapes(widths):
    shapes, offset = [], 0
    for n_in, n_out in zip(widths[:-1], widths[1:]):
        shapes.append((offset, n_out, n_in))
        offset += n_out * n_in + n_out
    return shapes, offset


def timed_calls(call, repeats, min_seconds, sync=lambda r: r, warmup=True, max_seconds=float("inf")):
    if warmup:
        sync(call())
    samples, total = [], 0.0
    result = None
    while (len(samples) < repeats or total < min_seconds) and not (samples and total >= max_seconds):
        start = time.perf_counter()
        result = sync(call())
        samples.append(time.perf_counter() - start)
        total += samples[-1]
    return statistics.median(samples), len(samples), result, min(samples)


def relative_difference(product, reference):
    product = np.asarray(product, dtype=np.float64).reshape(-1)
    return float(np.max(np.abs(product - reference)) / np.max(np.abs(reference)))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("peer", choices=["torch", "pyhessian", "jax"])
    parser.add_argument("data")
    parser.add_argument("params")
    parser.add_argument("layers")
    parser.add_argument("--check", required=True, help="V.npy: the direction Landscape multiplied")
    parser.add_argument("--reference", required=True, help="Landscape's products.npy for --check")
    parser.add_argument("--activation", choices=["relu", "tanh"], default="relu")
    parser.add_argument("--directions", default="1,8,64")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--min-seconds", type=float, default=1.0)
    parser.add_argument("--call-budget", type=float, default=120.0)
    parser.add_argument("--max-seconds", type=float, default=float("inf"),
                        help="stop repeating a (variant, B) once its timed calls took this long (at least one call)")
    parser.add_argument("--warmup-budget", type=float, default=float("inf"),
                        help="skip the warm-up call of a B whose estimated call time exceeds this many seconds")
    parser.add_argument("--variants", default="", help="torch variants to run (comma-separated names; default all)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    widths = [int(w) for w in args.layers.split(",")]
    shapes, m = unflatten_shapes(widths)
    x_np = np.load(f"{args.data}/X.npy").astype(np.float64)
    y_np = np.load(f"{args.data}/y.npy").astype(np.int64)
    theta_np = np.load(args.params).astype(np.float64)
    assert theta_np.shape == (m,), f"PARAMS has {theta_np.shape}, LAYERS need ({m},)"
    v0 = np.load(args.check).astype(np.float64).reshape(-1, m)[0]
    reference = np.load(args.reference).astype(np.float64).reshape(-1, m)[0]
    batches = [int(b) for b in args.directions.split(",")]
    rng = np.random.default_rng(args.seed)
    directions = {b: np.vstack([v0[None, :], rng.standard_normal((b - 1, m))]) for b in batches}

    rows, skipped, info = [], [], {}

    def record(variant, b, seconds, calls, product_first, fastest):
        rows.append({"peer": args.peer, "variant": variant, "B": b, "seconds_per_call": seconds, "calls": calls,
                     "fastest_call": fastest,
                     "seconds_per_direction": seconds / b,
                     "max_relative_difference": relative_difference(product_first, reference)})
        print(f"{args.peer} {variant} B = {b}: {seconds:.4g} s per call ({calls} calls), "
              f"{seconds / b:.4g} s per direction (fastest call {fastest:.4g} s), vs Landscape {rows[-1]['max_relative_difference']:.2g}", file=sys.stderr)

    def run_batches(variant, make_call, first_row, sync=lambda r: r):
        per_direction = None
        for b in batches:
            if per_direction is not None and per_direction * b > args.call_budget:
                skipped.append({"peer": args.peer, "variant": variant, "B": b,
                                "estimated_seconds_per_call": per_direction * b})
                print(f"{args.peer} {variant} B = {b}: skipped (≈ {per_direction * b:.0f} s per call > --call-budget)", file=sys.stderr)
                continue
            call = make_call(b)
            warm = per_direction is None or per_direction * b <= args.warmup_budget
            seconds, calls, result, fastest = timed_calls(call, args.repeats, args.min_seconds, sync, warm, args.max_seconds)
            record(variant, b, seconds, calls, first_row(result, b), fastest)
            rows[-1]["warmed_up"] = warm
            per_direction = seconds / b if per_direction is None else min(per_direction, seconds / b)

    if args.peer in ("torch", "pyhessian"):
        import torch
        from torch import nn
        import torch.nn.functional as F
        torch.set_num_threads(args.threads)
        torch.set_default_dtype(torch.float64)
        info.update({"torch": torch.__version__, "threads": torch.get_num_threads(),
                     "interop_threads": torch.get_num_interop_threads()})
        x = torch.from_numpy(x_np)
        y = torch.from_numpy(y_np)
        theta = torch.from_numpy(theta_np)

        def loss_fn(t):
            a = x
            for k, (offset, n_out, n_in) in enumerate(shapes):
                w = t[offset:offset + n_out * n_in].view(n_out, n_in)
                bias = t[offset + n_out * n_in:offset + n_out * n_in + n_out]
                a = torch.addmm(bias, a, w.t())
                if k < len(shapes) - 1:
                    a = torch.relu(a) if args.activation == "relu" else torch.tanh(a)
            return F.cross_entropy(a, y)

        info["loss"] = float(loss_fn(theta))
        vs = {b: torch.from_numpy(d) for b, d in directions.items()}

    if args.peer == "torch":
        from torch.func import grad, jvp, vjp, vmap
        wanted = set(filter(None, args.variants.split(",")))

        def want(name):
            return not wanted or name in wanted

        if want("double-backward"):
            def make(b):
                def call():
                    t = theta.detach().requires_grad_(True)
                    g, = torch.autograd.grad(loss_fn(t), t, create_graph=True)
                    v = vs[b][0] if b == 1 else vs[b]
                    return torch.autograd.grad(g, t, v, is_grads_batched=b > 1)[0]
                return call
            run_batches("double-backward", make, lambda r, b: (r if b == 1 else r[0]).numpy())
        if want("double-backward-kept"):
            t_kept = theta.detach().requires_grad_(True)
            g_kept, = torch.autograd.grad(loss_fn(t_kept), t_kept, create_graph=True)

            def make(b):
                v = vs[b][0] if b == 1 else vs[b]
                return lambda: torch.autograd.grad(g_kept, t_kept, v, retain_graph=True, is_grads_batched=b > 1)[0]
            run_batches("double-backward-kept", make, lambda r, b: (r if b == 1 else r[0]).numpy())
        if want("jvp-grad"):
            def hvp_jvp(v):
                return jvp(grad(loss_fn), (theta,), (v,))[1]
            batched_jvp = vmap(hvp_jvp)

            def make(b):
                return (lambda: hvp_jvp(vs[b][0])) if b == 1 else (lambda: batched_jvp(vs[b]))
            run_batches("jvp-grad", make, lambda r, b: (r if b == 1 else r[0]).numpy())
        if want("vjp-grad"):
            def make(b):
                def call():
                    _, pullback = vjp(grad(loss_fn), theta)
                    if b == 1:
                        return pullback(vs[b][0])[0]
                    return vmap(pullback)(vs[b])[0]
                return call
            run_batches("vjp-grad", make, lambda r, b: (r if b == 1 else r[0]).numpy())

    if args.peer == "pyhessian":
        module = importlib.import_module("pyhessian.hessian")
        from pyhessian.utils import hessian_vector_product
        info["pyhessian"] = importlib.metadata.version("pyhessian")
        layers = []
        for k, (offset, n_out, n_in) in enumerate(shapes):
            linear = nn.Linear(n_in, n_out)
            with torch.no_grad():
                linear.weight.copy_(theta[offset:offset + n_out * n_in].view(n_out, n_in))
                linear.bias.copy_(theta[offset + n_out * n_in:offset + n_out * n_in + n_out])
            layers.append(linear)
            if k < len(shapes) - 1:
                layers.append(nn.ReLU() if args.activation == "relu" else nn.Tanh())
        model = nn.Sequential(*layers)
        criterion = nn.CrossEntropyLoss()

        def as_list(v):
            out = []
            for offset, n_out, n_in in shapes:
                out.append(v[offset:offset + n_out * n_in].view(n_out, n_in).contiguous())
                out.append(v[offset + n_out * n_in:offset + n_out * n_in + n_out].contiguous())
            return out

        def flat(parts):
            return torch.cat([p.reshape(-1) for p in parts]).detach().numpy()

        v_list = as_list(vs[1][0])
        computer = module.hessian(model, criterion, data=(x, y), cuda=False)
        seconds, calls, result, fastest = timed_calls(lambda: hessian_vector_product(computer.gradsH, computer.params, v_list),
                                             args.repeats, args.min_seconds, max_seconds=args.max_seconds)
        record("hessian_vector_product (full batch, gradient graph kept)", 1, seconds, calls, flat(result), fastest)
        model.zero_grad(set_to_none=True)
        loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=x.shape[0])
        loader_computer = module.hessian(model, criterion, dataloader=loader, cuda=False)
        seconds, calls, result, fastest = timed_calls(lambda: loader_computer.dataloader_hv_product(v_list),
                                             args.repeats, args.min_seconds, max_seconds=args.max_seconds)
        record("dataloader_hv_product (one batch of N)", 1, seconds, calls, flat(result[1]), fastest)
        skipped += [{"peer": "pyhessian", "variant": "any", "B": b, "reason": "PyHessian multiplies one direction per call"}
                    for b in batches if b > 1]

    if args.peer == "jax":
        import jax
        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp
        info.update({"jax": jax.__version__, "devices": str(jax.devices()),
                     "XLA_FLAGS": os.environ.get("XLA_FLAGS", ""), "cpu_count": os.cpu_count()})
        x = jnp.asarray(x_np)
        y = jax.nn.one_hot(jnp.asarray(y_np), widths[-1], dtype=jnp.float64)
        theta = jnp.asarray(theta_np)

        def loss_fn(t, x, y):
            a = x
            for k, (offset, n_out, n_in) in enumerate(shapes):
                w = t[offset:offset + n_out * n_in].reshape(n_out, n_in)
                bias = t[offset + n_out * n_in:offset + n_out * n_in + n_out]
                a = a @ w.T + bias
                if k < len(shapes) - 1:
                    a = jax.nn.relu(a) if args.activation == "relu" else jnp.tanh(a)
            return -jnp.mean(jnp.sum(y * jax.nn.log_softmax(a), axis=1))

        info["loss"] = float(loss_fn(theta, x, y))

        def hvp(t, v, x, y):
            return jax.jvp(lambda s: jax.grad(loss_fn)(s, x, y), (t,), (v,))[1]
        single = jax.jit(hvp)
        batched = jax.jit(jax.vmap(hvp, in_axes=(None, 0, None, None)))
        vs = {b: jnp.asarray(d) for b, d in directions.items()}
        compile_seconds = {}

        def make(b):
            f, v = (single, vs[b][0]) if b == 1 else (batched, vs[b])
            start = time.perf_counter()
            compiled = f.lower(theta, v, x, y).compile()   # ahead of time: compiles without running
            compile_seconds[b] = time.perf_counter() - start
            return lambda: compiled(theta, v, x, y)
        run_batches("jit(jvp(grad))" + "", make, lambda r, b: np.asarray(r if b == 1 else r[0]),
                    sync=lambda r: r.block_until_ready())
        for row in rows:
            row["compile_seconds"] = compile_seconds.get(row["B"])
            if row["B"] > 1:
                row["variant"] = "jit(vmap(jvp(grad)))"

    print(json.dumps({"peer": args.peer, "parameters": m, "samples": int(x_np.shape[0]), "widths": widths,
                      "load_before": open("/proc/loadavg").read().split()[:3], **info, "rows": rows, "skipped": skipped}))


if __name__ == "__main__":
    main()
