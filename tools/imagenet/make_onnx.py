"""Writes convscope's graph model file as an ONNX model and checks it with ONNX Runtime.

    python3 tools/imagenet/make_onnx.py [--model FILE] [--out FILE] [--force]   convert (when out of date), then check
    python3 tools/imagenet/make_onnx.py check [--out FILE]                      check an existing .onnx only

What it is for: the baseline of the bench's ImageNet row (bench/imagenet_ort.mjs runs the .onnx
in ONNX Runtime Web in headless Chromium, beside convscope's own graph-model inference). It
reads ONLY the graph model file (format: tools/imagenet/convert.py's docstring; default
build/imagenet/efficientnet-lite0.safetensors, made by fetch_and_convert.py) with the standard
library and numpy, and writes build/imagenet/efficientnet-lite0.onnx. What it never does:
read the .pth, download weights, or change the graph model file.

## The ONNX model

    opset 17 of the default domain ("ai.onnx"), IR version 8; float32 throughout
    input   "image"   (1, 3, 224, 224) NCHW, RGB, pixels in [0, 1]: the same pixels convscope's
                      graph takes. The normalization is in the graph: Sub(mean), Div(std), with
                      the graph file's "normalize" as (1, 3, 1, 1) constants.
    output  "logits"  (1, 1000), before the softmax of the graph's "head"

Node by node (the value names are the graph's node names; the graph's output node writes
"logits"):

    conv2d           Conv. HWIO kernels (KH, KW, C_in / groups, C_out) -> OIHW (C_out, C_in /
                     groups, KH, KW); depthwise (KH, KW, 1, C) -> (C, 1, KH, KW) with group = C.
                     pads [top, bottom, left, right] -> ONNX [top, left, bottom, right]; strides,
                     dilations, and the bias when use_bias.
    batch_norm       BatchNormalization (version 15: inference, the moving statistics), epsilon
    relu6            Clip(x, 0, 6) (min and max as scalar inputs, as Clip-13 takes them)
    add              Add
    global_avg_pool  GlobalAveragePool -> (1, C, 1, 1), then Flatten(axis=1) -> (1, C)
    dense            Gemm(x, kernel (in, out), bias), transB = 0

metadata_props: "convscope.source" (the graph file's source record, with the weights' SHA-256),
"convscope.classes" (the 1000 class names, a JSON array) and "convscope.graph_file" (the graph
file's SHA-256). The same graph file gives the same bytes on every run.

## The check

onnx.checker.check_model (full check: strict shape inference, which must give "logits" the shape
(1, 1000)), then ONNX Runtime (Python, CPU, one thread) on the four photos of
tests/fixtures/imagenet/ (pixels / 255, HWC -> CHW): every logit within
TOLERANCE * max(1, |reference|) of reference.json and the same top-5. It prints the worst error.

Runs itself in a throwaway virtualenv, build/venv-onnx (or $CONVSCOPE_ONNX_VENV), created the
first time with PACKAGES from the Python package registry (the pattern of
tests/fixtures/imagenet/venv.py). Exit codes: 0 written / up to date and checked; 1 any other
failure (a mismatch, a malformed graph file); 3 the package registry cannot be reached while
the virtualenv is being made (fetch_and_convert.py's convention).
"""

import argparse
import hashlib
import json
import os
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "imagenet"
DEFAULT_MODEL = ROOT / "build" / "imagenet" / "efficientnet-lite0.safetensors"
DEFAULT_OUT = ROOT / "build" / "imagenet" / "efficientnet-lite0.onnx"
DEFAULT_VENV = ROOT / "build" / "venv-onnx"

# Pinned, so that the .onnx and the check's numbers come from the same code every time.
# onnxruntime 1.31.1 is the version of the npm devDependency onnxruntime-web the bench runs.
PACKAGES = ["numpy==2.4.6", "onnx==1.23.2", "onnxruntime==1.31.1"]
OPSET = 17
IR_VERSION = 8  # the IR version of opset 17 (onnx 1.12)
TOLERANCE = 1e-4  # relative to max(1, |reference logit|)


class Failure(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


# ---------------------------------------------------------------- the virtualenv

def venv_dir():
    return Path(os.environ.get("CONVSCOPE_ONNX_VENV", DEFAULT_VENV)).resolve()


def ensure_venv(venv):
    """The virtualenv's python, making the virtualenv (or finishing an install that failed)."""
    python = venv / "bin" / "python"
    stamp = venv / "convscope-packages.txt"  # written only after pip succeeded
    want = "\n".join(PACKAGES) + "\n"
    if python.exists() and stamp.exists() and stamp.read_text() == want:
        return python
    if not python.exists():
        print(f"creating the ONNX virtualenv in {venv} (once)", file=sys.stderr)
        subprocess.check_call([sys.executable, "-m", "venv", str(venv)])
    print(f"installing {' '.join(PACKAGES)} into {venv}", file=sys.stderr)
    r = subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                        "--retries", "2", "--timeout", "30", *PACKAGES],
                       capture_output=True, text=True)
    if r.returncode != 0:
        sys.path.insert(0, str(HERE))
        from fetch_and_convert import offline_reason

        out = r.stdout + r.stderr
        reason = offline_reason(out)
        if reason is not None:
            raise Failure(3, f"cannot make the ONNX virtualenv {venv}: the Python package registry "
                             f"is not reachable ({reason}); once it is, run this again")
        tail = "\n".join(out.strip().splitlines()[-5:])
        raise Failure(1, f"pip could not install {' '.join(PACKAGES)} into {venv}:\n{tail}")
    stamp.write_text(want)
    return python


def reexec_in_venv(argv):
    venv = venv_dir()
    if Path(sys.prefix).resolve() == venv:
        return
    python = ensure_venv(venv)
    os.execv(str(python), [str(python), str(Path(__file__).resolve()), *argv])


# ---------------------------------------------------------------- standard library parts

def onnx_pads(pads):
    """The graph file's [top, bottom, left, right] as ONNX's [top, left, bottom, right]."""
    top, bottom, left, right = pads
    return [top, left, bottom, right]


def read_png(path):
    """(height, width, bytes of height * width * 3 RGB values, row-major) of an 8-bit RGB or RGBA
    (alpha dropped), non-interlaced PNG. Checks every chunk's CRC."""
    blob = Path(path).read_bytes()
    if blob[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path} is not a PNG")
    pos, idat, ihdr = 8, [], None
    while pos < len(blob):
        (n,) = struct.unpack(">I", blob[pos : pos + 4])
        kind, data = blob[pos + 4 : pos + 8], blob[pos + 8 : pos + 8 + n]
        (crc,) = struct.unpack(">I", blob[pos + 8 + n : pos + 12 + n])
        if zlib.crc32(kind + data) != crc:
            raise ValueError(f"{path}: bad CRC in chunk {kind!r}")
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", data)
        elif kind == b"IDAT":
            idat.append(data)
        elif kind == b"IEND":
            break
        pos += 12 + n
    if ihdr is None:
        raise ValueError(f"{path}: no IHDR")
    width, height, depth, color, _, _, interlace = ihdr
    if depth != 8 or color not in (2, 6) or interlace != 0:
        raise ValueError(f"{path}: only 8-bit RGB / RGBA non-interlaced PNGs are read "
                         f"(depth {depth}, color type {color}, interlace {interlace})")
    bpp = 3 if color == 2 else 4
    stride = width * bpp
    raw = zlib.decompress(b"".join(idat))
    if len(raw) != height * (stride + 1):
        raise ValueError(f"{path}: {len(raw)} bytes of image data, expected {height * (stride + 1)}")
    prev = bytearray(stride)
    out = bytearray()
    for y in range(height):
        f = raw[y * (stride + 1)]
        row = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        if f == 1:
            for i in range(bpp, stride):
                row[i] = (row[i] + row[i - bpp]) & 255
        elif f == 2:
            for i in range(stride):
                row[i] = (row[i] + prev[i]) & 255
        elif f == 3:
            for i in range(stride):
                left = row[i - bpp] if i >= bpp else 0
                row[i] = (row[i] + ((left + prev[i]) >> 1)) & 255
        elif f == 4:
            for i in range(stride):
                a = row[i - bpp] if i >= bpp else 0
                b = prev[i]
                c = prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                row[i] = (row[i] + pred) & 255
        elif f != 0:
            raise ValueError(f"{path}: unknown filter {f} in row {y}")
        out += row if bpp == 3 else bytes(v for i, v in enumerate(row) if i % 4 != 3)
        prev = row
    return height, width, bytes(out)


def read_header(blob):
    """(header without __metadata__, metadata, offset of the tensor bytes) of a safetensors blob."""
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8 : 8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    return header, meta, 8 + n


# ---------------------------------------------------------------- numpy / onnx parts

def read_model(path):
    """(metadata, graph, tensors name -> float32 array, SHA-256 of the file) of a graph model file."""
    import numpy as np

    blob = Path(path).read_bytes()
    header, meta, start = read_header(blob)
    if meta.get("format") != "convscope-model" or meta.get("version") != "2":
        raise Failure(1, f"{path} is not a convscope graph model file version 2 "
                         f"(format {meta.get('format')!r}, version {meta.get('version')!r})")
    tensors = {}
    for name, h in header.items():
        a, b = h["data_offsets"]
        if h["dtype"] != "F32" or b - a != 4 * int(np.prod(h["shape"], dtype=np.int64)) or start + b > len(blob):
            raise Failure(1, f"{path}: tensor {name} is malformed: {h}")
        tensors[name] = np.frombuffer(blob, dtype="<f4", count=(b - a) // 4, offset=start + a).reshape(h["shape"])
    graph = json.loads(meta["model"])["graph"]
    return meta, graph, tensors, hashlib.sha256(blob).hexdigest()


def build_onnx(graph, tensors, metadata_props=()):
    """The onnx.ModelProto of a graph (the graph JSON's "graph" object) and its tensors."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    inits, nodes, used = [], [], set()

    def const(name, values):
        inits.append(numpy_helper.from_array(np.ascontiguousarray(values, dtype=np.float32), name))
        return name

    def take(node, tname, shape=None):
        key = f"{node['name']}.{tname}"
        if key not in tensors:
            raise Failure(1, f"node {node['name']} ({node['op']}) has no tensor {key}")
        t = tensors[key]
        if shape is not None and list(t.shape) != list(shape):
            raise Failure(1, f"{key} has the shape {list(t.shape)}, not {list(shape)}")
        used.add(key)
        return t

    inp = graph["input"]
    h, w, c = inp["height"], inp["width"], inp["channels"]
    norm = graph["normalize"]
    mean = const("normalize.mean", np.array(norm["mean"]).reshape(1, c, 1, 1))
    std = const("normalize.std", np.array(norm["std"]).reshape(1, c, 1, 1))
    nodes.append(helper.make_node("Sub", ["image", mean], ["image_minus_mean"], name="normalize_sub"))
    nodes.append(helper.make_node("Div", ["image_minus_mean", std], ["normalized"], name="normalize_div"))
    onnx_name = {"image": "normalized"}  # the graph's value name -> the ONNX tensor's
    channels = {"image": c}  # channel count of each value, to check the kernels against
    relu6_bounds = None
    for node in graph["nodes"]:
        name, op = node["name"], node["op"]
        if name in onnx_name:
            raise Failure(1, f"node name {name} used twice")
        xs = [onnx_name[i] for i in node["inputs"]]
        cin = channels[node["inputs"][0]]
        out = "logits" if name == graph["output"] else name
        if op == "conv2d":
            kh, kw = node["kernel"]
            g, cout = node["groups"], node["filters"]
            if g < 1 or cin % g or cout % g:
                raise Failure(1, f"{name}: groups {g} do not divide {cin} inputs and {cout} filters")
            kernel = take(node, "kernel", (kh, kw, cin // g, cout))
            # HWIO -> OIHW; for depthwise (KH, KW, 1, C) -> (C, 1, KH, KW).
            ins = [xs[0], const(f"{name}.weight", kernel.transpose(3, 2, 0, 1))]
            if node["use_bias"]:
                ins.append(const(f"{name}.bias", take(node, "bias", (cout,))))
            nodes.append(helper.make_node(
                "Conv", ins, [out], name=name, kernel_shape=[kh, kw], strides=list(node["stride"]),
                pads=onnx_pads(node["pads"]), dilations=list(node["dilation"]), group=g))
            channels[name] = cout
        elif op == "batch_norm":
            ins = [xs[0]] + [const(f"{name}.{t}", take(node, t, (cin,)))
                             for t in ("gamma", "beta", "moving_mean", "moving_variance")]
            nodes.append(helper.make_node("BatchNormalization", ins, [out], name=name,
                                          epsilon=float(node["epsilon"])))
            channels[name] = cin
        elif op == "relu6":
            if relu6_bounds is None:
                relu6_bounds = [const("relu6.min", np.array(0.0)), const("relu6.max", np.array(6.0))]
            nodes.append(helper.make_node("Clip", [xs[0], *relu6_bounds], [out], name=name))
            channels[name] = cin
        elif op == "add":
            if len(xs) != 2 or channels[node["inputs"][1]] != cin:
                raise Failure(1, f"{name}: add takes two inputs of one shape")
            nodes.append(helper.make_node("Add", xs, [out], name=name))
            channels[name] = cin
        elif op == "global_avg_pool":
            nodes.append(helper.make_node("GlobalAveragePool", xs, [f"{name}_nchw"], name=name))
            nodes.append(helper.make_node("Flatten", [f"{name}_nchw"], [out], name=f"{name}_flatten", axis=1))
            channels[name] = cin
        elif op == "dense":
            units = node["units"]
            ins = [xs[0], const(f"{name}.kernel", take(node, "kernel", (cin, units))),
                   const(f"{name}.bias", take(node, "bias", (units,)))]
            nodes.append(helper.make_node("Gemm", ins, [out], name=name))
            channels[name] = units
        else:
            raise Failure(1, f"unknown op {op!r} in node {name}")
        onnx_name[name] = out
    if graph["output"] not in onnx_name:
        raise Failure(1, f"the output {graph['output']} is no node's name")
    unused = sorted(set(tensors) - used)
    if unused:
        raise Failure(1, f"tensors no node reads: {unused[:5]}{' ...' if len(unused) > 5 else ''}")
    g = helper.make_graph(
        nodes, "convscope_graph",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, c, h, w])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, channels[graph["output"]]])],
        initializer=inits)
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="convscope tools/imagenet/make_onnx.py",
                              ir_version=IR_VERSION)
    model.doc_string = ("convscope's graph model file as ONNX: input 'image' (1, 3, H, W) NCHW RGB "
                        "pixels in [0, 1] (normalized in the graph), output 'logits' before softmax")
    for k, v in metadata_props:
        model.metadata_props.add(key=k, value=v)
    onnx.checker.check_model(model)
    return model


def convert(model_path, out):
    import onnx

    t0 = time.monotonic()
    meta, graph, tensors, digest = read_model(model_path)
    model = build_onnx(graph, tensors, [("convscope.source", meta.get("source", "null")),
                                        ("convscope.classes", meta.get("classes", "null")),
                                        ("convscope.graph_file", digest)])
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    onnx.save(model, str(tmp))
    os.replace(tmp, out)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB, {len(model.graph.node)} ONNX nodes, "
          f"opset {OPSET}) from {model_path} in {time.monotonic() - t0:.1f} s", file=sys.stderr)


def photo_input(path):
    """The (1, 3, H, W) float32 NCHW input of a fixture PNG: pixels / 255."""
    import numpy as np

    h, w, rgb = read_png(path)
    hwc = np.frombuffer(rgb, dtype=np.uint8).reshape(h, w, 3)
    return (hwc.astype(np.float32) / np.float32(255.0)).transpose(2, 0, 1)[None].copy()


def check(onnx_path):
    import numpy as np
    import onnx
    import onnxruntime as ort

    model = onnx.load(str(onnx_path))
    onnx.checker.check_model(model, full_check=True)
    inferred = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    dims = [d.dim_value for d in inferred.graph.output[0].type.tensor_type.shape.dim]
    opsets = {o.domain or "ai.onnx": o.version for o in model.opset_import}
    if inferred.graph.output[0].name != "logits" or dims != [1, 1000]:
        raise Failure(1, f"the output is {inferred.graph.output[0].name} {dims}, not logits [1, 1000]")
    props = {p.key: p.value for p in model.metadata_props}
    classes = json.loads(props.get("convscope.classes", "null"))
    ref = json.loads((FIXTURES / "reference.json").read_text())
    source = json.loads(props.get("convscope.source", "null")) or {}
    if source.get("sha256") != ref["weights"]["sha256"]:
        raise Failure(1, f"{onnx_path} was made from other weights than reference.json's")
    print(f"{onnx_path}: onnx.checker full check ok; opset {opsets}, IR version {model.ir_version}, "
          f"{len(model.graph.node)} nodes, {sum(int(np.prod(t.dims)) for t in model.graph.initializer)} "
          f"values; output logits {dims}; onnx {onnx.__version__}, onnxruntime {ort.__version__}")
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    session = ort.InferenceSession(str(onnx_path), so, providers=["CPUExecutionProvider"])
    worst, ok = 0.0, True
    for photo in ref["photos"]:
        x = photo_input(FIXTURES / photo["file"])
        t = time.monotonic()
        (logits,) = session.run(["logits"], {"image": x})
        ms = (time.monotonic() - t) * 1e3
        logits = logits[0].astype(np.float64)
        want = np.array(photo["logits"])
        rel = np.abs(logits - want) / np.maximum(1.0, np.abs(want))
        err = float(rel.max())
        worst = max(worst, err)
        top5 = np.argsort(-logits, kind="stable")[:5].tolist()
        want5 = [t["index"] for t in photo["top5"]]
        names_ok = classes is not None and all(classes[t["index"]] == t["name"] for t in photo["top5"])
        good = err <= TOLERANCE and top5 == want5 and names_ok
        ok &= good
        print(f"  {photo['file']}: worst error {err:.2e} (logit {int(rel.argmax())}, relative to "
              f"max(1, |ref|)), top-5 {top5} {'ok' if good else 'MISMATCH (want ' + str(want5) + ')'}"
              f"{'' if names_ok else ', class names differ'}; {ms:.0f} ms")
    print(f"{'ok' if ok else 'FAILED'}: worst logit error {worst:.2e}, tolerance {TOLERANCE:g} "
          f"(ONNX Runtime {ort.__version__}, CPU, one thread)")
    if not ok:
        raise Failure(1, "the ONNX model does not reproduce reference.json")


def up_to_date(out, inputs):
    return out.exists() and all(p.stat().st_mtime <= out.stat().st_mtime for p in inputs)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("mode", nargs="?", choices=["convert", "check"], default="convert",
                    help="convert (when out of date) and check (default), or check only")
    ap.add_argument("--model", default=str(DEFAULT_MODEL), help="the graph model file to read")
    ap.add_argument("--out", default=str(DEFAULT_OUT), help="the .onnx file to write (or check)")
    ap.add_argument("--force", action="store_true", help="convert even when the output is up to date")
    args = ap.parse_args(argv)
    out, model = Path(args.out), Path(args.model)
    try:
        if args.mode == "check" and not out.exists():
            raise Failure(1, f"no {out}: run python3 tools/imagenet/make_onnx.py first")
        if args.mode == "convert" and not model.exists():
            raise Failure(1, f"no graph model file at {model}: run python3 tools/imagenet/fetch_and_convert.py")
        reexec_in_venv(argv)
        if args.mode == "convert":
            if not args.force and up_to_date(out, [model, Path(__file__).resolve()]):
                print(f"{out} is up to date", file=sys.stderr)
            else:
                convert(model, out)
        check(out)
    except Failure as e:
        print(f"error: {e}", file=sys.stderr)
        return e.code
    return 0


if __name__ == "__main__":
    sys.exit(main())
