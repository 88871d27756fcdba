"""Writes ONNX models made outside convscope, with ONNX Runtime's outputs, for the import tests.

    python3 tools/onnx/make_import_fixtures.py DIR

The models are built node by node with onnx.helper (the ONNX project's own builder), with
seeded random weights, and checked with onnx.checker; ONNX Runtime (CPU, one thread) computes
their outputs on seeded random pictures. convscope's importer never sees how they were made:
tests/onnx_import.rs reads DIR and compares its own outputs with ONNX Runtime's (1e-5).

(The issue asked for torch.onnx.export; PyTorch's wheels on the Python package registry pull
several gigabytes of CUDA libraries, beyond a test's budget. onnx.helper writes the same
operators, with the layouts and attributes PyTorch's exporter uses: OIHW kernels, Gemm with
transB = 1, pads as [top, left, bottom, right], Flatten of NCHW maps.)

DIR/<case>/ holds:
    model.onnx     the model
    input.f32      N pictures, (N, C, H, W) little-endian float32, pixels in [0, 1]
    output.f32     ONNX Runtime's outputs, (N, K) float32
    case.json      {"n", "channels", "height", "width", "outputs",
                    "ends_in": "logits" | "softmax" | "sigmoid", "trainable": bool}
DIR/bad/<name>.onnx, with DIR/bad/cases.json {name: a phrase the error message must hold}.

It runs in the virtualenv of tools/imagenet/make_onnx.py (build/venv-onnx). Exit codes: 0
written; 1 failed; 3 the package registry cannot be reached while the virtualenv is made.
"""

import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "imagenet"))
from make_onnx import Failure, ensure_venv, venv_dir  # noqa: E402  (one virtualenv recipe)


def in_venv(argv):
    venv = venv_dir()
    if Path(sys.prefix).resolve() != venv:
        python = ensure_venv(venv)
        os.execv(str(python), [str(python), str(Path(__file__).resolve()), *argv])


class Net:
    """A graph under construction: nodes, initializers, and a seeded generator for weights."""

    def __init__(self, seed, channels, height, width):
        import numpy as np
        self.np = np
        self.rng = np.random.default_rng(seed)
        self.nodes, self.inits = [], []
        self.shape = (channels, height, width)
        self.count = 0

    def weight(self, name, *dims, scale=None, positive=False):
        np = self.np
        fan_in = int(np.prod(dims[1:])) if len(dims) > 1 else 1
        scale = scale or (1.0 / np.sqrt(max(fan_in, 1)))
        w = self.rng.uniform(-scale, scale, dims).astype(np.float32)
        if positive:
            w = (np.abs(w) + 0.5).astype(np.float32)
        from onnx import numpy_helper
        self.inits.append(numpy_helper.from_array(w, name))
        return name

    def const(self, name, array):
        from onnx import numpy_helper
        self.inits.append(numpy_helper.from_array(array, name))
        return name

    def op(self, op_type, inputs, name=None, **attributes):
        from onnx import helper
        self.count += 1
        name = name or f"{op_type.lower()}_{self.count}"
        out = f"{name}_out"
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=name, **attributes))
        return out

    def conv(self, x, c_in, c_out, k, group=1, bias=True, **attributes):
        kh, kw = (k, k) if isinstance(k, int) else k
        self.count += 1
        base = f"conv{self.count}"
        ins = [x, self.weight(f"{base}.w", c_out, c_in // group, kh, kw)]
        if bias:
            ins.append(self.weight(f"{base}.b", c_out, scale=0.1))
        return self.op("Conv", ins, name=base, kernel_shape=[kh, kw], group=group, **attributes)

    def bn(self, x, c):
        self.count += 1
        base = f"bn{self.count}"
        ins = [x, self.weight(f"{base}.gamma", c, positive=True), self.weight(f"{base}.beta", c, scale=0.2),
               self.weight(f"{base}.mean", c, scale=0.2), self.weight(f"{base}.var", c, positive=True)]
        return self.op("BatchNormalization", ins, name=base, epsilon=1e-3)

    def gemm(self, x, n_in, n_out, trans_b=True):
        self.count += 1
        base = f"fc{self.count}"
        w = self.weight(f"{base}.w", *((n_out, n_in) if trans_b else (n_in, n_out)))
        return self.op("Gemm", [x, w, self.weight(f"{base}.b", n_out, scale=0.1)], name=base,
                       transB=1 if trans_b else 0)

    def model(self, output, outputs, dynamic=None):
        from onnx import TensorProto, helper
        c, h, w = self.shape
        dims = ["N", c, h, w]
        if dynamic:
            dims[dynamic] = "size"
        graph = helper.make_graph(
            self.nodes, "fixture",
            [helper.make_tensor_value_info("input", TensorProto.FLOAT, dims)],
            [helper.make_tensor_value_info(output, TensorProto.FLOAT, ["N", outputs])],
            self.inits)
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="convscope-import-fixtures")
        m.ir_version = 8
        return m


def chain_sigmoid():
    """A smile-detector-like chain (Conv+ReLU, MaxPool, "same" Conv, BN, AveragePool, Flatten,
    Gemm+ReLU, Dropout, Gemm, Sigmoid): convscope keeps it as a model it can train."""
    n = Net(1, 3, 20, 18)
    x = n.op("Relu", [n.conv("input", 3, 6, 3, pads=[1, 1, 1, 1])])
    x = n.op("MaxPool", [x], kernel_shape=[2, 2], strides=[2, 2])
    x = n.op("Relu", [n.conv(x, 6, 8, 3, strides=[2, 2], auto_pad="SAME_UPPER")])
    x = n.bn(x, 8)
    x = n.op("AveragePool", [x], kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1])
    x = n.op("Flatten", [x], axis=1)
    x = n.op("Relu", [n.gemm(x, 8 * 5 * 5, 16)])
    x = n.op("Dropout", [x])
    x = n.op("Sigmoid", [n.gemm(x, 16, 1)])
    return n.model(x, 1), 1, "sigmoid", True


def chain_softmax():
    """Reshape to a vector, MatMul + Add, Identity, Softmax over 4 classes (trainable)."""
    n = Net(2, 1, 12, 12)
    x = n.op("Relu", [n.conv("input", 1, 4, 5, dilations=[2, 2], pads=[2, 2, 2, 2])])
    x = n.op("MaxPool", [x], kernel_shape=[3, 3], strides=[3, 3])
    x = n.op("Reshape", [x, n.const("shape", n.np.array([-1, 4 * 2 * 2], dtype=n.np.int64))])
    x = n.op("MatMul", [x, n.weight("mm.w", 16, 4)])
    x = n.op("Add", [x, n.weight("mm.b", 4, scale=0.1)])
    x = n.op("Identity", [x])
    x = n.op("Softmax", [x], axis=1)
    return n.model(x, 4), 4, "softmax", True


def residual():
    """A residual block: Conv-BN-ReLU-Conv-BN + the block's input, ReLU, GlobalAveragePool,
    Flatten, Gemm (logits)."""
    n = Net(3, 3, 16, 16)
    stem = n.op("Relu", [n.bn(n.conv("input", 3, 8, 3, strides=[2, 2], pads=[1, 1, 1, 1], bias=False), 8)])
    y = n.op("Relu", [n.bn(n.conv(stem, 8, 8, 3, pads=[1, 1, 1, 1], bias=False), 8)])
    y = n.bn(n.conv(y, 8, 8, 3, pads=[1, 1, 1, 1], bias=False), 8)
    x = n.op("Relu", [n.op("Add", [y, stem])])
    x = n.op("Flatten", [n.op("GlobalAveragePool", [x])], axis=1)
    x = n.gemm(x, 8, 5)
    return n.model(x, 5), 5, "logits", False


def depthwise():
    """MobileNet-like: the input normalized by Sub / Div, a depthwise Conv (group = channels),
    Clip(0, 6) as ReLU6 (limits as inputs), a 1x1 projection, GlobalAveragePool, Reshape, Gemm,
    Softmax."""
    np_ = __import__("numpy")
    n = Net(4, 3, 14, 13)
    x = n.op("Sub", ["input", n.const("mean", np_.array([0.5, 0.4, 0.3], np_.float32).reshape(1, 3, 1, 1))])
    x = n.op("Div", [x, n.const("std", np_.array([0.25, 0.2, 0.3], np_.float32).reshape(1, 3, 1, 1))])
    lo, hi = n.const("zero", np_.array(0, np_.float32)), n.const("six", np_.array(6, np_.float32))
    x = n.op("Clip", [n.bn(n.conv(x, 3, 12, 3, strides=[2, 2], pads=[0, 0, 1, 1], bias=False), 12), lo, hi])
    x = n.op("Clip", [n.conv(x, 12, 12, 3, group=12, pads=[1, 1, 1, 1]), lo, hi])
    x = n.bn(n.conv(x, 12, 6, 1, bias=False), 6)
    x = n.op("GlobalAveragePool", [x])
    x = n.op("Reshape", [x, n.const("shape", np_.array([0, -1], np_.int64))])
    x = n.op("Softmax", [n.gemm(x, 6, 3)], axis=-1)
    return n.model(x, 3), 3, "softmax", False


def asymmetric():
    """Asymmetric pads and a 3x1 kernel, a padded MaxPool with uneven pads, and a Flatten of an
    NCHW map into a Gemm (the order convscope's NHWC flatten must match), Softmax."""
    n = Net(5, 2, 11, 9)
    x = n.op("Relu", [n.conv("input", 2, 5, 3, pads=[0, 1, 2, 1], strides=[2, 2])])
    x = n.conv(x, 5, 4, (3, 1), pads=[1, 0, 1, 0])
    x = n.op("MaxPool", [x], kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 1, 1])
    x = n.op("Flatten", [x], axis=1)
    x = n.op("Softmax", [n.gemm(x, 4 * 3 * 3, 6)], axis=1)
    return n.model(x, 6), 6, "softmax", False


def bad_cases(folder):
    from onnx import helper
    cases = {}

    def save(name, model, phrase):
        (folder / f"{name}.onnx").write_bytes(model.SerializeToString())
        cases[name] = phrase

    m, *_ = chain_softmax()
    bytes_ = m.SerializeToString()
    (folder / "truncated.onnx").write_bytes(bytes_[: len(bytes_) // 2])
    cases["truncated"] = "cut short or damaged"

    n = Net(6, 1, 8, 8)
    x = n.op("LeakyRelu", [n.conv("input", 1, 2, 3)], name="the_leaky_one", alpha=0.1)
    x = n.gemm(n.op("Flatten", [x]), 2 * 6 * 6, 2)
    save("unsupported_operator", n.model(x, 2), "LeakyRelu")

    n = Net(7, 1, 8, 8)
    x = n.gemm(n.op("Flatten", [n.conv("input", 1, 2, 3)]), 72, 2)
    save("dynamic_height", n.model(x, 2, dynamic=2), "fixed channels, height and width")

    n = Net(8, 1, 8, 8)
    x = n.gemm(n.op("Flatten", [n.conv("input", 1, 2, 3)]), 72, 2)
    m = n.model(x, 2)
    del m.graph.initializer[0]  # the kernel
    save("missing_initializer", m, "initializer missing")

    # a -> b -> a: a cycle.
    n = Net(9, 1, 4, 4)
    n.nodes.append(helper.make_node("Add", ["input", "b_out"], ["a_out"], name="a"))
    n.nodes.append(helper.make_node("Relu", ["a_out"], ["b_out"], name="b"))
    x = n.gemm(n.op("Flatten", ["b_out"]), 16, 2)
    save("cycle", n.model(x, 2), "cycle")
    (folder / "cases.json").write_text(json.dumps(cases, indent=1))


def write(folder):
    import numpy as np
    import onnx
    import onnxruntime as ort

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(42)
    for make in (chain_sigmoid, chain_softmax, residual, depthwise, asymmetric):
        model, outputs, ends_in, trainable = make()
        onnx.checker.check_model(model, full_check=True)
        case = folder / make.__name__
        case.mkdir(exist_ok=True)
        (case / "model.onnx").write_bytes(model.SerializeToString())
        dims = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim[1:]]
        n = 7
        x = rng.uniform(0, 1, (n, *dims)).astype(np.float32)
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
        y = session.run(None, {"input": x})[0]
        if y.shape != (n, outputs):
            raise Failure(1, f"{make.__name__}: ONNX Runtime gives {y.shape}")
        x.astype("<f4").tofile(case / "input.f32")
        y.astype("<f4").tofile(case / "output.f32")
        c, h, w = dims
        (case / "case.json").write_text(json.dumps({
            "n": n, "channels": c, "height": h, "width": w, "outputs": outputs,
            "ends_in": ends_in, "trainable": trainable}))
        print(f"{make.__name__}: {len(model.graph.node)} nodes, outputs {y.shape}")
    bad = folder / "bad"
    bad.mkdir(exist_ok=True)
    bad_cases(bad)


def main(argv):
    try:
        if len(argv) != 1:
            print(__doc__, file=sys.stderr)
            return 1
        in_venv(argv)
        write(Path(argv[0]))
    except Failure as e:
        print(f"error: {e}", file=sys.stderr)
        return e.code
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
