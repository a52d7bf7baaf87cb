#!/usr/bin/env bash
# Hessian-vector products against the peers (issue "Speed where users wait", the HVP part; not a
# test): seconds per call and per direction of H·V for B = 1, 8, 64 directions of the same MLP, data
# and trained parameters, side by side in one run —
#   Landscape on $NP ranks: `landscape bench throughput` (its "HVP" rows: the operator with the kept
#     linearisation and the allreduce; "HVP (recomputed)"; "HVP (bare)": the local product alone; and
#     its "Inside Krylov methods" table). `bench throughput` always runs at the seed's initialisation, so the
#     HVP is also timed at the trained point inside `landscape top --checkpoint` (the operator seconds
#     of a Lanczos run whose budget is 20 blocks of B at the reference shape and 1 at the large one,
#     less its 1-direction residual check, per block);
#   PyTorch float64 ($THREADS threads): autograd double backward and torch.func (jvp of grad,
#     vmap of vjp of grad), the fastest counting (bench/hvp_peers.py);
#   PyHessian: its full-batch hessian_vector_product and dataloader_hv_product (one direction);
#   JAX float64: jax.jit(jvp(grad)) for B = 1, jax.jit(vmap(jvp(grad))) for B > 1, warm.
# Every peer's product for the first direction is compared with `landscape evaluate --products`.
#   bench/hvp-peers.sh
#   SHAPES=reference bench/hvp-peers.sh
#   LANDSCAPE=.build-bench/release/landscape NP=2 THREADS=2 bench/hvp-peers.sh
# Shapes: reference = examples/train-clusters.toml (MLP 100-30-30-10, N = 1000 Gaussian clusters,
# trained as configured, 5000 GD steps); large = MLP 784-1000-1000-10 on N = 10 000 clusters in
# R^784 (M = 1 796 010), $LARGE_STEPS GD steps from the initialisation. At the large shape one
# product takes seconds: `bench throughput` (whose Lanczos line alone is ~100 products) does not fit
# and is not run, B is $LARGE_DIRECTIONS, a peer's call is repeated up to 3 times within 12 s (so B = 8
# once), with one warm-up at B = 1 only, and a peer call estimated above $CALL_BUDGET s is skipped
# (reported as skipped). The machine may be shared: the load average is recorded, and the table gives
# each peer's fastest call next to its median.
# Writes bench/results/hvp-peers/<shape>/… and bench/results/hvp-peers.md.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${LANDSCAPE:=.build/release/landscape}"
: "${NP:=2}"
: "${THREADS:=2}"
: "${SHAPES:=reference large}"
: "${DIRECTIONS:=1 8 64}"
: "${LARGE_DIRECTIONS:=1 8}"
: "${LARGE_STEPS:=3}"
: "${LARGE_TORCH_VARIANTS:=}"
: "${CALL_BUDGET:=100}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
export LANDSCAPE NP
out=bench/results/hvp-peers
mkdir -p "$out"
python3 -c "import torch, jax, pyhessian" 2>/dev/null || pip install --quiet torch "jax[cpu]" pyhessian
run() { launch/mpirun "$@" 2>>"$out/landscape.log" || { tail -20 "$out/landscape.log"; exit 1; }; }
comma() { echo "$*" | tr ' ' ,; }
: > "$out/landscape.log"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)" > "$out/load.txt"

for shape in $SHAPES; do
  dir="$out/$shape"
  rm -rf "$dir"
  mkdir -p "$dir"
  if [ "$shape" = reference ]; then
    flags=(--config examples/train-clusters.toml)
    train=(--checkpoint-every 0)
    layers=100,30,30,10
    directions=$DIRECTIONS repeats=(--repeats 5 --min-seconds 1) variants="" blocks=20
  else
    # shellcheck disable=SC2054  # 1000,1000 is one argument
    flags=(--data clusters --samples 10000 --dimension 784 --classes 10 --layers 1000,1000 --activation relu --seed 1)
    train=(--learning-rate 0.1 --steps "$LARGE_STEPS" --record-every 1 --checkpoint-every 0)
    layers=784,1000,1000,10
    directions=$LARGE_DIRECTIONS repeats=(--repeats 3 --min-seconds 0 --max-seconds 12 --warmup-budget 30) variants=$LARGE_TORCH_VARIANTS blocks=1
  fi
  start=$(date +%s)
  run train "${flags[@]}" "${train[@]}" --quiet --out "$dir/train" >/dev/null
  run data export "${flags[@]}" --out "$dir/data" >/dev/null
  m=$(python3 -c "import numpy as np, sys; print(np.load(sys.argv[1]).shape[0])" "$dir/train/params.npy")
  python3 -c "import numpy as np, sys; np.save(sys.argv[1], np.random.default_rng(1).standard_normal((1, int(sys.argv[2]))))" "$dir/V.npy" "$m"
  run evaluate "${flags[@]}" --params "$dir/train/params.npy" --products "$dir/V.npy" --out "$dir/evaluate" >/dev/null

  # Landscape: bench throughput (at the seed's initialisation) once per B > 1; its B = 1 rows come with each.
  if [ "$shape" = reference ]; then
    for b in $directions; do
      [ "$b" -gt 1 ] || continue
      run bench throughput "${flags[@]}" --directions "$b" --out "$dir/throughput-$b" --quiet >/dev/null
    done
  fi
  # Landscape at the trained point: $blocks blocks of B inside `landscape top` (+ the 1-direction check).
  for b in $directions; do
    budget=$(( blocks * b )); [ "$budget" -gt 1 ] || budget=2
    run top "${flags[@]}" --checkpoint "$dir/train/params.npy" --k 1 --block-size "$b" --max-matvecs "$budget" \
      --tolerance 1e-14 --quiet --out "$dir/top-$b" >/dev/null
  done

  # The peers, one process each, on the exported data and the trained parameters.
  peer=(bench/hvp_peers.py)
  common=("$dir/data" "$dir/train/params.npy" "$layers" --check "$dir/V.npy" --reference "$dir/evaluate/products.npy"
          --directions "$(comma "$directions")" --threads "$THREADS" --call-budget "$CALL_BUDGET" "${repeats[@]}")
  OMP_NUM_THREADS=$THREADS python3 "${peer[@]}" torch "${common[@]}" ${variants:+--variants "$variants"} 2>"$dir/torch.log" >"$dir/torch.json"
  OMP_NUM_THREADS=$THREADS python3 "${peer[@]}" pyhessian "${common[@]}" 2>"$dir/pyhessian.log" >"$dir/pyhessian.json"
  python3 "${peer[@]}" jax "${common[@]}" 2>"$dir/jax.log" >"$dir/jax.json"
  echo "$shape: $(( $(date +%s) - start )) s" >> "$out/load.txt"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/load.txt"

python3 - "$out" "$NP" "$THREADS" "$SHAPES" <<'PY'
import json, pathlib, sys, datetime, os, socket
out, ranks, threads, shapes = pathlib.Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4].split()
goals = {"reference": 0.3, "large": 0.5}
lines = [f"# Hessian-vector products against the peers ({datetime.datetime.utcnow():%Y-%m-%dT%H:%MZ}, {socket.gethostname()}, {os.cpu_count()} cores)", "",
         f"`bench/hvp-peers.sh`: Landscape on {ranks} ranks × 1 OpenBLAS thread; PyTorch and PyHessian with torch.set_num_threads({threads}); "
         "JAX with XLA's CPU thread pool (every core). float64 throughout; seconds are the median call (warm).",
         (out / "load.txt").read_text().strip().replace("\n", "; ") + ".", ""]
for shape in shapes:   # this run's shapes only
    d = out / shape
    if not (d / "jax.json").exists():
        continue
    peers = [json.loads((d / f"{p}.json").read_text()) for p in ("torch", "pyhessian", "jax")]
    ev = json.loads((d / "evaluate" / "summary.json").read_text())
    m, n = ev["parameters"], ev["samples"]
    widths = "-".join(map(str, peers[0]["widths"]))
    rows = []   # (implementation, variant, B, s/call, s/direction, max rel diff, fastest call)
    throughput = sorted(d.glob("throughput-*/throughput.json"), key=lambda p: int(p.parent.name.split("-")[1]))
    lanczos = []
    seen = set()
    for path in throughput:
        t = json.loads(path.read_text())
        for x in t["measurements"]:
            if x["operation"].lower() != "hvp": continue
            key = (x.get("variant"), x["directions"])
            if key in seen: continue   # B = 1 rows are in every run: keep the first
            seen.add(key)
            name = "HVP" + (f" ({x['variant']})" if x.get("variant") else "")
            rows.append(("Landscape bench throughput (init)", name, x["directions"], x["secondsMedian"], x["secondsMedian"] / x["directions"], None, x["secondsMinimum"]))
        for l in t.get("insideKrylov", []):
            lanczos.append(f"Inside {l['method']} ({path.parent.name}; {l['matvecs']} matvecs): "
                           f"{l['secondsPerDirection']:.4g} s per direction, bare {l['bareSecondsPerDirection']:.4g} at B = {l['directionsPerCall']}: ratio {l['ratio']:.2f}×")
    tops = {}
    for path in sorted(d.glob("top-*/summary.json")):
        s = json.loads(path.read_text()); b = int(path.parent.name.split("-")[1])
        tops[b] = s
    single = tops[1]["seconds"]["operator"] / tops[1]["matvecs"] if 1 in tops else None
    for b, s in sorted(tops.items()):
        checks = s["matvecs"] % b if b > 1 else 0   # one-direction residual checks after the blocks
        t = (s["seconds"]["operator"] - checks * single) / ((s["matvecs"] - checks) // b)
        rows.append(("Landscape top (trained point)", "HVP", b, t, t / b, None, None))
    for p in peers:
        label = {"torch": f"PyTorch {p.get('torch', '')}", "pyhessian": f"PyHessian {p.get('pyhessian', '')}", "jax": f"JAX {p.get('jax', '')}"}[p["peer"]]
        for r in p["rows"]:
            rows.append((label, r["variant"], r["B"], r["seconds_per_call"], r["seconds_per_direction"], r["max_relative_difference"], r.get("fastest_call")))
    landscape_rows = [r for r in rows if r[0].startswith("Landscape")]
    peer_rows = [r for r in rows if not r[0].startswith("Landscape")]
    # Landscape's figure at each B: the operator ("HVP", kept linearisation) — bench throughput where it ran, else top.
    primary = "Landscape bench throughput (init)" if throughput else "Landscape top (trained point)"
    ours = {r[2]: r for r in landscape_rows if r[0] == primary and r[1] == "HVP"}
    fastest = {}
    for r in peer_rows:
        if r[2] not in fastest or r[4] < fastest[r[2]][4]: fastest[r[2]] = r
    trained = json.loads((d / "train" / "summary.json").read_text())
    lines += [f"## MLP {widths}, M = {m}, N = {n} ({shape})", "",
              f"Trained point: {trained.get('step', '?')} GD steps; loss there: "
              f"Landscape {ev['loss']:.12g}, PyTorch {peers[0]['loss']:.12g}, JAX {peers[2]['loss']:.12g}. "
              f"Peers' threads: torch {peers[0].get('threads')} (interop {peers[0].get('interop_threads')}).", "",
              "| implementation | variant | B | s / call (median) | fastest call | s / direction | Landscape / this (per direction) | max rel. diff vs Landscape |",
              "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        ratio = f"{ours[r[2]][4] / r[4]:.2f}" if r[2] in ours and not r[0].startswith("Landscape") else ""
        diff = "" if r[5] is None else f"{r[5]:.1e}"
        fast = "" if r[6] is None else f"{r[6]:.4g}"
        lines.append(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]:.4g} | {fast} | {r[4]:.4g} | {ratio} | {diff} |")
    skipped = [s for p in peers for s in p["skipped"]]
    def why(s):
        if "reason" in s: return s["reason"]
        return f"≈ {s['estimated_seconds_per_call']:.0f} s per call, over the call budget"
    if skipped:
        lines += ["", "Not measured: " + "; ".join(f"{s['peer']} {s['variant']} B = {s['B']} ({why(s)})" for s in skipped) + "."]
    lines += [""] + [f"- {l}" for l in lanczos]
    goal = goals[shape]
    for b in sorted(ours):
        if b not in fastest: continue
        f = fastest[b]; ratio = ours[b][4] / f[4]
        fast = ""
        fast_peers = [r for r in peer_rows if r[2] == b and r[6] is not None]
        if ours[b][6] is not None and fast_peers:
            g = min(fast_peers, key=lambda r: r[6])
            fast = f"; by fastest calls {ours[b][6] / g[6]:.2f}× ({g[0]} {g[1]})"
        lines.append(f"- B = {b}: Landscape {ours[b][4]:.4g} s per direction ({primary}), fastest peer {f[0]} {f[1]} {f[4]:.4g} s: "
                     f"**{ratio:.2f}×** (goal ≤ {goal}×: {'met' if ratio <= goal else 'not met'}){fast}")
    best_ours = min(ours.values(), key=lambda r: r[4]); best_peer = min(peer_rows, key=lambda r: r[4])
    ratio = best_ours[4] / best_peer[4]
    lines.append(f"- Best per direction over B: Landscape {best_ours[4]:.4g} s (B = {best_ours[2]}), fastest peer {best_peer[0]} {best_peer[1]} "
                 f"{best_peer[4]:.4g} s (B = {best_peer[2]}): **{ratio:.2f}×** (goal ≤ {goal}×: {'met' if ratio <= goal else 'not met'})")
    diffs = [r[5] for r in peer_rows if r[5] is not None]
    lines += [f"- Largest difference of a peer's H·v₁ from `landscape evaluate --products`: {max(diffs):.1e} (relative to max |H·v₁|)", ""]
(out.parent / "hvp-peers.md").write_text("\n".join(lines) + "\n")
print("\n".join(lines))
PY
