"""Unit tests of convert.py's small parts (stdlib only; the whole conversion is checked end to end
by check_converted.py against tests/fixtures/imagenet/reference.json).

Run from the repository root:  python3 -m unittest discover -s tools/imagenet -p 'test_*.py'
"""

import array
import json
import struct
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import convert  # noqa: E402


class PadsTest(unittest.TestCase):
    def test_same_puts_the_odd_pixel_at_the_end(self):
        self.assertEqual(convert.pads_for(224, 3, 2, "same"), (0, 1, 112))
        self.assertEqual(convert.pads_for(56, 5, 2, "same"), (1, 2, 28))
        self.assertEqual(convert.pads_for(7, 5, 1, "same"), (2, 2, 7))
        self.assertEqual(convert.pads_for(7, 1, 1, "same"), (0, 0, 7))
        self.assertEqual(convert.pads_for(225, 3, 2, "same"), (1, 1, 113))

    def test_symmetric(self):
        self.assertEqual(convert.pads_for(224, 3, 2, "symmetric"), (1, 1, 112))
        self.assertEqual(convert.pads_for(56, 5, 2, "symmetric"), (2, 2, 28))


class ClassNamesTest(unittest.TestCase):
    def test_concatenations_and_escapes(self):
        body = ",\n".join(f"    {i}: 'c{i}'" for i in range(3, 1000))
        text = ("exports.IMAGENET_CLASSES = {\n    0: 'tench, ' +\n        'Tinca tinca',\n"
                "    1: 'jack-o\\'-lantern',\n    2: \"a \\\"b\\\" \\u00e9\",\n" + body + "\n};\n")
        names = convert.parse_class_names(text)
        self.assertEqual(names[:4], ["tench, Tinca tinca", "jack-o'-lantern", 'a "b" \u00e9', "c3"])
        self.assertEqual(len(names), 1000)

    def test_missing_class_is_refused(self):
        body = ",\n".join(f"{i}: 'c{i}'" for i in range(999))
        with self.assertRaisesRegex(ValueError, "999 classes"):
            convert.parse_class_names("IMAGENET_CLASSES = {" + body + "};")


class SafetensorsTest(unittest.TestCase):
    def test_layout(self):
        blob = convert.safetensors_bytes(
            {"a.kernel": ([2, 1], array.array("f", [1.0, 2.0])), "b.bias": ([1], array.array("f", [3.0]))},
            {"format": "convscope-model", "version": "2"})
        (n,) = struct.unpack("<Q", blob[:8])
        self.assertEqual(n % 8, 0)
        header = json.loads(blob[8 : 8 + n])
        self.assertEqual(header["__metadata__"], {"format": "convscope-model", "version": "2"})
        self.assertEqual(header["a.kernel"], {"dtype": "F32", "shape": [2, 1], "data_offsets": [0, 8]})
        self.assertEqual(header["b.bias"]["data_offsets"], [8, 12])
        self.assertEqual(struct.unpack("<3f", blob[8 + n :]), (1.0, 2.0, 3.0))

    def test_metadata_must_be_strings(self):
        with self.assertRaises(convert.ConversionError):
            convert.safetensors_bytes({}, {"version": 2})


if __name__ == "__main__":
    unittest.main()
