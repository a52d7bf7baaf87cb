#!/usr/bin/env bash
# Hessian assembly benchmark (not a test): the exact Hessian of the reference MLP 100-30-30-k
# (Sagun et al.; M = 5510 for k = 50) on N Gaussian-cluster samples, at 1 and 2 ranks, next to
# OpenBLAS dgemm peak measured in the same run (1 thread, and 2 threads = the whole machine).
#   bench/assembly.sh                      # k = 50, N = 1000
#   CLASSES=10 SAMPLES=1000 bench/assembly.sh
# Writes bench/results/assembly.csv and prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${CLASSES:=50}"
: "${SAMPLES:=1000}"
: "${LAYERS:=30,30}"
out=bench/results
mkdir -p "$out"
gcc -O2 -o "$out/dgemm_peak" bench/dgemm_peak.c -lopenblas
peak1=$(OPENBLAS_NUM_THREADS=1 "$out/dgemm_peak" 2000)
peak2=$(OPENBLAS_NUM_THREADS=2 "$out/dgemm_peak" 2000)
csv="$out/assembly.csv"
echo "ranks,M,N,gflop,assemble_s,reduce_s,eigensolve_s,gflops,dgemm_peak_1thr,dgemm_peak_2thr" > "$csv"
for np in 1 2; do
  dir=$(mktemp -d)
  NP=$np launch/mpirun spectrum --at init --samples "$SAMPLES" --classes "$CLASSES" --dimension 100 --layers "$LAYERS" \
    --out "$dir/run" --quiet >/dev/null 2>"$dir/log" || { cat "$dir/log"; exit 1; }
  python3 - "$dir/run/summary.json" "$np" "$peak1" "$peak2" >> "$csv" <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); sec = s["seconds"]
print(",".join(str(x) for x in [sys.argv[2], s["parameters"], s["samples"], round(s["assemblyGFLOP"], 2),
      round(sec["assemble hessian"], 3), round(sec["reduce hessian"], 3), round(sec["eigensolve H"], 3),
      round(s["assemblyGFLOPPerSecond"], 1), sys.argv[3], sys.argv[4]]))
PY
  rm -rf "$dir"
done
python3 - "$csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
print("| ranks | M | N | GEMM GFLOP | assemble | reduce | eigensolve H | GFLOP/s | % of dgemm peak (1 thr / 2 thr) |")
print("|---|---|---|---|---|---|---|---|---|")
for r in rows:
    g = float(r["gflops"]); p1 = float(r["dgemm_peak_1thr"]); p2 = float(r["dgemm_peak_2thr"])
    print(f"| {r['ranks']} | {r['M']} | {r['N']} | {r['gflop']} | {r['assemble_s']} s | {r['reduce_s']} s | {r['eigensolve_s']} s | {g} | {100*g/p1:.0f} % / {100*g/p2:.0f} % |")
PY
