"""PyTorch → ONNX → Landscape, checked against PyTorch's own float64 autograd (bench/onnx-torch.sh).

    python3 bench/onnx_torch.py WORK EXPORTER NET     EXPORTER: torchscript | dynamo; NET: relu | smooth

Writes WORK/model.onnx (torch.onnx.export of a small MNIST-shaped convnet, float32 as PyTorch
trains it), WORK/X.npy, WORK/y.npy, WORK/v.npy, and PyTorch's float64 loss, gradient and
Hessian-vector product (double backward) at the same parameters: WORK/torch.json, g.npy, hv.npy.
"""
import json
import sys

import numpy as np
import torch
from torch import nn

work, exporter, net = sys.argv[1:4]
torch.manual_seed(0)
if net == "relu":
    layers = [nn.Conv2d(1, 8, 5, stride=2), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(288, 32), nn.ReLU(), nn.Linear(32, 10)]
else:
    layers = [nn.Conv2d(1, 8, 5, stride=2), nn.Tanh(), nn.AvgPool2d(2), nn.Flatten(), nn.Linear(288, 32), nn.Softplus(), nn.Linear(32, 10)]
model = nn.Sequential(*layers).eval()
dynamo = exporter == "dynamo"
torch.onnx.export(model, (torch.zeros(2, 1, 28, 28),), f"{work}/model.onnx", input_names=["image"], output_names=["logits"],
                  opset_version=18, dynamo=dynamo,
                  dynamic_shapes=({0: torch.export.Dim("N")},) if dynamo else None,
                  dynamic_axes=None if dynamo else {"image": {0: "N"}, "logits": {0: "N"}})
rng = np.random.default_rng(0)
X, y = rng.standard_normal((200, 1, 28, 28)), np.arange(200) % 10
np.save(f"{work}/X.npy", X)
np.save(f"{work}/y.npy", y)
md = model.double()
params = list(md.parameters())
loss = nn.functional.cross_entropy(md(torch.tensor(X)), torch.tensor(y))
g = torch.cat([p.reshape(-1) for p in torch.autograd.grad(loss, params, create_graph=True)])
v = torch.tensor(rng.standard_normal(g.numel()))
hv = torch.cat([h.reshape(-1) for h in torch.autograd.grad(g @ v, params)])
np.save(f"{work}/v.npy", v.numpy())
np.save(f"{work}/g.npy", g.detach().numpy())
np.save(f"{work}/hv.npy", hv.numpy())
json.dump({"loss": loss.item(), "M": g.numel()}, open(f"{work}/torch.json", "w"))
