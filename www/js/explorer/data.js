// The convolution explorer's data: what the page state asks of the Rust core, and everything
// each view shows, computed as plain values (a "frame") that view.js writes into the page.
// No DOM here, so it runs under Node's test runner (tests/unit/explorer-data.test.mjs); the
// core is passed in. Sizes are the core's answer (`describeConv`, the labs): nothing here
// recomputes an output size.

import { count as whole, fmt, factor, timesSigns } from '../format.js';
import { buildWeights, recipeFilters, resizeWeights } from './filters.js';
import { PRESETS, UPLOAD_SIDE, presetImage } from './inputs.js';

// The sliders whose messages the core addresses by name.
export const CONV_CONTROLS = ['kernel', 'stride', 'padding', 'dilation'];

export const CHANNEL_NAMES = (c) => (c === 3 ? ['R', 'G', 'B'] : Array.from({ length: c }, (_, i) => `ch ${i + 1}`));

// ---- the state ----

// The state a preset sets up: its picture, the chapter's filters for it, the geometry.
export function presetState(name) {
  const setup = PRESETS[name].setup;
  return {
    input: name, paint: null, uploaded: null,
    kernel: setup.kernel, stride: setup.stride, padMode: setup.padMode, pad: setup.pad, dilation: setup.dilation,
    filters: recipeFilters(setup.filters), biases: null, filter: 0, channel: 0, step: 0, poolStep: 0,
  };
}

// Makes a state read from a link consistent: fills what the link left out from the input's
// preset and reports what could not be used. Returns [state, problems].
export function settleLinkState(st, present) {
  const problems = [];
  let input = st.input;
  if (input === 'upload') {
    problems.push('the link named an uploaded picture, which never leaves the device it was opened on; showing the digit 7');
    input = 'seven';
  } else if (input === 'painted' && !st.paint) {
    problems.push('the link named a painted picture but does not hold it; showing the digit 7');
    input = 'seven';
  }
  const base = presetState(input === 'painted' ? (st.paint.look === 'ink' && st.paint.lo < 0 ? 'x' : 'seven') : input);
  const out = { ...st, input, uploaded: null };
  for (const key of ['kernel', 'stride', 'padMode', 'pad', 'dilation', 'filters']) if (!present.has(key)) out[key] = base[key];
  if (input !== 'painted') out.paint = null;
  if (out.biases && out.biases.length !== out.filters.length) {
    problems.push(`b: ${out.biases.length} biases for ${out.filters.length} filters; using zeros`);
    out.biases = null;
  }
  out.filter = Math.min(out.filter, out.filters.length - 1);
  return [out, problems];
}

// The convolution's settings as the core's `describeConv` and `ConvLab` take them.
export const convRequest = (st) => ({ kernel: st.kernel, stride: st.stride, padding: st.padMode, pad: st.pad, dilation: st.dilation });

// ---- edits: each returns the patch for the store ----

// A new kernel size: custom weights keep their centre (presets are rebuilt by the core).
export function kernelPatch(st, k, channels) {
  return { kernel: k, filters: st.filters.map((f) => (f.recipe ? f : { recipe: null, weights: resizeWeights(f.weights, st.kernel, k, channels) })) };
}

// A painted or uploaded picture. One with a different number of channels needs filters of that
// depth: the matching preset's; otherwise the student's filters stay.
export function picturePatch(patch, currentChannels) {
  const img = patch.input === 'painted' ? patch.paint : patch.uploaded;
  const filterPatch = img.channels === currentChannels ? {} : { filters: recipeFilters(PRESETS[img.channels === 3 ? 'face' : 'seven'].setup.filters), biases: null, filter: 0 };
  return { ...patch, ...filterPatch, channel: 0 };
}

// A padding mode: 'number' starts from the padding on show (at least the current number).
export function padModePatch(st, mode, padTop) {
  const pad = mode === 'valid' ? 0 : mode === 'explicit' ? Math.max(st.pad, padTop) : st.pad;
  return { padMode: mode, pad };
}

export const filterEditPatch = (st, edit) => ({ filters: st.filters.map((f, i) => (i === st.filter ? edit(f) : f)) });

// The selected filter's bias; all zeros are kept as none (a shorter link).
export function biasPatch(st, v) {
  const biases = st.filters.map((_, i) => (i === st.filter ? v : st.biases ? st.biases[i] : 0));
  return { biases: biases.every((b) => b === 0) ? null : biases };
}

// null: the last filter stays.
export function removeFilterPatch(st) {
  if (st.filters.length <= 1) return null;
  const keep = (_, i) => i !== st.filter;
  return { filters: st.filters.filter(keep), biases: st.biases ? st.biases.filter(keep) : null, filter: Math.max(0, st.filter - 1) };
}

// null: there are `most` filters already.
export function addFilterPatch(st, most) {
  if (st.filters.length >= most) return null;
  return { filters: [...st.filters, { recipe: 'identity', weights: null }], biases: st.biases ? [...st.biases, 0] : null, filter: st.filters.length };
}

// One weight typed into the kernel grid: cell `index` (row-major, K x K) of the shown channel.
export function weightPatch(st, flat, channels, index, v) {
  const per = st.kernel * st.kernel * channels;
  const weights = Array.from(flat.subarray(st.filter * per, (st.filter + 1) * per));
  weights[index * channels + st.channel] = v;
  return filterEditPatch(st, () => ({ recipe: null, weights }));
}

// ---- cell arithmetic ----

// Step `step` of an oh x ow output, clamped to its cells: {count, step, pos: {oy, ox} | null}.
export function stepAt(step, oh, ow) {
  const count = oh * ow;
  const at = Math.min(step, Math.max(0, count - 1));
  return { count, step: at, pos: count ? { oy: Math.floor(at / ow), ox: at % ow } : null };
}

// The step of the map cell under a click at (x, y) CSS pixels in a map drawn `width` wide.
export function stepAtPoint(x, y, width, oh, ow) {
  const s = width / ow;
  const ox = Math.min(ow - 1, Math.floor(x / s));
  const oy = Math.min(oh - 1, Math.floor(y / s));
  return oy * ow + ox;
}

// The step a key moves to on an oh x ow output map (the arrow keys by one cell, Home and End
// to the row's ends), held at the edges; null for any other key.
export function stepAfterKey(step, key, oh, ow) {
  const y = Math.floor(step / ow);
  const x = step % ow;
  const to = { ArrowLeft: [y, x - 1], ArrowRight: [y, x + 1], ArrowUp: [y - 1, x], ArrowDown: [y + 1, x], Home: [y, 0], End: [y, ow - 1] }[key];
  if (!to) return null;
  const clamp = (v, hi) => Math.max(0, Math.min(hi, v));
  return clamp(to[0], oh - 1) * ow + clamp(to[1], ow - 1);
}

// The input cell under (x, y) CSS pixels of the input grid drawn with `geom` (cell size `s`,
// padding `pt` rows and `pl` columns); null outside the picture itself.
export function inputCellAt(x, y, geom, img) {
  const col = Math.floor(x / geom.s) - geom.pl;
  const row = Math.floor(y / geom.s) - geom.pt;
  if (row < 0 || col < 0 || row >= img.height || col >= img.width) return null;
  return { row, col };
}

// A map's colour scale: its largest |value| is full colour (never 0).
export const mapScale = (values) => Math.max(1e-6, values.reduce((a, v) => Math.max(a, Math.abs(v)), 0));

// ---- text ----

// The formula with the current numbers, one line per axis when the input is not square.
export function formulaText(img, st, desc) {
  const axis = (n, before, after, out) => {
    const p = before === after ? `2·${before}` : `${before}+${after}`;
    const head = `⌊(${n} + ${p} − ${st.dilation}·(${st.kernel}−1) − 1) / ${st.stride}⌋ + 1`;
    return out === null || out === undefined ? `${head}: the kernel does not fit` : `${head} = ${out}`;
  };
  if (!desc || desc.span === 0) return ['—'];
  const rows = axis(img.height, desc.padTop, desc.padBottom, desc.outHeight);
  if (img.height === img.width && desc.padTop === desc.padLeft && desc.padBottom === desc.padRight) return [rows];
  return [`rows: ${rows}`, `columns: ${axis(img.width, desc.padLeft, desc.padRight, desc.outWidth)}`];
}

// The multiply-adds in words: every product, their sum, the bias and the result.
export function maddText(cell, channels) {
  const products = cell.terms.map((t) => `${factor(t.x)}×${factor(t.w)}`).join(' + ');
  let total = `sum of ${cell.terms.length} products = ${fmt(cell.sum)}`;
  if (channels > 1) {
    const names = CHANNEL_NAMES(channels);
    const parts = names.map((n, c) => `${n} ${fmt(cell.terms.filter((t) => t.c === c).reduce((a, t) => a + t.product, 0))}`);
    total += ` (${parts.join(', ')})`;
  }
  total += `; + bias ${factor(cell.bias)} = ${fmt(cell.value)}`;
  if (cell.relu) total += `; ReLU → ${fmt(cell.output)}`;
  return { products: `${products} = ${fmt(cell.sum)}`, total };
}

// The whole layer's work: every output cell of every map costs one kernel's multiply-adds.
export function layerMaddsText(oh, ow, filters, k, channels) {
  const per = k * k * channels;
  const perText = channels > 1 ? `${k}×${k}×${channels}` : `${k}×${k}`;
  return `This layer: ${oh}×${ow}×${filters}×${per} = ${whole(oh * ow * filters * per)} multiply-adds (${per === 1 ? '1' : `${perText} = ${per}`} per output cell)`;
}

const readout = (pos, step, count) => `row ${pos.oy + 1}, column ${pos.ox + 1} · ${step + 1} of ${count}`;

// The line under the maps, written for the kernel size and filters on the page.
function inputNote(st, c) {
  const preset = PRESETS[st.input];
  if (!preset) return st.input === 'upload' ? `Your picture, shrunk to at most ${UPLOAD_SIDE} pixels a side.` : 'Your painting. With Paint on, drag on the grid to change it; Undo takes a stroke back.';
  const own = preset.setup.filters;
  const chapter = st.filters.length === own.length && st.filters.every((f, i) => f.recipe === own[i]);
  const out = c.lab ? `${c.lab.outHeight}×${c.lab.outWidth}` : 'no output';
  return preset.note({ k: st.kernel, n: st.filters.length, channels: c.img.channels, chapter, stride: st.stride, pad: c.desc.padTop + c.desc.padLeft, dilation: st.dilation, out });
}

// ---- the core's runs, memoized on their inputs ----

// `core`: the wasm exports. `limits`: {paintFitsLink(img), filterCount, paintedSide} from the
// page's schema (state.js), so that the texts name the core's limits.
export function createExplorerData(core, limits) {
  const presetCache = new Map();
  const recipeCache = new Map();

  function currentImage(st) {
    if (st.input === 'painted' && st.paint) return st.paint;
    if (st.input === 'upload' && st.uploaded) return st.uploaded;
    const name = PRESETS[st.input] ? st.input : 'seven';
    if (!presetCache.has(name)) presetCache.set(name, presetImage(core, name));
    return presetCache.get(name);
  }

  function recipes(channels) {
    if (!recipeCache.has(channels)) recipeCache.set(channels, core.kernelRecipes(channels));
    return recipeCache.get(channels);
  }

  // The convolution of the current picture: the core's description of the settings (sizes,
  // padding, messages), the weights, and a ConvLab with every map when the settings work.
  let conv = null;
  function convOf(st) {
    const img = currentImage(st);
    const inputs = [img, st.filters, st.biases, st.relu, st.kernel, st.stride, st.padMode, st.pad, st.dilation];
    if (conv && conv.inputs.every((v, i) => v === inputs[i])) return conv;
    if (conv && conv.lab) conv.lab.free();
    const settings = convRequest(st);
    const desc = core.describeConv(img.height, img.width, settings);
    const { flat, problems } = buildWeights(core, st.filters, st.kernel, img.channels);
    const biases = Float32Array.from(st.filters, (_, i) => (st.biases ? st.biases[i] : 0));
    const names = st.filters.map((f) => (f.recipe ? (recipes(img.channels).find((r) => r.id === f.recipe) || { label: f.recipe }).label : 'custom'));
    let lab = null;
    let maps = [];
    let error = null;
    if (!desc.diagnostics.some((d) => d.level === 'error')) {
      try {
        lab = new core.ConvLab({ ...settings, relu: st.relu }, img.height, img.width, img.channels, img.data, flat, biases);
        maps = st.filters.map((_, f) => lab.map(f));
      } catch (e) {
        error = e.message;
      }
    }
    conv = { inputs, img, desc, flat, biases, names, problems, lab, maps, scales: maps.map(mapScale), error };
    return conv;
  }

  // The pooling of the selected map.
  let pool = null;
  function poolOf(st, c) {
    const f = Math.min(st.filter, c.maps.length - 1);
    const inputs = [c, f, st.poolKind, st.poolWindow, st.poolStride, st.poolPad];
    if (pool && pool.inputs.every((v, i) => v === inputs[i])) return pool;
    if (pool && pool.lab) pool.lab.free();
    pool = { inputs, lab: null, error: null };
    if (!c.lab) {
      pool.error = 'There is no output map to pool: fix the convolution’s settings first.';
      return pool;
    }
    const [h, w] = [c.lab.outHeight, c.lab.outWidth];
    try {
      pool.lab = new core.PoolLab(c.maps[f], h, w, st.poolKind, st.poolWindow, st.poolStride, st.poolPad);
      pool.out = pool.lab.output();
      pool.pads = { top: pool.lab.padTop, bottom: pool.lab.padBottom, left: pool.lab.padLeft, right: pool.lab.padRight };
      pool.map = c.maps[f];
      pool.h = h;
      pool.w = w;
      pool.scale = c.scales[f];
    } catch (e) {
      pool.error = e.message;
      pool.lab = null;
    }
    return pool;
  }

  // The sliders, formula and output size. `uploadError`: the last upload's failure, if any.
  function setupFrame(st, c, uploadError) {
    const diags = c.desc.diagnostics;
    const messages = {};
    for (const control of CONV_CONTROLS) {
      const items = diags.filter((d) => d.control === control);
      if (control === 'kernel') items.push(...c.problems.map((message) => ({ level: 'note', message })));
      messages[control] = items;
    }
    const inputNotes = diags.filter((d) => d.control === 'input');
    if (uploadError) inputNotes.push({ level: 'error', message: uploadError });
    if (st.input === 'painted' && !limits.paintFitsLink(c.img)) {
      const side = limits.paintedSide.max;
      inputNotes.push({ level: 'note', message: `Painting on this picture is not kept in the link (only grey pictures up to ${side}×${side} are).` });
    }
    if (st.input === 'upload') inputNotes.push({ level: 'note', message: 'Your picture stays on this device: it is not in the link.' });
    messages.input = inputNotes;
    const ok = c.lab !== null;
    const padText = c.desc.padTop === c.desc.padBottom ? String(c.desc.padTop) : `${c.desc.padTop}+${c.desc.padBottom}`;
    return {
      input: st.input,
      kernel: st.kernel,
      kernelText: `${st.kernel}×${st.kernel}`,
      pad: st.padMode === 'explicit' ? st.pad : c.desc.padTop,
      padText: st.padMode === 'explicit' ? String(st.pad) : `${st.padMode} (${padText})`,
      padMode: st.padMode,
      messages,
      formula: formulaText(c.img, st, c.desc),
      ok,
      outputSize: ok ? `${c.lab.outHeight} × ${c.lab.outWidth} × ${c.lab.filters}` : 'none',
      layerMadds: ok ? layerMaddsText(c.lab.outHeight, c.lab.outWidth, c.lab.filters, st.kernel, c.img.channels) : '',
    };
  }

  // The input with this step's receptive field, the maps, and the filter panel.
  function stageFrame(st, c) {
    const oh = c.lab ? c.lab.outHeight : 0;
    const ow = c.lab ? c.lab.outWidth : 0;
    const { count, step, pos } = stepAt(st.step, oh, ow);
    const f = Math.min(st.filter, st.filters.length - 1);
    const cell = pos ? c.lab.cell(pos.oy, pos.ox, f) : null;
    const channels = c.img.channels;
    const ch = Math.min(st.channel, channels - 1);
    const d = c.desc;
    const pads = d.padTop + d.padBottom + d.padLeft + d.padRight;
    const padded = c.lab && pads > 0 ? ` · padded ${c.img.height + d.padTop + d.padBottom}×${c.img.width + d.padLeft + d.padRight}` : '';
    const per = st.kernel * st.kernel * channels;
    return {
      img: c.img,
      desc: c.lab ? d : null,
      oh, ow, count, step, pos, cell,
      filter: f,
      channel: ch,
      inputCaption: `${c.img.height}×${c.img.width}${channels > 1 ? `×${channels}` : ''}${padded}`,
      inputNote: inputNote(st, c),
      readout: pos ? readout(pos, step, count) : 'no output',
      maps: c.maps,
      names: c.names,
      scales: c.scales,
      scale: c.scales[f] ?? 1,
      hasOutput: c.lab !== null,
      mapsCaption: c.lab ? `${oh}×${ow}×${c.maps.length}` : '',
      emptyText: c.error ? timesSigns(c.error) : 'No output with these settings: see the message next to the slider.',
      // The filter panel.
      filterCount: st.filters.length,
      canAdd: st.filters.length < limits.filterCount.max,
      canRemove: st.filters.length > 1,
      recipes: recipes(channels),
      recipesFor: `${channels}/${st.kernel}`,
      recipe: st.filters[f].recipe || 'custom',
      bias: c.biases[f],
      kernel: st.kernel,
      channels,
      channelNames: CHANNEL_NAMES(channels),
      weights: c.flat.subarray(f * per, (f + 1) * per),
      cellTitle: pos ? `This step: map ${f + 1}, row ${pos.oy + 1}, column ${pos.ox + 1}${channels > 1 ? ` (channel ${CHANNEL_NAMES(channels)[ch]} shown)` : ''}` : 'This step',
      madd: cell ? maddText(cell, channels) : { products: '', total: '' },
    };
  }

  // The pooling panel.
  function poolFrame(st, c) {
    const p = poolOf(st, c);
    const f = Math.min(st.filter, st.filters.length - 1);
    if (!p.lab) return { error: p.error, ok: false };
    const [oh, ow] = [p.lab.outHeight, p.lab.outWidth];
    const { count, step, pos } = stepAt(st.poolStep, oh, ow);
    return {
      error: p.error,
      ok: true,
      map: p.map, h: p.h, w: p.w, pads: p.pads, scale: p.scale, out: p.out,
      oh, ow, count, step, pos,
      cell: p.lab.cell(pos.oy, pos.ox),
      inCaption: `map ${f + 1}: ${p.h}×${p.w}`,
      outCaption: `${oh}×${ow}`,
      cellTitle: `This window: row ${pos.oy + 1}, column ${pos.ox + 1}`,
      readout: readout(pos, step, count),
    };
  }

  // The shape calculator: {input, output} or {error}. `problem`: a number the field refused.
  function calcFrame(st, problem) {
    if (problem) return { error: timesSigns(problem) };
    try {
      const [h, w, ch] = core.poolShape(st.calcH, st.calcW, st.calcC, st.calcWindow, st.calcStride, st.calcPad);
      return { input: `${st.calcH}×${st.calcW}×${st.calcC}`, output: `${h}×${w}×${ch}` };
    } catch (e) {
      return { error: timesSigns(e.message) };
    }
  }

  return { currentImage, recipes, conv: convOf, pool: poolOf, setupFrame, stageFrame, poolFrame, calcFrame };
}

// ---- painting's undo ----

// The pictures before the last strokes, so that Undo can take them back one by one. A picture
// changed by anything but a stroke or Undo (a preset, an upload, a link) ends the history:
// undoing would bring back a picture the student left. `imageOf(picture)` gives a picture's image.
export function createStrokeHistory(levels, imageOf) {
  const stack = []; // {input, paint, uploaded} before each stroke, the last one last
  let start = null; // the picture before the current stroke, until the stroke changes it
  let last = null; // the image the last stroke or undo left: anything else clears the stack
  return {
    begin(picture) {
      start = picture;
    },
    // A stroke changed the picture into `image`.
    painted(image) {
      if (start) {
        stack.push(start);
        if (stack.length > levels) stack.shift();
        start = null;
      }
      last = image;
    },
    end() {
      start = null;
    },
    // The picture to go back to (null: none).
    undo() {
      const previous = stack.pop();
      if (!previous) return null;
      last = imageOf(previous);
      return previous;
    },
    // Called with the image on show; says whether Undo has anything to take back.
    follow(image) {
      if (stack.length && image !== last) stack.length = 0;
      return stack.length > 0;
    },
  };
}
