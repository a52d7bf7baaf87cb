#!/usr/bin/env bash
# Eigensolver benchmark (not a test): `landscape eig` (ScaLAPACK and ELPA) on 1 and 2 ranks against
# single-process LAPACK dsyevd with 1 and 2 OpenBLAS threads and NumPy's eigvalsh, side by side in
# one run, solver phase only, on the same kind of matrix (householder test matrices).
#   bench/eigensolvers.sh
#   SIZES="2000 4000" BLOCKS="64" bench/eigensolvers.sh
# Writes bench/results/eigensolvers.csv and prints Markdown tables (bench/summarize.py).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${SIZES:=2000 4000 8000 12000}"
: "${BLOCKS:=32 64 128}"          # block sizes tried up to BLOCK_SWEEP_MAX
: "${BLOCK_SWEEP_MAX:=4000}"      # above it only block 64 (each run there takes minutes)
: "${VECTORS_MAX:=8000}"          # eigenvector runs up to this M
: "${ONE_RANK_MAX:=8000}"         # 1-rank runs up to this M (the parallel-efficiency baseline)
: "${RUNS:=auto:none pdsyev:none pdsyevr:none elpa2:none elpa1:none pdsyevd:all elpa1:all}"   # solver:vectors
: "${LARGE_FROM:=8000}"           # from this M on, only the main methods (each run takes minutes)
: "${RUNS_LARGE:=auto:none pdsyev:none elpa2:none elpa1:none pdsyevd:all elpa1:all}"
: "${HUGE_FROM:=12000}"           # from this M on, eigenvalues only, 2 ranks, LAPACK with 2 threads
: "${RUNS_HUGE:=auto:none pdsyev:none elpa2:none elpa1:none}"
out=bench/results
mkdir -p "$out"
csv="$out/eigensolvers.csv"
echo "M,method,ranks,threads,block,vectors,seconds,chosen" > "$csv"

gcc -O2 -o "$out/lapack_eig" bench/lapack_eig.c -llapacke -lopenblas -lm

for m in $SIZES; do
  for jobz in N V; do
    [ "$jobz" = V ] && [ "$m" -gt "$VECTORS_MAX" ] && continue
    lapack_threads="1 2"
    [ "$m" -ge "$HUGE_FROM" ] && lapack_threads=2
    for threads in $lapack_threads; do
      read -r _ _ seconds _ < <(OPENBLAS_NUM_THREADS=$threads "$out/lapack_eig" "$m" "$jobz")
      vectors=$([ "$jobz" = V ] && echo all || echo none)
      echo "$m,dsyevd,1,$threads,-,$vectors,$seconds,dsyevd" | tee -a "$csv"
    done
  done
  # NumPy (its own OpenBLAS build, 2 threads): what a Python user gets from eigvalsh.
  seconds=$(OPENBLAS_NUM_THREADS=2 python3 - "$m" <<'PY'
import sys, time, numpy as np
m = int(sys.argv[1]); rng = np.random.default_rng(1)
u = rng.standard_normal(m); u /= np.linalg.norm(u)
k = np.arange(m - 5); d = np.concatenate([np.cos(np.pi * (m - 5 - k - 0.5) / (m - 5)), 10.0 * np.arange(1, 6)])
a = np.diag(d) - 2 * np.outer(u, u * d) - 2 * np.outer(u * d, u) + 4 * (u @ (d * u)) * np.outer(u, u)
np.linalg.eigvalsh(a[:200, :200])  # warm-up: thread pool and first-call costs
t = time.perf_counter(); np.linalg.eigvalsh(a); print(f"{time.perf_counter() - t:.4f}")
PY
)
  echo "$m,numpy-eigvalsh,1,2,-,none,$seconds,eigvalsh" | tee -a "$csv"

  blocks=$BLOCKS
  [ "$m" -gt "$BLOCK_SWEEP_MAX" ] && blocks=64
  ranks="1 2"
  [ "$m" -gt "$ONE_RANK_MAX" ] && ranks=2
  runs=$RUNS
  [ "$m" -ge "$LARGE_FROM" ] && runs=$RUNS_LARGE
  [ "$m" -ge "$HUGE_FROM" ] && runs=$RUNS_HUGE
  for np in $ranks; do
    for block in $blocks; do
      for run in $runs; do
        solver=${run%%:*} vectors=${run##*:}
        [ "$vectors" = all ] && [ "$m" -gt "$VECTORS_MAX" ] && continue
        dir=$(mktemp -d)
        if NP=$np launch/mpirun eig --test-matrix "householder:$m" --block "$block" --solver "$solver" \
             --vectors "$vectors" --out "$dir/run" --quiet >"$dir/log" 2>&1; then
          # The solve time, and the method that ran (what `auto` chose).
          read -r seconds chosen < <(python3 -c "import json; s = json.load(open('$dir/run/summary.json')); print(s['seconds']['solve'], s['solver'])")
          echo "$m,$solver,$np,1,$block,$vectors,$seconds,$chosen" | tee -a "$csv"
        else
          echo "# $m $solver np=$np block=$block vectors=$vectors failed: $(grep -m1 error "$dir/log")" | tee -a "$out/eigensolvers.log"
        fi
        rm -rf "$dir"
      done
    done
  done
done

python3 bench/summarize.py "$csv" | tee "$out/eigensolvers.md"
