"""Reads a PyTorch state dict saved in the legacy (pre-zip) serialization, without PyTorch.

What it is for: getting the pretrained EfficientNet-Lite0 weights out of their `.pth` file with
the Python standard library only, for the converter (convert.py) and the fixture scripts.
What it never does: run code from the file. A pickle can call any importable function, so the
unpickler here resolves only the globals listed in ALLOWED_GLOBALS and refuses everything else.

The legacy layout, as `torch.save(..., _use_new_zipfile_serialization=False)` writes it:

    pickle 1   the magic number 0x1950a86a20f9469cfc6c
    pickle 2   the protocol version, 1001
    pickle 3   system info: {"protocol_version", "little_endian", "type_sizes"}
    pickle 4   the object itself (here an OrderedDict name -> tensor). Each tensor is
               torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad,
               backward_hooks), and each storage is a persistent id
               ("storage", StorageClass, key, location, numel, view_metadata)
    pickle 5   the storage keys, in the order their bytes follow
    then       per storage: its element count as a little-endian u64, then its elements
               (little-endian, the storage type's element size each)

Tensors are rebuilt in C (row-major) order honouring their strides and storage offsets: some
are stored non-contiguously (the stem kernel (32, 3, 3, 3) has strides (1, 32, 288, 96)).
"""

import array
import collections
import io
import itertools
import pickle
import struct
import sys

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
PROTOCOL_VERSION = 1001

# Element type per storage class: (array typecode, bytes per element, dtype name).
STORAGE_TYPES = {
    "FloatStorage": ("f", 4, "float32"),
    "LongStorage": ("q", 8, "int64"),
}


class LegacyFormatError(ValueError):
    """The file is not a legacy PyTorch state dict this reader understands."""


class _StorageType:
    """Stands for torch.FloatStorage / torch.LongStorage inside the pickle: only a name."""

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"torch.{self.name}"


class _StorageRef:
    """A storage named in the pickle; its bytes are filled in after the last pickle."""

    def __init__(self, key, storage_type, numel):
        self.key = key
        self.storage_type = storage_type
        self.numel = numel
        self.data = None  # array.array once read


class Tensor:
    """A tensor as the file stores it: a view (offset, shape, strides) on a storage."""

    def __init__(self, storage, offset, shape, strides):
        self.storage = storage
        self.offset = offset
        self.shape = tuple(shape)
        self.strides = tuple(strides)

    @property
    def dtype(self):
        return STORAGE_TYPES[self.storage.storage_type.name][2]

    @property
    def numel(self):
        n = 1
        for d in self.shape:
            n *= d
        return n

    def is_contiguous(self):
        expected = 1
        for d, s in zip(reversed(self.shape), reversed(self.strides)):
            if d != 1 and s != expected:
                return False
            expected *= d
        return True

    def values(self):
        """The elements in C order, as an array.array ('f' for float32, 'q' for int64)."""
        return strided_gather(self.storage.data, self.offset, self.shape, self.strides)

    def __repr__(self):
        return f"Tensor({self.dtype}, shape={self.shape}, strides={self.strides})"


def strided_gather(flat, offset, shape, strides):
    """Elements of the view (offset, shape, strides) on `flat`, in C order, as a new array."""
    out = array.array(flat.typecode)
    if any(d == 0 for d in shape):
        return out
    if not shape:
        out.append(flat[offset])
        return out
    last_n, last_s = shape[-1], strides[-1]
    ranges = [range(d) for d in shape[:-1]]
    for idx in itertools.product(*ranges):
        base = offset + sum(i * s for i, s in zip(idx, strides[:-1]))
        if last_s == 0:
            out.extend([flat[base]] * last_n)
        else:
            out.extend(flat[base : base + last_s * (last_n - 1) + 1 : last_s])
    return out


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, metadata=None):
    if not isinstance(storage, _StorageRef):
        raise LegacyFormatError("a tensor refers to something that is not a storage")
    return Tensor(storage, storage_offset, size, stride)


# The only globals a state dict of float tensors (and int64 batch counters) needs. Anything
# else named by the pickle is refused before it is looked up.
ALLOWED_GLOBALS = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch", "FloatStorage"): _StorageType("FloatStorage"),
    ("torch", "LongStorage"): _StorageType("LongStorage"),
}


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that resolves only ALLOWED_GLOBALS and collects the storages it meets."""

    def __init__(self, file):
        super().__init__(file)
        self.storages = {}

    def find_class(self, module, name):
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing the global {module}.{name}: a state dict needs only "
                + ", ".join(f"{m}.{n}" for m, n in ALLOWED_GLOBALS)
            ) from None

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 6 and pid[0] == "storage"):
            raise LegacyFormatError(f"unexpected persistent id {pid!r}")
        _, storage_type, key, _location, numel, view_metadata = pid
        if not isinstance(storage_type, _StorageType):
            raise LegacyFormatError(f"unexpected storage type {storage_type!r}")
        if view_metadata is not None:
            # Old files could store a view of a larger storage; none of ours does.
            raise LegacyFormatError(f"storage views are not supported (storage {key})")
        ref = self.storages.get(key)
        if ref is None:
            ref = self.storages[key] = _StorageRef(key, storage_type, numel)
        return ref


def load(source):
    """The state dict in `source` (a path, bytes or a binary file) as OrderedDict name -> Tensor.

    Raises LegacyFormatError (or pickle.UnpicklingError for a refused global) when the file is
    not what this reader expects.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        f = io.BytesIO(source)
    elif hasattr(source, "read"):
        f = source
    else:
        with open(source, "rb") as fh:
            return load(fh.read())

    def next_pickle():
        u = RestrictedUnpickler(f)
        return u.load(), u

    try:
        magic, _ = next_pickle()
        if magic != MAGIC_NUMBER:
            raise LegacyFormatError("not a legacy PyTorch file (wrong magic number)")
        version, _ = next_pickle()
        if version != PROTOCOL_VERSION:
            raise LegacyFormatError(f"unsupported protocol version {version!r}")
        info, _ = next_pickle()
        if not info.get("little_endian", False):
            raise LegacyFormatError("big-endian files are not supported")
        state, u = next_pickle()
        keys, _ = next_pickle()
    except EOFError:
        raise LegacyFormatError("the file ends inside its pickles") from None
    if not isinstance(state, dict):
        raise LegacyFormatError("the file holds no state dict")
    storages = u.storages
    if not isinstance(keys, list) or set(keys) != set(storages):
        raise LegacyFormatError("the storage key list does not match the tensors")

    for key in keys:
        ref = storages[key]
        typecode, size, _ = STORAGE_TYPES[ref.storage_type.name]
        head = f.read(8)
        if len(head) != 8:
            raise LegacyFormatError(f"the file ends before storage {key}")
        (numel,) = struct.unpack("<q", head)
        if numel != ref.numel:
            raise LegacyFormatError(f"storage {key}: {numel} elements, the pickle said {ref.numel}")
        raw = f.read(numel * size)
        if len(raw) != numel * size:
            raise LegacyFormatError(f"the file ends inside storage {key}")
        data = array.array(typecode)
        data.frombytes(raw)
        if sys.byteorder != "little":
            data.byteswap()
        ref.data = data
    if f.read(1):
        raise LegacyFormatError("unexpected bytes after the last storage")

    for name, t in state.items():
        if not isinstance(t, Tensor):
            raise LegacyFormatError(f"{name} is not a tensor")
        if len(t.shape) != len(t.strides) or t.offset < 0 or any(s < 0 for s in t.strides):
            raise LegacyFormatError(f"{name} has a malformed view")
        last = t.offset + sum((d - 1) * s for d, s in zip(t.shape, t.strides))
        if t.numel and last >= len(t.storage.data):
            raise LegacyFormatError(f"{name} reaches outside its storage")
    return state
