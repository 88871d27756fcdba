// The page's state schema (www/js/state.js): its ranges come from the core's table, the link
// parser takes anything the core accepts and refuses the rest in words, and links round-trip.
// Run: node --test tests/unit/ (needs pkg/ from ./build.sh build).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CHAPTER_ARCH, RANGE_KEYS, createSchema, createStore, formatArch, readRanges } from '../../www/js/state.js';
import { loadCore } from './core.mjs';

const real = () => createSchema(loadCore().controlRanges());

// A table shaped like controlRanges() with every range 0..1000, then `changes` on top: the
// parser must follow whatever table it is given.
function fixture(changes = {}) {
  const table = Object.fromEntries(RANGE_KEYS.map((key) => [key, { key, uiMin: 0, uiMax: 1000, min: 0, max: 1000 }]));
  for (const [key, r] of Object.entries(changes)) table[key] = { key, ...r };
  return table;
}

test('the core’s table has a range for every control, its f32 limits as the decimals written in Rust', () => {
  const table = loadCore().controlRanges();
  const r = readRanges(table);
  assert.deepEqual(Object.keys(r), RANGE_KEYS);
  // src/limits.rs: stride UI 1..6, hard limit 16 (explorer::MAX_STRIDE).
  assert.deepEqual(r.stride, { key: 'stride', uiMin: 1, uiMax: 6, min: 1, max: 16 });
  // MAX_DROPOUT is 0.9f32: the core sends 0.9, not the widened 0.8999999761581421.
  assert.equal(r.archDropout.max, 0.9);
  assert.equal(r.learningRate.min, 0.000001);
  assert.equal(r.bnMomentum.max, 0.999);
  assert.equal(r.trainSeed.max, 4294967295, 'whole numbers are kept exactly');
});

test('a table without a control, or with a UI range wider than the hard one, is refused', () => {
  const table = fixture();
  delete table.stride;
  assert.throws(() => createSchema(table), /no range for “stride”/);
  assert.throws(() => createSchema(fixture({ kernel: { uiMin: 1, uiMax: 20, min: 1, max: 15 } })), /range for “kernel” is inconsistent/);
});

test('a link may ask for any stride the core accepts (12 was refused by the old page)', () => {
  const schema = real();
  const { state, problems, present } = schema.readHash('#s=12');
  assert.deepEqual(problems, []);
  assert.equal(state.stride, 12);
  assert.ok(present.has('stride'));
  assert.equal(schema.readHash('#s=16').state.stride, 16);
  const over = schema.readHash('#s=17');
  assert.deepEqual(over.problems, ['s: 17 is outside 1…16']);
  assert.equal(over.state.stride, 1, 'a refused value leaves the default');
});

test('the parser follows the table it is given', () => {
  const schema = createSchema(fixture({ stride: { uiMin: 1, uiMax: 2, min: 1, max: 3 } }));
  assert.equal(schema.readHash('#s=3').state.stride, 3);
  assert.deepEqual(schema.readHash('#s=4').problems, ['s: 4 is outside 1…3']);
  const field = schema.fields.find((f) => f.key === 'stride');
  assert.deepEqual([field.range.uiMin, field.range.uiMax], [1, 2], 'the slider gets the UI range');
});

test('bad values and unknown keys become messages, never exceptions', () => {
  const { state, problems } = real().readHash('#k=abc&k=2.5&s=0&zz=1&pk=median&relu=yes&lr=11&lr=-1&bn=0.9995&dn=0');
  assert.deepEqual(problems, [
    'k: “abc” is not a whole number',
    'k: “2.5” is not a whole number',
    's: 0 is outside 1…16',
    'unknown setting “zz”',
    'pk: “median” is not one of max, average',
    'relu: “yes” is not 0 or 1',
    'lr: 11 is outside 0.000001…10',
    'lr: -1 is outside 0.000001…10',
    'bn: 0.9995 is outside 0…0.999',
    'dn: 0 is outside 1…20000',
  ]);
  assert.equal(state.kernel, 3);
  assert.equal(state.learningRate, 0.001);
  assert.equal(real().readHash('#lr=10&bn=0.999&dn=20000').problems.length, 0, 'the limits themselves are accepted');
});

test('filters: presets by name and custom weights, within the core’s counts', () => {
  const schema = real();
  assert.deepEqual(schema.readHash('#f=edge_top;c:1_-0.5_.25').state.filters, [
    { recipe: 'edge_top', weights: null },
    { recipe: null, weights: [1, -0.5, 0.25] },
  ]);
  assert.deepEqual(schema.readHash(`#f=${Array(9).fill('cross').join(';')}`).problems, ['f: there must be 1 to 8 filters']);
  assert.deepEqual(schema.readHash('#f=%3Cscript%3E').problems, ['f: “<script>” is not a kernel preset']);
  // 15 x 15 x 4 = 900 weights at most (the largest kernel on a four-channel picture).
  assert.equal(schema.readHash(`#f=c:${Array(900).fill(1).join('_')}`).problems.length, 0);
  assert.deepEqual(schema.readHash(`#f=c:${Array(901).fill(1).join('_')}`).problems, ['f: a custom kernel has more than 900 weights']);
  assert.deepEqual(schema.readHash('#f=c:1_x').problems, ['f: a custom kernel has a weight that is not a number']);
});

test('a painted picture round-trips through the link, up to the core’s side', () => {
  const schema = real();
  const { state, problems } = schema.readHash('#px=2x3:-1:1:ink:0f5a0f');
  assert.deepEqual(problems, []);
  const img = state.paint;
  assert.deepEqual([img.height, img.width, img.channels, img.lo, img.hi, img.look], [2, 3, 1, -1, 1, 'ink']);
  // Hex digit d is lo + d/15 (hi - lo): 0 -> -1, f -> 1, 5 -> -1/3, a -> 1/3.
  const want = [-1, 1, -1 / 3, 1 / 3, -1, 1];
  img.data.forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-6, `cell ${i}: ${v}`));
  assert.equal(schema.writeHash({ ...schema.defaults(), paint: img }), '#px=2x3:-1:1:ink:0f5a0f');

  const side = (h, w) => schema.readHash(`#px=${h}x${w}:0:1:light:${'0'.repeat(h * w)}`);
  assert.deepEqual(side(64, 1).problems, []);
  assert.deepEqual(side(65, 1).problems, ['px: the painted picture has the wrong size']);
  assert.deepEqual(schema.readHash('#px=2x2:0:1:ink:fff').problems, ['px: the painted picture has the wrong size']);
  assert.equal(schema.paintFitsLink({ channels: 1, height: 64, width: 64 }), true);
  assert.equal(schema.paintFitsLink({ channels: 1, height: 65, width: 3 }), false);
  assert.equal(schema.paintFitsLink({ channels: 3, height: 8, width: 8 }), false);
});

test('the model layout: the grammar, the core’s ranges, one canonical text', () => {
  const schema = real();
  const chapter = schema.parseArch(CHAPTER_ARCH).value;
  assert.deepEqual(chapter, {
    blocks: [
      { filters: 16, kernel: 5, batchNorm: true, pool: 'max', dropout: 0.1 },
      { filters: 32, kernel: 5, batchNorm: true, pool: 'max', dropout: 0.1 },
    ],
    dense: 128,
  });
  assert.equal(formatArch(chapter), CHAPTER_ARCH);
  assert.equal(schema.readHash('#ar=8x3a.50_d0').state.arch, '8x3a0.5_d0', 'written back canonically');
  assert.equal(schema.parseArch('256x11bn0.9_d1024').error, undefined, 'the limits themselves');
  const error = (text) => schema.parseArch(text).error;
  assert.equal(error('257x3m0_d8'), 'the number of filters must be a whole number from 1 to 256');
  assert.equal(error('8x12m0_d8'), 'the kernel size must be a whole number from 1 to 11');
  assert.equal(error('8x3m0.95_d8'), 'the dropout rate must be from 0 to 0.9');
  assert.equal(error('8x3m0_d1025'), 'the dense layer can have at most 1024 units (0: none)');
  assert.equal(error(`${Array(7).fill('8x3m0').join('_')}_d8`), 'at most 6 conv blocks');
  assert.equal(error('8x3m0'), 'the model layout must end with the dense layer’s size, like d128');
  assert.equal(error('banana_d8'), '“banana” is not a conv block like 16x5bm0.1');
  assert.equal(schema.blockProblem({ filters: 0, kernel: 3, dropout: 0 }), 'the number of filters must be a whole number from 1 to 256');
  assert.equal(schema.blockProblem({ filters: 4, kernel: 3, dropout: 0.5 }), null);
});

test('a state written to a link reads back the same, and defaults are left out', () => {
  const schema = real();
  assert.equal(schema.writeHash(schema.defaults()), '#');
  const st = {
    ...schema.defaults(),
    input: 'x', stride: 12, padMode: 'explicit', pad: 2, relu: true,
    filters: [{ recipe: 'cross', weights: null }, { recipe: null, weights: [0.5, -1.25, 1 / 3] }],
    biases: [0, -2], filter: 1, poolKind: 'average', calcH: 1048576, learningRate: 0.05, arch: '8x3a0.5_d0',
  };
  const hash = schema.writeHash(st);
  assert.equal(hash, '#in=x&s=12&pm=explicit&p=2&relu=1&f=cross;c:0.5_-1.25_0.3333&b=0;-2&m=1&pk=average&qh=1048576&lr=0.05&ar=8x3a0.5_d0');
  const back = schema.readHash(hash);
  assert.deepEqual(back.problems, []);
  assert.deepEqual(back.state, { ...st, filters: [st.filters[0], { recipe: null, weights: [0.5, -1.25, 0.3333] }] });
});

test('the store tells subscribers which keys changed, and nothing when nothing did', () => {
  const store = createStore({ a: 1, b: 2 });
  const seen = [];
  store.subscribe((st, changed) => seen.push([st, [...changed]]));
  store.set({ a: 1 });
  store.set({ a: 3, b: 2 });
  assert.deepEqual(seen, [[{ a: 3, b: 2 }, ['a']]]);
});
