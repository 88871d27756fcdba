"""Converts the EfficientNet-Lite0 state dict into convscope's graph model file (stdlib only).

What it is for: turning the pretrained weights (read by torch_legacy.py) and the ImageNet class
names into the one file the page and the command line load. What it never does: download
anything (fetch_and_convert.py does), or run a forward pass (the fixture and
check_converted.py do).

## The graph model file (version 2)

A safetensors file:

    8 bytes      N, the header length, a little-endian u64
    N bytes      the JSON header, padded with spaces to a multiple of 8 bytes
    the rest     the tensor bytes: little-endian f32, C (row-major) order

The header maps each tensor name to {"dtype": "F32", "shape": [...], "data_offsets":
[begin, end]} (byte offsets from the start of the tensor bytes), plus "__metadata__", whose
values are all strings:

    format    "convscope-model"
    version   "2"
    model     the graph JSON below, as a string
    classes   a JSON array of the 1000 ImageNet class names, as a string
    source    a JSON object with the wheel name, its version, the .pth name and its SHA-256
    training  "null"

The graph JSON:

    {"graph": {"input": {"height": 224, "width": 224, "channels": 3},
               "normalize": {"mean": [m, m, m], "std": [s, s, s]},
               "nodes": [...], "output": "fc", "head": "softmax"}}

Pixels are in [0, 1]; the network sees (x - mean) / std per channel. Nodes come in topological
order, each {"name", "op", "inputs": [names], ...attributes}; the first reads "image". Ops:

    conv2d           filters, kernel [kh, kw], stride [sh, sw], pads [top, bottom, left, right]
                     (explicit, for the fixed 224x224 input), dilation [1, 1], groups (1, or the
                     channel count for depthwise), use_bias. Tensors <name>.kernel of shape
                     (KH, KW, C_in / groups, C_out) (HWIO) and <name>.bias (C_out) if use_bias.
    batch_norm       epsilon, momentum 0.99. Tensors <name>.gamma, .beta, .moving_mean,
                     .moving_variance, each (C). Inference uses the moving statistics.
    relu6            min(max(x, 0), 6)
    add              two inputs of one shape: the residual connection
    global_avg_pool  (H, W, C) -> (C)
    dense            units. Tensors <name>.kernel (in, out) and <name>.bias (out).

## EfficientNet-Lite0 as a graph

stem (conv 3x3 stride 2, 32 filters) -> stem_bn -> stem_relu6, then 16 MBConv blocks
b0..b15, then head (conv 1x1, 1280) -> head_bn -> head_relu6 -> pool -> fc (1000 logits).
A block is [b{i}_expand (1x1) -> _bn -> _relu6] (absent in b0, whose expansion ratio is 1)
-> b{i}_dw (depthwise, groups = channels) -> _bn -> _relu6 -> b{i}_project (1x1) -> _bn
[-> b{i}_add with the block's input, when the block has stride 1 and as many output as
input channels]. No squeeze-excitation, ReLU6 throughout (the Lite variant).

Kernel sizes, channel counts and the expansion come from the weight shapes. The strides do
not show in the weights; they are EfficientNet-Lite0's (its seven stages have strides 1, 2,
2, 2, 1, 2, 1 and 1, 2, 2, 3, 3, 4, 1 blocks; the stride is the first block's): BLOCK_STRIDES.

The padding rule, the input normalization and the batch-norm epsilon are the ones the
reference check (tests/fixtures/imagenet/make_reference.py, README there) settled: see
PADDING, NORMALIZE_MEAN / NORMALIZE_STD and BN_EPSILON.
"""

import array
import json
import re
import struct
import sys

import torch_legacy

INPUT_SIZE = 224
INPUT_CHANNELS = 3
NUM_CLASSES = 1000
BN_MOMENTUM = 0.99

# Settled by tests/fixtures/imagenet/make_reference.py (see its README).
PADDING = "same"  # TensorFlow "same": the odd pixel of padding goes to the bottom / right
BN_EPSILON = 1e-3
NORMALIZE_MEAN = [127.0 / 255.0] * 3  # the network sees (255 x - 127) / 128
NORMALIZE_STD = [128.0 / 255.0] * 3

# EfficientNet-Lite0, one stride per MBConv block (stages of 1, 2, 2, 3, 3, 4, 1 blocks).
BLOCK_STRIDES = [1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1, 1, 1, 1]

EXPECTED_TENSORS = 296
EXPECTED_VALUES = 4_694_073  # including the 49 int64 num_batches_tracked counters


class ConversionError(ValueError):
    """The state dict is not the EfficientNet-Lite0 this converter knows."""


def pads_for(size, kernel, stride, rule=PADDING):
    """(before, after, out) along one axis of length `size` for the given padding rule."""
    if rule == "same":
        out = -(-size // stride)
        total = max((out - 1) * stride + kernel - size, 0)
        before = total // 2
        return before, total - before, out
    if rule == "symmetric":
        p = kernel // 2
        return p, p, (size + 2 * p - kernel) // stride + 1
    raise ValueError(f"unknown padding rule {rule!r}")


def permuted(t, perm):
    """The values of Tensor `t` with its axes permuted by `perm`, in C order: (shape, array)."""
    shape = [t.shape[p] for p in perm]
    strides = [t.strides[p] for p in perm]
    return shape, torch_legacy.strided_gather(t.storage.data, t.offset, shape, strides)


class _Builder:
    def __init__(self, sd):
        self.sd = sd
        self.used = set()
        self.nodes = []
        self.tensors = {}  # name -> (shape, array('f')), in insertion order

    def take(self, key):
        if key not in self.sd:
            raise ConversionError(f"the state dict has no {key}")
        self.used.add(key)
        t = self.sd[key]
        if t.dtype != "float32":
            raise ConversionError(f"{key} is {t.dtype}, not float32")
        return t

    def node(self, name, op, inputs, tensors=(), **attrs):
        self.nodes.append({"name": name, "op": op, "inputs": list(inputs), **attrs})
        for tname, (shape, values) in tensors:
            self.tensors[f"{name}.{tname}"] = (list(shape), values)
        return name

    def conv(self, name, src, key, size, stride, depthwise=False):
        """A conv2d node from the PyTorch weight `key` (OIHW); returns (name, C_out, size)."""
        w = self.take(key + ".weight")
        c_out, c_in_g, kh, kw = w.shape
        ph = pads_for(size, kh, stride)
        pw = pads_for(size, kw, stride)
        if depthwise and c_in_g != 1:
            raise ConversionError(f"{key} is not a depthwise kernel: {w.shape}")
        # OIHW -> HWIO; for depthwise (C, 1, KH, KW) -> (KH, KW, 1, C).
        tensors = [("kernel", permuted(w, (2, 3, 1, 0)))]
        use_bias = key + ".bias" in self.sd
        if use_bias:
            b = self.take(key + ".bias")
            tensors.append(("bias", (list(b.shape), b.values())))
        self.node(name, "conv2d", [src], tensors, filters=c_out, kernel=[kh, kw],
                  stride=[stride, stride], pads=[ph[0], ph[1], pw[0], pw[1]], dilation=[1, 1],
                  groups=c_out if depthwise else 1, use_bias=use_bias)
        return name, c_out, ph[2]

    def bn(self, name, src, key, channels):
        tensors = []
        for ours, theirs in [("gamma", "weight"), ("beta", "bias"), ("moving_mean", "running_mean"),
                             ("moving_variance", "running_var")]:
            t = self.take(f"{key}.{theirs}")
            if t.shape != (channels,):
                raise ConversionError(f"{key}.{theirs} has shape {t.shape}, expected ({channels},)")
            tensors.append((ours, (list(t.shape), t.values())))
        self.used.add(f"{key}.num_batches_tracked")
        return self.node(name, "batch_norm", [src], tensors, epsilon=BN_EPSILON, momentum=BN_MOMENTUM)

    def conv_bn(self, name, src, key, bn_key, size, stride, relu=True, depthwise=False):
        conv, c, size = self.conv(name, src, key, size, stride, depthwise)
        out = self.bn(name + "_bn", conv, bn_key, c)
        if relu:
            out = self.node(name + "_relu6", "relu6", [out])
        return out, c, size


def build_graph(sd):
    """(graph dict, tensors) for the EfficientNet-Lite0 state dict `sd` (name -> Tensor)."""
    check_counts(sd)
    g = _Builder(sd)
    x, c, size = g.conv_bn("stem", "image", "_conv_stem", "_bn0", INPUT_SIZE, 2)
    n_blocks = len({k.split(".")[1] for k in sd if k.startswith("_blocks.")})
    if n_blocks != len(BLOCK_STRIDES):
        raise ConversionError(f"{n_blocks} blocks, EfficientNet-Lite0 has {len(BLOCK_STRIDES)}")
    for i, stride in enumerate(BLOCK_STRIDES):
        p, b = f"_blocks.{i}.", f"b{i}"
        block_in, c_in = x, c
        if p + "_expand_conv.weight" in sd:
            x, c, size = g.conv_bn(b + "_expand", x, p + "_expand_conv", p + "_bn0", size, 1)
        x, c, size = g.conv_bn(b + "_dw", x, p + "_depthwise_conv", p + "_bn1", size, stride,
                               depthwise=True)
        x, c, size = g.conv_bn(b + "_project", x, p + "_project_conv", p + "_bn2", size, 1,
                               relu=False)
        if stride == 1 and c == c_in:
            x = g.node(b + "_add", "add", [x, block_in])
    x, c, size = g.conv_bn("head", x, "_conv_head", "_bn1", size, 1)
    x = g.node("pool", "global_avg_pool", [x])
    w, bias = g.take("_fc.weight"), g.take("_fc.bias")
    if w.shape != (NUM_CLASSES, c):
        raise ConversionError(f"_fc.weight has shape {w.shape}, expected ({NUM_CLASSES}, {c})")
    x = g.node("fc", "dense", [x], [("kernel", permuted(w, (1, 0))),
                                    ("bias", (list(bias.shape), bias.values()))], units=NUM_CLASSES)
    left = sorted(set(sd) - g.used)
    if left:
        raise ConversionError(f"weights the graph does not use: {', '.join(left[:5])}")
    graph = {"graph": {
        "input": {"height": INPUT_SIZE, "width": INPUT_SIZE, "channels": INPUT_CHANNELS},
        "normalize": {"mean": NORMALIZE_MEAN, "std": NORMALIZE_STD},
        "nodes": g.nodes, "output": x, "head": "softmax"}}
    return graph, g.tensors


def check_counts(sd):
    n_values = sum(t.numel for t in sd.values())
    if len(sd) != EXPECTED_TENSORS or n_values != EXPECTED_VALUES:
        raise ConversionError(
            f"{len(sd)} tensors with {n_values} values; EfficientNet-Lite0 has "
            f"{EXPECTED_TENSORS} with {EXPECTED_VALUES}")


_JS_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}


def _js_string(text, i):
    """The JavaScript string literal starting at text[i] (a quote): (value, index after it)."""
    quote, i, out = text[i], i + 1, []
    while text[i] != quote:
        ch = text[i]
        if ch == "\n":
            raise ValueError("a newline inside a string literal")
        if ch == "\\":
            i += 1
            ch = text[i]
            if ch == "u":
                out.append(chr(int(text[i + 1 : i + 5], 16)))
                i += 4
            elif ch == "x":
                out.append(chr(int(text[i + 1 : i + 3], 16)))
                i += 2
            else:
                out.append(_JS_ESCAPES.get(ch, ch))
        else:
            out.append(ch)
        i += 1
    return "".join(out), i + 1


def parse_class_names(text):
    """The names of `IMAGENET_CLASSES = {0: 'tench, Tinca tinca', ...}` in an imagenet_classes.js.

    Each value is one or more string literals joined by `+`. Returns a list indexed by class.
    """
    start = text.index("IMAGENET_CLASSES = {") + len("IMAGENET_CLASSES = {")
    names, i = {}, start
    space = re.compile(r"\s*")
    while True:
        i = space.match(text, i).end()
        if text[i] == "}":
            break
        m = re.compile(r"(\d+)\s*:\s*").match(text, i)
        if not m:
            raise ValueError(f"unexpected text in the class list: {text[i:i + 40]!r}")
        key, i, parts = int(m.group(1)), m.end(), []
        while True:
            s, i = _js_string(text, i)
            parts.append(s)
            i = space.match(text, i).end()
            if text[i] != "+":
                break
            i = space.match(text, i + 1).end()
        if key in names:
            raise ValueError(f"class {key} appears twice")
        names[key] = "".join(parts)
        if text[i] == ",":
            i += 1
    if sorted(names) != list(range(NUM_CLASSES)):
        raise ValueError(f"{len(names)} classes, expected 0..{NUM_CLASSES - 1}")
    return [names[k] for k in range(NUM_CLASSES)]


def safetensors_bytes(tensors, metadata):
    """The file for `tensors` (name -> (shape, array('f'))) and string `metadata`."""
    header = {"__metadata__": metadata}
    offset, blobs = 0, []
    for name, (shape, values) in tensors.items():
        n = 1
        for d in shape:
            n *= d
        if len(values) != n or values.typecode != "f":
            raise ConversionError(f"{name}: {len(values)} f32 values for shape {shape}")
        if sys.byteorder != "little":
            values = array.array("f", values)
            values.byteswap()
        blob = values.tobytes()
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    if not all(isinstance(v, str) for v in metadata.values()):
        raise ConversionError("safetensors metadata values must be strings")
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return b"".join([struct.pack("<Q", len(h)), h, *blobs])


def convert(sd, class_names, source):
    """The model file's bytes for state dict `sd`, the class names and the `source` record."""
    graph, tensors = build_graph(sd)
    if len(class_names) != NUM_CLASSES:
        raise ConversionError(f"{len(class_names)} class names, expected {NUM_CLASSES}")
    metadata = {
        "format": "convscope-model",
        "version": "2",
        "model": json.dumps(graph, separators=(",", ":")),
        "classes": json.dumps(class_names, ensure_ascii=False, separators=(",", ":")),
        "source": json.dumps(source, separators=(",", ":")),
        "training": "null",
    }
    return safetensors_bytes(tensors, metadata)
