"""An independent NumPy implementation of the ONNX graphs Landscape imports, for the tests.

    python3 onnx_reference.py make OUT.onnx KIND DTYPE SEED     # a test model built with onnx.helper
    python3 onnx_reference.py check MODEL.onnx X.npy y.npy V.npy RUN_DIR
    python3 onnx_reference.py eigenvalues MODEL.onnx X.npy y.npy

`make` writes small graphs (KIND: convnet, mlp, or a refused variant) with random initialisers.
`check` interprets the graph node by node in NumPy (its own code, not Landscape's), computes the
mean cross-entropy, its gradient by hand-written backpropagation, and Hessian-vector products by
complex-step differentiation of that gradient (Im ∇L(θ + i·h·v) / h with h = 1e-30: exact to
rounding, no truncation error), then prints the largest relative differences from Landscape's
`evaluate --gradient --products` outputs in RUN_DIR as JSON.
"""
import json
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


# ---------------------------------------------------------------------------------------------
# Test models.

def make(path, kind, dtype, seed):
    rng = np.random.default_rng(seed)
    elem = TensorProto.DOUBLE if dtype == "float64" else TensorProto.FLOAT
    np_type = np.float64 if dtype == "float64" else np.float32
    inits = []

    def init(name, *shape, scale=0.5):
        values = (scale * rng.standard_normal(shape)).astype(np_type)
        if len(shape) == 1:   # biases in the typed float_data/double_data fields, weights as raw_data
            inits.append(helper.make_tensor(name, elem, shape, values.tolist(), raw=False))
        else:
            inits.append(numpy_helper.from_array(values, name))
        return name

    if kind.startswith("convnet"):
        # 1×6×6 → Conv 2 3x3 pad 1 → Tanh → MaxPool 2 → Conv 3 2x2 → Softplus → AveragePool 2 stride 1
        #      → Flatten → Gemm 3→5 (transB=1) → Sigmoid → MatMul 5→3 + Add
        x = helper.make_tensor_value_info("x", elem, ["N", 1, 6, 6])
        y = helper.make_tensor_value_info("logits", elem, ["N", 3])
        nodes = [
            helper.make_node("Conv", ["x", init("c1.w", 2, 1, 3, 3), init("c1.b", 2)], ["h1"], name="conv1",
                             kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1]),
            helper.make_node("Tanh", ["h1"], ["a1"], name="tanh1"),
            helper.make_node("MaxPool", ["a1"], ["p1"], name="pool1", kernel_shape=[2, 2], strides=[2, 2]),
            helper.make_node("Conv", ["p1", init("c2.w", 3, 2, 2, 2)] + ([] if kind == "convnet-mixed-bias" else [init("c2.b", 3)]),
                             ["h2"], name="conv2", kernel_shape=[2, 2]),
            helper.make_node("Softplus", ["h2"], ["a2"], name="softplus2"),
            helper.make_node("AveragePool", ["a2"], ["p2"], name="pool2", kernel_shape=[2, 2], strides=[1, 1]),
            helper.make_node("Flatten", ["p2"], ["f"], name="flatten", axis=1),
            helper.make_node("Gemm", ["f", init("d1.w", 5, 3), init("d1.b", 5)], ["h3"], name="dense1", transB=1),
            helper.make_node("Sigmoid", ["h3"], ["a3"], name="sigmoid3"),
            helper.make_node("MatMul", ["a3", init("d2.w", 5, 3)], ["h4"], name="dense2"),
            helper.make_node("Add", ["h4", init("d2.b", 3)], ["logits"], name="bias2"),
        ]
        if kind == "convnet-bad-op":
            nodes[4] = helper.make_node("Elu", ["h2"], ["a2"], name="elu2")
        if kind == "convnet-branch":
            nodes[6] = helper.make_node("Flatten", ["a2"], ["f"], name="flatten", axis=1)
        if kind == "convnet-wrong-size":
            inits[-4] = numpy_helper.from_array(np.zeros((5, 4), dtype=np_type), "d1.w")
        if kind == "convnet-two-outputs":
            extra = helper.make_tensor_value_info("a1", elem, ["N", 2, 6, 6])
            graph = helper.make_graph(nodes, "test", [x], [y, extra], inits)
            onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
            return
        if kind == "convnet-softmax":
            nodes[-1] = helper.make_node("Add", ["h4", "d2.b"], ["z"], name="bias2")
            nodes.append(helper.make_node("Softmax", ["z"], ["logits"], name="softmax", axis=1))
    elif kind == "mlp":
        # d = 4 → Gemm 4→6 (transB=0) → Relu → Reshape [N, −1] → Gemm 6→3 (transB=1)
        x = helper.make_tensor_value_info("x", elem, ["N", 4])
        y = helper.make_tensor_value_info("logits", elem, ["N", 3])
        inits.append(numpy_helper.from_array(np.array([-1, 6], dtype=np.int64), "shape"))
        nodes = [
            helper.make_node("Gemm", ["x", init("w1", 4, 6), init("b1", 6)], ["h1"], name="fc1"),
            helper.make_node("Relu", ["h1"], ["a1"], name="relu1"),
            helper.make_node("Reshape", ["a1", "shape"], ["r1"], name="reshape"),
            helper.make_node("Gemm", ["r1", init("w2", 3, 6), init("b2", 3)], ["logits"], name="fc2", transB=1),
        ]
    else:
        raise SystemExit(f"unknown kind {kind}")
    graph = helper.make_graph(nodes, "test", [x], [y], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    if "-" not in kind or kind == "convnet-external":
        onnx.checker.check_model(model)
    if kind == "convnet-external":   # as PyTorch's dynamo exporter saves: the weights in a side file
        onnx.save_model(model, path, save_as_external_data=True, all_tensors_to_one_file=True,
                        location=path.split("/")[-1] + ".data", size_threshold=0)
    else:
        onnx.save(model, path)


# ---------------------------------------------------------------------------------------------
# The graph in NumPy: forward with a tape, backward by hand. Works on complex arrays (complex step).

def conv_patches(x, kh, kw, stride, pad):
    """(r, t) → the input values each output position sees at kernel offset (r, t)."""
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    ho = (xp.shape[2] - kh) // stride + 1
    wo = (xp.shape[3] - kw) // stride + 1
    return xp, ho, wo, {(r, t): xp[:, :, r:r + stride * ho:stride, t:t + stride * wo:stride] for r in range(kh) for t in range(kw)}


def attributes(node):
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def forward(graph, params, x):
    values = {graph.input[0].name: x}
    tape = []
    consts = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    for node in graph.node:
        a = attributes(node)
        inp = values[node.input[0]]
        op = node.op_type
        if op == "Conv":
            w = params[node.input[1]]
            kh, kw = w.shape[2:]
            s = a.get("strides", [1, 1])[0]
            p = a.get("pads", [0, 0, 0, 0])[0]
            xp, ho, wo, patches = conv_patches(inp, kh, kw, s, p)
            out = np.zeros((inp.shape[0], w.shape[0], ho, wo), dtype=np.result_type(inp, w))
            for (r, t), patch in patches.items():
                out += np.einsum("nchw,oc->nohw", patch, w[:, :, r, t])
            if len(node.input) > 2:
                out = out + params[node.input[2]][None, :, None, None]
            tape.append((node, inp, (xp.shape, s, p)))
        elif op in ("MaxPool", "AveragePool"):
            k = a["kernel_shape"][0]
            s = a.get("strides", [1, 1])[0]
            _, ho, wo, patches = conv_patches(inp, k, k, s, 0)
            stack = np.stack([patches[(r, t)] for r in range(k) for t in range(k)])
            if op == "MaxPool":
                idx = np.argmax(stack.real, axis=0)   # the first maximum in the window, by value
                out = np.take_along_axis(stack, idx[None], axis=0)[0]
            else:
                idx = None
                out = stack.mean(axis=0)
            tape.append((node, inp, (k, s, ho, wo, idx)))
        elif op in ("Flatten", "Reshape"):
            out = inp.reshape(inp.shape[0], -1)
            tape.append((node, inp, None))
        elif op == "Gemm":
            w = params[node.input[1]]
            w = w.T if a.get("transB", 0) else w
            out = inp @ w
            if len(node.input) > 2:
                out = out + params[node.input[2]]
            tape.append((node, inp, None))
        elif op == "MatMul":
            out = inp @ params[node.input[1]]
            tape.append((node, inp, None))
        elif op == "Add":
            out = inp + params[node.input[1]]
            tape.append((node, inp, None))
        elif op == "Tanh":
            out = np.tanh(inp)
            tape.append((node, inp, out))
        elif op == "Sigmoid":
            out = 1 / (1 + np.exp(-inp))
            tape.append((node, inp, out))
        elif op == "Softplus":
            out = np.log1p(np.exp(inp))
            tape.append((node, inp, 1 / (1 + np.exp(-inp))))
        elif op == "Relu":
            out = np.where(inp.real > 0, inp, 0)
            tape.append((node, inp, None))
        else:
            raise SystemExit(f"reference: operator {op} not implemented")
        values[node.output[0]] = out
    return values[graph.output[0].name], tape


def backward(tape, params, dout):
    grads = {}
    for node, inp, saved in reversed(tape):
        op = node.op_type
        a = attributes(node)
        if op == "Conv":
            w = params[node.input[1]]
            kh, kw = w.shape[2:]
            xp_shape, s, p = saved
            _, ho, wo, patches = conv_patches(inp, kh, kw, s, p)
            gw = np.zeros_like(w, dtype=np.result_type(w, dout))
            dxp = np.zeros(xp_shape, dtype=np.result_type(inp, dout, w))
            for (r, t), patch in patches.items():
                gw[:, :, r, t] = np.einsum("nohw,nchw->oc", dout, patch)
                dxp[:, :, r:r + s * ho:s, t:t + s * wo:s] += np.einsum("nohw,oc->nchw", dout, w[:, :, r, t])
            grads[node.input[1]] = gw
            if len(node.input) > 2:
                grads[node.input[2]] = dout.sum(axis=(0, 2, 3))
            dout = dxp[:, :, p:xp_shape[2] - p, p:xp_shape[3] - p]
        elif op in ("MaxPool", "AveragePool"):
            k, s, ho, wo, idx = saved
            dx = np.zeros(inp.shape, dtype=np.result_type(inp, dout))
            for q, (r, t) in enumerate([(r, t) for r in range(k) for t in range(k)]):
                share = np.where(idx == q, dout, 0) if op == "MaxPool" else dout / (k * k)
                dx[:, :, r:r + s * ho:s, t:t + s * wo:s] += share
            dout = dx
        elif op in ("Flatten", "Reshape"):
            dout = dout.reshape(inp.shape)
        elif op in ("Gemm", "MatMul"):
            w = params[node.input[1]]
            trans = op == "Gemm" and a.get("transB", 0)
            wm = w.T if trans else w
            gw = inp.T @ dout
            grads[node.input[1]] = gw.T if trans else gw
            if op == "Gemm" and len(node.input) > 2:
                grads[node.input[2]] = dout.sum(axis=0)
            dout = dout @ wm.T
        elif op == "Add":
            grads[node.input[1]] = dout.sum(axis=0)
        elif op == "Tanh":
            dout = dout * (1 - saved ** 2)
        elif op == "Sigmoid":
            dout = dout * saved * (1 - saved)
        elif op == "Softplus":
            dout = dout * saved
        elif op == "Relu":
            dout = np.where(inp.real > 0, dout, 0)
    return grads


def loss_and_gradient(graph, params, x, labels):
    logits, tape = forward(graph, params, x)
    n = logits.shape[0]
    m = logits.real.max(axis=1, keepdims=True)
    lse = m + np.log(np.exp(logits - m).sum(axis=1, keepdims=True))
    loss = (lse[:, 0] - logits[np.arange(n), labels]).mean()
    dz = np.exp(logits - lse)
    dz[np.arange(n), labels] -= 1
    return loss, backward(tape, params, dz / n)


def layout(graph):
    """θ's blocks in Landscape's documented order (docs/onnx.md): per affine node, weight then bias,
    a weight stored [in, out] (MatMul, Gemm with transB = 0) transposed to [out, in]."""
    blocks = []
    nodes = list(graph.node)
    for i, node in enumerate(nodes):
        if node.op_type in ("Conv", "Gemm", "MatMul"):
            transposed = node.op_type == "MatMul" or (node.op_type == "Gemm" and not attributes(node).get("transB", 0))
            blocks.append((node.input[1], transposed))
            if len(node.input) > 2:
                blocks.append((node.input[2], False))
            elif i + 1 < len(nodes) and nodes[i + 1].op_type == "Add":
                blocks.append((nodes[i + 1].input[1], False))
    return blocks


def flatten(blocks, tensors):
    return np.concatenate([(tensors[name].T if t else tensors[name]).reshape(-1) for name, t in blocks])


def unflatten(blocks, theta, like):
    out, offset = {}, 0
    for name, t in blocks:
        shape = like[name].shape
        size = int(np.prod(shape))
        piece = theta[offset:offset + size]
        out[name] = piece.reshape(shape[::-1]).T if t else piece.reshape(shape)
        offset += size
    return out


def load(model_path, x_path, y_path):
    """The graph, its initialisers (float64), θ's blocks, θ, the samples in the graph's input shape, the labels."""
    graph = onnx.load(model_path).graph
    stored = {t.name: numpy_helper.to_array(t).astype(np.float64) for t in graph.initializer}
    blocks = layout(graph)
    x = np.load(x_path).astype(np.float64)
    shape = [d.dim_value for d in graph.input[0].type.tensor_type.shape.dim[1:]]
    return graph, stored, blocks, flatten(blocks, stored), x.reshape([x.shape[0]] + shape), np.load(y_path).astype(np.int64)


def check(model_path, x_path, y_path, v_path, run):
    graph, stored, blocks, theta, x, labels = load(model_path, x_path, y_path)
    directions = np.atleast_2d(np.load(v_path))

    loss, grads = loss_and_gradient(graph, unflatten(blocks, theta, stored), x, labels)
    gradient = flatten(blocks, grads)
    h = 1e-30
    products = []
    for v in directions:
        _, g = loss_and_gradient(graph, unflatten(blocks, theta + 1j * h * v, stored), x, labels)
        products.append(flatten(blocks, g).imag / h)
    products = np.array(products)

    ours = json.load(open(f"{run}/summary.json"))
    ours_gradient = np.load(f"{run}/gradient.npy")
    ours_products = np.atleast_2d(np.load(f"{run}/products.npy"))

    def rel(a, b):
        return float(np.abs(np.asarray(a) - np.asarray(b)).max() / max(np.abs(np.asarray(b)).max(), 1e-300))

    print(json.dumps({
        "M": int(theta.size),
        "loss": float(loss.real),
        "loss_difference": rel(ours["loss"], loss.real),
        "gradient_difference": rel(ours_gradient, gradient.real),
        "products_difference": rel(ours_products, products),
        "symmetry": float(abs(directions[0] @ ours_products[1] - directions[1] @ ours_products[0]) / abs(directions[0] @ ours_products[1]))
        if len(directions) > 1 else None,
    }))


def hessian(model_path, x_path, y_path):
    """The Hessian of the mean loss by complex-step columns, and its eigenvalues (numpy.linalg.eigvalsh)."""
    graph, stored, blocks, theta, x, labels = load(model_path, x_path, y_path)
    h = 1e-30
    columns = []
    for j in range(theta.size):
        e = np.zeros(theta.size)
        e[j] = 1
        _, g = loss_and_gradient(graph, unflatten(blocks, theta + 1j * h * e, stored), x, labels)
        columns.append(flatten(blocks, g).imag / h)
    H = np.array(columns).T
    return H, np.linalg.eigvalsh((H + H.T) / 2)


if __name__ == "__main__":
    if sys.argv[1] == "eigenvalues":
        H, w = hessian(*sys.argv[2:5])
        print(json.dumps({"asymmetry": float(np.abs(H - H.T).max() / np.abs(H).max()), "eigenvalues": w.tolist()}))
    elif sys.argv[1] == "make":
        make(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
    elif sys.argv[1] == "check":
        check(*sys.argv[2:7])
    else:
        raise SystemExit(__doc__)
