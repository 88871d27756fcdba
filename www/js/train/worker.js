// The training worker: a classic script that runs after the wasm-bindgen glue in one Blob URL
// (see client.js), so the same code starts over http and from file://. tools/build-site.mjs
// bundles it with its imports. It owns one
// TrainingSession and answers requests `{id, op, ...}` with `{id, result}` or `{id, error}`.
// Training runs as a chain of short `trainFor` calls with the event loop free between them,
// so Pause and Stop are heard within one batch; each call's progress is posted as an event
// `{event: 'progress' | 'finished', ...}`.
/* global wasm_bindgen */

import { decodeUpload } from '../picture.js';
import { addFolderPictures, loadFolderFiles } from './folder-files.js';
import { crossTestHappyH5, readHappyH5 } from './happy-h5.js';

// Pictures are decoded on the page, not here: from file://, WebKit gives a worker made from a
// Blob URL a null origin that cannot read Blobs, so createImageBitmap fails in the worker (and
// did so with a misleading "damaged" message). The worker asks; client.js answers with RGBA.
const decodeRequests = new Map();
let nextDecode = 1;
function decodeOnPage(bytes) {
  return new Promise((resolve, reject) => {
    const rid = nextDecode++;
    decodeRequests.set(rid, { resolve, reject });
    const copy = bytes.slice();
    self.postMessage({ decode: rid, bytes: copy }, [copy.buffer]);
  });
}

let session = null;
let folderPaths = null; // the paths of the folder being loaded
let run = null; // { paused, timer } while a training run is going

const post = (message, transfer = []) => self.postMessage(message, transfer);

// How long each trainFor call may take: short enough to hear Pause, long enough that posting
// progress costs nothing.
const SLICE_MS = 120;

function tick() {
  run.timer = null;
  if (run.paused) return;
  let report;
  try {
    report = session.trainFor(SLICE_MS);
  } catch (err) {
    run = null;
    post({ event: 'failed', message: err.message });
    return;
  }
  post({ event: 'progress', report });
  if (report.finished) {
    run = null;
    post({ event: 'finished', finished: report.finished });
    return;
  }
  run.timer = setTimeout(tick, 0);
}

function stopRun() {
  if (!run) return null;
  clearTimeout(run.timer);
  run = null;
  return session.stopTraining();
}

const ops = {
  async init({ bytes }) {
    await wasm_bindgen({ module_or_path: bytes });
    session = new wasm_bindgen.TrainingSession();
    return { simd: wasm_bindgen.simdEnabled(), relaxedSimd: wasm_bindgen.relaxedSimdEnabled() };
  },
  loadSynthetic({ train, test, seed, difficulty }) {
    stopRun();
    return session.loadSynthetic(train, test, seed, difficulty);
  },
  loadH5({ bytes, name, seed }) {
    // A file that fails to load leaves the run and the data as they were.
    const info = readHappyH5(session, new Uint8Array(bytes), name, seed);
    stopRun();
    return info;
  },
  // A folder arrives in pieces from the page (it reads the files a few at a time, so that
  // neither side holds them all): beginFolder with every path, addFolderFiles per piece,
  // then finishFolder (or cancelFolder). The data loaded before stay until finishFolder.
  beginFolder({ paths, name, seed }) {
    folderPaths = paths;
    return session.beginFolder(paths, `the folder ${name}`, seed);
  },
  async addFolderFiles({ indices, lengths, bytes }) {
    const all = new Uint8Array(bytes);
    const at = new Map();
    indices.reduce((offset, i, k) => (at.set(i, [offset, lengths[k]]), offset + lengths[k]), 0);
    const file = (i) => all.subarray(at.get(i)[0], at.get(i)[0] + at.get(i)[1]);
    let done = 0;
    try {
      await addFolderPictures(session, folderPaths, indices, file, (n) => (done = n), decodeOnPage);
    } catch (e) {
      session.cancelFolder();
      throw e;
    }
    return { done };
  },
  finishFolder() {
    const info = session.finishFolder();
    folderPaths = null;
    stopRun();
    return info;
  },
  cancelFolder() {
    session.cancelFolder();
    folderPaths = null;
    return {};
  },
  async loadZip({ bytes, name, seed }) {
    let info;
    try {
      const zip = wasm_bindgen.readZip(new Uint8Array(bytes));
      // takeBytes consumes the entries (and frees them).
      const [paths, lengths, all] = [zip.paths(), zip.lengths(), zip.takeBytes()];
      const progress = ({ done, total }) => post({ event: 'load-progress', done, total });
      info = await loadFolderFiles(session, paths, lengths, all, name, seed, progress, decodeOnPage);
    } catch (e) {
      throw new Error(`${name}: ${e.message}`);
    }
    stopRun();
    return info;
  },
  loadCaptured({ rgba, labels, side, classNames, seed }) {
    const info = session.loadCaptured(new Uint8Array(rgba), labels, side, classNames, seed);
    stopRun();
    return info;
  },
  buildLayout({ layout, seed }) {
    stopRun();
    return { summary: session.buildLayout(layout, seed) };
  },
  train({ settings }) {
    stopRun();
    const batches = session.startTraining(settings);
    run = { paused: false, timer: setTimeout(tick, 0) };
    return { batches };
  },
  pause() {
    if (run) {
      run.paused = true;
      clearTimeout(run.timer);
      run.timer = null;
    }
    return { paused: !!run };
  },
  resume() {
    if (run && run.paused) {
      run.paused = false;
      run.timer = setTimeout(tick, 0);
    }
    return { running: !!run };
  },
  stop() {
    const finished = stopRun();
    if (finished) post({ event: 'finished', finished });
    return { stopped: !!finished };
  },
  evaluate: () => session.evaluate(),
  predict: ({ split, index }) => Array.from(session.predict(split, index)),
  async predictPhoto({ bytes }) {
    const picture = await decodeUpload(wasm_bindgen, new Uint8Array(bytes), decodeOnPage);
    const p = session.predictPhoto(picture.rgba, picture.width, picture.height);
    return { probabilities: Array.from(p.probabilities), height: p.height, width: p.width, rgba: p.rgba, transfer: [p.rgba.buffer] };
  },
  predictRgba: ({ rgba, height, width }) => Array.from(session.predictRgba(new Uint8Array(rgba), height, width)),
  images({ split, indices }) {
    const rgba = session.imagesRgba(split, Uint32Array.from(indices));
    return { rgba, transfer: [rgba.buffer] };
  },
  labels: ({ split }) => Array.from(session.labels(split)),
  augmentPreview({ split, index, settings, count, seed }) {
    const rgba = session.augmentationPreview(split, index, settings, count, seed);
    return { rgba, transfer: [rgba.buffer] };
  },
  suggestedAugmentation: () => wasm_bindgen.suggestedAugmentation(),
  noAugmentation: () => wasm_bindgen.noAugmentation(),
  crossSynthetic: ({ count, seed, difficulty }) => session.crossTestSynthetic(count, seed, difficulty),
  crossH5: ({ bytes, name }) => crossTestHappyH5(session, new Uint8Array(bytes), name),
  crossCaptured: ({ rgba, labels, side, classNames }) => session.crossTestCaptured(new Uint8Array(rgba), labels, side, classNames),
  save({ notes }) {
    const bytes = session.save(JSON.stringify(notes ?? null));
    return { bytes, transfer: [bytes.buffer] };
  },
  // The model as an ONNX file: the model file `save` makes, converted as the command line's
  // `export --onnx` converts it.
  onnx({ notes }) {
    const bytes = wasm_bindgen.onnxFromModelFile(session.save(JSON.stringify(notes ?? null)));
    return { bytes, transfer: [bytes.buffer] };
  },
  load({ bytes }) {
    const loaded = session.load(new Uint8Array(bytes));
    stopRun();
    return { ...loaded, layout: session.modelLayout() };
  },
  // The explorer's backward mode: a gradient check of a small network on the explorer's
  // setup, in slices with progress, and one training step of the model in slow motion.
  async gradientCheck({ settings, height, width, channels, input, filters, bias, bug, seed }) {
    const lab = new wasm_bindgen.ConvLab(settings, height, width, channels, input, filters, bias);
    let check;
    try {
      check = lab.gradientCheck(bug, seed);
    } finally {
      lab.free();
    }
    try {
      for (;;) {
        const done = check.advance(40);
        const [n, total] = check.progress();
        post({ event: 'gradcheck-progress', done: n, total });
        if (done) return check.report();
        await pause();
      }
    } finally {
      check.free();
    }
  },
  slowStep: ({ batch, layer, weight, channel, learningRate, seed }) => session.slowStep(batch, layer, weight, channel, learningRate, seed),
  slowStepLayers: () => session.slowStepLayers(),
};

// ---- The "Look inside" view (www/js/inside/): explanations, activation maximization and the
// shortcut lab. The lab trains its own session, so the student's model stays as it was.
let labSession = null;
let labRun = null; // { lab, timer } while the lab model trains
let actmaxRun = null; // { cancelled } while activation maximization runs

// The pretrained ImageNet network (an ImageNetModel handle), once the page has handed over its file.
let imagenet = null;
const needImagenet = () => {
  if (!imagenet) throw new Error('load the ImageNet network first');
  return imagenet;
};

const sessionFor = (which) => {
  // Activation maximization runs on the ImageNet network through the same calls.
  if (which === 'imagenet') return { insideActmax: (config, start) => needImagenet().actmax(config, start) };
  if (which !== 'lab') return session;
  if (!labSession) throw new Error('train the shortcut lab model first');
  return labSession;
};
const rgbaArg = (rgba) => (rgba ? new Uint8Array(rgba) : undefined);
const pause = () => new Promise((resolve) => setTimeout(resolve, 0));
let scoreboardRun = null; // {cancelled} of the scoreboard in progress

function labTick() {
  labRun.timer = null;
  let report;
  try {
    report = labSession.trainFor(SLICE_MS);
    post({ event: 'lab-progress', report });
    if (report.finished) {
      const accuracies = labSession.shortcutAccuracies(labRun.lab);
      labRun = null;
      post({ event: 'lab-finished', finished: report.finished, accuracies });
      return;
    }
  } catch (err) {
    labRun = null;
    post({ event: 'lab-failed', message: err.message });
    return;
  }
  labRun.timer = setTimeout(labTick, 0);
}

Object.assign(ops, {
  insideActivations({ which, split, index, rgba }) {
    const a = sessionFor(which).insideActivations(split, index, rgbaArg(rgba));
    return { ...a, transfer: a.layers.map((l) => l.values.buffer) };
  },
  insideSaliency({ which, split, index, rgba, cls, smooth }) {
    const s = sessionFor(which).insideSaliency(split, index, rgbaArg(rgba), cls, smooth);
    return { ...s, transfer: [s.evidence.buffer, s.magnitude.buffer] };
  },
  insideGradCam({ which, split, index, rgba, cls, layer, weighting }) {
    const g = sessionFor(which).insideGradCam(split, index, rgbaArg(rgba), cls, layer ?? undefined, weighting ?? undefined);
    return { ...g, transfer: [g.map.buffer, g.heatmap.buffer] };
  },
  insideFilters: ({ which, shared }) => sessionFor(which).insideFilters(shared),
  insideConvLayers: ({ which }) => sessionFor(which).insideConvLayers(),
  // Gradient ascent in slices of `slice` iterations, each from the last one's picture, with
  // progress events between them (and the event loop free, so that cancel is heard).
  async actmax({ which, config, slice, fromPhoto }) {
    const target = sessionFor(which);
    const run = { cancelled: false };
    actmaxRun = run;
    const total = config.max_iter;
    const frames = [];
    // "From the photo" starts at the ImageNet view's photo, as the core made its pixels.
    let start = fromPhoto && which === 'imagenet' ? needImagenet().photoValues() : undefined;
    let first = null;
    let last = null;
    for (let done = 0; done < total && !run.cancelled; ) {
      const n = Math.min(slice, total - done);
      const seed = config.seed + done;
      const r = target.insideActmax(JSON.stringify({ ...config, max_iter: n, frame_every: n, seed }), start);
      first ??= r;
      last = r;
      for (const f of r.frames) if (f.iteration > 0 || frames.length === 0) frames.push({ iteration: done + f.iteration, image: f.image, rgba: f.rgba });
      done += n;
      start = r.image;
      post({ event: 'actmax-progress', done, total, objective: r.objectiveEnd });
      await pause();
    }
    if (actmaxRun === run) actmaxRun = null;
    if (!last) return { cancelled: true, frames: [] };
    const transfer = frames.flatMap((f) => [f.image.buffer, f.rgba.buffer]);
    return {
      cancelled: run.cancelled,
      height: last.height,
      width: last.width,
      channels: last.channels,
      objectiveStart: first.objectiveStart,
      objectiveEnd: last.objectiveEnd,
      logitsStart: first.logitsStart,
      logitsEnd: last.logitsEnd,
      frames,
      transfer,
    };
  },
  actmaxCancel() {
    if (actmaxRun) actmaxRun.cancelled = true;
    return {};
  },
  // Look inside › Compare the methods: one method's map, and the scoreboard in slices of a few
  // (method, image) pairs with progress events between them (so that Cancel is heard).
  explanationMethods: () => wasm_bindgen.explanationMethods(),
  insideMethodMap({ which, split, index, rgba, cls, method, settings }) {
    const m = sessionFor(which).insideMethodMap(split, index, rgbaArg(rgba), cls, method, settings);
    return { ...m, transfer: [m.map.buffer] };
  },
  async scoreboard({ which, settings }) {
    const target = sessionFor(which);
    const task = target.startScoreboard(settings);
    const run = { cancelled: false };
    scoreboardRun = run;
    try {
      let done = false;
      while (!done && !run.cancelled) {
        done = task.advance(target, 2);
        const [n, total] = task.progress();
        post({ event: 'scoreboard-progress', done: n, total });
        await pause();
      }
      const [n, total] = task.progress();
      return { cancelled: run.cancelled, done: n, total, report: n > 0 ? task.report() : null };
    } finally {
      if (scoreboardRun === run) scoreboardRun = null;
      task.free();
    }
  },
  scoreboardCancel() {
    if (scoreboardRun) scoreboardRun.cancelled = true;
    return {};
  },
  labTrain({ lab, settings }) {
    if (labRun) clearTimeout(labRun.timer);
    labRun = null;
    labSession ??= new wasm_bindgen.TrainingSession();
    const info = labSession.loadShortcutLab(lab);
    labSession.buildModel(undefined, settings.seed);
    const batches = labSession.startTraining(settings);
    labRun = { lab, timer: setTimeout(labTick, 0) };
    return { info, batches };
  },
  labImages({ indices }) {
    const rgba = sessionFor('lab').imagesRgba('test', Uint32Array.from(indices));
    return { rgba, transfer: [rgba.buffer] };
  },
  labLabels: () => Array.from(sessionFor('lab').labels('test')),

  // ---- The ImageNet network. A file that is not the model leaves the loaded one in place.
  imagenetLoad({ bytes }) {
    const net = new wasm_bindgen.ImageNetModel(new Uint8Array(bytes));
    imagenet?.free();
    imagenet = net;
    return { classes: net.classNames(), blocks: net.blocks() };
  },
  async imagenetLook({ bytes, rgba, width, height }) {
    const net = needImagenet();
    const picture = bytes ? await decodeUpload(wasm_bindgen, new Uint8Array(bytes), decodeOnPage) : { rgba: new Uint8Array(rgba), width, height };
    const r = net.look(picture.rgba, picture.width, picture.height, 5);
    return { ...r, transfer: [r.rgba.buffer] };
  },
  imagenetClass: ({ name }) => needImagenet().classIndex(name),
  imagenetMaps({ layer }) {
    const m = needImagenet().maps(layer);
    return { ...m, transfer: [m.values.buffer] };
  },
  // Transfer learning on the loaded data: the features in slices with progress events (the
  // event loop free between them), then the head trained in one call.
  // With `head` (a saved head's bytes) the head is loaded instead, and scored on the test pictures.
  async imagenetTransfer({ seed, head }) {
    const net = needImagenet();
    let p = head ? net.transferLoad(new Uint8Array(head), session) : net.transferBegin(session);
    post({ event: 'transfer-progress', ...p });
    while (p.done < p.total) {
      p = net.transferStep(8);
      post({ event: 'transfer-progress', ...p });
      await pause();
    }
    return head ? net.transferEvaluate() : net.transferTrain(seed ?? 0);
  },
  imagenetTransferExplain({ index, cls, layer }) {
    const r = needImagenet().transferExplain(index, cls, layer ?? undefined);
    return { ...r, transfer: [r.saliency.buffer, r.heatmap.buffer, r.rgba.buffer] };
  },
  imagenetTransferSave() {
    const bytes = needImagenet().transferSave();
    return { bytes, transfer: [bytes.buffer] };
  },
  // The network as an ONNX file, alone or followed by the transfer head (one model).
  imagenetOnnx() {
    const bytes = needImagenet().onnx();
    return { bytes, transfer: [bytes.buffer] };
  },
  imagenetTransferOnnx() {
    const bytes = needImagenet().transferOnnx();
    return { bytes, transfer: [bytes.buffer] };
  },
  imagenetSaliency({ cls, smooth }) {
    const s = needImagenet().saliency(cls, smooth);
    return { ...s, transfer: [s.evidence.buffer, s.magnitude.buffer] };
  },
  imagenetGradCam({ cls, layer, weighting }) {
    const g = needImagenet().gradCam(cls, layer ?? undefined, weighting ?? undefined);
    return { ...g, transfer: [g.map.buffer, g.heatmap.buffer] };
  },
});

self.onmessage = async (e) => {
  if ('decoded' in e.data) {
    const { decoded, picture, error } = e.data;
    const pending = decodeRequests.get(decoded);
    decodeRequests.delete(decoded);
    if (pending) error === undefined ? pending.resolve(picture) : pending.reject(new Error(error));
    return;
  }
  const { id, op, ...args } = e.data;
  try {
    if (!ops[op]) throw new Error(`unknown request ${op}`);
    if (op !== 'init' && !session) throw new Error('the training engine has not started');
    const result = await ops[op](args);
    const transfer = (result && result.transfer) || [];
    if (result && result.transfer) delete result.transfer;
    post({ id, result }, transfer);
  } catch (err) {
    post({ id, error: err && err.message ? err.message : String(err) });
  }
};
