#!/usr/bin/env bash
# PyTorch models through ONNX (not a test: PyTorch is not a dependency): a small MNIST-shaped
# convnet exported by torch.onnx.export (the TorchScript exporter and the dynamo exporter, which
# writes its weights to a side file), imported by `landscape evaluate --onnx`, and its loss,
# gradient and Hessian-vector product compared with PyTorch's own float64 autograd at the same
# parameters, for a ReLU/max-pool net and a smooth tanh/avg-pool/softplus net.
#   bench/onnx-torch.sh          (installs torch, onnx and onnxscript from PyPI when missing)
# Writes bench/results/onnx-torch.md.
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/results
mkdir -p "$out"
python3 -c "import torch, onnx, onnxscript" 2>/dev/null || python3 -m pip install -q torch onnx onnxscript
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
{
  echo "# PyTorch → ONNX → Landscape against PyTorch float64 autograd (N = 200, 1×28×28 inputs)"
  echo
  echo "| exporter | network | M | operators imported | loss | ‖∇L − ∇L_torch‖∞ / ‖∇L_torch‖∞ | HVP, same |"
  echo "|---|---|---|---|---|---|---|"
  for exporter in torchscript dynamo; do
    for net in relu smooth; do
      dir="$work/$exporter-$net"
      mkdir -p "$dir"
      python3 bench/onnx_torch.py "$dir" "$exporter" "$net" >/dev/null 2>&1
      if NP=2 launch/mpirun evaluate --data npy --x "$dir/X.npy" --y "$dir/y.npy" --onnx "$dir/model.onnx" --gradient \
           --products "$dir/v.npy" --out "$dir/run" >"$dir/log" 2>&1; then
        python3 - "$dir" "$exporter" "$net" <<'PY'
import json, sys, numpy as np, onnx
d, exporter, net = sys.argv[1:4]
t, s = json.load(open(f"{d}/torch.json")), json.load(open(f"{d}/run/summary.json"))
rel = lambda a, b: np.abs(np.load(a) - np.load(b)).max() / np.abs(np.load(b)).max()
ops = ", ".join(n.op_type for n in onnx.load(f"{d}/model.onnx", load_external_data=False).graph.node)
print(f"| {exporter} | {net} | {t['M']} | {ops} | {s['loss']:.12f} (torch {t['loss']:.12f}) | {rel(f'{d}/run/gradient.npy', f'{d}/g.npy'):.1e} | {rel(f'{d}/run/products.npy', f'{d}/hv.npy'):.1e} |")
PY
      else
        echo "| $exporter | $net | — | refused: $(grep -m1 '^error:' "$dir/log" | cut -c1-200) | | | |"
      fi
    done
  done
} > "$out/onnx-torch.md"
cat "$out/onnx-torch.md"
