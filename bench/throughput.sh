#!/usr/bin/env bash
# Gradient and curvature-product throughput benchmark (not a test; issue 3's "Speed"): `landscape
# bench throughput` for the MLP 100-30-30-10 on N = 1000 and 784-100-100-10 on N = 10 000
# Gaussian-cluster samples (the shapes of the issue; MNIST-shaped inputs, since throughput depends
# on the shapes only), each on 1 and 2 ranks, next to OpenBLAS dgemm measured in the same run
# (bench/dgemm_peak.c with 1 and 2 threads, and every rank's dgemm inside each job).
#   bench/throughput.sh
#   DIRECTIONS=32 REPETITIONS=3 RANKS="1 2" bench/throughput.sh
#   LANDSCAPE=.build-bench/release/landscape bench/throughput.sh
# Writes bench/results/throughput-<model>-np<P>.{md,json} per run and bench/results/throughput-summary.md.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${DIRECTIONS:=64}"
: "${REPETITIONS:=5}"
: "${MIN_SECONDS:=1}"
: "${RANKS:=1 2}"
# model name: data and model flags
: "${MODELS:=100-30-30-10:--samples 1000 --dimension 100 --classes 10 --layers 30,30
784-100-100-10:--samples 10000 --dimension 784 --classes 10 --layers 100,100}"
out=bench/results
mkdir -p "$out"
gcc -O2 -o "$out/dgemm_peak" bench/dgemm_peak.c -lopenblas
peak1=$(OPENBLAS_NUM_THREADS=1 "$out/dgemm_peak" 2000)
peak2=$(OPENBLAS_NUM_THREADS=2 "$out/dgemm_peak" 2000)
summary="$out/throughput-summary.md"
{
  echo "# Throughput ($(date -u +%Y-%m-%dT%H:%MZ), $(hostname), $(nproc) cores)"
  echo
  echo "OpenBLAS dgemm 2000³ alone (bench/dgemm_peak.c): $peak1 GFLOP/s with 1 thread, $peak2 GFLOP/s with 2 threads."
  echo "Load before the runs: $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min)."
  echo "B = $DIRECTIONS directions; ≥ $REPETITIONS calls and ≥ $MIN_SECONDS s per operation; median call of the slowest rank."
  echo "GFLOP counts the dgemms the code issues (docs/scaling.md, Throughput); % of dgemm is against every rank's dgemm 1000³ measured at once in the same job."
} > "$summary"
while IFS= read -r entry; do
  [ -n "$entry" ] || continue
  name=${entry%%:*} flags=${entry#*:}
  for np in $RANKS; do
    base="$out/throughput-$name-np$np"
    dir=$(mktemp -d)
    # shellcheck disable=SC2086  # flags is a list of flags by design
    NP=$np launch/mpirun bench throughput $flags --directions "$DIRECTIONS" --repetitions "$REPETITIONS" \
      --min-seconds "$MIN_SECONDS" --out "$dir/run" --quiet </dev/null >"$dir/log" 2>&1 || { cat "$dir/log"; exit 1; }
    cp "$dir/run/throughput.md" "$base.md"
    cp "$dir/run/throughput.json" "$base.json"
    rm -rf "$dir"
    { echo; echo "## $name, $np rank$([ "$np" = 1 ] || echo s)"; echo; cat "$base.md"; } | tee -a "$summary"
  done
done <<< "$MODELS"
echo "Load after the runs: $(cut -d' ' -f1-3 /proc/loadavg)." >> "$summary"
echo "written: $summary"
