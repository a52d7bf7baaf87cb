#!/usr/bin/env bash
# Landscape against JAX on a small MNIST convnet (not a test; the convnet issue's "Speed"): the
# exact Hessian of conv 4 5x5 stride 2 → maxpool 2 → dense 32 → dense 10 (ReLU, cross-entropy,
# M = 5074) on N = 1000 of the real MNIST digits of launch/mnist-5k, at a point after 200 GD steps,
# its spectrum by `landscape spectrum` on 1 and 2 ranks, and by `jax.jacfwd(jax.grad(loss))`
# (= jax.hessian, jit, float64; its columns CHUNK at a time, default 16 — the fastest of 8…256
# here, docs/convnets.md; see bench/convnet_jax.py) +
# `numpy.linalg.eigvalsh` on the same exported data and parameters, side by side in one run.
# Checks that the two spectra agree and prints the time ratios.
#   launch/mnist-5k && bench/convnet-jax.sh        (installs jax[cpu] from PyPI when missing)
#   CONVOLUTION="conv 8 5x5 stride 2,maxpool 2,dense 16" CHUNK=32 bench/convnet-jax.sh
# Writes bench/results/convnet-jax.md.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${CONVOLUTION:=conv 4 5x5 stride 2,maxpool 2,dense 32}"
: "${SAMPLES:=1000}"
: "${STEPS:=200}"
: "${CHUNK:=16}"
out=bench/results
mkdir -p "$out"
[ -f data/mnist-5k/images-idx3-ubyte ] || { echo "convnet-jax.sh: run launch/mnist-5k first" >&2; exit 2; }
python3 -c "import jax" 2>/dev/null || python3 -m pip install -q "jax[cpu]"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
common=(--config examples/train-convnet.toml --convolution "$CONVOLUTION" --samples "$SAMPLES")
NP=2 launch/mpirun data export "${common[@]}" --out "$work/data" >/dev/null
NP=2 launch/mpirun train "${common[@]}" --steps "$STEPS" --checkpoint-every 0 --quiet --out "$work/train" >/dev/null
for np in 1 2; do
  start=$(date +%s.%N)
  NP=$np launch/mpirun spectrum "${common[@]}" --quiet --checkpoint "$work/train/params.npy" --out "$work/np$np" >/dev/null
  awk "BEGIN { print $(date +%s.%N) - $start }" > "$work/np$np/wall"
done
loss=$(python3 -c "import json, sys; print(repr(json.load(open(sys.argv[1]))['loss']))" "$work/np2/summary.json")
start=$(date +%s.%N)
jax=$(python3 bench/convnet_jax.py "$work/data" "$work/train/params.npy" "$CONVOLUTION" --chunk "$CHUNK" \
  --eigenvalues "$work/np2/eigenvalues.npy" --loss-landscape "$loss")
awk "BEGIN { print $(date +%s.%N) - $start }" > "$work/jax-wall"
python3 - "$work" "$jax" "$CONVOLUTION" > "$out/convnet-jax.md" <<'PY'
import json, sys
work, jax, layers = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
how = f"columns {jax['chunk']} at a time" if jax["chunk"] else "in one piece"
print(f"# Landscape vs JAX: exact Hessian of the convnet {layers} → dense 10 (relu, cross-entropy), M = {jax['M']}, N = {jax['N']} MNIST digits, at a trained point\n")
print("| method | Hessian | eigenvalues | total | process wall time |")
print("|---|---|---|---|---|")
jax_total = jax["jax_hessian_s"] + jax["eigvalsh_s"]
jax_wall = float(open(f"{work}/jax-wall").read())
print(f"| jax.jacfwd(jax.grad) = jax.hessian ({how}; jit, float64, compiled apart in {jax['jax_compile_s']} s) + numpy eigvalsh | {jax['jax_hessian_s']:.2f} s (CPU {jax['jax_hessian_cpu_s']:.0f} s) | {jax['eigvalsh_s']:.2f} s | {jax_total:.2f} s | {jax_wall:.1f} s |")
rows = []
for np_ in (1, 2):
    s = json.load(open(f"{work}/np{np_}/summary.json"))["seconds"]
    h = s["assemble hessian"] + s["reduce hessian"]
    wall = float(open(f"{work}/np{np_}/wall").read())
    rows.append((np_, h, h + s["eigensolve H"]))
    print(f"| landscape spectrum, {np_} rank{'s' if np_ > 1 else ''} | {h:.2f} s | {s['eigensolve H']:.2f} s | {h + s['eigensolve H']:.2f} s | {wall:.1f} s |")
print()
for np_, h, total in rows:
    print(f"- {np_} rank{'s' if np_ > 1 else ''}: Hessian {jax['jax_hessian_s'] / h:.2f}× faster than JAX's, Hessian + eigenvalues {jax_total / total:.2f}× faster.")
print(f"\nSpectra agree: max |λ_jax − λ_landscape| / max |λ| = {jax['max_relative_difference_vs_landscape']:.2e} (goal 1e-9); "
      f"loss {jax['loss']:.12g} (relative difference {jax['loss_relative_difference_vs_landscape']:.1e}); JAX's H symmetric to {jax['symmetry_defect']:.1e}.")
PY
cat "$out/convnet-jax.md"
