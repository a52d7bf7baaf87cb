#!/usr/bin/env bash
# AutoNEB between two minima of the reference MLP 100-30-30-10 on N = 1000 Gaussian-cluster
# samples (issue 17; not a test). Two minima: GD from two initialisations (--seed 1, 2) on one
# dataset (data.seed 1). Then the same AutoNEB (fixed budgets: 4 pivots, 3 cycles of 100
# iterations, a 200-iteration final run, so every run does the same work) on 1 rank, on 2 ranks
# as 1 group of 2 (data-parallel) and as 2 groups of 1 (--group-size 1, pivots side by side):
# wall time, gradient and loss evaluations, the parallel efficiency over pivot groups
# band(1 rank) / (2 · band(2 groups of 1)) (goal ≥ 85 %), and what one NEB iteration costs per
# pivot against one gradient evaluation, measured inside the run (band seconds / seconds in the
# pivots' gradients; goal ≤ 1.1).
#   bench/path.sh
#   STEPS=200 CYCLE=20 FINAL=20 bench/path.sh                (smoke run)
#   MAXPIVOTS=10 bench/path.sh                               (an even pivot budget: 2 groups balance)
#   LANDSCAPE=/work/.build-bench/release/landscape bench/path.sh
# Writes bench/results/path/… and bench/results/path-<date>.md.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${LANDSCAPE:=.build/release/landscape}"
: "${STEPS:=3000}"
: "${CYCLE:=100}"
: "${FINAL:=200}"
: "${MAXPIVOTS:=16}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
out=bench/results/path
rm -rf "$out"
mkdir -p "$out"
run() { local np=$1; shift; mpirun -np "$np" --oversubscribe "$LANDSCAPE" "$@" </dev/null; }
cat > "$out/run.toml" <<TOML
seed = 1

[data]
kind = "clusters"
seed = 1
samples = 1000
classes = 10
dimension = 100
covariance = 1.0

[model]
layers = [30, 30]
activation = "relu"
loss = "cross-entropy"
init = "he-normal"

[train]
algorithm = "gd"
learning-rate = 0.1
steps = $STEPS
record-every = 500
TOML
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
start=$(date +%s)
run 2 train --config "$out/run.toml" --seed 1 --quiet --out "$out/minimum-1" >/dev/null
run 2 train --config "$out/run.toml" --seed 2 --quiet --out "$out/minimum-2" >/dev/null
path=(path --config "$out/run.toml" --from "$out/minimum-1/params.npy" --to "$out/minimum-2/params.npy" --method autoneb
      --pivots 4 --max-pivots "$MAXPIVOTS" --cycles 3 --cycle-iterations "$CYCLE" --iterations "$FINAL" --tolerance 1e-12 --quiet)
run 1 "${path[@]}" --out "$out/np1"
run 2 "${path[@]}" --out "$out/np2-g2"
run 2 "${path[@]}" --group-size 1 --out "$out/np2-g1"

python3 - "$out" "$load_before" "$(cut -d' ' -f1-3 /proc/loadavg)" "$(( $(date +%s) - start ))" <<'PY'
import datetime, json, pathlib, socket, sys
import numpy as np
out, load0, load1, wall = sys.argv[1:]
out = pathlib.Path(out)
s = {k: json.loads((out / k / "summary.json").read_text()) for k in ("np1", "np2-g2", "np2-g1")}
for k, v in s.items():
    assert (v["ranks"], v["groups"]) == {"np1": (1, 1), "np2-g2": (2, 1), "np2-g1": (2, 2)}[k], (k, v)
# Same work in every run: the same pivots inserted, the same iterations.
work = {k: (v["iterations"], v["pivots"], v["gradientEvaluations"]) for k, v in s.items()}
assert len(set(work.values())) == 1, work
p = {k: np.load(out / k / "pivots.npy") for k in s}
diff = max(np.abs(p[k] - p["np1"]).max() / np.abs(p["np1"]).max() for k in p)
b = {k: v["bandSeconds"] for k, v in s.items()}
groups_eff = b["np1"] / (2 * b["np2-g1"])
data_eff = b["np1"] / (2 * b["np2-g2"])
stamp = datetime.datetime.now(datetime.timezone.utc)
one = s["np1"]
lines = [
    f"# AutoNEB between two minima of MLP 100-30-30-10, N = 1000 ({stamp:%Y-%m-%d %H:%M} UTC, {socket.gethostname()})",
    "",
    f"Command: `bench/path.sh`; load average before {load0}, after {load1}; the whole script {wall} s (training included).",
    f"Minima: GD from --seed 1 and 2 on data.seed 1, losses {one['endpointLosses'][0]:.4g} and {one['endpointLosses'][1]:.4g}.",
    f"AutoNEB: 4 → {one['pivots']} pivots, {one['iterations']} iterations ({one['gradientEvaluations']} gradient and {one['lossEvaluations']} loss evaluations per run).",
    "",
    "| run | ranks | groups | wall s | band s | band s per gradient evaluation | NEB iteration per pivot / one gradient |",
    "|---|---|---|---|---|---|---|",
]
for k, v in s.items():
    lines.append(f"| {k} | {v['ranks']} | {v['groups']} | {v['seconds']:.2f} | {v['bandSeconds']:.2f} | "
                 f"{1e3 * v['bandSeconds'] / v['gradientEvaluations']:.2f} ms | {v['iterationCostPerGradient']:.3f} |")
lines += [
    "",
    f"- Parallel efficiency over pivot groups, band(1 rank) / (2 · band(2 groups of 1)): **{100 * groups_eff:.1f} %** (goal ≥ 85 %).",
    f"- Data-parallel efficiency, band(1 rank) / (2 · band(1 group of 2)): {100 * data_eff:.1f} %.",
    f"- One NEB iteration per pivot against one gradient evaluation (1 rank): **{one['iterationCostPerGradient']:.3f}×** (goal ≤ 1.1).",
    f"- Largest relative difference of the final pivots between the runs: {diff:.2e}.",
    f"- Barrier along the path {one['barrier']:.4g} vs the straight line {one['straightLineBarrier']:.4g}; path length {one['pathLength']:.4g} vs {one['straightLength']:.4g}.",
    f"- {one['verdict']}",
]
text = "\n".join(lines) + "\n"
(out.parent / f"path-{stamp:%Y-%m-%d}-{one['settings']['maxPivots']}.md").write_text(text)
print(text)
PY
