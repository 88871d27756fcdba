// The explorer's UI state as one declarative list. Each field names its URL key, its default
// and how to read it back from text; the same list fills the URL (a teacher's shareable
// setup) and checks a link that was typed or mangled: a bad value becomes a message and
// the default, never an exception.

const int = (key, url, def, min, max) => ({
  key, url, def,
  parse(text) {
    if (!/^-?\d+$/.test(text)) return { error: `“${text}” is not a whole number` };
    const v = Number(text);
    if (v < min || v > max) return { error: `${v} is outside ${min}…${max}` };
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
const real = (key, url, def, min, max) => ({
  key, url, def,
  parse(text) {
    if (!NUMBER.test(text)) return { error: `“${text}” is not a number` };
    const v = Number(text);
    if (!(v >= min && v <= max)) return { error: `${v} is outside ${min}…${max}` };
    return { value: v };
  },
  format: (v) => String(v),
});

// A number as a link writes it: short, exact enough for hand-made kernels.
const short = (v) => String(Math.round(v * 1e4) / 1e4);
const RECIPE_ID = /^[a-z_]{1,24}$/;
const NUMBER = /^-?(\d+\.?\d*|\.\d+)(e-?\d+)?$/i;

// Filters: `id;id;c:w_w_w…` — a kernel preset by name, or `c:` and the custom weights (K, K, C).
// The sizes are checked later, against the kernel size and the input's channels.
const filters = {
  key: 'filters', url: 'f', def: null,
  parse(text) {
    const parts = text.split(';');
    if (parts.length < 1 || parts.length > 8) return { error: 'there must be 1 to 8 filters' };
    const out = [];
    for (const p of parts) {
      if (p.startsWith('c:')) {
        const ws = p.slice(2).split('_');
        if (ws.length > 15 * 15 * 4 || !ws.every((w) => NUMBER.test(w))) return { error: 'a custom kernel has a weight that is not a number' };
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

const biases = {
  key: 'biases', url: 'b', def: null,
  parse(text) {
    const parts = text.split(';');
    if (parts.length > 8 || !parts.every((p) => NUMBER.test(p))) return { error: 'a bias is not a number' };
    return { value: parts.map(Number) };
  },
  format: (bs) => bs.map(short).join(';'),
};

// A painted single-channel input: `HxW:lo:hi:look:hex`, one hex digit (16 levels) per cell.
const paint = {
  key: 'paint', url: 'px', def: null,
  parse(text) {
    const m = /^(\d{1,2})x(\d{1,2}):(-?[\d.]+):(-?[\d.]+):(ink|light):([0-9a-f]+)$/.exec(text);
    if (!m) return { error: 'the painted picture is garbled' };
    const [h, w, lo, hi] = [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])];
    if (h < 1 || w < 1 || h > 64 || w > 64 || m[6].length !== h * w || !(hi > lo)) return { error: 'the painted picture has the wrong size' };
    const data = Float32Array.from(m[6], (ch) => lo + (parseInt(ch, 16) / 15) * (hi - lo));
    return { value: { height: h, width: w, channels: 1, data, lo, hi, look: m[5] } };
  },
  // Only small grey pictures fit in a link; others are left out (the page says so).
  format(img) {
    if (img.channels !== 1 || img.height > 64 || img.width > 64) return null;
    const hex = Array.from(img.data, (v) => Math.round(((v - img.lo) / (img.hi - img.lo)) * 15).toString(16)).join('');
    return `${img.height}x${img.width}:${short(img.lo)}:${short(img.hi)}:${img.look}:${hex}`;
  },
};

// `control` names the element that edits a field directly (see controls.js): its kind, its id
// (the name of a radio group) and, for sliders, how the value is shown beside it. Fields
// without one are edited by the explorer's own handlers (kernel size, padding, filters, painting).
const ctl = (field, kind, id, show) => ({ ...field, control: { kind, id, show } });
const square = (v) => `${v}×${v}`;
// Fields of the training section: bound by its own module, not the explorer's.
const training = (field) => ({ ...field, section: 'training' });
const BIG = 1 << 20;

// The model editor's layout as a short text (see train/architecture.js): conv blocks
// `FILTERSxKERNEL[b][m|a|n]DROPOUT` joined by `_`, then `dUNITS` for the hidden dense layer.
// The link parser checks the grammar and the ranges; whether the layers fit together is the
// Rust core's word (an edit it refuses is explained under the editor).
export const CHAPTER_ARCH = '16x5bm0.1_32x5bm0.1_d128';
export const ARCH_LIMITS = { blocks: 6, filters: 256, kernel: 11, dropout: 0.9, dense: 1024 };
const ARCH_BLOCK = /^(\d{1,4})x(\d{1,2})(b?)([man])(\d?\.?\d*)$/;

export function parseArch(text) {
  const parts = text.split('_');
  const dense = /^d(\d{1,5})$/.exec(parts.pop() ?? '');
  if (!dense) return { error: 'the model layout must end with the dense layer’s size, like d128' };
  if (parts.length > ARCH_LIMITS.blocks) return { error: `at most ${ARCH_LIMITS.blocks} conv blocks` };
  const blocks = [];
  for (const p of parts) {
    const m = ARCH_BLOCK.exec(p);
    if (!m || !NUMBER.test(m[5])) return { error: `“${p.slice(0, 20)}” is not a conv block like 16x5bm0.1` };
    const block = { filters: Number(m[1]), kernel: Number(m[2]), batchNorm: m[3] === 'b', pool: { m: 'max', a: 'average', n: 'none' }[m[4]], dropout: Number(m[5]) };
    const problem = blockProblem(block);
    if (problem) return { error: problem };
    blocks.push(block);
  }
  const units = Number(dense[1]);
  if (units > ARCH_LIMITS.dense) return { error: `the dense layer can have at most ${ARCH_LIMITS.dense} units (0: none)` };
  return { value: { blocks, dense: units } };
}

// What is wrong with one block's numbers, in words (null: nothing).
export function blockProblem(b) {
  const whole = (v, lo, hi) => Number.isInteger(v) && v >= lo && v <= hi;
  if (!whole(b.filters, 1, ARCH_LIMITS.filters)) return `the number of filters must be a whole number from 1 to ${ARCH_LIMITS.filters}`;
  if (!whole(b.kernel, 1, ARCH_LIMITS.kernel)) return `the kernel size must be a whole number from 1 to ${ARCH_LIMITS.kernel}`;
  if (!(b.dropout >= 0 && b.dropout <= ARCH_LIMITS.dropout)) return `the dropout rate must be from 0 to ${ARCH_LIMITS.dropout}`;
  return null;
}

export function formatArch({ blocks, dense }) {
  const pool = { max: 'm', average: 'a', none: 'n' };
  return [...blocks.map((b) => `${b.filters}x${b.kernel}${b.batchNorm ? 'b' : ''}${pool[b.pool]}${short(b.dropout)}`), `d${dense}`].join('_');
}

// A field whose value is the canonical layout text (so equal layouts compare equal).
const arch = {
  key: 'arch', url: 'ar', def: CHAPTER_ARCH, section: 'training',
  parse(text) {
    const r = parseArch(text);
    return 'error' in r ? r : { value: formatArch(r.value) };
  },
  format: (v) => v,
};

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

export const FIELDS = [
  choice('input', 'in', 'seven', ['seven', 'x', 'face', 'seven14', 'painted', 'upload']),
  paint,
  int('kernel', 'k', 3, 1, 9),
  ctl(int('stride', 's', 1, 1, 6), 'range', 'stride', String),
  choice('padMode', 'pm', 'valid', ['valid', 'same', 'explicit']),
  int('pad', 'p', 0, 0, 6),
  ctl(int('dilation', 'd', 1, 1, 4), 'range', 'dilation', String),
  ctl(bool('relu', 'relu', false), 'checkbox', 'relu'),
  filters,
  biases,
  int('filter', 'm', 0, 0, 7),
  int('channel', 'c', 0, 0, 3),
  int('step', 't', 0, 0, 1 << 16),
  ctl(choice('poolKind', 'pk', 'max', ['max', 'average']), 'radios', 'pool-kind'),
  ctl(int('poolWindow', 'pw', 2, 1, 5), 'range', 'pool-window', square),
  ctl(int('poolStride', 'ps', 2, 1, 5), 'range', 'pool-stride', String),
  ctl(choice('poolPad', 'pp', 'valid', ['valid', 'same']), 'radios', 'pool-pad'),
  int('poolStep', 'pt', 0, 0, 1 << 16),
  ctl(int('calcH', 'qh', 224, 1, BIG), 'number', 'calc-h'),
  ctl(int('calcW', 'qw', 224, 1, BIG), 'number', 'calc-w'),
  ctl(int('calcC', 'qc', 64, 1, BIG), 'number', 'calc-c'),
  ctl(int('calcWindow', 'qk', 2, 1, BIG), 'number', 'calc-window'),
  ctl(int('calcStride', 'qs', 2, 1, BIG), 'number', 'calc-stride'),
  ctl(choice('calcPad', 'qp', 'valid', ['valid', 'same']), 'select', 'calc-pad'),
  // Model & training: the data and the hyper-parameters (the defaults reach 90% test accuracy
  // on the synthetic smiles within two minutes in a browser; see tests/e2e/train.test.mjs).
  training(ctl(int('trainSize', 'dn', TRAIN_DEFAULTS.trainSize, 20, 5000), 'number', 'data-train')),
  training(ctl(int('testSize', 'dt', TRAIN_DEFAULTS.testSize, 10, 2000), 'number', 'data-test')),
  training(ctl(int('dataSeed', 'ds', TRAIN_DEFAULTS.dataSeed, 0, 1e9), 'number', 'data-seed')),
  training(ctl(choice('difficulty', 'dd', TRAIN_DEFAULTS.difficulty, ['easy', 'normal', 'hard']), 'select', 'data-difficulty')),
  training(ctl(int('epochs', 'ep', TRAIN_DEFAULTS.epochs, 1, 1000), 'number', 'train-epochs')),
  training(ctl(int('batchSize', 'bs', TRAIN_DEFAULTS.batchSize, 1, 1024), 'number', 'train-batch')),
  // Up to 10, so that a student can watch a too-large rate diverge (the page explains it).
  training(ctl(real('learningRate', 'lr', TRAIN_DEFAULTS.learningRate, 1e-6, 10), 'number', 'train-lr')),
  training(ctl(int('patience', 'pa', TRAIN_DEFAULTS.patience, 0, 1000), 'number', 'train-patience')),
  training(ctl(int('trainSeed', 'ts', TRAIN_DEFAULTS.trainSeed, 0, 1e9), 'number', 'train-seed')),
  training(ctl(real('bnMomentum', 'bn', TRAIN_DEFAULTS.bnMomentum, 0, 0.999), 'number', 'train-bn')),
  arch,
];

export function defaults() {
  return Object.fromEntries(FIELDS.map((f) => [f.key, f.def]));
}

// Reads a URL fragment (`#k=3&s=2…`). Unknown keys and bad values are reported, not thrown.
export function readHash(hash) {
  const state = defaults();
  const problems = [];
  const present = new Set();
  let params;
  try {
    params = new URLSearchParams(hash.replace(/^#/, ''));
  } catch {
    return { state, problems: ['the link’s settings could not be read at all'], present };
  }
  const byUrl = new Map(FIELDS.map((f) => [f.url, f]));
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
export function writeHash(state) {
  const parts = [];
  for (const f of FIELDS) {
    const v = state[f.key];
    if (v === null || v === undefined || v === f.def) continue;
    const text = f.format(v);
    if (text === null) continue;
    parts.push(`${f.url}=${encodeURIComponent(text).replace(/%3B/g, ';').replace(/%3A/g, ':')}`);
  }
  return '#' + parts.join('&');
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
