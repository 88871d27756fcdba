// The text alternatives of heat maps (www/js/inside/heat-text.js), on maps whose answer is known.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeHeat, massByPart } from '../../www/js/inside/heat-text.js';

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
