// The "Model & training" section: wires its panels together around one training worker.
// Each panel is its own module (data-panel, model-editor, run-panel, results, try-it, webcam,
// model-files); this one holds what they share: the loaded data's info, the busy flag, the
// model summary, whether the model has learnt anything yet (a fresh one answers at random, and
// the page says so), the curves of the run that made it, and whether a trained model would be
// lost by leaving the page.

import { bindControls } from '../controls.js';
import { TRAIN_DEFAULTS, formatArch } from '../state.js';
import { createCurves } from './charts.js';
import { createAugmentPanel } from './augment-panel.js';
import { createDataPanel } from './data-panel.js';
import { $, pct, say, thousands } from './dom.js';
import { createModelEditor } from './model-editor.js';
import { createElsewhere } from './elsewhere.js';
import { createModelFiles } from './model-files.js';
import { guardUnload } from './persistence.js';
import { createResults } from './results.js';
import { createRunPanel } from './run-panel.js';
import { createTryIt } from './try-it.js';
import { createWebcamCapture } from './webcam.js';

function showSummary(summary) {
  $('summary-body').replaceChildren(
    ...summary.rows.map((r) => {
      const tr = document.createElement('tr');
      const name = document.createElement('td');
      const type = document.createElement('span');
      type.className = 'type';
      type.textContent = r.typeName;
      name.append(`${r.name} `, type);
      const shape = document.createElement('td');
      shape.textContent = `(None, ${r.outputShape.join(', ')})`;
      const params = document.createElement('td');
      params.className = 'n';
      params.textContent = thousands(r.params);
      tr.append(name, shape, params);
      return tr;
    }),
  );
  $('summary-foot').replaceChildren(
    ...summary.totals.map(([label, count]) => {
      const tr = document.createElement('tr');
      tr.innerHTML = '<th colspan="2"></th><td class="n"></td>';
      tr.children[0].textContent = label;
      tr.children[1].textContent = count;
      return tr;
    }),
  );
}

// The data and hyper-parameter fields live in the URL; a value their parser refuses is
// explained under the fields and leaves the setting as it was.
function bindSettings(store, schema) {
  const fields = schema.fields.filter((f) => f.section === 'training' && f.control);
  const problems = new Map();
  const group = (f) => f.control.id.split('-')[0]; // data-… or train-…
  const reflect = bindControls(store, fields, (field, message) => {
    if (message) problems.set(field.key, `${document.querySelector(`label[for="${field.control.id}"]`).textContent}: ${message}`);
    else problems.delete(field.key);
    const same = fields.filter((f) => group(f) === group(field) && problems.has(f.key));
    say($(`msg-${group(field)}`), same.map((f) => problems.get(f.key)).join('; '));
  });
  reflect(store.get());
  store.subscribe((st) => reflect(st));
}

// The training settings the page proposes for the loaded data: the quick run of its defaults for
// the synthetic faces, the core's recommended early-stopped run for the student's own pictures
// (`info.suggested`). A setting the student changed, here or in the link, stays theirs.
const PROPOSED_KEYS = ['epochs', 'batchSize', 'patience', 'bnMomentum'];
const quickRun = () => Object.fromEntries(PROPOSED_KEYS.map((k) => [k, TRAIN_DEFAULTS[k]]));
let proposed = quickRun();
let proposeTo = null; // the store, once the section has started
function proposeSettings(info) {
  const next = info.suggested ?? quickRun();
  const st = proposeTo.get();
  const patch = {};
  for (const k of PROPOSED_KEYS) if (st[k] === proposed[k]) patch[k] = next[k];
  proposed = next;
  proposeTo.set(patch);
}

// `worker` is the promise of startWorker (client.js), begun by the page as it opens; its events
// are delivered to `events.listen`, which this section sets.
export async function startTraining(store, worker, events, schema) {
  bindSettings(store, schema);
  proposeTo = store;
  let data = null; // the data info of the loaded set
  let busy = false; // a data or model request is in flight
  const loading = new Set(); // data loads in flight: a Train click meanwhile waits for them
  let hasModel = false;
  let unsaved = false; // a trained model that is neither downloaded nor kept
  let modelArch = null; // the editor layout of the worker's model (null: a layout the editor cannot show)
  let trained = false; // the weights come from a training run or a file, not from the seed alone
  let history = null; // {epochs, mark} of the run that trained the model, kept in its file's notes
  let trainedWith = null; // the settings of the run that trained the model (null: not known)
  let panels = null;
  const trainedListeners = [];

  // The one place that says whether the model is trained: Try it and Look inside follow it.
  function setTrained(on) {
    trained = on;
    document.body.dataset.modelTrained = String(on);
    for (const listen of trainedListeners) listen(on);
  }

  // Curves read from a model file: per-epoch numbers only, checked (a file may be anyone's).
  function readHistory(notes) {
    const h = notes && notes.history;
    if (!h || !Array.isArray(h.epochs) || h.epochs.length > 10_000) return null;
    const num = (v) => v === null || v === undefined || Number.isFinite(v);
    const epochs = h.epochs.filter((e) => e && Number.isFinite(e.epoch) && Number.isFinite(e.loss) && Number.isFinite(e.accuracy) && num(e.val_loss) && num(e.val_accuracy));
    if (!epochs.length) return null;
    const mark = h.mark && Number.isFinite(h.mark.epoch) && typeof h.mark.label === 'string' ? { epoch: h.mark.epoch, label: h.mark.label.slice(0, 60) } : null;
    return { epochs, mark };
  }

  function showHistory(h, source) {
    ctx.curves.reset();
    if (!h) {
      $('curves-note').textContent = '';
      return;
    }
    ctx.curves.restore(h);
    const last = h.epochs[h.epochs.length - 1];
    const val = last.val_loss == null ? '' : `; validation loss ${last.val_loss.toFixed(3)}, accuracy ${pct(last.val_accuracy)}`;
    $('curves-note').textContent = `The curves of the run that trained ${source} (one point per epoch). Epoch ${last.epoch}: training loss ${last.loss.toFixed(3)}, accuracy ${pct(last.accuracy)}${val}.`;
  }

  const ctx = {
    store,
    curves: createCurves($('chart-loss'), $('chart-acc')),
    data: () => data,
    hasModel: () => hasModel,
    running: () => !!panels && panels.run.running(),
    async guarded(fn, msgEl) {
      if (busy) return;
      busy = true;
      ctx.setButtons();
      say(msgEl, '');
      try {
        await fn();
      } catch (e) {
        say(msgEl, e.message);
      } finally {
        busy = false;
        ctx.setButtons();
      }
    },
    setButtons() {
      if (!panels) return;
      const running = ctx.running();
      panels.run.setButtons(busy, !!data, loading.size > 0);
      panels.data.setEnabled(!running && !busy);
      panels.editor.setEnabled(!running);
      panels.tryIt.setEnabled(!running && !busy && !!data && hasModel);
      panels.files.setEnabled(!running && !busy && hasModel);
      panels.augment.setEnabled(!running);
      panels.elsewhere.setEnabled(!running && !busy && !!data && hasModel && trained);
      panels.webcam.setButtons();
      $('model-load').disabled = running || busy;
    },
    // The page is in use while data loads (the first synthetic faces take about a second to
    // paint): Train stays enabled, and a click waits for `loaded()` instead of being refused.
    async whileLoading(promise) {
      loading.add(promise);
      ctx.setButtons();
      try {
        await promise;
      } finally {
        loading.delete(promise);
        ctx.setButtons();
      }
    },
    isLoading: () => loading.size > 0,
    async loaded() {
      while (loading.size) await Promise.allSettled([...loading]);
    },
    clearResults: () => panels.results.clear(),
    evaluate: () => panels.results.evaluate(),
    notes: () => ({ settings: trainedWith ?? panels.run.settings(), arch: modelArch, data: data && data.description, testAccuracy: panels.results.accuracy(), history }),
    trained: () => trained,
    onTrainedChange: (listen) => trainedListeners.push(listen),
    setHistory(h) {
      history = h;
    },
    modelTrained(settings) {
      unsaved = true;
      trainedWith = settings;
      setTrained(true);
    },
    trainedWith: () => trainedWith?.augmentation ?? null,
    capturedFrames: () => panels.webcam.frames(),
    modelSaved() {
      unsaved = false;
    },
    async dataLoaded(info) {
      const previous = data;
      data = info;
      proposeSettings(info);
      panels.data.describe(info);
      $('try-index').max = String(info.test - 1);
      await panels.data.showGallery(info);
      panels.augment.dataLoaded();
      const same = previous && previous.channels === info.channels && previous.height === info.height && previous.width === info.width && previous.classNames.length === info.classNames.length;
      if (!same || !hasModel) await buildModel();
      panels.results.clear();
    },
    // `source` names the model in the curves' note ("the model kept in this browser").
    async modelLoaded(loaded, note, source = 'this model') {
      showSummary(loaded.summary);
      hasModel = true;
      unsaved = false;
      history = readHistory(loaded.notes);
      trainedWith = loaded.notes?.settings ?? null;
      setTrained(true);
      // The core reads the model back into the editor's layout (null: one it cannot show).
      modelArch = loaded.layout ? formatArch(loaded.layout) : null;
      if (modelArch) store.set({ arch: modelArch });
      panels.editor.showProblem(null);
      if (!modelArch) say($('msg-editor'), 'The loaded model has a layout the editor cannot show; editing starts a new model from the editor’s layout.', 'note');
      showHistory(history, source);
      $('train-status').textContent = note;
      if (data) await ctx.evaluate();
    },
  };

  // Builds the editor's layout for the loaded data (fresh weights from the seed). A layout the
  // Rust core refuses is explained under the editor and the previous model stays.
  async function buildModel() {
    if (!data) return;
    const arch = store.get().arch;
    try {
      // The core turns the layout into layers for the loaded images and classes (its head rule).
      const { summary } = await ctx.worker.call('buildLayout', { layout: schema.parseArch(arch).value, seed: store.get().trainSeed });
      showSummary(summary);
      modelArch = arch;
      hasModel = true;
      unsaved = false;
      history = null;
      trainedWith = null;
      setTrained(false);
      panels.editor.showProblem(null);
      panels.results.clear();
      $('train-status').textContent = 'Not trained yet.';
      delete document.body.dataset.trained;
    } catch (e) {
      panels.editor.showProblem(e.message.replace(/\.$/, ''));
    }
    ctx.setButtons();
  }

  const listeners = []; // other sections' event handlers (the Look inside view)
  events.listen = (m) => {
    if (m.event === 'load-progress') {
      ctx.onLoadProgress?.(m);
      return;
    }
    panels.run.onEvent(m);
    for (const listen of listeners) listen(m);
  };
  ctx.worker = await worker;
  panels = {
    editor: createModelEditor(store, schema),
    results: createResults(ctx),
    run: createRunPanel(ctx),
    data: createDataPanel(ctx),
    webcam: createWebcamCapture(ctx),
    tryIt: createTryIt(ctx),
    files: createModelFiles(ctx),
    augment: createAugmentPanel(ctx),
    elsewhere: createElsewhere(ctx),
  };
  // Edits build one after another, so the last edit's model is the one that stays.
  let building = Promise.resolve();
  store.subscribe((st, changed) => {
    if (changed.has('arch') && st.arch !== modelArch && !ctx.running()) building = building.then(buildModel);
  });
  guardUnload(() => unsaved);

  ctx.setButtons();
  // The section is usable at once; the first faces and a kept model follow.
  const dataReady = ctx.whileLoading(panels.data.synthetic().then(() => panels.files.restore()));
  return { worker: ctx.worker, onEvent: (listen) => listeners.push(listen), running: ctx.running, data: ctx.data, trained: ctx.trained, onTrainedChange: ctx.onTrainedChange, dataReady };
}
