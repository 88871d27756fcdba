// "Look inside" on the pretrained ImageNet network (EfficientNet-Lite0): load the model file
// (fetched from the site with a progress bar; from file:// the student picks or drops it once
// and the browser keeps it in IndexedDB), a photo's top-5, saliency and Grad-CAM of any class
// on any block, activation maximization of one or two classes, and the network as an ONNX
// file for other tools. All compute runs in the
// training worker, beside the student's own model, which this never touches.

import { $, download, fileSize, pct, say } from '../train/dom.js';
import { FRAME_SIDE, grabFrame, openCamera } from '../train/webcam.js';
import { readStored, store } from '../train/persistence.js';
import { drawHeat, drawLayers, drawOverlay, drawRgba } from './maps.js';
import { createTransfer } from './transfer.js';

const MODEL_URL = 'models/efficientnet-lite0.safetensors';
const STORE_KEY = 'imagenet-model';
const SLICE = 5; // activation-maximization iterations per worker call (about a second each)
const SHOWN_MAPS = 32; // a block has up to 1,280 maps: the first ones are drawn

// The first `k` channels of maps (h, w, C), as (h, w, k).
function firstChannels(values, [h, w, c], k) {
  const out = new Float32Array(h * w * k);
  for (let p = 0; p < h * w; p++) for (let j = 0; j < k; j++) out[p * k + j] = values[p * c + j];
  return out;
}

// Fetches the model with a progress bar; throws when it cannot (from file://, or not built).
async function fetchModel(onProgress) {
  const res = await fetch(MODEL_URL);
  if (!res.ok) throw new Error(`the site has no ImageNet model (HTTP ${res.status}); ./build.sh makes it`);
  const total = Number(res.headers.get('content-length')) || 0;
  const reader = res.body.getReader();
  const parts = [];
  let got = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    got += value.length;
    if (total) onProgress(got / total);
  }
  const bytes = new Uint8Array(got);
  parts.reduce((at, p) => (bytes.set(p, at), at + p.length), 0);
  return bytes;
}

export function createImagenet({ worker, onEvent }) {
  const message = $('msg-imagenet');
  const explainMessage = $('msg-imagenet-explain');
  const actmaxMessage = $('msg-imagenet-actmax');
  const status = $('imagenet-status');
  let names = null; // the 1,000 class names once loaded
  let imported = null; // the file name (without .onnx) of an ONNX network opened here, else null
  let photoRgba = null; // the 224x224 crop the network sees
  let side = 224;
  let frames = [];
  let running = false;

  const loaded = () => names !== null;
  const transfer = createTransfer({ worker, onEvent, blockLayer: () => Number($('imagenet-cam-layer').value) });
  function setButtons() {
    for (const id of ['imagenet-photo', 'imagenet-camera', 'imagenet-explain', 'imagenet-actmax-run', 'imagenet-onnx']) $(id).disabled = !loaded() || running;
    transfer.setEnabled(loaded());
    $('imagenet-actmax-cancel').disabled = !running;
    $('imagenet-actmax-frame').disabled = running || frames.length < 2;
  }

  // Hands the file to the worker; on success keeps it for the next visit. A wrong file leaves
  // what was loaded as it was.
  async function useModel(bytes, from, keepIt) {
    say(message, '');
    status.textContent = `Reading the network (${(bytes.length / 1e6).toFixed(1)} MB)…`;
    let info;
    try {
      info = await worker.call('imagenetLoad', { bytes: bytes.slice().buffer });
    } catch (e) {
      status.textContent = loaded() ? 'The ImageNet network is loaded.' : 'Not loaded yet.';
      say(message, `${from}: ${e.message}`);
      return;
    }
    names = info.classes;
    $('imagenet-classes').replaceChildren(...names.map((n) => Object.assign(document.createElement('option'), { value: n })));
    const select = $('imagenet-cam-layer');
    select.replaceChildren(...info.blocks.map((b) => Object.assign(document.createElement('option'), { value: String(b.index), textContent: `${b.name} (${b.height}×${b.width}, ${b.channels} maps)` })));
    select.value = String(info.blocks[info.blocks.length - 1].index);
    $('imagenet-progress').value = 1;
    imported = /\.onnx$/i.test(from) ? from.replace(/\.onnx$/i, '') : null;
    // The class fields keep a name this network has (the chapter's leopard is ImageNet's).
    if (!names.includes($('imagenet-actmax-class').value)) $('imagenet-actmax-class').value = names[0];
    status.textContent = imported
      ? `The network ${from} is loaded (${names.length} classes). Choose a photo.`
      : `The ImageNet network is loaded (${names.length} classes, ${from}). Choose a photo.`;
    document.body.dataset.imagenetLoaded = 'true';
    setButtons();
    if (keepIt) store(STORE_KEY, { bytes: bytes.buffer, savedAt: Date.now() }).catch(() => {});
  }

  async function loadFromSite() {
    say(message, '');
    // The single file allows itself no connection at all (its Content-Security-Policy).
    if (location.protocol === 'file:') return say(message, 'Opened from a file, the page cannot download the network: choose the model file (efficientnet-lite0.safetensors) or drop it here.');
    status.textContent = 'Downloading the ImageNet network…';
    let bytes;
    try {
      bytes = await fetchModel((f) => ($('imagenet-progress').value = f));
    } catch (e) {
      status.textContent = loaded() ? 'The ImageNet network is loaded.' : 'Not loaded yet.';
      say(message, `The network could not be downloaded: ${e.message}. You can also choose the model file.`);
      return;
    }
    await useModel(bytes, 'downloaded', false);
  }

  // An ONNX network is explained but not kept: the browser keeps the ImageNet network.
  async function useFile(file) {
    if (!file) return;
    await useModel(new Uint8Array(await file.arrayBuffer()), file.name, !/\.onnx$/i.test(file.name));
  }

  function drawTop(top) {
    $('imagenet-top').replaceChildren(
      ...top.map((r) => {
        const li = document.createElement('li');
        const p = Object.assign(document.createElement('span'), { className: 'p', textContent: pct(r.probability) });
        li.append(p, ` ${r.name} (${r.index})`);
        return li;
      }),
    );
  }

  async function look(args, source) {
    say(message, '');
    try {
      const r = await worker.call('imagenetLook', args);
      side = r.side;
      photoRgba = r.rgba;
      drawRgba($('imagenet-canvas'), photoRgba, side, side);
      drawTop(r.top);
      $('imagenet-class').value = names[r.top[0].index];
      document.body.dataset.imagenetTop1 = String(r.top[0].index);
      document.body.dataset.imagenetPhoto = source;
      await explain();
    } catch (e) {
      say(message, `${source}: ${e.message}`);
    }
  }

  async function classOf(input) {
    return worker.call('imagenetClass', { name: input.value });
  }

  async function explain() {
    say(explainMessage, '');
    if (!photoRgba) return say(explainMessage, 'Choose a photo first.');
    try {
      const cls = await classOf($('imagenet-class'));
      const sal = await worker.call('imagenetSaliency', { cls, smooth: $('imagenet-smooth').checked });
      drawHeat($('imagenet-saliency'), sal.magnitude, sal.height, sal.width);
      $('imagenet-saliency-caption').textContent = `Saliency of “${names[cls]}” (logit ${sal.score.toFixed(2)})${$('imagenet-smooth').checked ? ', SmoothGrad' : ''}`;
      const layer = Number($('imagenet-cam-layer').value);
      const cam = await worker.call('imagenetGradCam', { cls, layer, weighting: $('imagenet-cam-weighting').value });
      drawOverlay($('imagenet-gradcam'), photoRgba, cam.heatmap, cam.height, cam.width);
      $('imagenet-gradcam-caption').textContent = `Grad-CAM on ${cam.layerName} (${cam.mapHeight}×${cam.mapWidth}): where it finds “${names[cls]}”`;
      const maps = await worker.call('imagenetMaps', { layer });
      const k = Math.min(SHOWN_MAPS, maps.channels);
      const shape = [maps.height, maps.width, maps.channels];
      drawLayers($('imagenet-maps'), [{ name: cam.layerName, kind: `first ${k} of ${maps.channels} maps`, shape: [maps.height, maps.width, k], values: firstChannels(maps.values, shape, k) }], false);
      document.body.dataset.imagenetExplained = String(Number(document.body.dataset.imagenetExplained ?? 0) + 1);
    } catch (e) {
      say(explainMessage, e.message);
    }
  }

  function showFrame(i) {
    const f = frames[i];
    if (!f) return;
    $('imagenet-actmax-frame').value = String(i);
    $('imagenet-actmax-frame').setAttribute('aria-valuetext', `iteration ${f.iteration}`);
    drawRgba($('imagenet-actmax-canvas'), f.rgba, side, side);
  }

  async function actmax() {
    say(actmaxMessage, '');
    const maxIter = Number($('imagenet-actmax-iter').value);
    if (!(Number.isInteger(maxIter) && maxIter >= 1 && maxIter <= 1000)) return say(actmaxMessage, 'max_iter: a whole number from 1 to 1000.');
    let classes;
    try {
      classes = [await classOf($('imagenet-actmax-class'))];
      if ($('imagenet-actmax-also').value.trim()) classes.push(await classOf($('imagenet-actmax-also')));
    } catch (e) {
      return say(actmaxMessage, e.message);
    }
    const fromPhoto = $('imagenet-actmax-start').value === 'photo';
    if (fromPhoto && !photoRgba) return say(actmaxMessage, 'Choose a photo first, or start from noise.');
    // The readable settings (bench/RESULTS.md): the multi-scale step and a wide jitter.
    const config = { objectives: classes.map((c) => ({ objective: { type: 'class', class: c }, weight: 1 })), start: 'noise', max_iter: maxIter, step_size: 0.01, jitter: 8, scales: 7, seed: 0 };
    running = true;
    frames = [];
    setButtons();
    $('imagenet-actmax-progress').value = 0;
    $('imagenet-actmax-status').textContent = 'Climbing…';
    try {
      const r = await worker.call('actmax', { which: 'imagenet', config, slice: SLICE, fromPhoto });
      if (!r.frames.length) {
        $('imagenet-actmax-status').textContent = 'Cancelled.';
        return;
      }
      frames = r.frames;
      $('imagenet-actmax-frame').max = String(frames.length - 1);
      showFrame(frames.length - 1);
      const what = classes.map((c) => `“${names[c]}”`).join(' + ');
      $('imagenet-actmax-status').textContent = `${r.cancelled ? 'Cancelled after' : 'After'} ${frames[frames.length - 1].iteration} iterations the logit of ${what} went from ${r.objectiveStart.toFixed(2)} to ${r.objectiveEnd.toFixed(2)}.`;
      document.body.dataset.imagenetActmaxFrames = String(frames.length);
    } catch (e) {
      say(actmaxMessage, e.message);
      $('imagenet-actmax-status').textContent = '';
    } finally {
      running = false;
      setButtons();
    }
  }

  $('imagenet-load').addEventListener('click', loadFromSite);
  $('imagenet-onnx').addEventListener('click', async () => {
    say(message, '');
    try {
      const { bytes } = await worker.call('imagenetOnnx');
      const name = `${imported ?? 'efficientnet-lite0'}.onnx`;
      download(bytes, name);
      say(message, `Downloaded ${fileSize(bytes.length)} as ${name}, for ONNX Runtime, Netron and other tools (input: pixels from 0 to 1, channels first; output: the probability of each of the ${names.length.toLocaleString('en')} classes).`, 'note');
    } catch (e) {
      say(message, e.message);
    }
  });
  for (const id of ['imagenet-file', 'imagenet-onnx-file']) {
    $(id).addEventListener('change', async (e) => {
      const file = e.target.files[0];
      e.target.value = '';
      await useFile(file);
    });
  }
  const panel = $('imagenet-view');
  panel.addEventListener('dragover', (e) => e.preventDefault());
  panel.addEventListener('drop', (e) => {
    e.preventDefault();
    const file = e.dataTransfer?.files?.[0];
    if (!file) return;
    if (/\.(png|jpe?g)$/i.test(file.name)) file.arrayBuffer().then((b) => look({ bytes: b }, file.name));
    else useFile(file);
  });
  $('imagenet-photo').addEventListener('change', async (e) => {
    const file = e.target.files[0];
    e.target.value = '';
    if (file) await look({ bytes: await file.arrayBuffer() }, file.name);
  });
  $('imagenet-camera').addEventListener('click', async () => {
    try {
      await openCamera($('cam-video'));
      const rgba = grabFrame($('cam-video'), FRAME_SIDE);
      await look({ rgba: rgba.buffer, width: FRAME_SIDE, height: FRAME_SIDE }, 'the camera');
    } catch (err) {
      say(message, `The camera: ${err.message}`);
    }
  });
  $('imagenet-explain').addEventListener('click', explain);
  for (const id of ['imagenet-cam-layer', 'imagenet-cam-weighting', 'imagenet-smooth']) $(id).addEventListener('change', () => photoRgba && explain());
  $('imagenet-actmax-run').addEventListener('click', actmax);
  $('imagenet-actmax-cancel').addEventListener('click', () => worker.call('actmaxCancel'));
  $('imagenet-actmax-frame').addEventListener('input', () => showFrame(Number($('imagenet-actmax-frame').value)));
  onEvent((m) => {
    if (m.event === 'actmax-progress' && running) {
      $('imagenet-actmax-progress').value = m.done / m.total;
      $('imagenet-actmax-status').textContent = `Iteration ${m.done} of ${m.total} · logit ${m.objective.toFixed(2)}`;
    }
  });
  setButtons();

  // A model kept from an earlier visit loads by itself when the switch is first turned.
  let restored = false;
  return {
    async shown() {
      if (restored || loaded()) return;
      restored = true;
      const kept = await readStored(STORE_KEY).catch(() => undefined);
      if (kept?.bytes) await useModel(new Uint8Array(kept.bytes), 'kept in this browser', false);
    },
  };
}
