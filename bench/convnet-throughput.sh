#!/usr/bin/env bash
# Convnet gradient and curvature-product throughput against OpenBLAS dgemm and PyTorch float64 (not
# a test): `landscape bench throughput` on the convnet of bench/convnet-jax.sh (conv 4 5x5 stride 2,
# maxpool 2, dense 32, dense 10; M = 5074) and N = 1000 MNIST digits, on 1 and 2 ranks, beside
# bench/convnet_torch.py (the same network, data and parameters; torch.func for the B-direction HVP)
# with 1 and 2 threads, in one run.
#   launch/mnist-5k && bench/convnet-throughput.sh     (installs torch (CPU) from PyPI when missing)
# Writes bench/results/convnet-throughput.md.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${DIRECTIONS:=64}"
: "${REPETITIONS:=5}"
out=bench/results
mkdir -p "$out"
[ -f data/mnist-5k/images-idx3-ubyte ] || { echo "convnet-throughput.sh: run launch/mnist-5k first" >&2; exit 2; }
python3 -c "import torch" 2>/dev/null || python3 -m pip install -q torch --index-url https://download.pytorch.org/whl/cpu
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
common=(--config examples/train-convnet.toml --convolution "conv 4 5x5 stride 2,maxpool 2,dense 32" --samples 1000)
NP=2 launch/mpirun data export "${common[@]}" --out "$work/data" >/dev/null
NP=2 launch/mpirun train "${common[@]}" --checkpoint-every 0 --quiet --out "$work/train" >/dev/null
{
  echo "# Convnet throughput: conv 4 5x5 stride 2, maxpool 2, dense 32, dense 10 (M = 5074), N = 1000, float64 ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores)"
  echo
  echo "Load before the runs: $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min)."
  for np in 1 2; do
    NP=$np launch/mpirun bench throughput "${common[@]}" --directions "$DIRECTIONS" --repetitions "$REPETITIONS" \
      --out "$work/np$np" --quiet </dev/null >/dev/null 2>&1
    echo; echo "## landscape bench throughput, $np rank$([ "$np" = 1 ] || echo s)"; echo; cat "$work/np$np/throughput.md"
  done
  echo; echo "## PyTorch (bench/convnet_torch.py), float64"; echo
  echo "| threads | loss | gradient | HVP, 1 direction (double backward) | HVP, $DIRECTIONS directions (vmap of jvp of grad) |"
  echo "|---|---|---|---|---|"
  for t in 1 2; do
    python3 -W ignore bench/convnet_torch.py "$work/data" "$work/train/params.npy" --threads "$t" --directions "$DIRECTIONS" --repeats "$REPETITIONS" |
      python3 -c "import json, sys; r = json.load(sys.stdin); print(f\"| {r['threads']} | {r['loss_s']:.4g} s | {r['gradient_s']:.4g} s | {r['hvp_s']:.4g} s | {r['hvp_batch_s']:.4g} s |\")"
  done
  echo; echo "Load after the runs: $(cut -d' ' -f1-3 /proc/loadavg)."
} > "$out/convnet-throughput.md"
cat "$out/convnet-throughput.md"
