// Transfer learning in the ImageNet view: the frozen network's features for every picture of
// the data loaded in "Model & training" (computed in the worker in slices, with progress), a
// new head trained on them, its test metrics, confusion matrix and curves, explanations of a
// test picture through network and head, and the head saved as a model file, or downloaded
// with the network in front of it as one ONNX model.

import { $, download, fileSize, pct, say } from '../train/dom.js';
import { createCurves } from '../train/charts.js';
import { drawHeat, drawOverlay, drawRgba } from './maps.js';

export function createTransfer({ worker, onEvent, blockLayer }) {
  const message = $('msg-transfer');
  const status = $('transfer-status');
  // Made with the first result: the charts cost start-up time, and the page's own two are the
  // only ones it needs until then.
  let curves = null;
  let result = null;
  let running = false;

  const setButtons = () => {
    $('transfer-run').disabled = running;
    $('transfer-load').disabled = running;
    $('transfer-save').disabled = running || !result;
    $('transfer-onnx').disabled = running || !result;
    $('transfer-explain').disabled = running || !result;
  };

  function showConfusion(names, confusion) {
    const table = $('transfer-confusion');
    const caption = table.querySelector('caption');
    const head = document.createElement('tr');
    head.append(Object.assign(document.createElement('th'), { scope: 'col', textContent: 'true \\ predicted' }), ...names.map((n) => Object.assign(document.createElement('th'), { scope: 'col', textContent: n })));
    const rows = confusion.map((row, i) => {
      const tr = document.createElement('tr');
      tr.append(Object.assign(document.createElement('th'), { scope: 'row', textContent: names[i] }), ...row.map((v) => Object.assign(document.createElement('td'), { textContent: String(v) })));
      return tr;
    });
    table.replaceChildren(caption, head, ...rows);
  }

  // Trains a new head, or (`head`: a saved head's bytes, `name` its file) loads one.
  async function run(head, name) {
    say(message, '');
    running = true;
    setButtons();
    $('transfer-progress').value = 0;
    status.textContent = 'Computing the features…';
    try {
      result = await worker.call('imagenetTransfer', head ? { head } : { seed: 0 });
      const t = result.test;
      $('transfer-accuracy').textContent = pct(t.accuracy);
      $('transfer-precision').textContent = pct(t.precision);
      $('transfer-recall').textContent = pct(t.recall);
      $('transfer-f1').textContent = pct(t.f1);
      showConfusion(result.class_names, t.confusion);
      $('transfer-results').hidden = false;
      curves ??= createCurves($('transfer-loss-chart'), $('transfer-acc-chart'));
      curves.restore({ epochs: result.epochs, mark: result.restored_epoch ? { epoch: result.restored_epoch, label: 'kept' } : null });
      $('transfer-curves').hidden = !result.epochs.length;
      $('transfer-class').replaceChildren(...result.class_names.map((n, i) => Object.assign(document.createElement('option'), { value: String(i), textContent: n })));
      $('transfer-class').value = String(result.class_names.length - 1);
      const kept = result.restored_epoch ? `, the weights of epoch ${result.restored_epoch} kept` : '';
      status.textContent = head
        ? `The head from ${name} gets ${pct(t.accuracy)} of the loaded test pictures right.`
        : `The new head trained for ${result.epochs.length} epochs${kept}: ${pct(t.accuracy)} of the test pictures right.`;
      document.body.dataset.transferAccuracy = String(t.accuracy);
      await explain();
    } catch (e) {
      status.textContent = '';
      say(message, name ? `${name}: ${e.message}` : e.message);
    } finally {
      running = false;
      setButtons();
    }
  }

  async function explain() {
    say(message, '');
    const index = Number($('transfer-index').value);
    if (!(Number.isInteger(index) && index >= 0)) return say(message, 'Pick a test picture number from 0 up.');
    try {
      const cls = Number($('transfer-class').value);
      const r = await worker.call('imagenetTransferExplain', { index, cls, layer: blockLayer() });
      drawRgba($('transfer-picture'), r.rgba, r.height, r.width);
      drawHeat($('transfer-saliency'), r.saliency, r.height, r.width);
      drawOverlay($('transfer-gradcam'), r.rgba, r.heatmap, r.height, r.width);
      const name = result.class_names[cls];
      $('transfer-picture-caption').textContent = `Test picture ${index} (the head's score for “${name}”: ${r.score.toFixed(2)})`;
      $('transfer-gradcam-caption').textContent = `Grad-CAM on ${r.layerName}: where it finds “${name}”`;
      document.body.dataset.transferExplained = String(Number(document.body.dataset.transferExplained ?? 0) + 1);
    } catch (e) {
      say(message, e.message);
    }
  }

  async function save() {
    try {
      const { bytes } = await worker.call('imagenetTransferSave');
      const url = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
      const a = Object.assign(document.createElement('a'), { href: url, download: 'transfer-head.safetensors' });
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (e) {
      say(message, e.message);
    }
  }

  // The head cannot run without the network: the ONNX file holds both, pictures in, the
  // probabilities of the student's classes out.
  async function downloadOnnx() {
    say(message, '');
    try {
      const { bytes } = await worker.call('imagenetTransferOnnx');
      download(bytes, 'transfer-model.onnx');
      say(message, `Downloaded ${fileSize(bytes.length)} as transfer-model.onnx: the ImageNet network and your head as one model, for ONNX Runtime, Netron and other tools (input: 224×224 pixels from 0 to 1, channels first; output: the probability of each of your classes).`, 'note');
    } catch (e) {
      say(message, e.message);
    }
  }

  $('transfer-run').addEventListener('click', () => run());
  $('transfer-load').addEventListener('change', async (e) => {
    const file = e.target.files[0];
    e.target.value = '';
    if (file) await run(await file.arrayBuffer(), file.name);
  });
  $('transfer-explain').addEventListener('click', explain);
  $('transfer-save').addEventListener('click', save);
  $('transfer-onnx').addEventListener('click', downloadOnnx);
  onEvent((m) => {
    if (m.event === 'transfer-progress') {
      $('transfer-progress').value = m.total ? m.done / m.total : 0;
      status.textContent = `Features of ${m.done} of ${m.total} pictures…`;
    }
  });
  return {
    setEnabled(on) {
      $('transfer-run').disabled = !on || running;
      $('transfer-load').disabled = !on || running;
    },
  };
}
