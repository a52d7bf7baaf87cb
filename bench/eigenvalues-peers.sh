#!/usr/bin/env bash
# Eigenvalues only, against the fastest single-node peers (issue 33, item 3; not a test): on the
# same 2 cores, side by side in each round, the same kind of matrix (householder test matrices):
#   landscape eig on NP ranks (--solver auto: what `landscape spectrum` uses for eigenvalues),
#   LAPACK dsyevd, jobz = N, OpenBLAS with NP threads (Debian's libopenblas),
#   LAPACK dsyevd_2stage, jobz = N, OpenBLAS with NP threads (two-stage tridiagonalisation + dsterf),
#   Intel MKL dsyevd, jobz = N, NP threads (PyPI's `mkl` wheel, downloaded into bench/results/mkl:
#   a peer only, never a dependency of Landscape).
# Each round runs every contender once; the table gives the median over ROUNDS and the ratios.
#   bench/eigenvalues-peers.sh                 # M = 8000, 3 rounds, 2 ranks / 2 threads
#   M=5510 ROUNDS=5 bench/eigenvalues-peers.sh
set -euo pipefail
cd "$(dirname "$0")/.."
: "${M:=8000}" "${ROUNDS:=3}" "${NP:=2}" "${MKL_VERSION:=2026.2.1}"
: "${LANDSCAPE:=.build/release/landscape}"
out=bench/results
mkdir -p "$out"
[ -x "$LANDSCAPE" ] || { echo "bench/eigenvalues-peers.sh: $LANDSCAPE is missing; run 'make build' first" >&2; exit 2; }

# The MKL peer: the wheel's shared libraries, linked with GNU OpenMP (no intel-openmp needed).
mkl="$out/mkl"
lib="$mkl/mkl-$MKL_VERSION.data/data/lib"
if [ ! -f "$lib/libmkl_core.so.3" ]; then
  mkdir -p "$mkl"
  python3 -m pip download --quiet --no-deps --dest "$mkl" "mkl==$MKL_VERSION"
  (cd "$mkl" && python3 -m zipfile -e mkl-"$MKL_VERSION"-*.whl .)
fi
gcc -O2 -o "$out/lapack_eig" bench/lapack_eig.c -llapacke -lopenblas -lm
gcc -O2 -o "$out/lapack_eig_mkl" bench/lapack_eig.c -I/usr/include -L"$lib" -Wl,-rpath,"$PWD/$lib" \
  -l:libmkl_gf_lp64.so.3 -l:libmkl_gnu_thread.so.3 -l:libmkl_core.so.3 -lgomp -lpthread -lm -ldl

csv="$out/eigenvalues-peers.csv"
echo "round,M,contender,seconds" > "$csv"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for round in $(seq 1 "$ROUNDS"); do
  rm -rf "$work/eig"
  NP=$NP launch/mpirun eig --test-matrix "householder:$M" --out "$work/eig" --quiet >/dev/null 2>"$work/log" || { cat "$work/log"; exit 1; }
  landscape=$(python3 -c "import json, sys; d = json.load(open(sys.argv[1])); p = [q for q in d['phases'] if q['name'] == 'solve'][0]; print(max(p['seconds']), p.get('method', '?'))" "$work/eig/timings.json")
  echo "$round,$M,landscape ${landscape#* } ($NP ranks),${landscape%% *}" >> "$csv"
  read -r _ _ seconds _ < <(OPENBLAS_NUM_THREADS=$NP "$out/lapack_eig" "$M" N dsyevd)
  echo "$round,$M,OpenBLAS dsyevd ($NP threads),$seconds" >> "$csv"
  read -r _ _ seconds _ < <(OPENBLAS_NUM_THREADS=$NP "$out/lapack_eig" "$M" N dsyevd_2stage)
  echo "$round,$M,OpenBLAS dsyevd_2stage ($NP threads),$seconds" >> "$csv"
  read -r _ _ seconds _ < <(MKL_NUM_THREADS=$NP OMP_NUM_THREADS=$NP "$out/lapack_eig_mkl" "$M" N dsyevd)
  echo "$round,$M,MKL $MKL_VERSION dsyevd ($NP threads),$seconds" >> "$csv"
  tail -n 4 "$csv" >&2
done

python3 - "$csv" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
by = {}
for r in rows:
    by.setdefault(r["contender"], []).append(float(r["seconds"]))
ours = next(k for k in by if k.startswith("landscape"))
mine = statistics.median(by[ours])
print(f"\nEigenvalues only, M = {rows[0]['M']}, median of {len(by[ours])} rounds (each round runs every contender once)\n")
print("| contender | seconds (median) | all rounds | Landscape / contender |")
print("|---|---|---|---|")
for name, seconds in by.items():
    m = statistics.median(seconds)
    print(f"| {name} | {m:.2f} | {', '.join(f'{s:.2f}' for s in seconds)} | {mine / m:.2f}× |")
PY
