// The page's .h5 reader (www/js/train/happy-h5.js, jsfive) in Node, with a stand-in for the
// core: it reads the h5py fixture exactly as the native reader does (the same pixel sum as
// tests/data_h5.rs), and damaged copies of it come back as messages naming the file, never a
// hang or a foreign exception.
// Run: node --test tests/e2e/h5-reader.test.mjs

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { readHappyH5 } from '../../www/js/train/happy-h5.js';

const FIXTURE = fs.readFileSync(path.resolve(import.meta.dirname, '../fixtures/h5/train_small.h5'));

// What the core is asked and answers, minus its checks (tests/data_h5.rs covers those).
const core = {
  checkHappyH5: (names, arrays) => {
    if (!names.includes('train_set_x') || !arrays.train_set_x) throw new Error('no Happy House arrays');
    return 'train';
  },
  loadHappyArrays: (part, pixels, xShape, labels, yShape) => ({ part, pixels, xShape, labels, yShape }),
};

test('the h5py fixture (gzip, chunked) reads as the native reader reads it', () => {
  const got = readHappyH5(core, new Uint8Array(FIXTURE), 'train_small.h5');
  assert.deepEqual([got.part, got.xShape, got.yShape], ['train', [40, 64, 64, 3], [40]]);
  assert.equal(got.pixels.reduce((a, b) => a + b, 0), 54_892_380);
  assert.deepEqual(Array.from(got.labels), Array.from({ length: 40 }, (_, i) => i % 2));
});

test('damaged copies are read or refused with a message naming the file', () => {
  let seed = 12345;
  const random = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  let refused = 0;
  for (let trial = 0; trial < 200; trial++) {
    const bytes = Uint8Array.from(FIXTURE);
    // Mostly the first 4 KB, where the structure (superblock, groups, B-trees) lives.
    for (let k = 0; k < 1 + Math.floor(random() * 6); k++) {
      const at = random() < 0.8 ? Math.floor(random() * 4096) : Math.floor(random() * bytes.length);
      bytes[at] = Math.floor(random() * 256);
    }
    try {
      readHappyH5(core, bytes, 'x.h5');
    } catch (e) {
      refused++;
      assert.ok(e instanceof Error && e.message.startsWith('x.h5: '), `trial ${trial}: ${e}`);
    }
  }
  assert.ok(refused > 0, 'some damage must be noticed');
});
