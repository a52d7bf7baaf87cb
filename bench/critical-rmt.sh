#!/usr/bin/env bash
# Issue 31, item 6: Pennington & Bahri's random-matrix ingredients tested at certified critical
# points — which only an exact tool can do. For up to PER_RUN certified points of every critical
# run in RUNS (default: bench/critical-index.sh's λ = 1e-3 runs, every k), `landscape spectrum
# --residual` gives the exact spectra of H, G (Gauss–Newton) and R = H − G of the data loss there;
# bench/critical_rmt.py then compares
#   G with Marchenko–Pastur at ratio φ (scale fitted by the mean),
#   R with a semicircle of R's own mean and variance, and that variance against the energy ε,
#   spec(H) with spec(G + QRQᵀ) for Haar-random orthogonal Q (G and R free),
# each by the Kolmogorov–Smirnov distance beside the distance a sample of the model law itself
# shows at the same size. Not a test.
#   bench/critical-index.sh && bench/critical-rmt.sh
#   RUNS="bench/results/critical-index/l2-0.001-k1" PER_RUN=2 bench/critical-rmt.sh     (smoke run)
set -euo pipefail
cd "$(dirname "$0")/.."
: "${LANDSCAPE:=.build/release/landscape}"
: "${RUNS:=bench/results/critical-index/l2-0.001-k*}"
: "${PER_RUN:=4}"
: "${OUT:=bench/results/critical-rmt}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
# shellcheck disable=SC2086  # RUNS is a glob
runs=$(ls -d $RUNS 2>/dev/null || true)
if [ -z "$runs" ]; then
    echo "critical-rmt: no critical runs match RUNS=$RUNS; run bench/critical-index.sh first (or set RUNS to critical run directories)" >&2
    exit 2
fi
rm -rf "$OUT"
mkdir -p "$OUT"
start=$(date +%s)
for run in $runs; do
    name=$(basename "$run")
    # The first PER_RUN certified starts that are no duplicate of an earlier one.
    for k in $(python3 -c "import csv, sys
rows = [r for r in csv.DictReader(open(sys.argv[1] + '/critical.csv')) if r['certified'] == 'true' and not r['duplicate_of']]
print(' '.join(r['start'] for r in rows[:int(sys.argv[2])]))" "$run" "$PER_RUN"); do
        mpirun -np 2 --oversubscribe "$LANDSCAPE" spectrum --config "$run/config.toml" --checkpoint "$run/points/$k.npy" --residual \
            --out "$OUT/$name-$k" --quiet </dev/null
        cp "$run/critical.csv" "$OUT/$name-$k/critical.csv"
        echo "$k" > "$OUT/$name-$k/start"
    done
done
seconds=$(( $(date +%s) - start ))
report="$OUT-$(date +%Y%m%d-%H%M).md"
python3 bench/critical_rmt.py "$OUT" "$seconds" > "$report"
cat "$report"
echo "wrote $report"
