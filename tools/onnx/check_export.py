"""Checks a model convscope exported to ONNX on the other side: onnx.checker and ONNX Runtime.

    python3 tools/onnx/check_export.py --setup    make the virtualenv only (exit 0, or 3 offline)
    python3 tools/onnx/check_export.py DIR        check the export in DIR

DIR (written by tests/onnx_export.rs) holds:
    model.onnx      the exported model (input "image" NCHW, output "probabilities")
    images.f32      N pictures, (N, H, W, C) little-endian float32, pixels in [0, 1]
    expected.f32    convscope's probabilities for them, (N, K) float32
    case.json       {"n": N, "height": H, "width": W, "channels": C, "outputs": K,
                     "tolerance": 1e-5}

The check: onnx.checker.check_model with full_check (strict shape inference), then ONNX Runtime
(CPU, one thread) on the pictures transposed to NCHW; every probability within `tolerance`
(absolute) of convscope's and the same top-1 wherever convscope's top two differ by more than
the tolerance. It prints the largest difference. It runs in the virtualenv of
tools/imagenet/make_onnx.py (build/venv-onnx, the same pinned onnx and onnxruntime), made on
first use. Exit codes: 0 passed; 1 failed; 3 the package registry cannot be reached while the
virtualenv is being made.
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


def check(folder):
    import numpy as np
    import onnx
    import onnxruntime as ort

    case = json.loads((folder / "case.json").read_text())
    n, h, w, c, k = (case[key] for key in ("n", "height", "width", "channels", "outputs"))
    tolerance = case["tolerance"]
    model_path = folder / "model.onnx"
    onnx.checker.check_model(onnx.load(str(model_path)), full_check=True)

    images = np.fromfile(folder / "images.f32", dtype="<f4").reshape(n, h, w, c)
    expected = np.fromfile(folder / "expected.f32", dtype="<f4").reshape(n, k)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
    names = ([i.name for i in session.get_inputs()], [o.name for o in session.get_outputs()])
    if names != (["image"], ["probabilities"]):
        raise Failure(1, f"the model's inputs and outputs are {names}, not image -> probabilities")
    got = session.run(None, {"image": np.ascontiguousarray(images.transpose(0, 3, 1, 2))})[0]
    if got.shape != (n, k):
        raise Failure(1, f"ONNX Runtime gives shape {got.shape}, convscope {(n, k)}")
    diff = np.abs(got.astype(np.float64) - expected)
    worst = float(diff.max())
    print(f"{n} pictures, {k} outputs: largest |ONNX Runtime - convscope| = {worst:.3g} "
          f"(tolerance {tolerance:g})")
    if not worst <= tolerance:
        i = int(diff.max(axis=1).argmax())
        raise Failure(1, f"picture {i}: ONNX Runtime {got[i].tolist()}, convscope {expected[i].tolist()}")
    if k > 1:
        top2 = np.sort(expected, axis=1)[:, -2:]
        clear = (top2[:, 1] - top2[:, 0]) > tolerance
        disagree = np.flatnonzero(clear & (got.argmax(axis=1) != expected.argmax(axis=1)))
        if disagree.size:
            raise Failure(1, f"a different top-1 class on pictures {disagree.tolist()[:10]}")
    else:
        clear = np.abs(expected[:, 0] - 0.5) > tolerance
        disagree = np.flatnonzero(clear & ((got[:, 0] > 0.5) != (expected[:, 0] > 0.5)))
        if disagree.size:
            raise Failure(1, f"a different predicted class on pictures {disagree.tolist()[:10]}")


def main(argv):
    try:
        if argv == ["--setup"]:
            ensure_venv(venv_dir())
            return 0
        if len(argv) != 1:
            print(__doc__, file=sys.stderr)
            return 1
        in_venv(argv)
        check(Path(argv[0]))
    except Failure as e:
        print(f"error: {e}", file=sys.stderr)
        return e.code
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
