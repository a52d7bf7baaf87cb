#!/usr/bin/env bash
# Landscape against JAX on the issue's reference (not a test): the exact Hessian of MLP
# 100-30-30-50 on N = 1000 Gaussian-cluster samples (M = 5510), at a trained point, its spectrum
# by `landscape spectrum` on 1 and 2 ranks, and by `jax.hessian` + `numpy.linalg.eigvalsh` on the
# same data and parameters, side by side in one run. Also checks that the two spectra agree.
#   bench/jax.sh              (installs jax[cpu] from PyPI when missing)
# Writes bench/results/jax.md.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${CLASSES:=50}"
: "${SAMPLES:=1000}"
out=bench/results
mkdir -p "$out"
python3 -c "import jax" 2>/dev/null || python3 -m pip install -q "jax[cpu]"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
common=(--config examples/train-clusters.toml --classes "$CLASSES" --samples "$SAMPLES")
NP=2 launch/mpirun data export "${common[@]}" --out "$work/data" >/dev/null
NP=2 launch/mpirun train "${common[@]}" --steps 200 --checkpoint-every 0 --quiet --out "$work/train" >/dev/null
for np in 1 2; do
  NP=$np launch/mpirun spectrum "${common[@]}" --quiet --checkpoint "$work/train/params.npy" --out "$work/np$np" >/dev/null
done
jax=$(python3 bench/jax_hessian.py "$work/data" "$work/train/params.npy" "100,30,30,$CLASSES" --eigenvalues "$work/np2/eigenvalues.npy")
python3 - "$work" "$jax" > "$out/jax.md" <<'PY'
import json, sys
work, jax = sys.argv[1], json.loads(sys.argv[2])
print(f"# Landscape vs JAX: exact Hessian of MLP 100-30-30-k, M = {jax['M']}, N = {jax['N']}, at a trained point\n")
print("| method | Hessian | eigenvalues | total |")
print("|---|---|---|---|")
print(f"| jax.hessian (jit, warm; first call {jax['jax_hessian_first_s']} s) + numpy eigvalsh | {jax['jax_hessian_warm_s']} s | {jax['eigvalsh_s']} s | {jax['jax_hessian_warm_s'] + jax['eigvalsh_s']:.2f} s |")
for np_ in (1, 2):
    s = json.load(open(f"{work}/np{np_}/summary.json"))["seconds"]
    h = s["assemble hessian"] + s["reduce hessian"]
    print(f"| landscape spectrum, {np_} rank{'s' if np_ > 1 else ''} | {h:.2f} s | {s['eigensolve H']:.2f} s | {h + s['eigensolve H']:.2f} s |")
print(f"\nSpectra agree: max |λ_jax − λ_landscape| / max |λ| = {jax['max_relative_difference_vs_landscape']:.2e}; loss {jax['loss']:.10g}.")
PY
cat "$out/jax.md"
