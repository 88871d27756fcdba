// The page's UI state as one declarative list (TensorFlow Playground's way): each field names
// its URL key, its default and how to read it back from text; the same list fills the URL (a
// teacher's shareable setup), drives the controls and checks a link that was typed or mangled:
// a bad value becomes a message and the default, never an exception.
//
// Every numeric range comes from the Rust core (`core.controlRanges()`, src/limits.rs), so
// that the page and the core cannot disagree on what is allowed: a link (and a typed number)
// may ask for anything the core accepts (`min`..`max`); sliders and number boxes offer
// `uiMin`..`uiMax`, widened to show a value a link brought (controls.js). Only defaults are
// written here. Nothing in this file touches the DOM: it runs under Node's test runner.

// A number as a link writes it: short, exact enough for hand-made kernels.
const short = (v) => String(Math.round(v * 1e4) / 1e4);
const RECIPE_ID = /^[a-z_]{1,24}$/;
const NUMBER = /^-?(\d+\.?\d*|\.\d+)(e-?\d+)?$/i;

// Every key the page needs a range for; a table without one is a bug, found at start-up.
export const RANGE_KEYS = [
  'kernel', 'stride', 'pad', 'dilation', 'filterCount', 'filter', 'channel', 'paintedSide', 'step',
  'poolWindow', 'poolStride', 'poolStep', 'calcH', 'calcW', 'calcC', 'calcWindow', 'calcStride',
  'trainSize', 'testSize', 'dataSeed', 'epochs', 'batchSize', 'learningRate', 'patience', 'trainSeed',
  'bnMomentum', 'archBlocks', 'archFilters', 'archKernel', 'archDropout', 'archDense',
  'augRotation', 'augShift', 'augZoom', 'augBrightness', 'augContrast', 'augElastic',
];

// `table` as `core.controlRanges()` returns it: `{key: {key, uiMin, uiMax, min, max}}`.
export function readRanges(table) {
  const out = {};
  for (const key of RANGE_KEYS) {
    const r = table && table[key];
    const nums = r && [r.uiMin, r.uiMax, r.min, r.max].map(Number);
    if (!nums || !nums.every(Number.isFinite)) throw new Error(`the core gave no range for “${key}”`);
    const [uiMin, uiMax, min, max] = nums;
    if (!(min <= uiMin && uiMin <= uiMax && uiMax <= max)) throw new Error(`the core’s range for “${key}” is inconsistent`);
    out[key] = { key, uiMin, uiMax, min, max };
  }
  return out;
}

const int = (key, url, def, range) => ({
  key, url, def, range,
  parse(text) {
    if (!/^-?\d+$/.test(text)) return { error: `“${text}” is not a whole number` };
    const v = Number(text);
    if (v < range.min || v > range.max) return { error: `${v} is outside ${range.min}…${range.max}` };
    return { value: v };
  },
  format: (v) => String(v),
});

const choice = (key, url, def, values) => ({
  key, url, def,
  parse: (text) => (values.includes(text) ? { value: text } : { error: `“${text}” is not one of ${values.join(', ')}` }),
  format: (v) => v,
});

const bool = (key, url, def) => ({
  key, url, def,
  parse: (text) => (text === '1' || text === '0' ? { value: text === '1' } : { error: `“${text}” is not 0 or 1` }),
  format: (v) => (v ? '1' : '0'),
});

// A decimal number in a range (the learning rate).
const real = (key, url, def, range) => ({
  key, url, def, range,
  parse(text) {
    if (!NUMBER.test(text)) return { error: `“${text}” is not a number` };
    const v = Number(text);
    if (!(v >= range.min && v <= range.max)) return { error: `${v} is outside ${range.min}…${range.max}` };
    return { value: v };
  },
  format: (v) => String(v),
});

// Filters: `id;id;c:w_w_w…` — a kernel preset by name, or `c:` and the custom weights (K, K, C).
// The sizes are checked later, against the kernel size and the input's channels.
function filtersField(count, kernel, channel) {
  const mostWeights = kernel.max * kernel.max * (channel.max + 1);
  return {
    key: 'filters', url: 'f', def: null,
    parse(text) {
      const parts = text.split(';');
      if (parts.length < count.min || parts.length > count.max) return { error: `there must be ${count.min} to ${count.max} filters` };
      const out = [];
      for (const p of parts) {
        if (p.startsWith('c:')) {
          const ws = p.slice(2).split('_');
          if (ws.length > mostWeights) return { error: `a custom kernel has more than ${mostWeights} weights` };
          if (!ws.every((w) => NUMBER.test(w))) return { error: 'a custom kernel has a weight that is not a number' };
          out.push({ recipe: null, weights: ws.map(Number) });
        } else if (RECIPE_ID.test(p)) {
          out.push({ recipe: p, weights: null });
        } else {
          return { error: `“${p.slice(0, 30)}” is not a kernel preset` };
        }
      }
      return { value: out };
    },
    format: (fs) => fs.map((f) => (f.recipe ? f.recipe : 'c:' + f.weights.map(short).join('_'))).join(';'),
  };
}

const biasesField = (count) => ({
  key: 'biases', url: 'b', def: null,
  parse(text) {
    const parts = text.split(';');
    if (parts.length > count.max || !parts.every((p) => NUMBER.test(p))) return { error: 'a bias is not a number' };
    return { value: parts.map(Number) };
  },
  format: (bs) => bs.map(short).join(';'),
});

// A painted single-channel input: `HxW:lo:hi:look:hex`, one hex digit (16 levels) per cell.
// Only small grey pictures fit in a link (`fits`); others are left out (the page says so).
function paintField(side) {
  const fits = (img) => img.channels === 1 && img.height <= side.max && img.width <= side.max;
  return {
    key: 'paint', url: 'px', def: null, fits,
    parse(text) {
      const m = /^(\d+)x(\d+):(-?[\d.]+):(-?[\d.]+):(ink|light):([0-9a-f]+)$/.exec(text);
      if (!m) return { error: 'the painted picture is garbled' };
      const [h, w, lo, hi] = [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])];
      const inSide = (n) => n >= side.min && n <= side.max;
      if (!inSide(h) || !inSide(w) || m[6].length !== h * w || !(hi > lo)) return { error: 'the painted picture has the wrong size' };
      const data = Float32Array.from(m[6], (ch) => lo + (parseInt(ch, 16) / 15) * (hi - lo));
      return { value: { height: h, width: w, channels: 1, data, lo, hi, look: m[5] } };
    },
    format(img) {
      if (!fits(img)) return null;
      const hex = Array.from(img.data, (v) => Math.round(((v - img.lo) / (img.hi - img.lo)) * 15).toString(16)).join('');
      return `${img.height}x${img.width}:${short(img.lo)}:${short(img.hi)}:${img.look}:${hex}`;
    },
  };
}

// `control` names the element that edits a field directly (see controls.js): its kind, its id
// (the name of a radio group) and, for sliders, how the value is shown beside it. Fields
// without one are edited by the explorer's own handlers (kernel size, padding, filters, painting).
const ctl = (field, kind, id, show) => ({ ...field, control: { kind, id, show } });
const square = (v) => `${v}×${v}`;
// Fields of the training section: bound by its own module, not the explorer's.
const training = (field) => ({ ...field, section: 'training' });

// The model editor's layout as a short text (the Rust core maps it to a model: nn::spec):
// conv blocks `FILTERSxKERNEL[b][m|a|n]DROPOUT` joined by `_`, then `dUNITS` for the hidden
// dense layer. The link parser checks the grammar and the ranges; whether the layers fit
// together is the Rust core's word (an edit it refuses is explained under the editor).
export const CHAPTER_ARCH = '16x5bm0.1_32x5bm0.1_d128';
const ARCH_BLOCK = /^(\d+)x(\d+)(b?)([man])(\d?\.?\d*)$/;

export function formatArch({ blocks, dense }) {
  const pool = { max: 'm', average: 'a', none: 'n' };
  return [...blocks.map((b) => `${b.filters}x${b.kernel}${b.batchNorm ? 'b' : ''}${pool[b.pool]}${short(b.dropout)}`), `d${dense}`].join('_');
}

// The editor's ranges, from the core's table: {blocks, filters, kernel, dropout, dense}.
const archRanges = (r) => ({ blocks: r.archBlocks, filters: r.archFilters, kernel: r.archKernel, dropout: r.archDropout, dense: r.archDense });

// What is wrong with one block's numbers, in words (null: nothing).
function blockProblem(arch, b) {
  const whole = (v, r) => Number.isInteger(v) && v >= r.min && v <= r.max;
  if (!whole(b.filters, arch.filters)) return `the number of filters must be a whole number from ${arch.filters.min} to ${arch.filters.max}`;
  if (!whole(b.kernel, arch.kernel)) return `the kernel size must be a whole number from ${arch.kernel.min} to ${arch.kernel.max}`;
  if (!(b.dropout >= arch.dropout.min && b.dropout <= arch.dropout.max)) return `the dropout rate must be from ${arch.dropout.min} to ${arch.dropout.max}`;
  return null;
}

function parseArch(arch, text) {
  const parts = text.split('_');
  const dense = /^d(\d+)$/.exec(parts.pop() ?? '');
  if (!dense) return { error: 'the model layout must end with the dense layer’s size, like d128' };
  if (parts.length > arch.blocks.max) return { error: `at most ${arch.blocks.max} conv blocks` };
  if (parts.length < arch.blocks.min) return { error: `at least ${arch.blocks.min} conv blocks` };
  const blocks = [];
  for (const p of parts) {
    const m = ARCH_BLOCK.exec(p);
    if (!m || !NUMBER.test(m[5])) return { error: `“${p.slice(0, 20)}” is not a conv block like 16x5bm0.1` };
    const block = { filters: Number(m[1]), kernel: Number(m[2]), batchNorm: m[3] === 'b', pool: { m: 'max', a: 'average', n: 'none' }[m[4]], dropout: Number(m[5]) };
    const problem = blockProblem(arch, block);
    if (problem) return { error: problem };
    blocks.push(block);
  }
  const units = Number(dense[1]);
  if (units < arch.dense.min || units > arch.dense.max) return { error: `the dense layer can have at most ${arch.dense.max} units (0: none)` };
  return { value: { blocks, dense: units } };
}

// The training page's defaults, chosen by measurement: on a loaded 2-core machine they train in
// under a minute to ~97% test accuracy (tests/e2e/train.test.mjs checks > 90% within two minutes).
// On 'normal' smiles the chapter's model needs many more epochs before it generalizes.
export const TRAIN_DEFAULTS = {
  trainSize: 600, testSize: 150, dataSeed: 1, difficulty: 'easy',
  epochs: 6, batchSize: 16, learningRate: 0.001, patience: 3, trainSeed: 0,
  // Keras's batch-norm momentum is 0.99: its moving averages need a few hundred batches to
  // catch up, more than a two-minute run in the browser has, so the page starts at 0.9.
  bnMomentum: 0.9,
};

// The augmentation the state asks for, as the core reads it (data::augment::Augmentation).
export const augmentationOf = (st) => ({
  flipHorizontal: st.augFlip, flipVertical: st.augFlipV, rotationDegrees: st.augRotation, shift: st.augShift,
  zoom: st.augZoom, brightness: st.augBrightness, contrast: st.augContrast, elasticPixels: st.augElastic,
});
// The state keys of each augmentation setting, to set them all from the core's values.
export const AUGMENTATION_KEYS = {
  flipHorizontal: 'augFlip', flipVertical: 'augFlipV', rotationDegrees: 'augRotation', shift: 'augShift',
  zoom: 'augZoom', brightness: 'augBrightness', contrast: 'augContrast', elasticPixels: 'augElastic',
};

function buildFields(r, arch) {
  // A field whose value is the canonical layout text (so equal layouts compare equal).
  const archField = {
    key: 'arch', url: 'ar', def: CHAPTER_ARCH, section: 'training',
    parse(text) {
      const p = parseArch(arch, text);
      return 'error' in p ? p : { value: formatArch(p.value) };
    },
    format: (v) => v,
  };
  const D = TRAIN_DEFAULTS;
  return [
    choice('input', 'in', 'seven', ['seven', 'x', 'face', 'seven14', 'painted', 'upload']),
    paintField(r.paintedSide),
    int('kernel', 'k', 3, r.kernel),
    ctl(int('stride', 's', 1, r.stride), 'range', 'stride', String),
    choice('padMode', 'pm', 'valid', ['valid', 'same', 'explicit']),
    int('pad', 'p', 0, r.pad),
    ctl(int('dilation', 'd', 1, r.dilation), 'range', 'dilation', String),
    ctl(bool('relu', 'relu', false), 'checkbox', 'relu'),
    filtersField(r.filterCount, r.kernel, r.channel),
    biasesField(r.filterCount),
    int('filter', 'm', 0, r.filter),
    int('channel', 'c', 0, r.channel),
    int('step', 't', 0, r.step),
    ctl(choice('poolKind', 'pk', 'max', ['max', 'average']), 'radios', 'pool-kind'),
    ctl(int('poolWindow', 'pw', 2, r.poolWindow), 'range', 'pool-window', square),
    ctl(int('poolStride', 'ps', 2, r.poolStride), 'range', 'pool-stride', String),
    ctl(choice('poolPad', 'pp', 'valid', ['valid', 'same']), 'radios', 'pool-pad'),
    int('poolStep', 'pt', 0, r.poolStep),
    // The explorer's backward mode (backward/backward.js).
    ctl(choice('pass', 'bw', 'forward', ['forward', 'backward']), 'radios', 'pass'),
    ctl(choice('bwFrom', 'bf', 'random', ['random', 'target']), 'radios', 'bw-from'),
    ctl(int('bwSeed', 'bz', 1, r.dataSeed), 'number', 'bw-seed'),
    int('bwStep', 'bt', 0, r.step),
    int('bwPoolStep', 'bq', 0, r.poolStep),
    ctl(int('calcH', 'qh', 224, r.calcH), 'number', 'calc-h'),
    ctl(int('calcW', 'qw', 224, r.calcW), 'number', 'calc-w'),
    ctl(int('calcC', 'qc', 64, r.calcC), 'number', 'calc-c'),
    ctl(int('calcWindow', 'qk', 2, r.calcWindow), 'number', 'calc-window'),
    ctl(int('calcStride', 'qs', 2, r.calcStride), 'number', 'calc-stride'),
    ctl(choice('calcPad', 'qp', 'valid', ['valid', 'same']), 'select', 'calc-pad'),
    // Model & training: the data and the hyper-parameters (the defaults reach 90% test accuracy
    // on the synthetic smiles within two minutes in a browser; see tests/e2e/train.test.mjs).
    training(ctl(int('trainSize', 'dn', D.trainSize, r.trainSize), 'number', 'data-train')),
    training(ctl(int('testSize', 'dt', D.testSize, r.testSize), 'number', 'data-test')),
    training(ctl(int('dataSeed', 'ds', D.dataSeed, r.dataSeed), 'number', 'data-seed')),
    training(ctl(choice('difficulty', 'dd', D.difficulty, ['easy', 'normal', 'hard']), 'select', 'data-difficulty')),
    training(ctl(int('epochs', 'ep', D.epochs, r.epochs), 'number', 'train-epochs')),
    training(ctl(int('batchSize', 'bs', D.batchSize, r.batchSize), 'number', 'train-batch')),
    // Up to the core's limit (10), so that a student can watch a too-large rate diverge.
    training(ctl(real('learningRate', 'lr', D.learningRate, r.learningRate), 'number', 'train-lr')),
    training(ctl(int('patience', 'pa', D.patience, r.patience), 'number', 'train-patience')),
    training(ctl(int('trainSeed', 'ts', D.trainSeed, r.trainSeed), 'number', 'train-seed')),
    training(ctl(real('bnMomentum', 'bn', D.bnMomentum, r.bnMomentum), 'number', 'train-bn')),
    // Augmentation (data::augment): off by default, as Keras trains without it.
    training(ctl(bool('augFlip', 'afh', false), 'checkbox', 'aug-flip')),
    training(ctl(bool('augFlipV', 'afv', false), 'checkbox', 'aug-flipv')),
    training(ctl(real('augRotation', 'arot', 0, r.augRotation), 'number', 'aug-rotation')),
    training(ctl(real('augShift', 'ash', 0, r.augShift), 'number', 'aug-shift')),
    training(ctl(real('augZoom', 'azm', 1, r.augZoom), 'number', 'aug-zoom')),
    training(ctl(real('augBrightness', 'abr', 0, r.augBrightness), 'number', 'aug-brightness')),
    training(ctl(real('augContrast', 'aco', 0, r.augContrast), 'number', 'aug-contrast')),
    training(ctl(real('augElastic', 'ael', 0, r.augElastic), 'number', 'aug-elastic')),
    archField,
  ];
}

// The page's schema, built once from the core's table of ranges: the field list, the link's
// reader and writer, and the model layout's parser with its ranges.
export function createSchema(table) {
  const ranges = readRanges(table);
  const arch = archRanges(ranges);
  const fields = buildFields(ranges, arch);
  const byUrl = new Map(fields.map((f) => [f.url, f]));
  const paint = fields.find((f) => f.key === 'paint');

  const defaults = () => Object.fromEntries(fields.map((f) => [f.key, f.def]));

  // Reads a URL fragment (`#k=3&s=2…`). Unknown keys and bad values are reported, not thrown.
  function readHash(hash) {
    const state = defaults();
    const problems = [];
    const present = new Set();
    let params;
    try {
      params = new URLSearchParams(hash.replace(/^#/, ''));
    } catch {
      return { state, problems: ['the link’s settings could not be read at all'], present };
    }
    for (const [k, text] of params) {
      const field = byUrl.get(k);
      if (!field) {
        problems.push(`unknown setting “${k.slice(0, 20)}”`);
        continue;
      }
      const r = field.parse(text.slice(0, 20000));
      if ('error' in r) problems.push(`${k}: ${r.error}`);
      else {
        state[field.key] = r.value;
        present.add(field.key);
      }
    }
    return { state, problems, present };
  }

  // Writes the state as a URL fragment, leaving out what equals the default (short links).
  function writeHash(state) {
    const parts = [];
    for (const f of fields) {
      const v = state[f.key];
      if (v === null || v === undefined || v === f.def) continue;
      const text = f.format(v);
      if (text === null) continue;
      parts.push(`${f.url}=${encodeURIComponent(text).replace(/%3B/g, ';').replace(/%3A/g, ':')}`);
    }
    return '#' + parts.join('&');
  }

  return {
    fields,
    ranges,
    arch,
    defaults,
    readHash,
    writeHash,
    parseArch: (text) => parseArch(arch, text),
    blockProblem: (b) => blockProblem(arch, b),
    // Whether a painted picture can be carried by a link.
    paintFitsLink: paint.fits,
  };
}

// A tiny store: set() merges a patch and tells subscribers which keys changed.
export function createStore(initial) {
  let state = { ...initial };
  const subscribers = [];
  return {
    get: () => state,
    set(patch) {
      const changed = new Set(Object.keys(patch).filter((k) => patch[k] !== state[k]));
      if (changed.size === 0) return;
      state = { ...state, ...patch };
      for (const fn of subscribers) fn(state, changed);
    },
    subscribe: (fn) => subscribers.push(fn),
  };
}
