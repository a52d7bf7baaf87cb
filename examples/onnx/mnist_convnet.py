"""Writes a small MNIST convnet as an ONNX file, the way a PyTorch user hands a model to Landscape.

    python3 examples/onnx/mnist_convnet.py OUT.onnx            # with PyTorch: torch.onnx.export
    python3 examples/onnx/mnist_convnet.py OUT.onnx --helper   # without: the same graph by onnx.helper

The network (docs/onnx.md): 1×28×28 → Conv2d(1, 4, 5, stride 2) → ReLU → MaxPool2d(2) → Flatten
→ Linear(144, 16) → ReLU → Linear(16, 10), float32, PyTorch's default initialisation (seed 0);
the graph ends in the logits (the loss is Landscape's `model.loss`). M = 2,594.
"""
import sys

import numpy as np


def with_torch(path):
    import torch
    from torch import nn

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 5, stride=2), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(144, 16), nn.ReLU(), nn.Linear(16, 10)).eval()
    torch.onnx.export(model, torch.zeros(1, 1, 28, 28), path, input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": {0: "N"}, "logits": {0: "N"}}, opset_version=17, dynamo=False)


def with_helper(path):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)

    def uniform(name, fan_in, *shape):   # PyTorch's default: U(±1/√fan_in) for weights and biases
        bound = 1 / np.sqrt(fan_in)
        return numpy_helper.from_array(rng.uniform(-bound, bound, shape).astype(np.float32), name)

    inits = [uniform("conv.weight", 25, 4, 1, 5, 5), uniform("conv.bias", 25, 4),
             uniform("fc1.weight", 144, 16, 144), uniform("fc1.bias", 144, 16),
             uniform("fc2.weight", 16, 10, 16), uniform("fc2.bias", 16, 10)]
    nodes = [
        helper.make_node("Conv", ["image", "conv.weight", "conv.bias"], ["c"], name="conv", kernel_shape=[5, 5], strides=[2, 2]),
        helper.make_node("Relu", ["c"], ["r1"], name="relu1"),
        helper.make_node("MaxPool", ["r1"], ["p"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["p"], ["f"], name="flatten", axis=1),
        helper.make_node("Gemm", ["f", "fc1.weight", "fc1.bias"], ["h"], name="fc1", transB=1),
        helper.make_node("Relu", ["h"], ["r2"], name="relu2"),
        helper.make_node("Gemm", ["r2", "fc2.weight", "fc2.bias"], ["logits"], name="fc2", transB=1),
    ]
    graph = helper.make_graph(nodes, "mnist-convnet",
                              [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 1, 28, 28])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    onnx.save(model, path)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    if "--helper" in sys.argv[2:]:
        with_helper(sys.argv[1])
    else:
        try:
            import torch  # noqa: F401
        except ImportError:
            raise SystemExit("PyTorch is not installed: pip install torch, or add --helper to write the same graph with onnx.helper")
        with_torch(sys.argv[1])
    print(f"wrote {sys.argv[1]}")
