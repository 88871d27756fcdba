// The "Model & training" section: data, model summary, hyper-parameters, the run buttons and
// progress, live curves, test results with a clickable confusion matrix, "try it", and
// save/load. All computing happens in the worker (client.js); this module only asks and draws.

import { bindControls } from '../controls.js';
import { FIELDS } from '../state.js';
import { startWorker } from './client.js';
import { createCurves } from './charts.js';
import { drawGallery, drawRgba } from './images.js';

const $ = (id) => document.getElementById(id);
const pct = (v) => `${(v * 100).toFixed(1)}%`;
const thousands = (n) => n.toLocaleString('en-US');

function say(el, text, kind = 'error') {
  el.replaceChildren();
  if (!text) return;
  const span = document.createElement('span');
  span.className = kind;
  span.textContent = text;
  el.append(span);
}

// Keras's readable_memory_size: powers of 1024, two decimals.
function memorySize(bytes) {
  for (const unit of ['B', 'KB', 'MB', 'GB']) {
    if (bytes / 1024 < 1) return `${bytes.toFixed(2)} ${unit}`;
    bytes /= 1024;
  }
  return `${bytes.toFixed(2)} TB`;
}

function formatSeconds(s) {
  if (!Number.isFinite(s)) return '…';
  if (s < 60) return `${Math.round(s)} s`;
  return `${Math.floor(s / 60)} min ${String(Math.round(s % 60)).padStart(2, '0')} s`;
}

export async function startTraining(store) {
  const curves = createCurves($('chart-loss'), $('chart-acc'));
  let data = null; // the data info of the loaded set
  let results = null; // the last test results
  let run = null; // { settings, batches, started, pausedFor, pausedAt, paused } while training
  let busy = false; // a data or model request is in flight

  // The data and hyper-parameter fields live in the URL; a value their parser refuses is
  // explained under the fields and leaves the setting as it was.
  const fields = FIELDS.filter((f) => f.section === 'training');
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

  const worker = await startWorker(onEvent);

  const settings = () => {
    const s = store.get();
    return { epochs: s.epochs, batchSize: s.batchSize, learningRate: s.learningRate, patience: s.patience, seed: s.trainSeed, bnMomentum: s.bnMomentum };
  };

  function setButtons() {
    const running = !!run;
    $('train-start').disabled = running || busy || !data;
    $('train-pause').disabled = !running || run.paused;
    $('train-resume').disabled = !running || !run.paused;
    $('train-stop').disabled = !running;
    $('data-generate').disabled = running || busy;
    $('data-h5').disabled = running || busy;
    $('model-save').disabled = running || busy;
    $('model-load').disabled = running || busy;
    $('try-predict').disabled = running || busy || !data;
  }

  // ---- model summary ----
  function showSummary(summary) {
    const body = $('summary-body');
    body.replaceChildren(
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
    const foot = $('summary-foot');
    foot.replaceChildren(
      ...[
        ['Total params', summary.totalParams],
        ['Trainable params', summary.trainableParams],
        ['Non-trainable params', summary.nonTrainableParams],
      ].map(([label, n]) => {
        const tr = document.createElement('tr');
        tr.innerHTML = '<th colspan="2"></th><td class="n"></td>';
        tr.children[0].textContent = label;
        tr.children[1].textContent = `${thousands(n)} (${memorySize(n * 4)})`;
        return tr;
      }),
    );
  }

  // ---- data ----
  async function showData(info) {
    const previous = data;
    data = info;
    const counts = info.classNames.map((c, i) => `${info.trainCounts[i]} ${c}`).join(', ');
    $('data-info').textContent = `${info.description}: ${info.train} training images (${counts}) and ${info.test} test images, ${info.height}×${info.width}×${info.channels}.`;
    $('try-index').max = String(info.test - 1);
    const count = Math.min(16, info.train);
    const indices = Array.from({ length: count }, (_, i) => i);
    const [{ rgba }, labels] = await Promise.all([worker.call('images', { split: 'train', indices }), worker.call('labels', { split: 'train' })]);
    drawGallery($('gallery'), rgba, info.height, info.width, indices.map((i) => info.classNames[labels[i]]));
    if (!previous || previous.channels !== info.channels || previous.height !== info.height || previous.width !== info.width) {
      const { summary } = await worker.call('buildModel', { spec: null, seed: store.get().trainSeed });
      showSummary(summary);
    }
    clearResults();
  }

  async function guarded(fn, msgEl) {
    if (busy) return;
    busy = true;
    setButtons();
    say(msgEl, '');
    try {
      await fn();
    } catch (e) {
      say(msgEl, e.message);
    } finally {
      busy = false;
      setButtons();
    }
  }

  const makeSynthetic = () =>
    guarded(async () => {
      const s = store.get();
      const info = await worker.call('loadSynthetic', { train: s.trainSize, test: s.testSize, seed: s.dataSeed, difficulty: s.difficulty });
      await showData(info);
    }, $('msg-data'));

  async function loadH5Files(files) {
    if (run) {
      say($('msg-data'), 'Stop the training run before loading other data.');
      return;
    }
    await guarded(async () => {
      // The training file first, so that a pair dropped together loads in one go.
      const sorted = [...files].sort((a, b) => Number(/test/i.test(a.name)) - Number(/test/i.test(b.name)));
      let info = null;
      for (const f of sorted) {
        if (!/\.(h5|hdf5)$/i.test(f.name)) throw new Error(`${f.name} is not a Happy House .h5 file (train_happy.h5 or test_happy.h5); nothing was changed.`);
        const bytes = await f.arrayBuffer();
        try {
          info = await worker.call('loadH5', { bytes, name: f.name }, [bytes]);
        } catch (e) {
          throw new Error(`${e.message}. The data and the model you had are unchanged.`);
        }
      }
      if (info) await showData(info);
    }, $('msg-data'));
  }

  $('data-generate').addEventListener('click', makeSynthetic);
  $('data-h5').addEventListener('change', (e) => {
    const files = e.target.files;
    if (files && files.length) loadH5Files(files).finally(() => (e.target.value = ''));
  });
  const dataPanel = document.querySelector('.data-panel');
  dataPanel.addEventListener('dragover', (e) => {
    e.preventDefault();
    dataPanel.classList.add('dropping');
  });
  dataPanel.addEventListener('dragleave', () => dataPanel.classList.remove('dropping'));
  dataPanel.addEventListener('drop', (e) => {
    e.preventDefault();
    dataPanel.classList.remove('dropping');
    if (e.dataTransfer.files.length) loadH5Files(e.dataTransfer.files);
  });

  // ---- training ----
  function onEvent(m) {
    if (m.event === 'progress') onProgress(m.report);
    else if (m.event === 'finished') onFinished(m.finished);
    else if (m.event === 'failed') {
      run = null;
      say($('msg-train'), m.message);
      setButtons();
    }
  }

  function onProgress(report) {
    if (!run) return;
    const b = report.batch;
    if (b) {
      curves.batch(b);
      const total = run.settings.epochs * b.batches;
      const done = (b.epoch - 1) * b.batches + b.batch;
      const elapsed = (performance.now() - run.started - run.pausedFor) / 1000;
      const left = (elapsed / done) * (total - done);
      $('train-progress').value = done / total;
      $('train-status').textContent = `Epoch ${b.epoch} of ${run.settings.epochs} · batch ${b.batch} of ${b.batches} · ${Math.round(b.images_per_second)} images/s · about ${formatSeconds(left)} left (at most) · loss ${b.loss.toFixed(3)}, accuracy ${pct(b.accuracy)}`;
    }
    for (const log of report.epochs) {
      curves.epoch(log);
      run.epochs.push(log);
      const val = log.val_loss == null ? '' : `; validation loss ${log.val_loss.toFixed(3)}, accuracy ${pct(log.val_accuracy)}`;
      $('curves-note').textContent = `Epoch ${log.epoch}: training loss ${log.loss.toFixed(3)}, accuracy ${pct(log.accuracy)}${val} · ${log.seconds.toFixed(1)} s`;
    }
  }

  async function onFinished(finished) {
    if (!run) return;
    const epochs = run.epochs;
    run = null;
    $('train-progress').value = 1;
    const kept = finished.restoredEpoch;
    if (kept) curves.markEpoch(kept, finished.stop.reason === 'early_stopped' ? `early stop: kept epoch ${kept}` : `best epoch ${kept} kept`);
    const last = epochs[epochs.length - 1];
    $('train-status').textContent = `Done: ${finished.message}${kept ? `; the weights of epoch ${kept} (lowest validation loss) are kept` : ''}.${last ? ` ${epochs.length} epochs, ${Math.round(last.images_per_second)} images/s.` : ''}`;
    document.body.dataset.trained = 'true';
    setButtons();
    await evaluate();
  }

  $('train-start').addEventListener('click', async () => {
    say($('msg-train'), '');
    const s = settings();
    clearResults();
    curves.reset();
    $('train-progress').value = 0;
    $('train-status').textContent = 'Starting…';
    run = { settings: s, started: performance.now(), pausedFor: 0, pausedAt: 0, paused: false, epochs: [] };
    setButtons();
    try {
      const { batches } = await worker.call('train', { settings: s });
      if (run) run.batches = batches;
    } catch (e) {
      run = null;
      $('train-status').textContent = 'Not trained.';
      say($('msg-train'), e.message);
      setButtons();
    }
  });
  $('train-pause').addEventListener('click', async () => {
    if (!run) return;
    run.paused = true;
    run.pausedAt = performance.now();
    setButtons();
    await worker.call('pause');
    if (run) $('train-status').textContent = `Paused. ${$('train-status').textContent.replace(/^Paused\. /, '')}`;
  });
  $('train-resume').addEventListener('click', async () => {
    if (!run) return;
    run.paused = false;
    run.pausedFor += performance.now() - run.pausedAt;
    setButtons();
    await worker.call('resume');
  });
  $('train-stop').addEventListener('click', () => worker.call('stop'));

  // ---- results ----
  function clearResults() {
    results = null;
    for (const id of ['m-accuracy', 'm-precision', 'm-recall', 'm-f1']) $(id).textContent = '—';
    $('confusion').replaceChildren();
    $('cell-images').replaceChildren();
    delete document.body.dataset.evaluated;
  }

  async function evaluate() {
    try {
      results = await worker.call('evaluate');
    } catch (e) {
      say($('msg-train'), e.message);
      return;
    }
    $('m-accuracy').textContent = pct(results.accuracy);
    $('m-precision').textContent = pct(results.precision);
    $('m-recall').textContent = pct(results.recall);
    $('m-f1').textContent = pct(results.f1);
    showConfusion();
    document.body.dataset.evaluated = 'true';
  }

  function showConfusion() {
    const names = results.classNames;
    const k = names.length;
    const grid = $('confusion');
    grid.style.setProperty('--k', k);
    const cells = [document.createElement('span')];
    for (const n of names) {
      const h = document.createElement('span');
      h.className = 'head';
      h.textContent = `predicted ${n}`;
      cells.push(h);
    }
    const max = Math.max(1, ...results.confusion.flat());
    results.confusion.forEach((row, t) => {
      const h = document.createElement('span');
      h.className = 'head row';
      h.textContent = `true ${names[t]}`;
      cells.push(h);
      row.forEach((count, p) => {
        const b = document.createElement('button');
        b.type = 'button';
        b.className = `cell ${t === p ? 'right' : 'wrong'}`;
        b.style.setProperty('--a', (count / max).toFixed(3));
        b.textContent = String(count);
        b.setAttribute('aria-label', `true ${names[t]}, predicted ${names[p]}: ${count} images`);
        b.addEventListener('click', () => showCell(t, p, b));
        cells.push(b);
      });
    });
    grid.replaceChildren(...cells);
  }

  async function showCell(t, p, button) {
    for (const b of $('confusion').querySelectorAll('.cell')) b.classList.toggle('selected', b === button);
    const names = results.classNames;
    const all = results.labels.map((y, i) => i).filter((i) => results.labels[i] === t && results.predictions[i] === p);
    const shown = all.slice(0, 40);
    const box = $('cell-images');
    const title = document.createElement('p');
    title.className = 'cell-title';
    title.textContent = `${all.length} test images: true ${names[t]}, predicted ${names[p]}${all.length > shown.length ? ` (first ${shown.length} shown)` : ''}`;
    if (!shown.length) {
      box.replaceChildren(title);
      return;
    }
    const { rgba } = await worker.call('images', { split: 'test', indices: shown });
    const gallery = document.createElement('div');
    gallery.className = 'gallery small';
    drawGallery(gallery, rgba, data.height, data.width, shown.map((i) => `#${i} · ${Math.round(results.confidence[i] * 100)}% ${names[p]}`));
    box.replaceChildren(title, gallery);
  }

  // ---- try it ----
  async function tryImage() {
    const index = Number($('try-index').value);
    if (!Number.isInteger(index) || index < 0 || index >= data.test) {
      $('try-result').textContent = `Choose a test image from 0 to ${data.test - 1}.`;
      return;
    }
    try {
      const [{ rgba }, probs] = await Promise.all([worker.call('images', { split: 'test', indices: [index] }), worker.call('predict', { split: 'test', index })]);
      const labels = await worker.call('labels', { split: 'test' });
      drawRgba($('try-canvas'), rgba, data.height, data.width);
      const best = probs.indexOf(Math.max(...probs));
      const out = $('try-result');
      out.textContent = `${data.classNames[best]} (${pct(probs[best])}); the label says ${data.classNames[labels[index]]}.`;
      out.dataset.probabilities = probs.map((v) => v.toFixed(6)).join(',');
    } catch (e) {
      $('try-result').textContent = e.message;
    }
  }
  $('try-predict').addEventListener('click', tryImage);

  // ---- save and load ----
  $('model-save').addEventListener('click', () =>
    guarded(async () => {
      const { bytes } = await worker.call('save', { notes: { settings: settings(), data: data && data.description, testAccuracy: results && results.accuracy } });
      const url = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
      const a = document.createElement('a');
      a.href = url;
      a.download = 'convscope-smile-model.safetensors';
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
      say($('msg-model'), `Saved ${Math.round(bytes.length / 1024)} KB as ${a.download}.`, 'note');
    }, $('msg-model')),
  );
  $('model-load').addEventListener('change', (e) => {
    const file = e.target.files && e.target.files[0];
    if (!file) return;
    guarded(async () => {
      const bytes = await file.arrayBuffer();
      let loaded;
      try {
        loaded = await worker.call('load', { bytes }, [bytes]);
      } catch (err) {
        throw new Error(`${file.name}: ${err.message}. The model you had is unchanged.`);
      }
      showSummary(loaded.summary);
      curves.reset();
      $('train-status').textContent = `Loaded ${file.name}.`;
      say($('msg-model'), `Loaded ${file.name}.`, 'note');
      if (data) await evaluate();
    }, $('msg-model')).finally(() => (e.target.value = ''));
  });

  setButtons();
  await makeSynthetic();
  return { worker };
}

