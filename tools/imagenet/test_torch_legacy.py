"""Unit tests of torch_legacy.py on hand-built legacy files (no PyTorch needed).

Run from the repository root:  python3 -m unittest discover -s tools/imagenet -p 'test_*.py'

The files are written opcode by opcode (pickle protocol 2, as torch.save wrote them), so the
tests show exactly what the reader accepts and what it refuses.
"""

import os
import pickle
import struct
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import torch_legacy  # noqa: E402


def _str(s):
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b  # BINUNICODE


def _int(i):
    return b"J" + struct.pack("<i", i)  # BININT


def _tuple(items):
    return b"(" + b"".join(items) + b"t"  # MARK ... TUPLE


def _global(module, name):
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def _tensor(storage_class, key, numel, offset, shape, strides):
    """_rebuild_tensor_v2(storage, offset, shape, strides, False, OrderedDict())."""
    storage = _tuple([_str("storage"), _global("torch", storage_class), _str(key), _str("cpu"),
                      _int(numel), b"N"]) + b"Q"  # BINPERSID
    args = _tuple([storage, _int(offset), _tuple([_int(d) for d in shape]),
                   _tuple([_int(s) for s in strides]), b"\x89",  # NEWFALSE
                   _global("collections", "OrderedDict") + b")R"])  # EMPTY_TUPLE REDUCE
    return _global("torch._utils", "_rebuild_tensor_v2") + args + b"R"


def _state_dict(items):
    """OrderedDict built from (name, value-opcodes) pairs."""
    body = b"".join(_str(name) + value for name, value in items)
    return b"\x80\x02" + _global("collections", "OrderedDict") + b")R(" + body + b"u."


def _legacy_file(state_pickle, storages):
    """The five pickles, then each storage (key, typecode, values) as count + raw elements."""
    out = pickle.dumps(torch_legacy.MAGIC_NUMBER, protocol=2)
    out += pickle.dumps(torch_legacy.PROTOCOL_VERSION, protocol=2)
    out += pickle.dumps({"protocol_version": 1001, "little_endian": True,
                         "type_sizes": {"short": 2, "int": 4, "long": 4}}, protocol=2)
    out += state_pickle
    out += pickle.dumps([key for key, _, _ in storages], protocol=2)
    for _key, code, values in storages:
        out += struct.pack("<q", len(values)) + struct.pack("<%d%s" % (len(values), code), *values)
    return out


class ReaderTest(unittest.TestCase):
    def test_non_contiguous_offset_and_int64(self):
        state = _state_dict([
            # storage "7": 0..11; "w" reads it as a (2, 3, 2) tensor stored transposed.
            ("w", _tensor("FloatStorage", "7", 12, 0, (2, 3, 2), (1, 4, 2))),
            # the same storage, a contiguous (3,) view from element 5
            ("v", _tensor("FloatStorage", "7", 12, 5, (3,), (1,))),
            ("n", _tensor("LongStorage", "9", 1, 0, (), ())),
        ])
        data = _legacy_file(state, [("7", "f", [float(i) for i in range(12)]), ("9", "q", [42])])
        sd = torch_legacy.load(data)
        self.assertEqual(list(sd), ["w", "v", "n"])
        w = sd["w"]
        self.assertEqual((w.shape, w.dtype, w.is_contiguous()), ((2, 3, 2), "float32", False))
        expected = [float(i * 1 + j * 4 + k * 2) for i in range(2) for j in range(3) for k in range(2)]
        self.assertEqual(list(w.values()), expected)
        self.assertEqual(list(sd["v"].values()), [5.0, 6.0, 7.0])
        self.assertEqual((sd["n"].dtype, list(sd["n"].values())), ("int64", [42]))

    def test_forbidden_global_is_refused_before_it_runs(self):
        with tempfile.TemporaryDirectory() as tmp:
            marker = os.path.join(tmp, "ran")
            evil = _global("os", "system") + _tuple([_str(f"touch {marker}")]) + b"R"
            data = _legacy_file(_state_dict([("x", evil)]), [])
            with self.assertRaisesRegex(pickle.UnpicklingError, "refusing the global os.system"):
                torch_legacy.load(data)
            self.assertFalse(os.path.exists(marker))

    def test_other_globals_are_refused(self):
        for module, name in [("builtins", "eval"), ("torch", "load"), ("collections", "Counter")]:
            data = _legacy_file(_state_dict([("x", _global(module, name) + b")R")]), [])
            with self.assertRaises(pickle.UnpicklingError):
                torch_legacy.load(data)

    def test_not_a_legacy_file(self):
        with self.assertRaisesRegex(torch_legacy.LegacyFormatError, "magic"):
            torch_legacy.load(pickle.dumps(12345, protocol=2))
        with self.assertRaises(torch_legacy.LegacyFormatError):
            torch_legacy.load(b"")

    def test_truncated_storage(self):
        state = _state_dict([("v", _tensor("FloatStorage", "1", 4, 0, (4,), (1,)))])
        data = _legacy_file(state, [("1", "f", [1.0, 2.0, 3.0, 4.0])])
        with self.assertRaisesRegex(torch_legacy.LegacyFormatError, "ends inside storage"):
            torch_legacy.load(data[:-3])

    def test_view_outside_its_storage(self):
        state = _state_dict([("v", _tensor("FloatStorage", "1", 4, 2, (4,), (1,)))])
        data = _legacy_file(state, [("1", "f", [1.0, 2.0, 3.0, 4.0])])
        with self.assertRaisesRegex(torch_legacy.LegacyFormatError, "outside its storage"):
            torch_legacy.load(data)


if __name__ == "__main__":
    unittest.main()
