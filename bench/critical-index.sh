#!/usr/bin/env bash
# Issue 31: certified critical points of chosen index on Pennington & Bahri's network
# (examples/critical-certified.toml: tanh 16-16-16 without biases, M = 512, N = 64, φ = 0.5),
# by eigenvector-following from GD-trajectory states, on 2 ranks as 2 groups of 1. For every L2
# weight λ in L2S and index k in INDICES: the share of starts certified (GEOMETRY.md §6b), the ends'
# classes, seconds per certified point; then over the distinct certified points of each λ the fit
# α = α₀|(ε − ε_c)/ε_c|^p with a bootstrap 95 % interval on p, and whether 3/2 lies in it.
# Not a test: the figures go to the issue's closing note and docs/critical.md.
#   bench/critical-index.sh
#   STARTS=4 INDICES="1 2" L2S="0.01" bench/critical-index.sh        (smoke run)
#   ARGS="--layers 8 --dimension 8 --classes 8 --samples 32" bench/critical-index.sh   (ARGS: flags added to every search)
# Writes bench/results/critical-index/… and bench/results/critical-index-<date>.md.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${LANDSCAPE:=.build/release/landscape}"
: "${STARTS:=20}"
: "${INDICES:=0 1 2 3 4 6 8 12 16}"
: "${L2S:=0.01 0.001}"
: "${ITERATIONS:=500}"
: "${ARGS:=}"
read -r -a extra <<< "$ARGS"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
: "${OUT:=bench/results/critical-index}"
out=$OUT
rm -rf "$out"
mkdir -p "$out"
start=$(date +%s)
for l2 in $L2S; do
    for k in $INDICES; do
        mpirun -np 2 --oversubscribe "$LANDSCAPE" critical --config examples/critical-certified.toml --index "$k" --l2 "$l2" \
            --starts "$STARTS" --iterations "$ITERATIONS" "${extra[@]}" --out "$out/l2-$l2-k$k" --quiet </dev/null
    done
done
seconds=$(( $(date +%s) - start ))
report="$out-$(date +%Y%m%d-%H%M).md"
python3 bench/critical_index.py "$out" "$seconds" "$ARGS" > "$report"
cat "$report"
echo "wrote $report"
