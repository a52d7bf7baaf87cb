#!/usr/bin/env bash
# Plane throughput of `landscape interpolate` (issue 16; not a test): a 51 × 51 plane (random
# filter-normalised directions) of the MLP 100-30-30-10 on N = 1000 and of 784-100-100-10 on
# N = 10 000 Gaussian-cluster samples, on 1 rank, on 2 ranks as 1 group of 2 (data-parallel) and
# as 2 groups of 1 (--group-size 1): points per second, the parallel efficiency over groups
# pps(2 groups of 1) / (2 · pps(1 rank)) (goal ≥ 90 %) and the data-parallel one
# pps(1 group of 2) / (2 · pps(1 rank)). Against Li et al.'s loss-landscape code, which evaluates
# a grid point with one forward pass of the whole dataset: the same model's float64 forward pass
# in PyTorch on 2 threads (bench/torch_forward.py), in the same run (goal: ours ≥ 2× its rate).
# OpenBLAS dgemm (bench/dgemm_peak.c, 1 and 2 threads) for context.
#   bench/interpolate.sh
#   GRID=-1:1:5 bench/interpolate.sh                       (smoke run)
#   LANDSCAPE=/work/.build-bench/release/landscape bench/interpolate.sh
# Writes bench/results/interpolate/<model>/… and bench/results/interpolate-<date>.md.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${LANDSCAPE:=.build/release/landscape}"
: "${GRID:=-1:1:51}"
# model name:samples:dimension:hidden widths
: "${MODELS:=100-30-30-10:1000:100:30,30
784-100-100-10:10000:784:100,100}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
out=bench/results/interpolate
rm -rf "$out"
mkdir -p "$out"
# mpirun reads standard input: keep it off the list of models.
run() { local np=$1; shift; mpirun -np "$np" --oversubscribe "$LANDSCAPE" "$@" </dev/null; }
python3 -c "import torch" 2>/dev/null || pip install --quiet torch
gcc -O2 -o bench/results/dgemm_peak bench/dgemm_peak.c -lopenblas
peak1=$(OPENBLAS_NUM_THREADS=1 bench/results/dgemm_peak 2000)
peak2=$(OPENBLAS_NUM_THREADS=2 bench/results/dgemm_peak 2000)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
start=$(date +%s)

while IFS= read -r entry; do
  [ -n "$entry" ] || continue
  IFS=: read -r name samples dimension hidden <<< "$entry"
  dir="$out/$name"
  mkdir -p "$dir"
  cat > "$dir/run.toml" <<EOF
seed = 1

[data]
kind = "clusters"
samples = $samples
classes = 10
dimension = $dimension
covariance = 1.0

[model]
layers = [${hidden//,/, }]
activation = "relu"
loss = "cross-entropy"
init = "he-normal"
EOF
  run 1 train --config "$dir/run.toml" --steps 1 --checkpoint-every 0 --quiet --out "$dir/train" >/dev/null
  plane=(interpolate --config "$dir/run.toml" --from "$dir/train/params.npy" --direction random --plane --grid "$GRID" --quiet)
  run 1 "${plane[@]}" --out "$dir/np1" >/dev/null
  run 2 "${plane[@]}" --out "$dir/np2-g2" >/dev/null
  run 2 "${plane[@]}" --group-size 1 --out "$dir/np2-g1" >/dev/null
  OMP_NUM_THREADS=2 python3 bench/torch_forward.py "$dimension,$hidden,10" "$samples" --threads 2 </dev/null > "$dir/torch.json"
done <<< "$MODELS"

python3 - "$out" "$GRID" "$peak1" "$peak2" "$load_before" "$(cut -d' ' -f1-3 /proc/loadavg)" "$(( $(date +%s) - start ))" <<'PY'
import datetime, json, math, pathlib, socket, os, sys
import numpy as np
out, grid, peak1, peak2, load0, load1, wall = sys.argv[1:]
out = pathlib.Path(out)
def load(p): return json.loads(p.read_text())
stamp = datetime.datetime.now(datetime.timezone.utc)
rows, notes = [], []
for d in sorted((p for p in out.iterdir() if (p / "torch.json").exists()), key=lambda p: int(p.name.split("-")[0])):
    s = {k: load(d / k / "summary.json") for k in ("np1", "np2-g2", "np2-g1")}
    t = load(d / "torch.json")
    pps = {k: v["pointsPerSecond"] for k, v in s.items()}
    for k, v in s.items():
        assert (v["ranks"], v["groups"]) == {"np1": (1, 1), "np2-g2": (2, 1), "np2-g1": (2, 2)}[k], (k, v)
    best = max(pps["np2-g2"], pps["np2-g1"])
    fwd = t["forwards_per_second"]
    planes = {k: np.load(d / k / "plane.npy") for k in s}
    dl = max(float(np.nanmax(np.abs(planes[k] - planes["np1"]))) for k in ("np2-g2", "np2-g1"))
    rows.append(f"| {d.name} | {s['np1']['parameters']} | {s['np1']['samples']} | {s['np1']['points']} | "
                f"{pps['np1']:.1f} | {pps['np2-g2']:.1f} | {pps['np2-g1']:.1f} | "
                f"{pps['np2-g1'] / (2 * pps['np1']):.0%} | {pps['np2-g2'] / (2 * pps['np1']):.0%} | "
                f"{fwd:.1f} | {best / fwd:.2f}× | {pps['np1'] / fwd:.2f}× | {dl:.1e} |")
    # The dgemm FLOPs of a point: a forward pass (2·N·Σ in·out), and ours, where chunks of c points
    # share the first-layer products (3 per chunk: θ₀, d₁, d₂) and run the other layers per point.
    # The chunk is InterpolateRun's: min(32, ⌈points / (20 · groups)⌉).
    w = t["widths"]; n = t["samples"]
    first, rest = w[0] * w[1], sum(a * b for a, b in zip(w[1:], w[2:]))
    def flops(run):
        points, groups = s[run]["points"], s[run]["groups"]
        chunk = min(32, max(1, math.ceil(points / (20 * groups))))
        return chunk, 2 * n * (3 * math.ceil(points / chunk) * first / points + rest)
    chunk, ours = flops("np1")
    best_run = max(("np2-g2", "np2-g1"), key=lambda k: pps[k])
    forward = 2 * n * (first + rest)
    notes.append(f"- {d.name}: first layer {first / (first + rest):.0%} of a forward pass's FLOPs; "
                 f"a plane point costs {ours / 1e9:.3g} GFLOP of dgemm against {forward / 1e9:.3g} for a forward pass "
                 f"(ratio {forward / ours:.1f}, chunks of {chunk}); ours at {pps['np1'] * ours / 1e9:.1f} GFLOP/s on 1 rank, "
                 f"{best * flops(best_run)[1] / 1e9:.1f} on 2 ({best_run}); torch forward {t['gflops']:.1f} GFLOP/s "
                 f"({t['seconds_per_forward'] * 1e3:.3g} ms median of {t['calls']}).")
lines = [f"# Plane throughput of `landscape interpolate` ({stamp:%Y-%m-%dT%H:%MZ}, {socket.gethostname()}, {os.cpu_count()} cores)", "",
         f"Grid {grid} × {grid} (random filter-normalised directions; loss and accuracy per point), MLP with ReLU and cross-entropy "
         "on Gaussian clusters (k = 10), at a point after one GD step. `bench/interpolate.sh`.",
         f"OpenBLAS dgemm 2000³ alone (bench/dgemm_peak.c): {peak1} GFLOP/s with 1 thread, {peak2} GFLOP/s with 2 threads. "
         f"PyTorch {t['torch']}, float64, {t['threads']} threads, forward + cross-entropy + accuracy under no_grad (bench/torch_forward.py).",
         f"Load before the runs: {load0}; after: {load1} (1, 5, 15 min). Wall time of the runs: {wall} s.", "",
         "| model | M | N | points | 1 rank pts/s | 1 group of 2 pts/s | 2 groups of 1 pts/s | efficiency over groups | data-parallel efficiency "
         "| torch forwards/s | best 2-rank ÷ torch | 1 rank ÷ torch | max \\|ΔL\\| vs 1 rank |",
         "|---|---|---|---|---|---|---|---|---|---|---|---|---|", *rows, "",
         "Efficiency = pps(2 ranks) / (2 · pps(1 rank)); goals: over groups ≥ 90 %, best 2-rank ÷ torch ≥ 2×.", "", *notes]
text = "\n".join(lines) + "\n"
(out.parent / f"interpolate-{stamp:%Y-%m-%d}.md").write_text(text)
print(text, end="")
print(f"written: {out.parent / f'interpolate-{stamp:%Y-%m-%d}.md'}")
PY
