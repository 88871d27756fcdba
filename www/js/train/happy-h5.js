// A Happy House .h5 file read in the worker with jsfive (a JavaScript HDF5 reader: an HDF5
// library in the wasm module would be a third of its download). The core decides what is
// acceptable: it checks the names, shapes and types jsfive reports before any array is read,
// and builds the dataset from the arrays, with the same messages as the native build.

import * as hdf5 from 'jsfive';

const SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];
// The arrays the core's check looks at.
const KEYS = ['train_set_x', 'train_set_y', 'test_set_x', 'test_set_y', 'list_classes'];

// The file length the superblock records, or null when it cannot say (HDF5 file format
// spec, superblock versions 0-3). A shorter file lost its end on the way.
function recordedLength(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = bytes[8];
  const offsetSize = version <= 1 ? bytes[13] : bytes[9];
  const base = version === 0 ? 24 : version === 1 ? 28 : 12;
  const at = base + 2 * offsetSize;
  if (offsetSize !== 8 || at + 8 > bytes.length) return null;
  const length = view.getBigUint64(at, true);
  return length === 0xffffffffffffffffn ? null : length;
}

function damaged(e) {
  return new Error(`this .h5 file is truncated or damaged and cannot be read (${e.message})`);
}

// Returns the data info; throws a message for the student (prefixed with the file's name).
export function readHappyH5(session, bytes, name, seed) {
  return named(name, () => {
    const a = readArrays(session, bytes, name);
    return session.loadHappyArrays(a.part, a.pixels, a.xShape, a.labels, a.yShape, name, seed);
  });
}

// The cross-dataset test on every picture of the file: `{description, ownAccuracy, ...}`.
export function crossTestHappyH5(session, bytes, name) {
  return named(name, () => {
    const a = readArrays(session, bytes, name);
    return session.crossTestHappy(a.part, a.pixels, a.xShape, a.labels, a.yShape, name);
  });
}

function named(name, fn) {
  try {
    return fn();
  } catch (e) {
    throw new Error(e.message.startsWith(name) ? e.message : `${name}: ${e.message}`);
  }
}

// The checked part's arrays: `{part, pixels, xShape, labels, yShape}`.
function readArrays(session, bytes, name) {
  if (bytes.length < 8 || SIGNATURE.some((b, i) => bytes[i] !== b)) {
    throw new Error(`this is not an HDF5 (.h5) file: it does not start with the HDF5 signature${bytes.length < 8 ? ' (the file is nearly empty)' : ''}`);
  }
  const expected = recordedLength(bytes);
  if (expected !== null && expected > BigInt(bytes.length)) {
    throw new Error(`this .h5 file is truncated: it should be ${expected} bytes long but has only ${bytes.length} (download or copy it again)`);
  }
  let file, names;
  const arrays = {};
  try {
    file = new hdf5.File(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength), name);
    names = file.keys.filter((k) => file.get(k) instanceof hdf5.Dataset).sort();
    for (const key of KEYS.filter((k) => names.includes(k))) {
      const d = file.get(key);
      arrays[key] = { shape: Array.from(d.shape), dtype: typeof d.dtype === 'string' ? d.dtype : JSON.stringify(d.dtype) };
    }
  } catch (e) {
    throw damaged(e);
  }
  const part = session.checkHappyH5(names, arrays, name);
  const [x, y] = [`${part}_set_x`, `${part}_set_y`];
  let pixels, labels;
  try {
    pixels = Uint8Array.from(file.get(x).value);
    labels = Float64Array.from(file.get(y).value, Number);
  } catch (e) {
    throw damaged(e);
  }
  return { part, pixels, xShape: arrays[x].shape, labels, yShape: arrays[y].shape };
}
