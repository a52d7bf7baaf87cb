#!/usr/bin/env bash
# ELPA's own phase timers for eigenvalues only (not a test): full → band, band → tridiagonal and
# the tridiagonal solve, for nev = M (what ELPA does by default) against nev = 1 (what Landscape
# asks for: every eigenvalue, no eigenvector columns updated in the divide and conquer).
#   bench/elpa-phases.sh                  # M = 8000, block 64, 2 ranks as 1 x 2
#   M=4000 BLOCK=32 ROWS=2 bench/elpa-phases.sh intermediate_bandwidth=32
set -euo pipefail
cd "$(dirname "$0")/.."
: "${M:=8000}" "${BLOCK:=64}" "${NP:=2}" "${ROWS:=1}" "${STAGE:=2}"
out=bench/results
mkdir -p "$out"
mpif90 -O2 -I/usr/include/elpa/modules -o "$out/elpa_phases" bench/elpa_phases.f90 -lelpa -lscalapack-openmpi
export OPENBLAS_NUM_THREADS=1
flags=()
[ "$(id -u)" = 0 ] && flags+=(--allow-run-as-root)
[ "$NP" -gt "$(nproc)" ] && flags+=(--oversubscribe)
for nev in "$M" 1; do
  echo "== M = $M, block $BLOCK, grid $ROWS x $((NP / ROWS)), ELPA $STAGE-stage, nev = $nev $*"
  mpirun "${flags[@]}" -np "$NP" "$out/elpa_phases" "$M" "$BLOCK" "$ROWS" "$STAGE" "$nev" "$@" |
    grep -E '^ *seconds|^     \|_ (full_to_band|band_to_tridi|forward|solve) '
done
