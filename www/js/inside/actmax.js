// Activation maximization: the target, iterations and step size go to the worker, which runs
// gradient ascent in slices and reports progress; the pictures along the way come back as
// frames, shown by a slider and a Play button (an animation of the convergence).

import { $, say } from '../train/dom.js';
import { drawRgba } from './maps.js';

const SLICE = 10; // iterations per worker call: a progress step every few hundred ms
const FRAME_MS = 120;
const reducedMotion = () => window.matchMedia?.('(prefers-reduced-motion: reduce)').matches ?? false;

// The objectives of a target; `conv` is the convolution layer whose filters can be targets.
function objectives(target, conv, filter) {
  const smile = { objective: { type: 'class', class: 1 }, weight: 1 };
  const noSmile = { objective: { type: 'class', class: 0 }, weight: 1 };
  const filt = { objective: { type: 'filter', layer: conv, filter }, weight: 1 };
  return { smile: [smile], no_smile: [noSmile], filter: [filt], smile_filter: [smile, filt] }[target];
}

export function createActmax(ctx) {
  const { worker } = ctx;
  const message = $('msg-actmax');
  const status = $('actmax-status');
  let frames = [];
  let shape = null;
  let timer = null;
  let running = false;

  function show(i) {
    const f = frames[i];
    if (!f) return;
    $('actmax-frame').value = String(i);
    drawRgba($('actmax-canvas'), f.rgba, shape.height, shape.width);
    $('actmax-frame').setAttribute('aria-valuetext', `iteration ${f.iteration}`);
  }

  function stopPlaying() {
    clearInterval(timer);
    timer = null;
    $('actmax-play').textContent = 'Play';
  }

  function play() {
    if (timer) return stopPlaying();
    let i = 0;
    $('actmax-play').textContent = 'Pause';
    timer = setInterval(() => {
      show(i);
      i += 1;
      if (i >= frames.length) stopPlaying();
    }, FRAME_MS);
  }

  function setButtons() {
    $('actmax-run').disabled = running;
    $('actmax-cancel').disabled = !running;
    $('actmax-frame').disabled = running || frames.length < 2;
    $('actmax-play').disabled = running || frames.length < 2;
  }

  async function run() {
    say(message, '');
    stopPlaying();
    const which = ctx.which();
    let layers;
    try {
      layers = await worker.call('insideConvLayers', { which });
    } catch (e) {
      say(message, e.message);
      return;
    }
    const target = $('actmax-target').value;
    const filter = Number($('actmax-filter').value);
    const maxIter = Number($('actmax-iter').value);
    const step = Number($('actmax-step').value);
    const conv = layers[layers.length - 1];
    if (!conv) return say(message, 'This model has no convolution layer.');
    if (target.includes('filter') && !(Number.isInteger(filter) && filter >= 0 && filter < conv.filters)) return say(message, `Pick a filter from 0 to ${conv.filters - 1}.`);
    if (!(Number.isInteger(maxIter) && maxIter >= 1 && maxIter <= 2000)) return say(message, 'Iterations: a whole number from 1 to 2000.');
    if (!(step > 0 && step <= 0.2)) return say(message, 'Step size: above 0 and at most 0.2.');
    const config = { objectives: objectives(target, conv.index, filter), start: 'noise', max_iter: maxIter, step_size: step, seed: 0 };
    running = true;
    setButtons();
    $('actmax-progress').value = 0;
    status.textContent = 'Climbing…';
    try {
      const r = await worker.call('actmax', { which, config, slice: SLICE });
      if (!r.frames.length) {
        status.textContent = 'Cancelled.';
        return;
      }
      frames = r.frames;
      shape = { height: r.height, width: r.width, channels: r.channels };
      $('actmax-frame').max = String(frames.length - 1);
      const last = frames[frames.length - 1].iteration;
      const z = (l) => l[0].toFixed(2);
      status.textContent = `${r.cancelled ? 'Cancelled after' : 'After'} ${last} iterations the target's score went from ${r.objectiveStart.toFixed(2)} to ${r.objectiveEnd.toFixed(2)} (smile logit ${z(r.logitsStart)} → ${z(r.logitsEnd)}).`;
      document.body.dataset.actmaxFrames = String(frames.length);
      running = false;
      setButtons();
      // The frames play by themselves, unless the student's system asks for less motion: then
      // the last frame stays and Play is one press away.
      if (reducedMotion()) show(frames.length - 1);
      else play();
    } catch (e) {
      say(message, e.message);
      status.textContent = '';
    } finally {
      running = false;
      setButtons();
    }
  }

  $('actmax-run').addEventListener('click', run);
  $('actmax-cancel').addEventListener('click', () => worker.call('actmaxCancel'));
  $('actmax-play').addEventListener('click', play);
  $('actmax-frame').addEventListener('input', () => {
    stopPlaying();
    show(Number($('actmax-frame').value));
  });
  setButtons();

  return {
    onEvent(m) {
      if (m.event === 'actmax-progress' && running) {
        $('actmax-progress').value = m.done / m.total;
        status.textContent = `Iteration ${m.done} of ${m.total} · score ${m.objective.toFixed(2)}`;
      }
    },
  };
}
