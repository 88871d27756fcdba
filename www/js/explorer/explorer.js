// The convolution explorer's controller: controls write the page state; every state change
// recomputes what changed (in the Rust core, memoized) and redraws. Data (this file's
// derive* functions), drawing (conv-view.js, pool-view.js) and animation (player.js) stay apart.

import { bindControls } from '../controls.js';
import { createPlayer } from '../player.js';
import { FIELDS } from '../state.js';
import { count as whole, fmt, timesSigns } from '../format.js';
import { buildWeights, recipeFilters, resizeWeights } from './filters.js';
import { PRESETS, paintAt, presetImage, uploadImage } from './inputs.js';
import { CHANNEL_NAMES, drawInput, drawKernelEditor, drawMaps, drawProducts, formulaText, maddText, setMessage } from './conv-view.js';
import { drawPoolInput, drawPoolOutput, drawPoolWindow } from './pool-view.js';

const $ = (id) => document.getElementById(id);
const MAX_FILTERS = 8;
const CONTROLS = ['kernel', 'stride', 'padding', 'dilation'];
const UNDO_LEVELS = 30; // strokes that Undo can take back

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

export function startExplorer(core, store) {
  const presetCache = new Map();
  const recipeCache = new Map();
  let uploadError = null; // shown until the next picture is chosen

  // ---- data: the current picture, convolution and pooling (memoized on their inputs) ----

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

  const settingsOf = (st) => ({ kernel: st.kernel, stride: st.stride, padding: st.padMode, pad: st.pad, dilation: st.dilation });

  let conv = null;
  function deriveConv(st) {
    const img = currentImage(st);
    const inputs = [img, st.filters, st.biases, st.relu, st.kernel, st.stride, st.padMode, st.pad, st.dilation];
    if (conv && conv.inputs.every((v, i) => v === inputs[i])) return conv;
    if (conv && conv.lab) conv.lab.free();
    const settings = settingsOf(st);
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
    conv = { inputs, img, desc, flat, biases, names, problems, lab, maps, error };
    return conv;
  }

  let pool = null;
  function derivePool(st, c) {
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
      pool.scale = Math.max(1e-6, ...c.maps[f].map(Math.abs));
    } catch (e) {
      pool.error = e.message;
      pool.lab = null;
    }
    return pool;
  }

  // ---- controls -> state ----

  const set = (patch) => store.set(patch);

  function setKernel(k) {
    const st = store.get();
    const c = currentImage(st).channels;
    const filters = st.filters.map((f) => (f.recipe ? f : { recipe: null, weights: resizeWeights(f.weights, st.kernel, k, c) }));
    set({ kernel: k, filters });
  }

  function loadPicture(patch) {
    // A picture with a different number of channels needs filters of that depth: use the
    // matching preset's filters; otherwise keep the student's filters.
    const st = store.get();
    const img = patch.input === 'painted' ? patch.paint : patch.uploaded;
    const sameDepth = img.channels === currentImage(st).channels;
    const filterPatch = sameDepth ? {} : { filters: recipeFilters(PRESETS[img.channels === 3 ? 'face' : 'seven'].setup.filters), biases: null, filter: 0 };
    set({ ...patch, ...filterPatch, channel: 0 });
  }

  $('input-preset').addEventListener('change', (e) => {
    const v = e.target.value;
    uploadError = null;
    if (PRESETS[v]) set(presetState(v));
  });
  $('chapter-example').addEventListener('click', () => set(presetState('seven14')));

  $('upload').addEventListener('change', async (e) => {
    const file = e.target.files[0];
    e.target.value = '';
    if (!file) return;
    try {
      const img = await uploadImage(core, file, $('upload-colour').checked);
      uploadError = null;
      loadPicture({ input: 'upload', uploaded: img, paint: null, step: 0 });
    } catch (err) {
      uploadError = `Could not use “${file.name}”: ${err.message}.`;
      render(store.get());
    }
  });

  // Most controls are bound through the field list; these few change more than one field.
  let calcProblem = null;
  const reflectControls = bindControls(store, FIELDS.filter((f) => !f.section), (field, message) => {
    if (!field.control.id.startsWith('calc-')) return;
    calcProblem = message && `${$(field.control.id).getAttribute('aria-label').replace('Calculator ', '')}: ${message}`;
    if (message) renderCalc(store.get());
  });
  $('kernel').addEventListener('input', (e) => setKernel(Number(e.target.value)));
  $('padding').addEventListener('input', (e) => set({ padMode: 'explicit', pad: Number(e.target.value) }));
  for (const r of document.querySelectorAll('input[name="pad-mode"]')) {
    r.addEventListener('change', () => {
      const pad = r.value === 'valid' ? 0 : r.value === 'explicit' ? Math.max(store.get().pad, conv.desc.padTop) : store.get().pad;
      set({ padMode: r.value, pad });
    });
  }

  // Filters: tabs, preset, bias, weights.
  const editFilter = (patchFilter) => {
    const st = store.get();
    set({ filters: st.filters.map((f, i) => (i === st.filter ? patchFilter(f) : f)) });
  };
  $('filter-recipe').addEventListener('change', (e) => editFilter(() => ({ recipe: e.target.value, weights: null })));
  $('filter-bias').addEventListener('change', (e) => {
    const st = store.get();
    const v = Number(e.target.value);
    if (e.target.value === '' || !Number.isFinite(v)) return render(store.get());
    const biases = st.filters.map((_, i) => (i === st.filter ? v : st.biases ? st.biases[i] : 0));
    set({ biases: biases.every((b) => b === 0) ? null : biases });
  });
  $('filter-remove').addEventListener('click', () => {
    const st = store.get();
    if (st.filters.length <= 1) return;
    const keep = (_, i) => i !== st.filter;
    set({ filters: st.filters.filter(keep), biases: st.biases ? st.biases.filter(keep) : null, filter: Math.max(0, st.filter - 1) });
  });
  function addFilter() {
    const st = store.get();
    if (st.filters.length >= MAX_FILTERS) return;
    set({ filters: [...st.filters, { recipe: 'identity', weights: null }], biases: st.biases ? [...st.biases, 0] : null, filter: st.filters.length });
  }
  function editWeight(index, input) {
    const st = store.get();
    const v = Number(input.value);
    if (input.value === '' || !Number.isFinite(v)) return render(st);
    const c = conv.img.channels;
    const per = st.kernel * st.kernel * c;
    const weights = Array.from(conv.flat.subarray(st.filter * per, (st.filter + 1) * per));
    weights[index * c + st.channel] = v;
    editFilter(() => ({ recipe: null, weights }));
  }

  // Painting on the input grid (pointer events also cover touch screens). It is a mode that
  // the Paint button turns on: a click on the grid that was meant to look at a cell must not
  // change the picture. Each stroke can be undone (the pictures before the last strokes are
  // kept; painting is cheap to keep, the pictures are at most 64×64).
  const inputCanvas = $('input-canvas');
  let inputGeom = null;
  let painting = false;
  let paintMode = false;
  const undoStack = []; // {input, paint, uploaded} before each stroke, the last one last
  let strokeStart = null; // the picture before the current stroke, until the stroke changes it
  let strokeImage = null; // the picture the last stroke or undo left: anything else clears the stack
  const pictureOf = (st) => ({ input: st.input, paint: st.paint, uploaded: st.uploaded });

  function setPaintMode(on) {
    paintMode = on;
    $('paint-toggle').setAttribute('aria-pressed', String(on));
    inputCanvas.classList.toggle('painting', on);
    $('paint-hint').textContent = on ? 'drag on the grid to paint' : 'press Paint, then drag on the grid';
  }
  $('paint-toggle').addEventListener('click', () => setPaintMode(!paintMode));
  $('paint-undo').addEventListener('click', () => {
    const previous = undoStack.pop();
    if (!previous) return;
    strokeImage = currentImage(previous);
    set(previous);
  });

  function paintFromEvent(e) {
    if (!inputGeom) return;
    const rect = inputCanvas.getBoundingClientRect();
    const col = Math.floor((e.clientX - rect.left) / inputGeom.s) - inputGeom.pl;
    const row = Math.floor((e.clientY - rect.top) / inputGeom.s) - inputGeom.pt;
    const st = store.get();
    const img = currentImage(st);
    if (row < 0 || col < 0 || row >= img.height || col >= img.width) return;
    const brush = document.querySelector('input[name="brush"]:checked').value;
    const next = paintAt(img, row, col, brush);
    if (next === img) return;
    if (strokeStart) {
      undoStack.push(strokeStart);
      if (undoStack.length > UNDO_LEVELS) undoStack.shift();
      strokeStart = null;
    }
    strokeImage = next;
    set({ input: 'painted', paint: next, uploaded: null });
  }
  inputCanvas.addEventListener('pointerdown', (e) => {
    if (!paintMode) return;
    painting = true;
    strokeStart = pictureOf(store.get());
    inputCanvas.setPointerCapture(e.pointerId);
    paintFromEvent(e);
  });
  inputCanvas.addEventListener('pointermove', (e) => painting && paintFromEvent(e));
  const stopPainting = () => {
    painting = false;
    strokeStart = null;
  };
  inputCanvas.addEventListener('pointerup', stopPainting);
  inputCanvas.addEventListener('pointercancel', stopPainting);

  // Clicking a map picks that filter and cell.
  $('maps').addEventListener('click', (e) => {
    const canvas = e.target.closest('canvas');
    if (!canvas || !conv.lab) return;
    const rect = canvas.getBoundingClientRect();
    const ow = conv.lab.outWidth;
    const s = rect.width / ow;
    const ox = Math.min(ow - 1, Math.floor((e.clientX - rect.left) / s));
    const oy = Math.min(conv.lab.outHeight - 1, Math.floor((e.clientY - rect.top) / s));
    set({ filter: Number(canvas.dataset.filter), step: oy * ow + ox });
  });

  const convPlayer = createPlayer($('conv-player'), { label: 'Step', getIndex: () => store.get().step, setIndex: (i) => set({ step: i }) });
  const poolPlayer = createPlayer($('pool-player'), { label: 'Pooling step', getIndex: () => store.get().poolStep, setIndex: (i) => set({ poolStep: i }) });

  // ---- state -> drawing ----

  function renderSetup(st, c) {
    $('input-preset').value = st.input;
    for (const v of ['painted', 'upload']) $('input-preset').querySelector(`option[value="${v}"]`).hidden = st.input !== v;
    $('kernel').value = String(st.kernel);
    $('kernel-out').textContent = `${st.kernel}×${st.kernel}`;
    const shownPad = st.padMode === 'explicit' ? st.pad : c.desc.padTop;
    $('padding').value = String(shownPad);
    const padText = c.desc.padTop === c.desc.padBottom ? String(c.desc.padTop) : `${c.desc.padTop}+${c.desc.padBottom}`;
    $('padding-out').textContent = st.padMode === 'explicit' ? String(st.pad) : `${st.padMode} (${padText})`;
    for (const r of document.querySelectorAll('input[name="pad-mode"]')) r.checked = r.value === st.padMode;

    const diags = c.desc.diagnostics;
    for (const control of CONTROLS) {
      const items = diags.filter((d) => d.control === control);
      if (control === 'kernel') items.push(...c.problems.map((message) => ({ level: 'note', message })));
      setMessage(`msg-${control}`, items);
      document.querySelector(`.slider[data-control="${control}"]`).classList.toggle('has-error', items.some((d) => d.level === 'error'));
    }
    const inputNotes = diags.filter((d) => d.control === 'input');
    if (uploadError) inputNotes.push({ level: 'error', message: uploadError });
    if (st.input === 'painted' && (c.img.channels !== 1 || c.img.height > 64 || c.img.width > 64)) {
      inputNotes.push({ level: 'note', message: 'Painting on this picture is not kept in the link (only grey pictures up to 64×64 are).' });
    }
    if (st.input === 'upload') inputNotes.push({ level: 'note', message: 'Your picture stays on this device: it is not in the link.' });
    setMessage('msg-input', inputNotes);

    $('formula-numbers').replaceChildren(...formulaText(c.img, st, c.desc).map((line) => Object.assign(document.createElement('span'), { textContent: line })));
    const ok = c.lab !== null;
    $('output-size').textContent = ok ? `${c.lab.outHeight} × ${c.lab.outWidth} × ${c.lab.filters}` : 'none';
    $('output-size').classList.toggle('error', !ok);
    // The whole layer's work: every output cell of every map costs one kernel's multiply-adds.
    const per = st.kernel * st.kernel * c.img.channels;
    const perText = c.img.channels > 1 ? `${st.kernel}×${st.kernel}×${c.img.channels}` : `${st.kernel}×${st.kernel}`;
    $('layer-madds').textContent = ok
      ? `This layer: ${c.lab.outHeight}×${c.lab.outWidth}×${c.lab.filters}×${per} = ${whole(c.lab.outHeight * c.lab.outWidth * c.lab.filters * per)} multiply-adds (${per === 1 ? '1' : `${perText} = ${per}`} per output cell)`
      : '';
  }

  // Panel widths, kept by a ResizeObserver so that drawing never forces a layout (reading
  // clientWidth after the DOM changed was most of the time of a redraw).
  const widths = new Map();
  const widthOf = (el) => {
    if (!widths.has(el)) widths.set(el, el.clientWidth);
    return widths.get(el);
  };
  const observer = new ResizeObserver((entries) => {
    let changed = false;
    for (const e of entries) {
      const w = Math.floor(e.contentRect.width);
      changed ||= widths.get(e.target) !== w;
      widths.set(e.target, w);
    }
    if (changed) render(store.get());
  });
  const panels = [...['input-canvas', 'pool-in-canvas', 'pool-out-canvas'].map((id) => $(id).parentElement), $('maps')];
  for (const el of panels) observer.observe(el);
  // All read now, in one layout, before the first render changes the page (read one by one
  // between its drawings, each forced a layout of its own).
  for (const el of panels) widthOf(el);

  function box(el, maxH) {
    const w = widthOf(el);
    return { width: w, height: Math.min(maxH, w) };
  }

  // The line under the maps, written for the kernel size and filters on the page.
  function inputNote(st, c) {
    const preset = PRESETS[st.input];
    if (!preset) return st.input === 'upload' ? 'Your picture, shrunk to at most 64 pixels a side.' : 'Your painting. With Paint on, drag on the grid to change it; Undo takes a stroke back.';
    const own = preset.setup.filters;
    const chapter = st.filters.length === own.length && st.filters.every((f, i) => f.recipe === own[i]);
    const out = c.lab ? `${c.lab.outHeight}×${c.lab.outWidth}` : 'no output';
    return preset.note({ k: st.kernel, n: st.filters.length, channels: c.img.channels, chapter, stride: st.stride, pad: c.desc.padTop + c.desc.padLeft, dilation: st.dilation, out });
  }

  function renderStage(st, c) {
    const oh = c.lab ? c.lab.outHeight : 0;
    const ow = c.lab ? c.lab.outWidth : 0;
    const count = oh * ow;
    const step = Math.min(st.step, Math.max(0, count - 1));
    const f = Math.min(st.filter, st.filters.length - 1);
    const pos = count ? { oy: Math.floor(step / ow), ox: step % ow } : null;
    const cell = pos ? c.lab.cell(pos.oy, pos.ox, f) : null;
    const ch = Math.min(st.channel, c.img.channels - 1);

    const inBox = box($('input-canvas').parentElement, Math.max(260, window.innerHeight - 330));
    inputGeom = drawInput($('input-canvas'), c.img, c.lab ? c.desc : null, cell, inBox);
    const pads = c.desc.padTop + c.desc.padBottom + c.desc.padLeft + c.desc.padRight;
    const padded = c.lab && pads > 0 ? ` · padded ${c.img.height + c.desc.padTop + c.desc.padBottom}×${c.img.width + c.desc.padLeft + c.desc.padRight}` : '';
    $('input-caption').textContent = `${c.img.height}×${c.img.width}${c.img.channels > 1 ? `×${c.img.channels}` : ''}${padded}`;
    $('input-note').textContent = inputNote(st, c);
    convPlayer.update(count, step, pos ? `row ${pos.oy + 1}, column ${pos.ox + 1} · ${step + 1} of ${count}` : 'no output');

    // Maps.
    const mapsEl = $('maps');
    const perRow = c.maps.length > 1 ? 2 : 1;
    const mapW = Math.floor((widthOf(mapsEl) - (perRow - 1) * 12) / perRow);
    const drawn = drawMaps(mapsEl, c.maps, oh, ow, c.names, f, pos, { width: mapW, height: Math.min(mapW, 260) });
    $('maps-caption').textContent = c.lab ? `${oh}×${ow}×${c.maps.length}` : '';
    $('maps-empty').hidden = c.lab !== null;
    $('colorbar').hidden = c.lab === null;
    $('maps-empty').textContent = c.error ? timesSigns(c.error) : 'No output with these settings: see the message next to the slider.';
    $('cb-map').textContent = String(f + 1);
    $('cb-min').textContent = fmt(-drawn.scale);
    $('cb-max').textContent = fmt(drawn.scale);
    renderFilterPanel(st, c, f, ch, pos, cell);
  }

  // The filter panel: tabs, preset, bias, editable weights and this step's products.
  let recipeOptionsFor = null;
  function renderFilterPanel(st, c, f, ch, pos, cell) {
    const tabs = $('filter-tabs');
    tabs.replaceChildren(
      ...st.filters.map((_, i) => {
        const b = document.createElement('button');
        b.type = 'button';
        b.setAttribute('role', 'tab');
        b.setAttribute('aria-selected', String(i === f));
        b.setAttribute('aria-label', `Filter ${i + 1}`);
        b.title = c.names[i];
        b.textContent = String(i + 1);
        b.addEventListener('click', () => set({ filter: i }));
        return b;
      }),
    );
    const add = document.createElement('button');
    add.type = 'button';
    add.className = 'add';
    add.textContent = '+ add';
    add.setAttribute('aria-label', 'Add a filter');
    add.disabled = st.filters.length >= MAX_FILTERS;
    add.addEventListener('click', addFilter);
    const label = Object.assign(document.createElement('span'), { className: 'tabs-label', textContent: 'Filter' });
    tabs.prepend(label);
    tabs.append(add);

    const sel = $('filter-recipe');
    const optionsKey = `${c.img.channels}/${st.kernel}`;
    if (optionsKey !== recipeOptionsFor) {
      // Rebuilt only when they change, so that an open list survives playback.
      recipeOptionsFor = optionsKey;
      sel.replaceChildren(
        ...recipes(c.img.channels).map((r) => Object.assign(document.createElement('option'), { value: r.id, textContent: r.label, disabled: st.kernel < r.minSize })),
        Object.assign(document.createElement('option'), { value: 'custom', textContent: 'Custom (edited)', disabled: true }),
      );
    }
    sel.value = st.filters[f].recipe || 'custom';
    if (document.activeElement !== $('filter-bias')) $('filter-bias').value = String(c.biases[f]);
    $('filter-remove').disabled = st.filters.length <= 1;

    const chTabs = $('channel-tabs');
    chTabs.hidden = c.img.channels === 1;
    chTabs.replaceChildren(
      ...CHANNEL_NAMES(c.img.channels).map((name, i) => {
        const label = document.createElement('label');
        const r = Object.assign(document.createElement('input'), { type: 'radio', name: 'channel', value: String(i), checked: i === ch });
        r.addEventListener('change', () => set({ channel: i }));
        label.append(r, ` ${name}`);
        return label;
      }),
    );
    const per = st.kernel * st.kernel * c.img.channels;
    drawKernelEditor($('kernel-grid'), c.flat.subarray(f * per, (f + 1) * per), st.kernel, c.img.channels, ch, editWeight);

    $('cell-title').textContent = pos ? `This step: map ${f + 1}, row ${pos.oy + 1}, column ${pos.ox + 1}${c.img.channels > 1 ? ` (channel ${CHANNEL_NAMES(c.img.channels)[ch]} shown)` : ''}` : 'This step';
    drawProducts($('products-grid'), cell, st.kernel, ch);
    if (cell) {
      const text = maddText(cell, c.img.channels);
      $('madd').textContent = text.products;
      $('madd-total').textContent = text.total;
    } else {
      $('madd').textContent = '';
      $('madd-total').textContent = '';
    }
  }

  function renderPool(st, c) {
    const p = derivePool(st, c);
    setMessage('msg-pool', p.error ? [{ level: 'error', message: p.error }] : []);
    const f = Math.min(st.filter, st.filters.length - 1);
    if (!p.lab) {
      poolPlayer.update(0, 0, 'no output');
      for (const id of ['pool-in-canvas', 'pool-out-canvas']) {
        const cv = $(id);
        cv.width = cv.height = 0;
        cv.style.width = cv.style.height = '0px';
      }
      drawPoolWindow($('pool-window-grid'), null, 1);
      $('pool-madd').textContent = '';
      $('pool-in-caption').textContent = '';
      $('pool-out-caption').textContent = '';
      return;
    }
    const [oh, ow] = [p.lab.outHeight, p.lab.outWidth];
    const count = oh * ow;
    const step = Math.min(st.poolStep, count - 1);
    const pos = { oy: Math.floor(step / ow), ox: step % ow };
    const cell = p.lab.cell(pos.oy, pos.ox);
    const inEl = $('pool-in-canvas').parentElement;
    drawPoolInput($('pool-in-canvas'), p.map, p.h, p.w, p.pads, p.scale, cell, box(inEl, 320));
    drawPoolOutput($('pool-out-canvas'), p.out, oh, ow, p.scale, cell, box($('pool-out-canvas').parentElement, 320));
    $('pool-in-caption').textContent = `map ${f + 1}: ${p.h}×${p.w}`;
    $('pool-out-caption').textContent = `${oh}×${ow}`;
    $('pool-cell-title').textContent = `This window: row ${pos.oy + 1}, column ${pos.ox + 1}`;
    $('pool-madd').textContent = drawPoolWindow($('pool-window-grid'), cell, p.scale);
    poolPlayer.update(count, step, `row ${pos.oy + 1}, column ${pos.ox + 1} · ${step + 1} of ${count}`);
  }

  function renderCalcError(message) {
    $('calc-result').replaceChildren(Object.assign(document.createElement('span'), { className: 'error', textContent: timesSigns(message) }));
  }

  function renderCalc(st) {
    if (calcProblem) return renderCalcError(calcProblem);
    try {
      const [h, w, ch] = core.poolShape(st.calcH, st.calcW, st.calcC, st.calcWindow, st.calcStride, st.calcPad);
      $('calc-result').innerHTML = `${st.calcH}×${st.calcW}×${st.calcC} → <strong aria-label="Pooled shape">${h}×${w}×${ch}</strong>`;
    } catch (e) {
      renderCalcError(e.message);
    }
  }

  function render(st) {
    reflectControls(st);
    const c = deriveConv(st);
    // A picture changed by anything but a stroke or Undo (a preset, an upload, a link) ends
    // the strokes' history: undoing them would bring back a picture the student left.
    if (undoStack.length && currentImage(st) !== strokeImage) undoStack.length = 0;
    $('paint-undo').disabled = undoStack.length === 0;
    renderSetup(st, c);
    renderStage(st, c);
    renderPool(st, c);
    renderCalc(st);
  }

  store.subscribe((st) => render(st));
  let resizeTimer = null;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => render(store.get()), 100);
  });
  render(store.get());
  return { render };
}
