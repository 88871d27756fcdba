"""Unit tests of make_onnx.py (the whole EfficientNet-Lite0 conversion is checked end to end by
`make_onnx.py` itself against tests/fixtures/imagenet/reference.json).

The standard-library parts run with any python3; the conversion tests need numpy, onnx and
onnxruntime and are skipped without them. All of them, from the repository root:

    python3 tools/imagenet/make_onnx.py check      # makes build/venv-onnx (once)
    build/venv-onnx/bin/python -m unittest discover -s tools/imagenet -p 'test_*.py'
"""

import array
import importlib.util
import json
import os
import random
import struct
import subprocess
import sys
import tempfile
import unittest
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import convert  # noqa: E402
import make_onnx  # noqa: E402

HAVE_ONNX = all(importlib.util.find_spec(m) is not None for m in ("numpy", "onnx", "onnxruntime"))


def png_bytes(width, height, pixels, channels, filters):
    """A PNG of 8-bit `pixels` (row-major, `channels` 3 or 4), row y filtered with filters[y % len]."""
    bpp = channels
    stride = width * bpp
    raw, prev = bytearray(), bytes(stride)
    for y in range(height):
        row = pixels[y * stride : (y + 1) * stride]
        f = filters[y % len(filters)]
        out = bytearray()
        for i in range(stride):
            a = row[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 0:
                pred = 0
            elif f == 1:
                pred = a
            elif f == 2:
                pred = b
            elif f == 3:
                pred = (a + b) >> 1
            else:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            out.append((row[i] - pred) & 255)
        raw += bytes([f]) + out
        prev = row

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2 if channels == 3 else 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(bytes(raw)))
            + chunk(b"IEND", b""))


class PadsTest(unittest.TestCase):
    def test_top_bottom_left_right_becomes_top_left_bottom_right(self):
        self.assertEqual(make_onnx.onnx_pads([0, 1, 0, 1]), [0, 0, 1, 1])
        self.assertEqual(make_onnx.onnx_pads([1, 2, 3, 4]), [1, 3, 2, 4])


class PngTest(unittest.TestCase):
    def test_every_filter_rgb_and_rgba(self):
        rng = random.Random(5)
        w, h = 7, 10
        for channels in (3, 4):
            px = bytes(rng.randrange(256) for _ in range(w * h * channels))
            with tempfile.TemporaryDirectory() as d:
                p = Path(d) / "a.png"
                p.write_bytes(png_bytes(w, h, px, channels, [0, 1, 2, 3, 4]))
                hh, ww, rgb = make_onnx.read_png(p)
            want = px if channels == 3 else bytes(v for i, v in enumerate(px) if i % 4 != 3)
            self.assertEqual((hh, ww, rgb), (h, w, want))

    def test_a_bad_crc_is_refused(self):
        blob = bytearray(png_bytes(2, 2, bytes(12), 3, [0]))
        blob[-20] ^= 1  # inside the IDAT chunk
        with tempfile.TemporaryDirectory() as d:
            p = Path(d) / "a.png"
            p.write_bytes(bytes(blob))
            with self.assertRaisesRegex(ValueError, "CRC"):
                make_onnx.read_png(p)

    def test_the_fixtures_are_224_by_224(self):
        h, w, rgb = make_onnx.read_png(make_onnx.FIXTURES / "chelsea.png")
        self.assertEqual((h, w, len(rgb)), (224, 224, 224 * 224 * 3))


class OfflineTest(unittest.TestCase):
    def test_an_unreachable_registry_exits_3(self):
        # A package index on a closed port of this machine stands for an unreachable registry.
        with tempfile.TemporaryDirectory() as d:
            env = {**os.environ, "CONVSCOPE_ONNX_VENV": str(Path(d) / "venv"),
                   "PIP_INDEX_URL": "http://127.0.0.1:9/simple", "PIP_EXTRA_INDEX_URL": ""}
            r = subprocess.run([sys.executable, str(HERE / "make_onnx.py"), "--model", str(HERE / "make_onnx.py"),
                                "--out", str(Path(d) / "x.onnx")], env=env, capture_output=True, text=True)
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn("the Python package registry is not reachable", r.stderr)


def graph_file(graph, tensors):
    """A graph model file version 2 (convert.py's writer) for a graph and numpy tensors."""
    return convert.safetensors_bytes(
        {k: (list(v.shape), array.array("f", v.astype("float32").ravel().tolist())) for k, v in tensors.items()},
        {"format": "convscope-model", "version": "2", "model": json.dumps({"graph": graph}),
         "classes": "[]", "source": "{}", "training": "null"})


def reference_forward(graph, tensors, image):
    """The graph's output for `image` (H, W, C) in float64, written plainly for the test."""
    import numpy as np

    t = {k: v.astype(np.float64) for k, v in tensors.items()}
    norm = graph["normalize"]
    vals = {"image": (image - np.array(norm["mean"])) / np.array(norm["std"])}
    for nd in graph["nodes"]:
        x = vals[nd["inputs"][0]]
        n = nd["name"]
        if nd["op"] == "conv2d":
            kh, kw = nd["kernel"]
            sh, sw = nd["stride"]
            top, bottom, left, right = nd["pads"]
            g, co = nd["groups"], nd["filters"]
            k = t[n + ".kernel"]
            xp = np.pad(x, ((top, bottom), (left, right), (0, 0)))
            ho = (xp.shape[0] - kh) // sh + 1
            wo = (xp.shape[1] - kw) // sw + 1
            ci_g, co_g = x.shape[2] // g, co // g
            y = np.zeros((ho, wo, co))
            for oy in range(ho):
                for ox in range(wo):
                    win = xp[oy * sh : oy * sh + kh, ox * sw : ox * sw + kw]
                    for o in range(co):
                        grp = o // co_g
                        y[oy, ox, o] = np.sum(win[:, :, grp * ci_g : (grp + 1) * ci_g] * k[:, :, :, o])
            if nd["use_bias"]:
                y += t[n + ".bias"]
        elif nd["op"] == "batch_norm":
            y = (x - t[n + ".moving_mean"]) / np.sqrt(t[n + ".moving_variance"] + nd["epsilon"]) * t[n + ".gamma"] + t[n + ".beta"]
        elif nd["op"] == "relu6":
            y = np.minimum(np.maximum(x, 0), 6)
        elif nd["op"] == "add":
            y = x + vals[nd["inputs"][1]]
        elif nd["op"] == "global_avg_pool":
            y = x.mean(axis=(0, 1))
        elif nd["op"] == "dense":
            y = x @ t[n + ".kernel"] + t[n + ".bias"]
        vals[n] = y
    return vals[graph["output"]]


def conv(name, src, filters, kernel, stride, pads, groups=1, use_bias=False):
    return {"name": name, "op": "conv2d", "inputs": [src], "filters": filters, "kernel": kernel,
            "stride": stride, "pads": pads, "dilation": [1, 1], "groups": groups, "use_bias": use_bias}


@unittest.skipUnless(HAVE_ONNX, "needs numpy, onnx and onnxruntime (build/venv-onnx)")
class TinyGraphTest(unittest.TestCase):
    """Every op on a non-square input, a non-square kernel and four different pads, so a
    transposed kernel, a swapped H / W or a wrong pad order changes the output."""

    def setUp(self):
        import numpy as np

        rng = np.random.default_rng(3)
        self.graph = {
            "input": {"height": 9, "width": 8, "channels": 3},
            "normalize": {"mean": [0.1, 0.2, 0.3], "std": [0.5, 0.25, 2.0]},
            "nodes": [
                conv("c1", "image", 4, [3, 2], [2, 1], [0, 2, 1, 0], use_bias=True),
                {"name": "c1_bn", "op": "batch_norm", "inputs": ["c1"], "epsilon": 1e-3, "momentum": 0.99},
                {"name": "c1_relu6", "op": "relu6", "inputs": ["c1_bn"]},
                conv("dw", "c1_relu6", 4, [3, 3], [1, 1], [2, 0, 0, 2], groups=4),
                {"name": "dw_relu6", "op": "relu6", "inputs": ["dw"]},
                conv("pw", "dw_relu6", 4, [1, 1], [1, 1], [0, 0, 0, 0]),
                {"name": "res", "op": "add", "inputs": ["pw", "c1_relu6"]},
                {"name": "pool", "op": "global_avg_pool", "inputs": ["res"]},
                {"name": "fc", "op": "dense", "inputs": ["pool"], "units": 5},
            ],
            "output": "fc", "head": "softmax",
        }
        r = lambda *s: rng.normal(0, 3, s)  # noqa: E731  large enough that relu6 clips on both sides
        self.tensors = {
            "c1.kernel": r(3, 2, 3, 4), "c1.bias": r(4),
            "c1_bn.gamma": r(4), "c1_bn.beta": r(4), "c1_bn.moving_mean": r(4),
            "c1_bn.moving_variance": rng.uniform(0, 2, 4),
            "dw.kernel": r(3, 3, 1, 4), "pw.kernel": r(1, 1, 4, 4),
            "fc.kernel": r(4, 5), "fc.bias": r(5),
        }
        self.tensors = {k: v.astype(np.float32) for k, v in self.tensors.items()}
        self.image = rng.uniform(0, 1, (9, 8, 3))

    def run_onnx(self, graph, tensors):
        import numpy as np
        import onnxruntime as ort

        model = make_onnx.build_onnx(graph, tensors)
        s = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        x = self.image.astype(np.float32).transpose(2, 0, 1)[None]
        (y,) = s.run(["logits"], {"image": x})
        return y

    def test_matches_a_plain_forward_pass(self):
        import numpy as np

        with tempfile.TemporaryDirectory() as d:
            p = Path(d) / "tiny.safetensors"
            p.write_bytes(graph_file(self.graph, self.tensors))
            meta, graph, tensors, _ = make_onnx.read_model(p)
        y = self.run_onnx(graph, tensors)
        want = reference_forward(self.graph, self.tensors, self.image)
        self.assertEqual(y.shape, (1, 5))
        np.testing.assert_allclose(y[0], want, rtol=1e-5, atol=1e-5)
        # The check is sharp: the same graph with the pads in ONNX's own order unconverted differs.
        swapped = json.loads(json.dumps(self.graph))
        swapped["nodes"][0]["pads"] = make_onnx.onnx_pads(swapped["nodes"][0]["pads"])
        self.assertGreater(np.abs(reference_forward(swapped, self.tensors, self.image) - want).max(), 1e-3)

    def test_a_tensor_no_node_reads_is_refused(self):
        extra = {**self.tensors, "stray.bias": self.tensors["fc.bias"]}
        with self.assertRaisesRegex(make_onnx.Failure, "no node reads"):
            make_onnx.build_onnx(self.graph, extra)

    def test_a_kernel_of_the_wrong_shape_is_refused(self):
        bad = {**self.tensors, "dw.kernel": self.tensors["dw.kernel"].reshape(3, 3, 4, 1)}
        with self.assertRaisesRegex(make_onnx.Failure, "dw.kernel has the shape"):
            make_onnx.build_onnx(self.graph, bad)


if __name__ == "__main__":
    unittest.main()
