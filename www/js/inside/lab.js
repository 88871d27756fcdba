// The shortcut lab: one switch trains a model of its own on synthetic faces where smiles sit
// on bright backgrounds 95% of the time (or on clean faces when off), then shows its accuracy
// on test faces with the confound and on clean ones side by side, and where it looks on a few
// clean test faces (saliency and Grad-CAM). The student's own model is not touched.

import { $, pct, say } from '../train/dom.js';
import { drawHeat, drawOverlay, drawRgba } from './maps.js';

const CONFOUND = 0.95;
const SHOWN = 4; // clean test faces explained
// A few epochs are only a few dozen batches: with Keras's 0.99 the batch-norm averages used at
// test time still remember the untrained start, and even the clean model scores near chance.
const LAB_BN_MOMENTUM = 0.9;

export function createLab(ctx) {
  const { worker } = ctx;
  const message = $('msg-lab');
  const status = $('lab-status');
  let running = false;
  let epochs = 0;

  const setButtons = () => {
    $('lab-train').disabled = running;
    $('lab-confound').disabled = running;
  };

  async function explainFaces() {
    const labels = await worker.call('labLabels');
    // Two smiling and two other faces, the first of each in the set.
    const pick = [1, 0].flatMap((c) => labels.map((y, i) => [y, i]).filter(([y]) => y === c).slice(0, SHOWN / 2).map(([, i]) => i));
    const { rgba } = await worker.call('labImages', { indices: pick });
    const figures = [];
    for (const [k, index] of pick.entries()) {
      const face = rgba.subarray(k * 64 * 64 * 4, (k + 1) * 64 * 64 * 4);
      const args = { which: 'lab', split: 'test', index, cls: labels[index] }; // evidence for its own class
      const sal = await worker.call('insideSaliency', { ...args, smooth: false });
      const cam = await worker.call('insideGradCam', args);
      const fig = document.createElement('figure');
      const canvases = ['picture', 'saliency', 'Grad-CAM'].map((what) => {
        const c = document.createElement('canvas');
        c.setAttribute('aria-label', `Clean test face ${index} (${labels[index] ? 'smile' : 'no smile'}): ${what}`);
        return c;
      });
      drawRgba(canvases[0], face, 64, 64);
      drawHeat(canvases[1], sal.magnitude, sal.height, sal.width);
      drawOverlay(canvases[2], face, cam.heatmap, cam.height, cam.width);
      const cap = document.createElement('figcaption');
      cap.textContent = `${labels[index] ? 'smile' : 'no smile'}: face, saliency, Grad-CAM`;
      fig.append(...canvases, cap);
      figures.push(fig);
    }
    $('lab-explain').replaceChildren(...figures);
  }

  async function train() {
    if (running) return;
    say(message, '');
    const faces = Number($('lab-faces').value);
    epochs = Number($('lab-epochs').value);
    if (!(Number.isInteger(faces) && faces >= 40 && faces <= 2000)) return say(message, 'Faces: a whole number from 40 to 2000.');
    if (!(Number.isInteger(epochs) && epochs >= 1 && epochs <= 50)) return say(message, 'Epochs: a whole number from 1 to 50.');
    const confound = $('lab-confound').checked ? CONFOUND : 0;
    const lab = { train: faces, test: Math.max(20, Math.round(faces / 3)), seed: 11, confound };
    running = true;
    setButtons();
    $('lab-progress').value = 0;
    $('lab-acc-confounded').textContent = '…';
    $('lab-acc-clean').textContent = '…';
    status.textContent = `Training on ${confound ? 'confounded' : 'clean'} faces…`;
    delete document.body.dataset.labDone;
    try {
      await worker.call('labTrain', { lab, settings: { epochs, batchSize: 32, learningRate: 1e-3, patience: 0, seed: 0, bnMomentum: LAB_BN_MOMENTUM } });
    } catch (e) {
      running = false;
      setButtons();
      say(message, e.message);
    }
  }

  async function finished(m) {
    running = false;
    setButtons();
    $('lab-progress').value = 1;
    const a = m.accuracies;
    $('lab-acc-confounded').textContent = pct(a.confoundedTestAccuracy);
    $('lab-acc-clean').textContent = pct(a.cleanTestAccuracy);
    const gap = (a.confoundedTestAccuracy - a.cleanTestAccuracy) * 100;
    status.textContent = $('lab-confound').checked
      ? `Done. ${gap > 10 ? `The clean faces score ${gap.toFixed(0)} points lower: the model leans on the background.` : 'The gap is small so far: train longer, or on more faces, and the shortcut shows.'}`
      : 'Done: trained on clean faces, the two test sets score alike. Flip the switch to plant the confound.';
    try {
      await explainFaces();
    } catch (e) {
      say(message, e.message);
    }
    document.body.dataset.labDone = 'true';
  }

  $('lab-train').addEventListener('click', train);
  // The switch itself trains: flip it and the model relearns with or without the confound.
  $('lab-confound').addEventListener('change', train);
  setButtons();

  return {
    onEvent(m) {
      if (m.event === 'lab-progress' && m.report.batch) {
        const b = m.report.batch;
        $('lab-progress').value = ((b.epoch - 1) * b.batches + b.batch) / (epochs * b.batches);
        status.textContent = `Epoch ${b.epoch} of ${epochs} · batch ${b.batch} of ${b.batches} · accuracy ${pct(b.accuracy)}`;
      } else if (m.event === 'lab-finished') finished(m);
      else if (m.event === 'lab-failed') {
        running = false;
        setButtons();
        say(message, m.message);
      }
    },
  };
}
