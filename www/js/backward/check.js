// The backward mode's two worker-side panels: the gradient check of a small network built on
// the explorer's setup (finite differences against backpropagation, with bugs to plant), and
// one training step of the Model & training model in slow motion.

import { createPlayer } from '../explorer/animation.js';
import { convRequest } from '../explorer/data.js';
import { setMessage } from '../explorer/view.js';
import { sig } from '../format.js';
import { absMax, drawMap } from './draw.js';

const $ = (id) => document.getElementById(id);

// `training`: the training section's handle ({worker, onEvent, ...}); `explorer`: its runs.
export function startChecks(store, explorer, training) {
  const call = (op, args) => training.worker.call(op, args);
  let checking = false;

  training.onEvent((m) => {
    if (m.event !== 'gradcheck-progress') return;
    $('bw-check-progress').max = m.total;
    $('bw-check-progress').value = m.done;
    $('bw-check-status').textContent = `${m.done} of ${m.total} values`;
  });

  $('bw-check-run').addEventListener('click', async () => {
    if (checking) return;
    const conv = explorer.conv();
    const st = store.get();
    setMessage('bw-check-message', []);
    if (!conv.lab) {
      setMessage('bw-check-message', [{ level: 'error', message: 'These settings give no output, so there is no network to check: fix the convolution first.' }]);
      return;
    }
    checking = true;
    $('bw-check-run').disabled = true;
    $('bw-check-progress-row').hidden = false;
    $('bw-check-progress').value = 0;
    $('bw-check-status').textContent = 'starting';
    try {
      const report = await call('gradientCheck', {
        settings: { ...convRequest(st), relu: st.relu },
        height: conv.img.height, width: conv.img.width, channels: conv.img.channels,
        input: conv.img.data, filters: conv.flat, bias: conv.biases,
        bug: $('bw-bug').value, seed: st.bwSeed,
      });
      showReport(report);
    } catch (e) {
      setMessage('bw-check-message', [{ level: 'error', message: `The gradient check could not run: ${e.message}` }]);
      $('bw-check-table').hidden = true;
    } finally {
      checking = false;
      $('bw-check-run').disabled = false;
      $('bw-check-progress-row').hidden = true;
    }
  });

  function showReport(r) {
    const rows = r.tensors.map((t) => {
      const tr = document.createElement('tr');
      const cells = [t.name, `${t.checked} of ${t.values}`, sig(t.relativeError, 2), `${sig(t.worstAnalytic)} vs ${sig(t.worstNumeric)}`, t.passed ? 'passes' : 'FAILS'];
      for (const text of cells) tr.append(Object.assign(document.createElement('td'), { textContent: text }));
      tr.className = t.passed ? 'pass' : 'fail';
      return tr;
    });
    $('bw-check-table').querySelector('tbody').replaceChildren(...rows);
    $('bw-check-table').hidden = false;
    const failed = r.tensors.filter((t) => !t.passed).map((t) => t.name);
    const items = [];
    if (r.passed) {
      items.push({ level: 'note', message: `Every tensor passes: backpropagation and the finite differences (h = ${r.step}) agree within ${r.tolerance}.${r.bug ? ' The planted bug did not show on this setup: try another input or filters.' : ''}` });
    } else {
      items.push({ level: 'error', message: `The check fails for ${failed.join(', ')}: the analytic gradient is wrong there${r.bug ? ` (the planted bug: ${$('bw-bug').selectedOptions[0].textContent}). The tensors nearer the loss still pass: the bug sits between them.` : '.'}` });
    }
    if (r.note) items.push({ level: 'note', message: r.note });
    setMessage('bw-check-message', items);
  }

  // ---- one training step in slow motion ----
  let slow = null; // the last result
  let layers = [];
  const phases = () => {
    if (!slow) return [];
    const fwd = slow.forward.map((p) => ({ kind: 'forward', p }));
    const bwd = slow.backward.map((p) => ({ kind: 'backward', p }));
    return [...fwd, { kind: 'loss' }, ...bwd, { kind: 'update' }, { kind: 'after' }];
  };
  const player = createPlayer($('bw-slow-player'), { label: 'Phase of the step', getIndex: () => phase, setIndex: (i) => { phase = i; drawPhase(); } });
  let phase = 0;

  async function refreshLayers() {
    try {
      layers = await call('slowStepLayers', {});
    } catch {
      layers = [];
    }
    const sel = $('bw-slow-layer');
    const keep = sel.value;
    sel.replaceChildren(...layers.filter((l) => l.weights > 0).map((l) => Object.assign(document.createElement('option'), { value: String(l.index), textContent: `${l.index + 1} · ${l.name} (${l.weights} weights)` })));
    if (keep && [...sel.options].some((o) => o.value === keep)) sel.value = keep;
    $('bw-slow-run').disabled = sel.options.length === 0;
    if (sel.options.length === 0) setMessage('bw-slow-message', [{ level: 'note', message: 'Load data in Model & training first: the step runs on its model.' }]);
    else setMessage('bw-slow-message', []);
  }
  training.dataReady.then(refreshLayers);
  training.onEvent((m) => {
    if (m.event === 'finished') refreshLayers();
  });
  $('bw-slow-layer').addEventListener('focus', refreshLayers);

  $('bw-slow-run').addEventListener('click', async () => {
    const st = store.get();
    const layer = Number($('bw-slow-layer').value);
    const weight = Number($('bw-slow-weight').value) - 1;
    const channel = Math.max(0, Math.floor(Number($('bw-slow-channel').value) - 1) || 0);
    setMessage('bw-slow-message', []);
    if (!Number.isInteger(weight) || weight < 0) {
      setMessage('bw-slow-message', [{ level: 'error', message: 'The weight number is a whole number from 1.' }]);
      return;
    }
    $('bw-slow-run').disabled = true;
    try {
      slow = await call('slowStep', { batch: Math.min(st.batchSize, 64), layer, weight, channel, learningRate: st.learningRate, seed: st.trainSeed });
      phase = 0;
      $('bw-slow-view').hidden = false;
      fillTable();
      drawPhase();
    } catch (e) {
      setMessage('bw-slow-message', [{ level: 'error', message: `The step could not run: ${e.message}` }]);
    } finally {
      $('bw-slow-run').disabled = false;
    }
  });

  function fillTable() {
    const back = new Map(slow.backward.map((p) => [p.layer, p]));
    $('bw-slow-table').querySelector('tbody').replaceChildren(...slow.forward.map((p) => {
      const tr = document.createElement('tr');
      const b = back.get(p.layer);
      const shape = p.shape[0] === 1 && p.shape[2] === 1 ? `${p.shape[1]}` : p.shape.join('×');
      for (const text of [p.name, shape, sig(p.norm), sig(b.norm), b.weightGradientNorm == null ? '—' : sig(b.weightGradientNorm)]) {
        tr.append(Object.assign(document.createElement('td'), { textContent: text }));
      }
      return tr;
    }));
  }

  // A layer's picture: an image map as it is, a vector folded into a near-square.
  function drawPicture(p, label) {
    let [rows, cols] = [p.shape[0], p.shape[1]];
    let values = p.values;
    if (rows === 1) {
      cols = Math.ceil(Math.sqrt(values.length));
      rows = Math.ceil(values.length / cols);
      values = Float32Array.from({ length: rows * cols }, (_, i) => (i < p.values.length ? p.values[i] : 0));
    }
    const canvas = $('bw-slow-canvas');
    canvas.setAttribute('aria-label', label);
    drawMap(canvas, values, rows, cols, absMax(values), null, { width: 220, height: 220 });
  }

  function drawPhase() {
    const list = phases();
    if (!list.length) return;
    phase = Math.max(0, Math.min(list.length - 1, phase));
    const ph = list[phase];
    const u = slow.update;
    let title;
    let text;
    if (ph.kind === 'forward') {
      title = `Forward, layer ${ph.p.layer + 1}: ${ph.p.name}`;
      text = `Output ${ph.p.shape.join('×')} per image (first image; map number as chosen, the last if there are fewer); its norm over the batch of ${slow.batch} is ${sig(ph.p.norm)}.`;
      drawPicture(ph.p, `Output of ${ph.p.name} for the first image`);
    } else if (ph.kind === 'loss') {
      title = 'The loss';
      text = `Binary cross-entropy of the batch: ${sig(slow.lossBefore)}. Its gradient with respect to the logits, (p − y) / N, starts the backward pass.`;
    } else if (ph.kind === 'backward') {
      title = `Backward, layer ${ph.p.layer + 1}: ${ph.p.name}`;
      text = `dL/d(output of ${ph.p.name}): norm ${sig(ph.p.norm)}${ph.p.weightGradientNorm == null ? '; no weights here, the gradient only passes through' : `; the gradient of its weights has norm ${sig(ph.p.weightGradientNorm)}`}.`;
      drawPicture(ph.p, `Gradient of the output of ${ph.p.name} for the first image`);
    } else if (ph.kind === 'update') {
      title = `Adam updates ${u.layer}'s ${u.tensor}[${u.index}] (step ${u.step})`;
      text = `g = ${sig(u.gradient)}; m = β₁·0 + (1 − β₁)·g = ${sig(u.m)}; v = β₂·0 + (1 − β₂)·g² = ${sig(u.v)}; `
        + `m̂ = m / (1 − β₁^${u.step}) = ${sig(u.mHat)}; v̂ = v / (1 − β₂^${u.step}) = ${sig(u.vHat)}; `
        + `step = lr·m̂ / (√v̂ + ε) = ${sig(u.learningRate)}·${sig(u.mHat)} / (${sig(Math.sqrt(u.vHat))} + ${sig(u.epsilon)}) = ${sig(u.textbookStep)} `
        + `(Keras puts ε beside √v instead: ${sig(u.kerasStep)}). Weight ${sig(u.before, 6)} − ${sig(u.kerasStep)} = ${sig(u.after, 6)}.`;
    } else {
      title = 'The same batch after the step';
      const lower = slow.lossAfter < slow.lossBefore;
      text = `Loss ${sig(slow.lossBefore)} → ${sig(slow.lossAfter)} (${lower ? 'lower' : 'higher'}), with the same dropout masks. On its first step Adam moves every weight by about the learning rate, whatever the size of its gradient${lower ? '.' : ': with many weights moving together, the step can overshoot. A smaller learning rate (Model & training) takes a gentler step.'}`;
    }
    $('bw-slow-canvas').hidden = !(ph.kind === 'forward' || ph.kind === 'backward');
    $('bw-slow-title').textContent = title;
    $('bw-slow-text').textContent = text;
    player.update(list.length, phase, `${phase + 1} of ${list.length}`);
  }
}
