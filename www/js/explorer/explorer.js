// The convolution explorer's controller: controls write the page state; every state change
// asks data.js for a frame (the core's runs, memoized) and view.js draws it; animation.js
// steps the players. This file only wires the page's elements to the store.

import { bindControls } from '../controls.js';
import { createPlayer } from './animation.js';
import { PRESETS, paintAt, uploadImage } from './inputs.js';
import {
  addFilterPatch, biasPatch, createExplorerData, createStrokeHistory, filterEditPatch, inputCellAt, kernelPatch,
  padModePatch, picturePatch, presetState, removeFilterPatch, stepAfterKey, stepAtPoint, weightPatch,
} from './data.js';
import { createExplorerView } from './view.js';

const $ = (id) => document.getElementById(id);
const UNDO_LEVELS = 30; // strokes that Undo can take back

// `schema`: the page's fields and ranges (state.js createSchema), built from the core's table.
export function startExplorer(core, store, schema) {
  const { ranges } = schema;
  const data = createExplorerData(core, { paintFitsLink: schema.paintFitsLink, filterCount: ranges.filterCount, paintedSide: ranges.paintedSide });
  let uploadError = null; // shown until the next picture is chosen
  let conv = null; // the convolution on show (its sizes and weights, for the handlers)
  const set = (patch) => patch && store.set(patch);

  // ---- controls -> state ----

  $('input-preset').addEventListener('change', (e) => {
    const v = e.target.value;
    uploadError = null;
    if (PRESETS[v]) set(presetState(v));
  });
  $('chapter-example').addEventListener('click', () => set(presetState('seven14')));

  const loadPicture = (patch) => set(picturePatch(patch, data.currentImage(store.get()).channels));
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
  const reflectControls = bindControls(store, schema.fields.filter((f) => !f.section), (field, message) => {
    if (!field.control.id.startsWith('calc-')) return;
    calcProblem = message && `${$(field.control.id).getAttribute('aria-label').replace('Calculator ', '')}: ${message}`;
    if (message) view.renderCalc(data.calcFrame(store.get(), calcProblem));
  });
  $('kernel').addEventListener('input', (e) => {
    const st = store.get();
    set(kernelPatch(st, Number(e.target.value), data.currentImage(st).channels));
  });
  $('padding').addEventListener('input', (e) => set({ padMode: 'explicit', pad: Number(e.target.value) }));
  for (const r of document.querySelectorAll('input[name="pad-mode"]')) {
    r.addEventListener('change', () => set(padModePatch(store.get(), r.value, conv.desc.padTop)));
  }

  // Filters: tabs, preset, bias, weights.
  $('filter-recipe').addEventListener('change', (e) => set(filterEditPatch(store.get(), () => ({ recipe: e.target.value, weights: null }))));
  $('filter-bias').addEventListener('change', (e) => {
    const v = Number(e.target.value);
    if (e.target.value === '' || !Number.isFinite(v)) return render(store.get());
    set(biasPatch(store.get(), v));
  });
  $('filter-remove').addEventListener('click', () => set(removeFilterPatch(store.get())));
  const actions = {
    selectFilter: (i) => set({ filter: i }),
    selectChannel: (i) => set({ channel: i }),
    addFilter: () => set(addFilterPatch(store.get(), ranges.filterCount.max)),
    editWeight(index, input) {
      const st = store.get();
      const v = Number(input.value);
      if (input.value === '' || !Number.isFinite(v)) return render(st);
      set(weightPatch(st, conv.flat, conv.img.channels, index, v));
    },
  };

  // Painting on the input grid (pointer events also cover touch screens). It is a mode that
  // the Paint button turns on: a click on the grid that was meant to look at a cell must not
  // change the picture. Each stroke can be undone (painting is cheap to keep, the pictures
  // are small).
  const inputCanvas = $('input-canvas');
  const GRID_LABEL = inputCanvas.getAttribute('aria-label');
  let painting = false;
  let paintMode = false;
  const strokes = createStrokeHistory(UNDO_LEVELS, data.currentImage);
  const pictureOf = (st) => ({ input: st.input, paint: st.paint, uploaded: st.uploaded });

  function setPaintMode(on) {
    paintMode = on;
    $('paint-toggle').setAttribute('aria-pressed', String(on));
    inputCanvas.classList.toggle('painting', on);
    // While painting, the grid is a tab stop that the keyboard can paint on as well.
    if (on) inputCanvas.tabIndex = 0;
    else inputCanvas.removeAttribute('tabindex');
    inputCanvas.setAttribute('aria-label', on
      ? 'Picture to paint: the arrow keys move the brush, Space paints, Shift with an arrow paints along the way'
      : GRID_LABEL);
    sayMode();
    if (!on && document.activeElement === inputCanvas) $('paint-toggle').focus();
  }
  function sayMode() {
    $('paint-hint').textContent = paintMode ? 'drag on the grid to paint, or Tab to it and use the keys' : 'press Paint, then drag on the grid';
  }
  $('paint-toggle').addEventListener('click', () => setPaintMode(!paintMode));
  $('paint-undo').addEventListener('click', () => set(strokes.undo()));

  // One dab at a cell of the picture on show, as part of the current stroke.
  function paintCell(row, col) {
    const img = data.currentImage(store.get());
    const brush = document.querySelector('input[name="brush"]:checked').value;
    const next = paintAt(img, row, col, brush);
    if (next === img) return;
    strokes.painted(next);
    set({ input: 'painted', paint: next, uploaded: null });
  }
  function paintFromEvent(e) {
    const geom = view.inputGeom();
    if (!geom) return;
    const rect = inputCanvas.getBoundingClientRect();
    const at = inputCellAt(e.clientX - rect.left, e.clientY - rect.top, geom, data.currentImage(store.get()));
    if (at) paintCell(at.row, at.col);
  }
  inputCanvas.addEventListener('pointerdown', (e) => {
    if (!paintMode) return;
    painting = true;
    strokes.begin(pictureOf(store.get()));
    inputCanvas.setPointerCapture(e.pointerId);
    paintFromEvent(e);
  });
  inputCanvas.addEventListener('pointermove', (e) => painting && paintFromEvent(e));
  const stopPainting = () => {
    painting = false;
    strokes.end();
  };
  inputCanvas.addEventListener('pointerup', stopPainting);
  inputCanvas.addEventListener('pointercancel', stopPainting);

  // The keyboard's brush: a cell of the picture, drawn while the grid has the focus. The
  // arrow keys (Home, End) move it; Space or Enter paints one dab (one stroke); Shift with an
  // arrow paints the cells it passes, one stroke until Shift is let go.
  let brushAt = null; // {row, col} while the grid has the focus in paint mode
  let keyStroke = false;
  const brushCell = () => {
    const img = data.currentImage(store.get());
    const at = brushAt ?? { row: img.height >> 1, col: img.width >> 1 };
    return { img, row: Math.min(at.row, img.height - 1), col: Math.min(at.col, img.width - 1) };
  };
  const sayBrush = ({ row, col }) => {
    $('paint-hint').textContent = `brush at row ${row + 1}, column ${col + 1}`;
  };
  inputCanvas.addEventListener('focus', () => {
    if (!paintMode) return;
    brushAt = brushCell();
    sayBrush(brushAt);
    render(store.get());
  });
  inputCanvas.addEventListener('blur', () => {
    if (keyStroke) strokes.end();
    keyStroke = false;
    brushAt = null;
    sayMode();
    render(store.get());
  });
  inputCanvas.addEventListener('keydown', (e) => {
    if (!paintMode) return;
    const { img, row, col } = brushCell();
    if (e.key === ' ' || e.key === 'Enter') {
      e.preventDefault();
      if (e.repeat) return;
      strokes.begin(pictureOf(store.get()));
      paintCell(row, col);
      strokes.end();
      return;
    }
    const step = stepAfterKey(row * img.width + col, e.key, img.height, img.width);
    if (step === null) return;
    e.preventDefault();
    if (e.shiftKey && !keyStroke) {
      keyStroke = true;
      strokes.begin(pictureOf(store.get()));
      paintCell(row, col);
    }
    brushAt = { row: Math.floor(step / img.width), col: step % img.width };
    sayBrush(brushAt);
    if (e.shiftKey) paintCell(brushAt.row, brushAt.col);
    render(store.get());
  });
  inputCanvas.addEventListener('keyup', (e) => {
    if (e.key !== 'Shift' || !keyStroke) return;
    keyStroke = false;
    strokes.end();
  });

  // By keyboard each map is a tab stop: the arrow keys (Home, End) move the current cell on it
  // and pick its filter, Enter or Space picks it as it is. The canvases are redrawn in place,
  // so the focus stays.
  $('maps').addEventListener('keydown', (e) => {
    const canvas = e.target.closest('canvas');
    if (!canvas || !conv.lab) return;
    const st = store.get();
    const step = stepAfterKey(st.step, e.key, conv.lab.outHeight, conv.lab.outWidth);
    if (step === null && e.key !== 'Enter' && e.key !== ' ') return;
    e.preventDefault();
    set({ filter: Number(canvas.dataset.filter), step: step ?? st.step });
  });
  // Clicking a map picks that filter and cell.
  $('maps').addEventListener('click', (e) => {
    const canvas = e.target.closest('canvas');
    if (!canvas || !conv.lab) return;
    const rect = canvas.getBoundingClientRect();
    set({ filter: Number(canvas.dataset.filter), step: stepAtPoint(e.clientX - rect.left, e.clientY - rect.top, rect.width, conv.lab.outHeight, conv.lab.outWidth) });
  });

  const players = {
    conv: createPlayer($('conv-player'), { label: 'Step', getIndex: () => store.get().step, setIndex: (i) => set({ step: i }) }),
    pool: createPlayer($('pool-player'), { label: 'Pooling step', getIndex: () => store.get().poolStep, setIndex: (i) => set({ poolStep: i }) }),
  };

  // ---- state -> drawing ----

  const view = createExplorerView({ ranges, actions, onResize: () => render(store.get()) });

  function render(st) {
    reflectControls(st);
    conv = data.conv(st);
    const frame = {
      canUndo: strokes.follow(data.currentImage(st)),
      setup: data.setupFrame(st, conv, uploadError),
      stage: data.stageFrame(st, conv),
      pool: data.poolFrame(st, conv),
      calc: data.calcFrame(st, calcProblem),
      brush: brushAt && brushCell(),
    };
    view.render(frame, players);
  }

  store.subscribe((st) => render(st));
  let resizeTimer = null;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => render(store.get()), 100);
  });
  render(store.get());
  // The backward mode (backward/backward.js) runs the same convolution and pooling backwards.
  return {
    render,
    conv: () => data.conv(store.get()),
    pool: () => {
      const st = store.get();
      return data.pool(st, data.conv(st));
    },
  };
}
