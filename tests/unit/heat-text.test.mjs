// The text alternatives of heat maps (www/js/inside/heat-text.js), on maps whose answer is known.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeHeat, describeLayerMaps, massByPart } from '../../www/js/inside/heat-text.js';

// A 6x6 map that is 0 except where `hot(y, x)` says how much.
const map = (hot) => Float32Array.from({ length: 36 }, (_, i) => hot(Math.floor(i / 6), i % 6));

test('all the mass in one ninth: that part, with 100%', () => {
  // Rows 4..5 and columns 2..3 of 6: the lower middle.
  const m = map((y, x) => (y >= 4 && x >= 2 && x <= 3 ? 1 : 0));
  const [top, next] = massByPart(m, 6, 6);
  assert.deepEqual([top.row, top.col, top.share], ['lower', 'middle', 1]);
  assert.equal(next.share, 0);
  assert.equal(describeHeat('Grad-CAM', m, 6, 6), 'Grad-CAM: most of the mass (100%) lies in the lower middle of the picture, then the upper left (0%).');
});

test('three quarters in the centre, a quarter upper right', () => {
  const m = map((y, x) => (y >= 2 && y <= 3 && x >= 2 && x <= 3 ? 3 : y <= 1 && x >= 4 ? 1 : 0));
  assert.equal(describeHeat('Saliency', m, 6, 6), 'Saliency: most of the mass (75%) lies in the centre of the picture, then the upper right (25%).');
});

test('an even map and an empty one say so; negative values count as nothing', () => {
  assert.equal(describeHeat('Saliency', map(() => 1), 6, 6), 'Saliency: spread over the whole picture (no ninth of it holds more than 11%).');
  assert.equal(describeHeat('Grad-CAM', map(() => -2), 6, 6), 'Grad-CAM: the map is empty (no evidence anywhere).');
});

test('sizes that do not divide by three: every pixel lands in exactly one part', () => {
  const w = 7, h = 5;
  const parts = massByPart(Float32Array.from({ length: w * h }, () => 1), h, w);
  assert.equal(parts.length, 9);
  assert.ok(Math.abs(parts.reduce((s, p) => s + p.share, 0) - 1) < 1e-12);
  // Columns 0..2 | 3..4 | 5..6 (floor(3x/7)) and rows 0..1 | 2..3 | 4: the upper left holds 6 of 35.
  assert.equal(parts.find((p) => p.row === 'upper' && p.col === 'left').share, 6 / 35);
});

test("a layer's grey maps: the strongest by mean, the silent ones, where the strongest lies", () => {
  // 3 maps of 6x6, interleaved (H, W, C): map 1 weak everywhere, map 2 silent, map 3 strong
  // in the upper left ninth only.
  const values = new Float32Array(36 * 3);
  for (let p = 0; p < 36; p++) {
    const [y, x] = [Math.floor(p / 6), p % 6];
    values[p * 3] = 0.1;
    values[p * 3 + 2] = y < 2 && x < 2 ? 9 : 0;
  }
  assert.equal(describeLayerMaps('conv1', values, [6, 6, 3]),
    'conv1: 3 maps of 6 × 6; strongest maps 3, 1 and 2; 1 silent (all zero); map 3: most of the mass (100%) lies in the upper left of the picture, then the upper middle (0%).');
  // One map: no ranking; two maps: "and".
  assert.match(describeLayerMaps('pool', Float32Array.from({ length: 36 }, () => 1), [6, 6, 1]), /^pool: 1 map of 6 × 6; map 1: spread over the whole picture/);
  assert.match(describeLayerMaps('bn', Float32Array.from({ length: 72 }, (_, i) => i % 2), [6, 6, 2]), /^bn: 2 maps of 6 × 6; strongest maps 2 and 1; 1 silent/);
});
