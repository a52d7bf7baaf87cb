#!/usr/bin/env bash
# Eigensolver benchmark (not a test): landscape eig on 1 and 2 ranks against single-process
# LAPACK dsyevd with 1 and 2 OpenBLAS threads, side by side in one run, solver phase only.
#   bench/eigensolvers.sh                 # M = 2000 4000 8000
#   SIZES="2000 4000" BLOCKS="64" bench/eigensolvers.sh
# Writes bench/results/eigensolvers.csv and prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${SIZES:=2000 4000 8000}"
: "${BLOCKS:=32 64 128}"
: "${BLOCKS_LARGE:=64}"          # block sizes tried at the largest M (each run there is minutes)
: "${SOLVERS:=pdsyev pdsyevr pdsyevd}"
out=bench/results
mkdir -p "$out"
csv="$out/eigensolvers.csv"
echo "M,method,ranks,threads,block,vectors,seconds" > "$csv"

gcc -O2 -o "$out/lapack_eig" bench/lapack_eig.c -llapacke -lopenblas -lm

largest=$(echo "$SIZES" | tr ' ' '\n' | sort -n | tail -1)
for m in $SIZES; do
  for jobz in N V; do
    for threads in 1 2; do
      read -r _ _ seconds _ < <(OPENBLAS_NUM_THREADS=$threads "$out/lapack_eig" "$m" "$jobz")
      vectors=$([ "$jobz" = V ] && echo all || echo none)
      echo "$m,dsyevd,1,$threads,-,$vectors,$seconds" | tee -a "$csv"
    done
  done
  blocks=$BLOCKS
  [ "$m" = "$largest" ] && blocks=$BLOCKS_LARGE
  for np in 1 2; do
    for block in $blocks; do
      for solver in $SOLVERS; do
        vectors=$([ "$solver" = pdsyevd ] && echo all || echo none)
        dir=$(mktemp -d)
        NP=$np launch/mpirun eig --test-matrix "householder:$m" --block "$block" --solver "$solver" \
          --vectors "$vectors" --out "$dir/run" --quiet >/dev/null 2>&1
        seconds=$(python3 -c "import json; print(json.load(open('$dir/run/summary.json'))['seconds']['solve'])")
        rm -rf "$dir"
        echo "$m,$solver,$np,1,$block,$vectors,$seconds" | tee -a "$csv"
      done
    done
  done
done

python3 bench/summarize.py "$csv"
