#!/usr/bin/env bash
# Same numbers from two builds (not a test: it needs a second binary): `train` on 1–4 ranks (GD,
# momentum, SGD; final parameters, a checkpoint and train.csv without its seconds column compared
# byte for byte) and `spectrum` of the demo's model at initialisation with the Gauss–Newton split
# (eigenvalues.npy, ggn_ and residual_eigenvalues.npy when both write it, compared byte for byte, else the largest
# relative difference is printed). Used for the redesign: the build before it against this one.
#   BASELINE=/path/to/old/landscape bench/identical.sh
#   BASELINE=... CANDIDATE=.build/release/landscape bench/identical.sh
set -euo pipefail
cd "$(dirname "$0")/.."
: "${BASELINE:?set BASELINE to the landscape binary of the other build}"
: "${CANDIDATE:=.build/release/landscape}"
: "${RANKS:=1 2 3 4}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
run() { LANDSCAPE="$1" NP="$2" launch/mpirun "${@:3}" --quiet > "$work/log" 2>&1 || { cat "$work/log"; exit 1; }; }
for flags in "--algorithm gd" "--algorithm gd --momentum 0.9" "--algorithm sgd --batch 50"; do
  for np in $RANKS; do
    for side in baseline candidate; do
      binary=$BASELINE; [ "$side" = candidate ] && binary=$CANDIDATE
      # shellcheck disable=SC2086
      run "$binary" "$np" train --samples 200 --classes 5 --dimension 20 --layers 16,16 --steps 60 --record-every 10 \
        --checkpoint-every 20 $flags --out "$work/$side"
    done
    if cmp -s "$work/baseline/params.npy" "$work/candidate/params.npy" \
      && cmp -s "$work/baseline/params-40.npy" "$work/candidate/params-40.npy" \
      && diff <(cut -d, -f1-8 "$work/baseline/train.csv") <(cut -d, -f1-8 "$work/candidate/train.csv") > /dev/null; then
      echo "train $flags, $np ranks: identical"
    else
      echo "train $flags, $np ranks: DIFFERENT"; status=1
    fi
    rm -rf "$work/baseline" "$work/candidate"
  done
done
for side in baseline candidate; do
  binary=$BASELINE; [ "$side" = candidate ] && binary=$CANDIDATE
  run "$binary" 2 spectrum --config examples/train-clusters.toml --at init --ggn --out "$work/$side"
done
for file in eigenvalues.npy ggn_eigenvalues.npy residual_eigenvalues.npy; do
  # Builds from before `--residual` write R's spectrum with --ggn; later ones only when asked.
  if [ ! -f "$work/baseline/$file" ] || [ ! -f "$work/candidate/$file" ]; then
    echo "spectrum (demo model, init, 2 ranks) $file: not written by both builds; skipped"; continue
  fi
  if cmp -s "$work/baseline/$file" "$work/candidate/$file"; then
    echo "spectrum (demo model, init, 2 ranks) $file: identical"
  else
    python3 - "$work/baseline/$file" "$work/candidate/$file" <<'PY'
import sys, numpy as np
a, b = np.load(sys.argv[1]), np.load(sys.argv[2])
print(f"spectrum {sys.argv[1].rsplit('/', 1)[1]}: max |a - b| / max |a| = {np.max(np.abs(a - b)) / np.max(np.abs(a)):.3g}")
PY
  fi
done
exit $status
