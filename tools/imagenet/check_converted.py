"""Checks the converted model file end to end against the independent reference.

    python3 tools/imagenet/check_converted.py [MODEL]   (default build/imagenet/efficientnet-lite0.safetensors)

What it is for: proving that convert.py and the graph spec in its docstring are right. It
reads ONLY the model file (its safetensors header, tensors and graph JSON), interprets the
graph's nodes generically in float64 numpy, and compares the logits of the photos in
tests/fixtures/imagenet/ with reference.json (made by make_reference.py from the .pth with its
own forward pass): within 1e-6 * max(1, |reference|), same top-5. What it never does: read the
.pth or import convert.py. Runs in the virtualenv of tests/fixtures/imagenet/venv.py (numpy
and scikit-image, to read the PNGs). Exits 1 on any mismatch.
"""

import json
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "imagenet"
sys.path.insert(0, str(FIXTURES))
from venv import reexec_in_venv  # noqa: E402

reexec_in_venv(__file__)

import numpy as np  # noqa: E402
import skimage.io  # noqa: E402

TOLERANCE = 1e-6


def read_model(path):
    """(metadata, graph, tensors name -> float64 array), checking the file's layout."""
    blob = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", blob[:8])
    assert n % 8 == 0, f"header length {n} is not a multiple of 8"
    raw = blob[8 : 8 + n]
    header = json.loads(raw.decode("utf-8"))
    assert raw.rstrip(b" ") == raw.rstrip(), "the header is padded with something other than spaces"
    meta = header.pop("__metadata__")
    assert all(isinstance(v, str) for v in meta.values()), "metadata values must be strings"
    assert meta["format"] == "convscope-model" and meta["version"] == "2", meta
    assert meta["training"] == "null"
    data = blob[8 + n :]
    tensors, end = {}, 0
    for name, h in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        a, b = h["data_offsets"]
        assert h["dtype"] == "F32" and a == end and b <= len(data), (name, h)
        shape = h["shape"]
        assert (b - a) == 4 * int(np.prod(shape, dtype=np.int64)), (name, h)
        tensors[name] = np.frombuffer(data[a:b], dtype="<f4").reshape(shape).astype(np.float64)
        end = b
    assert end == len(data), "bytes after the last tensor"
    graph = json.loads(meta["model"])["graph"]
    classes = json.loads(meta["classes"])
    assert isinstance(classes, list) and len(classes) == 1000 and all(isinstance(c, str) for c in classes)
    source = json.loads(meta["source"])
    return meta, graph, classes, source, tensors


def conv2d(x, kernel, bias, node):
    """x (H, W, C), kernel (KH, KW, C / groups, C_out) -> (H', W', C_out)."""
    kh, kw = node["kernel"]
    sh, sw = node["stride"]
    dh, dw = node["dilation"]
    top, bottom, left, right = node["pads"]
    g = node["groups"]
    h, w, c = x.shape
    c_out = node["filters"]
    assert kernel.shape == (kh, kw, c // g, c_out), (node["name"], kernel.shape)
    xp = np.pad(x, ((top, bottom), (left, right), (0, 0)))
    ho = (h + top + bottom - dh * (kh - 1) - 1) // sh + 1
    wo = (w + left + right - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((ho, wo, c_out))
    for i in range(kh):
        for j in range(kw):
            patch = xp[i * dh : i * dh + sh * (ho - 1) + 1 : sh, j * dw : j * dw + sw * (wo - 1) + 1 : sw]
            k = kernel[i, j]  # (C / g, C_out)
            if g == 1:
                out += patch @ k
            else:
                pg = patch.reshape(ho, wo, g, c // g)
                kg = k.reshape(c // g, g, c_out // g)
                out += np.einsum("hwgc,cgo->hwgo", pg, kg).reshape(ho, wo, c_out)
    if bias is not None:
        out += bias
    return out


def run_graph(graph, tensors, image):
    """The output node's value for `image` (H, W, 3) with pixels in [0, 1]."""
    norm = graph["normalize"]
    values = {"image": (image - np.array(norm["mean"])) / np.array(norm["std"])}
    inp = graph["input"]
    assert image.shape == (inp["height"], inp["width"], inp["channels"])
    for node in graph["nodes"]:
        name, op = node["name"], node["op"]
        xs = [values[i] for i in node["inputs"]]
        if op == "conv2d":
            bias = tensors[name + ".bias"] if node["use_bias"] else None
            y = conv2d(xs[0], tensors[name + ".kernel"], bias, node)
        elif op == "batch_norm":
            t = {k: tensors[f"{name}.{k}"] for k in ("gamma", "beta", "moving_mean", "moving_variance")}
            y = (xs[0] - t["moving_mean"]) / np.sqrt(t["moving_variance"] + node["epsilon"]) * t["gamma"] + t["beta"]
        elif op == "relu6":
            y = np.clip(xs[0], 0.0, 6.0)
        elif op == "add":
            assert len(xs) == 2 and xs[0].shape == xs[1].shape, name
            y = xs[0] + xs[1]
        elif op == "global_avg_pool":
            y = xs[0].mean(axis=(0, 1))
        elif op == "dense":
            y = xs[0] @ tensors[name + ".kernel"] + tensors[name + ".bias"]
            assert y.shape == (node["units"],)
        else:
            raise AssertionError(f"unknown op {op} in node {name}")
        assert name not in values, f"node name {name} used twice"
        values[name] = y
    return values[graph["output"]]


def main():
    model = sys.argv[1] if len(sys.argv) > 1 else ROOT / "build" / "imagenet" / "efficientnet-lite0.safetensors"
    meta, graph, classes, source, tensors = read_model(model)
    ref = json.loads((FIXTURES / "reference.json").read_text())
    assert source["sha256"] == ref["weights"]["sha256"], "the model file was made from other weights"
    assert graph["head"] == "softmax"
    n_params = sum(t.size for t in tensors.values())
    print(f"{model}: {len(graph['nodes'])} nodes, {len(tensors)} tensors, {n_params} values")
    worst, ok = 0.0, True
    for photo in ref["photos"]:
        img = skimage.io.imread(FIXTURES / photo["file"])
        logits = run_graph(graph, tensors, img / 255.0)
        want = np.array(photo["logits"])
        err = np.max(np.abs(logits - want) / np.maximum(1.0, np.abs(want)))
        worst = max(worst, err)
        top5 = np.argsort(-logits, kind="stable")[:5].tolist()
        want5 = [t["index"] for t in photo["top5"]]
        names_ok = all(classes[t["index"]] == t["name"] for t in photo["top5"])
        good = err <= TOLERANCE and top5 == want5 and names_ok
        ok &= good
        print(f"  {photo['file']}: max error {err:.2e} (relative to max(1, |ref|)), top-5 {top5}"
              f" {'ok' if good else 'MISMATCH (want ' + str(want5) + ')'}"
              f"{'' if names_ok else ', class names differ'}")
    print(f"{'ok' if ok else 'FAILED'}: worst logit error {worst:.2e}, tolerance {TOLERANCE:g}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
