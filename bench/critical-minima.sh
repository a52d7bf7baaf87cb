#!/usr/bin/env bash
# Issue 31: the energy of minimisers against φ = M/(N·k) (Pennington & Bahri's ½(1 − φ)²), with
# every minimum certified (GEOMETRY.md §6b) and the L2 term taken to λ → 0 by continuation:
# examples/critical-certified.toml (tanh 16-16-16, no biases, M = 512) at N = M/(16 φ) for φ in
# PHIS, DRAWS data draws (--data-seed) × INITS initialisations each (--start init),
# eigenvector-following at k = 0 with the L2 term λ = the first of LADDER; then each certified
# minimum is followed down the ladder (--start files: the minimum at λ is the start at the next,
# smaller λ) and its data loss L extrapolated to λ = 0 by L₀ + cλˢ through the three smallest λ
# (and linearly through two, beside it). bench/critical_minima.py reports per φ the
# certified shares, the distribution of the minima's L at each λ and extrapolated, ‖θ‖ down the
# ladder, and the fit a(1 − φ)^b against ½(1 − φ)² and ½(1 − φ). Not a test.
#   bench/critical-minima.sh
#   PHIS="0.5" DRAWS=1 INITS=2 bench/critical-minima.sh      (smoke run)
set -euo pipefail
cd "$(dirname "$0")/.."
: "${LANDSCAPE:=.build/release/landscape}"
: "${PHIS:=0.1 0.2 0.3 0.4 0.5 0.6 0.7 0.8 0.9 1.2}"
: "${DRAWS:=5}"
: "${INITS:=10}"
: "${LADDER:=0.001 0.0001 0.00001}"
: "${ITERATIONS:=500}"
: "${OUT:=bench/results/critical-minima}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
rm -rf "$OUT"
mkdir -p "$OUT"
start=$(date +%s)
for phi in $PHIS; do
    n=$(python3 -c "print(round(512 / (16 * $phi)))")
    for draw in $(seq 1 "$DRAWS"); do
        previous=""
        for l2 in $LADDER; do
            run="$OUT/phi-$phi-draw-$draw-l2-$l2"
            if [ -z "$previous" ]; then
                starts=(--start init --starts "$INITS")
            else
                # The certified minima of the previous λ, in start order.
                mapfile -t points < <(python3 -c "import csv, sys
for r in csv.DictReader(open(sys.argv[1] + '/critical.csv')):
    if r['certified'] == 'true' and r['negative'] == '0': print(sys.argv[1] + '/points/' + r['start'] + '.npy')" "$previous")
                [ "${#points[@]}" -gt 0 ] || break
                starts=(--start files --points "${points[@]}")
            fi
            mpirun -np 2 --oversubscribe "$LANDSCAPE" critical --config examples/critical-certified.toml --samples "$n" --data-seed "$draw" \
                --index 0 --l2 "$l2" "${starts[@]}" --iterations "$ITERATIONS" --out "$run" --quiet </dev/null
            previous="$run"
        done
    done
done
seconds=$(( $(date +%s) - start ))
report="$OUT-$(date +%Y%m%d-%H%M).md"
read -r -a ladder <<< "$LADDER"
python3 bench/critical_minima.py "$OUT" "$seconds" "${ladder[@]}" > "$report"
cat "$report"
echo "wrote $report"
