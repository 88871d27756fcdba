// How the page writes numbers (www/js/format.js). Run: node --test tests/unit/

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { count, factor, fmt, times, timesSigns } from '../../www/js/format.js';

test('numbers: at most two decimals, a real minus sign, no “-0”', () => {
  assert.equal(fmt(2), '2');
  assert.equal(fmt(0.1 + 0.2), '0.3');
  assert.equal(fmt(1.10), '1.1');
  assert.equal(fmt(-1.5), '−1.5');
  assert.equal(fmt(3.14159), '3.14');
  assert.equal(fmt(-0.001), '0');
  assert.equal(fmt(-0), '0');
  assert.equal(fmt(12345.678), '12345.68');
  assert.equal(fmt(NaN), '—');
  assert.equal(fmt(Infinity), '—');
});

test('factors: negative ones in parentheses', () => {
  assert.equal(factor(-2), '(−2)');
  assert.equal(factor(0.25), '0.25');
  assert.equal(factor(-0.004), '0');
  assert.equal(times(factor(-1), factor(3)), '(−1) × 3');
});

test('whole numbers with digit grouping', () => {
  assert.equal(count(24336), '24,336');
  assert.equal(count(540000), '540,000');
  assert.equal(count(7), '7');
  assert.equal(count(1234.6), '1,235');
});

test('sizes in the core’s messages get the times sign; file names and layouts do not', () => {
  assert.equal(timesSigns('The 7x7 kernel does not fit in the padded input (5x5)'), 'The 7×7 kernel does not fit in the padded input (5×5)');
  assert.equal(timesSigns('expected (N, 64, 64, 3), got 64x64x3'), 'expected (N, 64, 64, 3), got 64×64×3');
  assert.equal(timesSigns('face_64x64.png is 30000x30000 pixels'), 'face_64x64.png is 30000×30000 pixels');
  assert.equal(timesSigns('the layout 16x5bm0.1_d128'), 'the layout 16x5bm0.1_d128');
  assert.equal(timesSigns('a 9x9.png file'), 'a 9x9.png file');
});
