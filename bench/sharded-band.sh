#!/usr/bin/env bash
# The path's band sharded by rows (not a test): NEB between two points of an MLP with
# M ≈ 1.8 million parameters (784-1000-1000-10 on N Gaussian-cluster samples, relu), K pivots,
# a fixed number of iterations, on 1 rank, on 2 ranks as one data-parallel group, and on 2 ranks
# as 2 groups of 1 (pivots side by side). The end points are two initialisations after a few GD
# steps — not minima: this measures the band's memory and overhead, not a barrier. Reports per
# run: the band's bytes per rank (pivots, gradients, forces, velocity: 4 · (K + 2) · M/P doubles,
# from summary.json's bandRowsPerRank; M rows for a build whose band is whole on every rank),
# the measured peak resident memory per rank, and the band's own seconds per iteration and pivot
# outside the pivots' loss-and-gradient evaluations (summary.json: bandSeconds − gradientSeconds),
# which now include the exchanges that put a pivot whole on its group and send its gradient's rows back.
#   bench/sharded-band.sh                          # N = 200, K = 10, 6 iterations, 2 rounds
#   ROUNDS=1 PIVOTS=4 ITERATIONS=3 bench/sharded-band.sh
#   LANDSCAPE=/path/to/other/build/landscape bench/sharded-band.sh    (another build, same runs)
# Writes bench/results/sharded-band/sharded-band.csv and prints a Markdown table of medians.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${LANDSCAPE:=.build/release/landscape}" "${ROUNDS:=2}" "${SAMPLES:=200}" "${PIVOTS:=10}" "${ITERATIONS:=6}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
out=bench/results/sharded-band
mkdir -p "$out"
csv="$out/sharded-band.csv"
echo "round,run,ranks,groups,parameters,pivots,iterations,band_s,gradient_s,overhead_s_per_pivot_iteration,iteration_cost_per_gradient,band_bytes_per_rank,peak_bytes_per_rank" > "$csv"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
run() { local np=$1; shift; mpirun -np "$np" --oversubscribe --bind-to none "$LANDSCAPE" "$@" </dev/null; }
cat > "$work/run.toml" <<TOML
seed = 1

[data]
kind = "clusters"
seed = 1
samples = $SAMPLES
classes = 10
dimension = 784

[model]
layers = [1000, 1000]
activation = "relu"
loss = "cross-entropy"

[train]
algorithm = "gd"
learning-rate = 0.01
steps = 2

[top]
max-matvecs = 8
TOML
run 1 train --config "$work/run.toml" --seed 1 --quiet --out "$work/a" > /dev/null
run 1 train --config "$work/run.toml" --seed 2 --quiet --out "$work/b" > /dev/null
path=(path --config "$work/run.toml" --from "$work/a/params.npy" --to "$work/b/params.npy" --method neb --pivots "$PIVOTS"
      --iterations "$ITERATIONS" --tolerance 1e-12 --segment-points 1 --curvature lanczos --quiet)
for round in $(seq 1 "$ROUNDS"); do
  for spec in "np1 1 0" "np2 2 0" "np2-g1 2 1"; do
    read -r name ranks group <<< "$spec"
    rm -rf "$work/path"
    run "$ranks" "${path[@]}" --group-size "$group" --out "$work/path" > /dev/null 2> "$work/log" || { cat "$work/log"; exit 1; }
    python3 - "$work/path" "$round" "$name" >> "$csv" <<'PY'
import json, sys
path, round_, name = sys.argv[1:]
s = json.load(open(path + "/summary.json"))
m, ranks, k, it = s["parameters"], s["ranks"], s["pivots"], s["iterations"]
band, grad = s["bandSeconds"], s["gradientSeconds"]
rows = s.get("bandRowsPerRank", m)   # builds before the band was sharded hold it whole
print(",".join(str(v) for v in [round_, name, ranks, s["groups"], m, k, it, round(band, 3), round(grad, 3),
                                 round((band - grad) / (it * k), 5), round(s["iterationCostPerGradient"], 4),
                                 4 * (k + 2) * rows * 8, max(s["header"]["peakResidentBytesPerRank"])]))
PY
    tail -n 1 "$csv" >&2
  done
done
python3 - "$csv" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
print(f"\nMedians over rounds ({sys.argv[1]}); M = {rows[0]['parameters']}, K = {rows[0]['pivots']} pivots, {rows[0]['iterations']} iterations\n")
print("| run | ranks | groups | band s | in gradients s | band overhead per pivot-iteration | iteration / gradient | band per rank | peak per rank |")
print("|---|---|---|---|---|---|---|---|---|")
for run in ("np1", "np2", "np2-g1"):
    mine = [r for r in rows if r["run"] == run]
    med = lambda c: statistics.median(float(r[c]) for r in mine)
    print(f"| {run} | {mine[0]['ranks']} | {mine[0]['groups']} | {med('band_s'):.2f} | {med('gradient_s'):.2f} | "
          f"{1e3 * med('overhead_s_per_pivot_iteration'):.1f} ms | {med('iteration_cost_per_gradient'):.3f} | "
          f"{med('band_bytes_per_rank') / 2**20:.0f} MiB | {med('peak_bytes_per_rank') / 2**30:.2f} GiB |")
PY
