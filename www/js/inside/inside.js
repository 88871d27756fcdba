// The "Look inside" section: for a test image, a photo or a camera frame, the prediction, every layer's maps,
// saliency beside the Grad-CAM overlay, the first layer's filters; activation maximization
// and the shortcut lab in their own modules. Everything is computed in the training worker;
// explanations can follow a training run every N batches.

import { $, pct, say } from '../train/dom.js';
import { FRAME_SIDE, grabFrame, openCamera } from '../train/webcam.js';
import { createActmax } from './actmax.js';
import { createCompare } from './compare.js';
import { createImagenet } from './imagenet.js';
import { createLab } from './lab.js';
import { drawFilters, drawHeat, drawLayers, drawOverlay, drawRgba } from './maps.js';

export function startInside(training) {
  const { worker } = training;
  const message = $('msg-inside');
  let photo = null; // {rgba, height, width} of an uploaded photo or camera frame, when it is the picture
  let busy = false;
  let again = false; // a request came while busy: explain once more after
  let batchesSinceRefresh = 0;
  let lastActivations = null;

  const which = () => ($('inside-lab-model').checked ? 'lab' : 'main');
  const ctx = { worker, which };

  async function pictureRgba(pic) {
    if (pic.rgba) return pic.rgba;
    const op = which() === 'lab' ? 'labImages' : 'images';
    const { rgba } = await worker.call(op, which() === 'lab' ? { indices: [pic.index] } : { split: 'test', indices: [pic.index] });
    return rgba;
  }

  async function fillLayerPicker(layers) {
    const select = $('inside-cam-layer');
    const keep = select.value;
    select.replaceChildren(
      ...layers.map((l) => {
        const o = document.createElement('option');
        o.value = String(l.index);
        o.textContent = `${l.name} (${l.filters} maps)`;
        return o;
      }),
    );
    if (layers.some((l) => String(l.index) === keep)) select.value = keep;
    else if (layers.length) select.value = String(layers[layers.length - 1].index);
  }

  async function explainOnce() {
    say(message, '');
    const index = Number($('inside-index').value);
    if (!photo && !(Number.isInteger(index) && index >= 0)) throw new Error('Pick a test image number from 0 up.');
    const pic = photo ? { split: 'test', index: 0, rgba: photo.rgba } : { split: 'test', index };
    const rgba = await pictureRgba(pic);
    const w = which();
    const args = { which: w, split: pic.split, index: pic.index, rgba: pic.rgba };
    await fillLayerPicker(await worker.call('insideConvLayers', { which: w }));
    const acts = await worker.call('insideActivations', args);
    drawRgba($('inside-canvas'), rgba, 64, 64);
    const p = acts.probabilities[0];
    const line = `P(smile) = ${pct(p)}, logit ${acts.logits[0].toFixed(2)}`;
    // An untrained model's answer is a coin toss: it is not written as a verdict. During its
    // first run it is on its way (the view can follow the run every few batches).
    const fresh = w === 'main' && !training.trained();
    const random = fresh && !training.running();
    const verdict = `${p >= 0.5 ? 'Smile' : 'No smile'}: ${line}`;
    $('inside-prediction').textContent = random ? `Not trained: ${line} is a random answer` : fresh ? `While training: ${verdict}` : verdict;
    $('inside-prediction').classList.toggle('random', random);
    lastActivations = acts;
    drawLayers($('inside-maps'), acts.layers, $('inside-scale').value === 'map');
    const cls = Number($('inside-class').value);
    const layer = Number($('inside-cam-layer').value);
    const sal = await worker.call('insideSaliency', { ...args, cls, smooth: $('inside-smooth').checked });
    drawHeat($('inside-saliency'), sal.magnitude, sal.height, sal.width);
    const weighting = $('inside-cam-weighting').value;
    const cam = await worker.call('insideGradCam', { ...args, cls, layer: Number.isInteger(layer) ? layer : null, weighting });
    drawOverlay($('inside-gradcam'), rgba, cam.heatmap, cam.height, cam.width);
    $('inside-gradcam-caption').textContent = `Grad-CAM (${cam.weighting === 'channel-mean' ? 'one weight per map' : 'per place'}) on ${cam.layerName}: places it finds evidence for “${cls ? 'smile' : 'no smile'}” in`;
    const filters = await worker.call('insideFilters', { which: w, shared: $('inside-filter-shared').checked });
    drawFilters($('inside-filters'), filters);
    $('inside-filters-caption').textContent = `${filters.count} filters of ${filters.layerName}, ${filters.kernelHeight}×${filters.kernelWidth} RGB; grey is zero`;
    document.body.dataset.insidePicture = photo ? photo.source : `test ${index}`;
    document.body.dataset.insideShown = String(Number(document.body.dataset.insideShown ?? 0) + 1);
  }

  // One explanation at a time; a request that arrives meanwhile runs once after it.
  async function explain() {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      do {
        again = false;
        await explainOnce();
      } while (again);
    } catch (e) {
      say(message, e.message);
    } finally {
      busy = false;
    }
  }

  $('inside-show').addEventListener('click', () => {
    photo = null;
    explain();
  });
  $('inside-index').addEventListener('change', () => {
    photo = null;
    explain();
  });
  $('inside-photo').addEventListener('change', async (e) => {
    const file = e.target.files[0];
    e.target.value = '';
    if (!file) return;
    try {
      const bytes = new Uint8Array(await file.arrayBuffer());
      const p = await worker.call('predictPhoto', { bytes });
      photo = { rgba: p.rgba, height: p.height, width: p.width, source: 'photo' };
      explain();
    } catch (err) {
      say(message, `${file.name}: ${err.message}`);
    }
  });
  // One frame of the camera the data section shares (the browser asks for permission once).
  $('inside-camera').addEventListener('click', async () => {
    try {
      await openCamera($('cam-video'));
      photo = { rgba: grabFrame($('cam-video'), FRAME_SIDE), height: FRAME_SIDE, width: FRAME_SIDE, source: 'camera' };
      explain();
    } catch (err) {
      say(message, `The camera: ${err.message}`);
    }
  });
  for (const id of ['inside-class', 'inside-smooth', 'inside-cam-layer', 'inside-cam-weighting', 'inside-filter-shared', 'inside-lab-model']) $(id).addEventListener('change', explain);
  $('inside-scale').addEventListener('change', () => lastActivations && drawLayers($('inside-maps'), lastActivations.layers, $('inside-scale').value === 'map'));

  // Whether the explained model has learnt anything: said at the top of the section.
  const showTrained = () => {
    $('inside-untrained').hidden = training.trained() || which() === 'lab' || $('inside-model-imagenet').checked;
  };
  // The Grad-CAM layer list is there before the first explanation (an empty list looked broken),
  // and follows a new or loaded model.
  const refreshLayers = () => worker.call('insideConvLayers', { which: which() }).then(fillLayerPicker).catch(() => {});
  training.onTrainedChange(() => {
    showTrained();
    refreshLayers();
  });
  $('inside-lab-model').addEventListener('change', showTrained);
  showTrained();
  refreshLayers();

  // The picture the view explains, for the method comparison: where it comes from and its
  // RGBA pixels to draw the maps on.
  async function currentPicture() {
    const index = Number($('inside-index').value);
    if (!photo && !(Number.isInteger(index) && index >= 0)) throw new Error('Pick a test image number from 0 up');
    const pic = photo ? { split: 'test', index: 0, rgba: photo.rgba } : { split: 'test', index };
    return { ...pic, pixels: await pictureRgba(pic) };
  }
  createCompare({ worker, which, picture: currentPicture, onEvent: (f) => training.onEvent(f) });

  const actmax = createActmax(ctx);
  const lab = createLab(ctx);

  // The model switch: the student's own model, or the pretrained ImageNet network.
  const imagenet = createImagenet({ worker, onEvent: (f) => training.onEvent(f) });
  const showModel = () => {
    const net = $('inside-model-imagenet').checked;
    $('imagenet-view').hidden = !net;
    $('own-view').hidden = net;
    if (net) {
      $('inside-untrained').hidden = true;
      imagenet.shown().catch((e) => say($('msg-imagenet'), e.message));
    } else showTrained();
  };
  for (const id of ['inside-model-own', 'inside-model-imagenet']) $(id).addEventListener('change', showModel);
  training.onEvent((m) => {
    actmax.onEvent(m);
    lab.onEvent(m);
    const shown = document.body.dataset.insideShown;
    if (m.event === 'progress' && $('inside-refresh').checked && which() === 'main') {
      batchesSinceRefresh += m.report.batchesTrained;
      const every = Math.max(1, Number($('inside-refresh-n').value) || 1);
      if (batchesSinceRefresh >= every) {
        batchesSinceRefresh = 0;
        explain();
      }
    } else if (m.event === 'finished' && shown && which() === 'main') explain();
  });
  document.body.dataset.insideReady = 'true';
}
