// The convolution explorer's data module (www/js/explorer/data.js) and its stepper
// (animation.js), without a browser: the state -> core request mapping, the frames each view
// shows (sizes from the real Rust core on odd sizes, the multiply-adds of a cell, pooling),
// the cell arithmetic and the edits. Every expected number is worked out by hand in a comment.
// Run: node --test tests/unit/ (needs pkg/ from ./build.sh build).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSchema } from '../../www/js/state.js';
import {
  addFilterPatch, biasPatch, convRequest, createExplorerData, createStrokeHistory, formulaText, inputCellAt, kernelPatch,
  layerMaddsText, maddText, mapScale, padModePatch, picturePatch, presetState, removeFilterPatch, settleLinkState,
  stepAt, stepAtPoint, weightPatch,
} from '../../www/js/explorer/data.js';
import { createStepper } from '../../www/js/explorer/animation.js';
import { loadCore } from './core.mjs';

const core = loadCore();
const schema = createSchema(core.controlRanges());
const explorer = () => createExplorerData(core, { paintFitsLink: schema.paintFitsLink, filterCount: schema.ranges.filterCount, paintedSide: schema.ranges.paintedSide });

// A grey h x w picture whose cell (r, c) holds r*w + c, and the state that shows it through
// one all-ones 3x3 filter: every output cell is the sum of the nine inputs under it.
function counting(h, w) {
  return { height: h, width: w, channels: 1, data: Float32Array.from({ length: h * w }, (_, i) => i), lo: 0, hi: h * w, look: 'light' };
}
function stateFor(img, patch = {}) {
  return {
    ...schema.defaults(),
    ...presetState('seven'),
    input: 'painted', paint: img,
    filters: [{ recipe: null, weights: Array(9).fill(1) }],
    ...patch,
  };
}

test('the state maps to the core’s convolution request', () => {
  const st = { ...schema.defaults(), kernel: 5, stride: 12, padMode: 'explicit', pad: 2, dilation: 3, relu: true, filter: 1 };
  assert.deepEqual(convRequest(st), { kernel: 5, stride: 12, padding: 'explicit', pad: 2, dilation: 3 });
});

test('output sizes on odd inputs are the core’s, with the formula written per axis', () => {
  const data = explorer();
  // 7x5, 3x3, stride 2, valid: rows floor((7 - 3) / 2) + 1 = 3, columns floor((5 - 3) / 2) + 1 = 2.
  let st = stateFor(counting(7, 5), { stride: 2 });
  let c = data.conv(st);
  let s = data.setupFrame(st, c, null);
  assert.equal(s.outputSize, '3 × 2 × 1');
  assert.deepEqual(s.formula, ['rows: ⌊(7 + 2·0 − 1·(3−1) − 1) / 2⌋ + 1 = 3', 'columns: ⌊(5 + 2·0 − 1·(3−1) − 1) / 2⌋ + 1 = 2']);
  assert.equal(s.layerMadds, 'This layer: 3×2×1×9 = 54 multiply-adds (3×3 = 9 per output cell)');

  // 6x5, same, stride 2: Keras gives ceil(6/2) x ceil(5/2) = 3x3; rows need (3-1)*2 + 3 - 6 = 1
  // padding row, which goes to the bottom; columns need (3-1)*2 + 3 - 5 = 2, one a side.
  st = stateFor(counting(6, 5), { stride: 2, padMode: 'same' });
  c = data.conv(st);
  s = data.setupFrame(st, c, null);
  assert.equal(s.outputSize, '3 × 3 × 1');
  assert.equal(s.padText, 'same (0+1)');
  assert.equal(s.pad, 0, 'the slider shows the top padding');
  assert.deepEqual(s.formula, ['rows: ⌊(6 + 0+1 − 1·(3−1) − 1) / 2⌋ + 1 = 3', 'columns: ⌊(5 + 2·1 − 1·(3−1) − 1) / 2⌋ + 1 = 3']);
  const t = data.stageFrame(st, c);
  assert.equal(t.inputCaption, '6×5 · padded 7×7');
  // Step 0 covers rows 0..2 and columns -1..1: three padding zeros, then 0+1 + 5+6 + 10+11 = 33.
  assert.equal(t.cell.terms.filter((x) => x.padding).length, 3);
  assert.equal(t.madd.total, 'sum of 9 products = 33; + bias 0 = 33');

  // 9x9, dilation 2 (the kernel spans 5), stride 3: floor((9 - 5) / 3) + 1 = 2.
  st = stateFor(counting(9, 9), { stride: 3, dilation: 2 });
  s = data.setupFrame(st, data.conv(st), null);
  assert.equal(s.outputSize, '2 × 2 × 1');
  assert.deepEqual(s.formula, ['⌊(9 + 2·0 − 2·(3−1) − 1) / 3⌋ + 1 = 2']);

  // A stride beyond the old page's 6: 28x28 with 3x3 and stride 12, floor(25 / 12) + 1 = 3.
  st = { ...schema.readHash('#s=12').state };
  [st] = settleLinkState(st, new Set(['stride']));
  s = data.setupFrame(st, data.conv(st), null);
  assert.equal(s.outputSize, '3 × 3 × 4');
});

test('a step shows its cell: position, readout, the multiply-adds written out', () => {
  const data = explorer();
  // 5x5, stride 2: a 2x2 output; step 3 is row 2, column 2, whose window is rows 2..4 and
  // columns 2..4: 12+13+14 + 17+18+19 + 22+23+24 = 162.
  const st = stateFor(counting(5, 5), { stride: 2, step: 3 });
  const t = data.stageFrame(st, data.conv(st));
  assert.deepEqual([t.count, t.step, t.pos], [4, 3, { oy: 1, ox: 1 }]);
  assert.equal(t.readout, 'row 2, column 2 · 4 of 4');
  assert.equal(t.cellTitle, 'This step: map 1, row 2, column 2');
  assert.equal(t.madd.products, '12×1 + 13×1 + 14×1 + 17×1 + 18×1 + 19×1 + 22×1 + 23×1 + 24×1 = 162');
  assert.equal(t.madd.total, 'sum of 9 products = 162; + bias 0 = 162');
  assert.equal(t.mapsCaption, '2×2×1');
  // The map is 9 x the centre of each window: 54, 72 / 144, 162; its scale is the largest.
  assert.deepEqual(Array.from(t.maps[0]), [54, 72, 144, 162]);
  assert.equal(t.scale, 162);
  // A step past the end shows the last cell.
  const past = data.stageFrame({ ...st, step: 99 }, data.conv(st));
  assert.deepEqual([past.step, past.pos], [3, { oy: 1, ox: 1 }]);
});

test('settings the core refuses give no output, and say so', () => {
  const data = explorer();
  const st = stateFor(counting(5, 5), { kernel: 7, filters: [{ recipe: null, weights: Array(49).fill(1) }] });
  const c = data.conv(st);
  const s = data.setupFrame(st, c, 'Could not use “x.png”: broken.');
  assert.equal(s.ok, false);
  assert.equal(s.outputSize, 'none');
  assert.equal(s.layerMadds, '');
  assert.ok(s.messages.kernel.some((d) => d.level === 'error' && /7x7 kernel does not fit/.test(d.message)), JSON.stringify(s.messages));
  assert.deepEqual(s.messages.input.at(-1), { level: 'error', message: 'Could not use “x.png”: broken.' });
  const t = data.stageFrame(st, c);
  assert.deepEqual([t.count, t.pos, t.cell, t.readout, t.hasOutput], [0, null, null, 'no output', false]);
  assert.deepEqual(data.poolFrame(st, c), { error: 'There is no output map to pool: fix the convolution’s settings first.', ok: false });
});

test('a custom filter with the wrong number of weights is a note, and the filter is zeros', () => {
  const data = explorer();
  const st = stateFor(counting(5, 5), { filters: [{ recipe: null, weights: [1, 2, 3] }] });
  const s = data.setupFrame(st, data.conv(st), null);
  assert.deepEqual(s.messages.kernel, [{ level: 'note', message: 'Filter 1 has 3 weights but a 3×3×1 kernel needs 9; it is all zeros for now.' }]);
});

test('pooling the selected map, max and average, on an odd map with same padding', () => {
  const data = explorer();
  // 7x5 with stride 2 gives a 3x2 map of 9 x the window centres (2oy+1)*5 + 2ox+1:
  // 54 72 / 144 162 / 234 252. Pool 2, stride 2, same: ceil(3/2) x ceil(2/2) = 2x1, one padding
  // row at the bottom. Max: 162 and 252; average (Keras leaves padding out): 108 and 243.
  const st = stateFor(counting(7, 5), { stride: 2, poolWindow: 2, poolStride: 2, poolPad: 'same', poolStep: 1 });
  const c = data.conv(st);
  let p = data.poolFrame(st, c);
  assert.deepEqual(Array.from(p.map), [54, 72, 144, 162, 234, 252]);
  assert.deepEqual(p.pads, { top: 0, bottom: 1, left: 0, right: 0 });
  assert.deepEqual(Array.from(p.out), [162, 252]);
  assert.deepEqual([p.oh, p.ow, p.count, p.step], [2, 1, 2, 1]);
  assert.equal(p.inCaption, 'map 1: 3×2');
  assert.equal(p.outCaption, '2×1');
  assert.equal(p.readout, 'row 2, column 1 · 2 of 2');
  assert.equal(p.cell.output, 252);
  p = data.poolFrame({ ...st, poolKind: 'average' }, c);
  assert.deepEqual(Array.from(p.out), [108, 243]);
  assert.equal(p.cell.count, 2);
});

test('the shape calculator: the chapter’s 224x224x64 -> 112x112x64, and the core’s refusal', () => {
  const data = explorer();
  const st = schema.defaults();
  assert.deepEqual(data.calcFrame(st, null), { input: '224×224×64', output: '112×112×64' });
  assert.deepEqual(data.calcFrame({ ...st, calcWindow: 3, calcPad: 'same' }, null), { input: '224×224×64', output: '112×112×64' });
  assert.deepEqual(data.calcFrame({ ...st, calcH: 225, calcWindow: 3 }, null), { input: '225×224×64', output: '112×111×64' });
  assert.match(data.calcFrame({ ...st, calcWindow: 300 }, null).error, /larger than the input/);
  assert.deepEqual(data.calcFrame(st, 'window: 0 is outside 1…1048576'), { error: 'window: 0 is outside 1…1048576' });
});

test('cell arithmetic: steps, clicks on a map, the input cell under the pointer', () => {
  assert.deepEqual(stepAt(8, 7, 7), { count: 49, step: 8, pos: { oy: 1, ox: 1 } });
  assert.deepEqual(stepAt(100, 3, 5), { count: 15, step: 14, pos: { oy: 2, ox: 4 } });
  assert.deepEqual(stepAt(5, 0, 0), { count: 0, step: 0, pos: null });
  // A 4x5 map drawn 100 px wide has 20 px cells: (45, 61) is column 2, row 3 -> 3*5 + 2.
  assert.equal(stepAtPoint(45, 61, 100, 4, 5), 17);
  assert.equal(stepAtPoint(100, 80, 100, 4, 5), 19, 'the far edge is the last cell');
  // 10 px cells, one padding row and two padding columns: (25, 15) is the picture's (0, 0).
  const img = { height: 3, width: 4 };
  assert.deepEqual(inputCellAt(25, 15, { s: 10, pt: 1, pl: 2 }, img), { row: 0, col: 0 });
  assert.deepEqual(inputCellAt(59, 39, { s: 10, pt: 1, pl: 2 }, img), { row: 2, col: 3 });
  assert.equal(inputCellAt(15, 15, { s: 10, pt: 1, pl: 2 }, img), null, 'padding is not the picture');
  assert.equal(inputCellAt(65, 15, { s: 10, pt: 1, pl: 2 }, img), null);
  assert.equal(mapScale(Float32Array.from([0.5, -3, 2])), 3);
  assert.equal(mapScale(new Float32Array(4)), 1e-6, 'never zero');
});

test('texts: the multiply-adds of an RGB cell and a layer’s work', () => {
  const cell = {
    terms: [
      { c: 0, x: 1, w: -1, product: -1 }, { c: 1, x: 0.5, w: 2, product: 1 }, { c: 2, x: 2, w: 1.5, product: 3 },
    ],
    sum: 3, bias: -4, value: -1, relu: true, output: 0,
  };
  assert.deepEqual(maddText(cell, 3), {
    products: '1×(−1) + 0.5×2 + 2×1.5 = 3',
    total: 'sum of 3 products = 3 (R −1, G 1, B 3); + bias (−4) = −1; ReLU → 0',
  });
  // 60x60 maps, two 5x5x3 filters: 60*60*2*75 = 540,000.
  assert.equal(layerMaddsText(60, 60, 2, 5, 3), 'This layer: 60×60×2×75 = 540,000 multiply-adds (5×5×3 = 75 per output cell)');
  assert.equal(layerMaddsText(3, 3, 1, 1, 1), 'This layer: 3×3×1×1 = 9 multiply-adds (1 per output cell)');
  assert.deepEqual(formulaText({ height: 4, width: 4 }, { dilation: 1, kernel: 3, stride: 1 }, { span: 0 }), ['—']);
});

test('edits: kernel size keeps the centre, padding modes, biases, filters, weights', () => {
  const custom = { recipe: null, weights: [1, 2, 3, 4, 5, 6, 7, 8, 9] };
  const st = { ...schema.defaults(), kernel: 3, filters: [custom, { recipe: 'cross', weights: null }], filter: 0, pad: 0 };
  // 3x3 -> 5x5: the old kernel sits at rows and columns 1..3 of the new one.
  const grown = kernelPatch(st, 5, 1);
  assert.equal(grown.kernel, 5);
  assert.deepEqual(grown.filters[0].weights, [0, 0, 0, 0, 0, 0, 1, 2, 3, 0, 0, 4, 5, 6, 0, 0, 7, 8, 9, 0, 0, 0, 0, 0, 0]);
  assert.equal(grown.filters[1], st.filters[1], 'a preset is rebuilt by the core');
  assert.deepEqual(kernelPatch(st, 1, 1).filters[0].weights, [5]);

  assert.deepEqual(padModePatch(st, 'explicit', 1), { padMode: 'explicit', pad: 1 });
  assert.deepEqual(padModePatch({ ...st, pad: 3 }, 'explicit', 1), { padMode: 'explicit', pad: 3 });
  assert.deepEqual(padModePatch({ ...st, pad: 3 }, 'valid', 1), { padMode: 'valid', pad: 0 });
  assert.deepEqual(padModePatch({ ...st, pad: 3 }, 'same', 1), { padMode: 'same', pad: 3 });

  assert.deepEqual(biasPatch({ ...st, filter: 1 }, 2), { biases: [0, 2] });
  assert.deepEqual(biasPatch({ ...st, biases: [0, 2], filter: 1 }, 0), { biases: null }, 'all zeros: no biases in the link');

  const three = { ...st, filters: ['a', 'b', 'c'].map((recipe) => ({ recipe, weights: null })), biases: [1, 2, 3], filter: 2 };
  assert.deepEqual(removeFilterPatch(three), { filters: three.filters.slice(0, 2), biases: [1, 2], filter: 1 });
  assert.equal(removeFilterPatch({ ...st, filters: [custom] }), null);
  assert.deepEqual(addFilterPatch(st, 8), { filters: [...st.filters, { recipe: 'identity', weights: null }], biases: null, filter: 2 });
  assert.equal(addFilterPatch({ ...st, filters: Array(8).fill(custom) }, 8), null);

  // Filter 2 of two 2x2x3 filters, weights 0..23: its own are 12..23; row 2, column 2 (index 3),
  // channel B (2) is weight 3*3 + 2 = 11 of them.
  const rgb = { ...st, kernel: 2, filter: 1, channel: 2 };
  const flat = Float32Array.from({ length: 24 }, (_, i) => i);
  const edited = weightPatch(rgb, flat, 3, 3, -7).filters[1];
  assert.deepEqual(edited, { recipe: null, weights: [12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, -7] });
});

test('a new picture of another depth brings that depth’s preset filters', () => {
  const grey = { height: 4, width: 4, channels: 1 };
  const patch = picturePatch({ input: 'painted', paint: grey, uploaded: null }, 3);
  assert.deepEqual(patch.filters, presetState('seven').filters);
  assert.deepEqual([patch.biases, patch.filter, patch.channel], [null, 0, 0]);
  const rgb = { height: 4, width: 4, channels: 3 };
  assert.deepEqual(picturePatch({ input: 'upload', uploaded: rgb, paint: null }, 3), { input: 'upload', uploaded: rgb, paint: null, channel: 0 });
});

test('a link is settled: preset geometry where it said nothing, problems in words', () => {
  const read = (hash) => {
    const { state, present } = schema.readHash(hash);
    return settleLinkState(state, present);
  };
  let [st, problems] = read('#in=x&s=12');
  assert.deepEqual(problems, []);
  assert.deepEqual([st.input, st.kernel, st.stride, st.filters.map((f) => f.recipe)], ['x', 3, 12, ['diag_down', 'cross', 'diag_up']]);
  [st, problems] = read('#in=upload');
  assert.equal(st.input, 'seven');
  assert.match(problems[0], /uploaded picture, which never leaves the device/);
  [st, problems] = read('#b=1;2');
  assert.deepEqual(problems, ['b: 2 biases for 4 filters; using zeros']);
  assert.equal(st.biases, null);
  [st] = read('#m=7&f=cross;cross');
  assert.equal(st.filter, 1, 'the selected filter is one that exists');
  // A painted ink picture on -1..1 is the X's kind: its filters come with it.
  [st] = read('#in=painted&px=2x2:-1:1:ink:0ff0');
  assert.deepEqual([st.input, st.filters[1].recipe], ['painted', 'cross']);
});

test('painting’s undo takes strokes back one at a time, and forgets them when the picture changes otherwise', () => {
  const images = new Map();
  const pic = (name) => {
    if (!images.has(name)) images.set(name, { name });
    return { input: name, paint: null, uploaded: null };
  };
  const history = createStrokeHistory(2, (p) => images.get(p.input));
  assert.equal(history.follow(images.get('x')), false);
  // Three strokes: a, b, c, each from the picture before it; two levels are kept.
  for (const [from, to] of [['x', 'a'], ['a', 'b'], ['b', 'c']]) {
    history.begin(pic(from));
    pic(to);
    history.painted(images.get(to));
    history.painted(images.get(to)); // a stroke paints many cells; it is one step of undo
    history.end();
  }
  assert.equal(history.follow(images.get('c')), true);
  assert.equal(history.undo().input, 'b');
  assert.equal(history.follow(images.get('b')), true);
  assert.equal(history.undo().input, 'a');
  assert.equal(history.follow(images.get('a')), false, 'only two levels');
  assert.equal(history.undo(), null);
  // A stroke, then a preset chosen: nothing to undo any more.
  history.begin(pic('a'));
  history.painted(images.get('b'));
  history.end();
  assert.equal(history.follow(images.get('seven') ?? {}), false);
  assert.equal(history.undo(), null);
});

test('the stepper plays at its speed, stops at the last cell and on a step by hand', () => {
  let index = 0;
  let timers = [];
  const clock = {
    setInterval: (fn, ms) => (timers.push({ fn, ms }), timers.length),
    clearInterval: (id) => (timers[id - 1] = null),
  };
  const playing = [];
  const s = createStepper({ getIndex: () => index, setIndex: (i) => (index = i), clock, onPlaying: (on) => playing.push(on) });
  s.setCount(4);
  index = 3;
  s.toggle(); // at the last cell: from the start
  assert.deepEqual([index, s.playing, timers[0].ms], [0, true, 500], '2 cells a second by default');
  const tick = () => timers.filter(Boolean).forEach((t) => t.fn());
  tick();
  tick();
  tick();
  assert.equal(index, 3);
  tick(); // at the end it stops
  assert.deepEqual([index, s.playing], [3, false]);
  s.setSpeed(16);
  s.toggle(); // from the start again
  assert.equal(timers.at(-1).ms, 1000 / 16);
  tick();
  tick();
  s.back(); // a step by hand stops playing
  assert.deepEqual([index, s.playing], [1, false]);
  s.seek(99);
  assert.equal(index, 3, 'clamped to the last cell');
  s.forward();
  assert.equal(index, 3);
  s.setCount(1);
  s.toggle();
  assert.equal(s.playing, false, 'one cell: nothing to play');
  assert.deepEqual(playing, [true, false, true, false, false, false]);
  timers = [];
});

test('stepAfterKey: the arrow keys move one cell on the map and stop at its edges', async () => {
  const { stepAfterKey } = await import('../../www/js/explorer/data.js');
  // A 3x4 map; step 5 is row 1, column 1.
  assert.equal(stepAfterKey(5, 'ArrowRight', 3, 4), 6);
  assert.equal(stepAfterKey(5, 'ArrowLeft', 3, 4), 4);
  assert.equal(stepAfterKey(5, 'ArrowUp', 3, 4), 1);
  assert.equal(stepAfterKey(5, 'ArrowDown', 3, 4), 9);
  assert.equal(stepAfterKey(5, 'Home', 3, 4), 4);
  assert.equal(stepAfterKey(5, 'End', 3, 4), 7);
  assert.equal(stepAfterKey(7, 'ArrowRight', 3, 4), 7, 'held at the right edge, not wrapped to the next row');
  assert.equal(stepAfterKey(0, 'ArrowUp', 3, 4), 0);
  assert.equal(stepAfterKey(11, 'ArrowDown', 3, 4), 11);
  assert.equal(stepAfterKey(5, 'a', 3, 4), null);
});
