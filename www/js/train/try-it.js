// Try it: predict a test image, an uploaded photo (decoded and cut to the model's input in
// the worker) or the webcam, live: a smile meter fed a few frames a second, each predicted
// in the worker. The meter shows every prediction, not only the live ones: it used to be
// written by the live loop alone, so after "Predict" said 100% it stayed empty.

import { drawRgba } from './images.js';
import { FRAME_SIDE, grabFrame, openCamera } from './webcam.js';
import { $, pct, say } from './dom.js';

const LIVE_EVERY_MS = 200;

export function createTryIt(ctx) {
  const { worker } = ctx;
  const result = $('try-result');
  const message = $('msg-try');
  let live = null; // {timer, busy} while the meter runs

  // The meter shows the probability of the last class, the one the core calls positive
  // ("smiling", "smile"), named beside it.
  function showMeter(probs) {
    const names = ctx.data().classNames;
    const smile = probs[probs.length - 1];
    $('smile-meter').value = smile;
    $('smile-meter-text').textContent = `${names[names.length - 1]}: ${pct(smile)}`;
  }

  function clearShown() {
    result.textContent = '';
    delete result.dataset.probabilities;
    $('smile-meter').value = 0;
    $('smile-meter-text').textContent = '';
  }

  function show(probs, label) {
    showMeter(probs);
    const names = ctx.data().classNames;
    const best = probs.indexOf(Math.max(...probs));
    result.textContent = `${names[best]} (${pct(probs[best])})${label ? `; ${label}` : ''}.`;
    // Every digit the worker gave (f32 values): tests compare them with other runtimes.
    result.dataset.probabilities = probs.join(',');
    result.classList.toggle('random', !ctx.trained());
  }

  async function tryImage() {
    const data = ctx.data();
    const index = Number($('try-index').value);
    say(message, '');
    if (!Number.isInteger(index) || index < 0 || index >= data.test) {
      say(message, `Choose a test image from 0 to ${data.test - 1}.`);
      return;
    }
    try {
      const [{ rgba }, probs, labels] = await Promise.all([worker.call('images', { split: 'test', indices: [index] }), worker.call('predict', { split: 'test', index }), worker.call('labels', { split: 'test' })]);
      drawRgba($('try-canvas'), rgba, data.height, data.width);
      show(probs, `the label says ${data.classNames[labels[index]]}`);
    } catch (e) {
      say(message, e.message);
    }
  }

  async function tryPhoto(file) {
    say(message, '');
    try {
      const bytes = await file.arrayBuffer();
      const p = await worker.call('predictPhoto', { bytes }, [bytes]);
      drawRgba($('try-canvas'), p.rgba, p.height, p.width);
      show(p.probabilities, `your photo ${file.name}`);
    } catch (e) {
      say(message, `${file.name}: ${e.message.replace(/\.?$/, '.')}`);
    }
  }

  async function liveTick() {
    if (!live || live.busy) return;
    live.busy = true;
    try {
      const video = $('cam-video');
      const rgba = grabFrame(video, FRAME_SIDE);
      const copy = new Uint8Array(rgba);
      const probs = await worker.call('predictRgba', { rgba: copy.buffer, height: FRAME_SIDE, width: FRAME_SIDE }, [copy.buffer]);
      if (!live) return;
      showMeter(probs);
      drawRgba($('try-canvas'), rgba, FRAME_SIDE, FRAME_SIDE);
      live.count += 1;
      $('smile-meter-text').dataset.frames = String(live.count);
    } catch (e) {
      stopLive();
      say(message, `The live meter stopped: ${e.message}`);
    } finally {
      if (live) live.busy = false;
    }
  }

  function stopLive() {
    if (!live) return;
    clearInterval(live.timer);
    live = null;
    $('try-live').textContent = 'Start live smile meter';
    $('try-live').setAttribute('aria-pressed', 'false');
  }

  $('try-live').addEventListener('click', async () => {
    say(message, '');
    if (live) return stopLive();
    try {
      await openCamera($('cam-video'));
    } catch (e) {
      say(message, `The camera could not start: ${e.message}.`);
      return;
    }
    live = { timer: setInterval(liveTick, LIVE_EVERY_MS), busy: false, count: 0 };
    // The line above the meter would otherwise still describe the last test image or photo.
    clearShown();
    result.textContent = 'Live: the camera’s frames, a few a second; the meter follows them.';
    $('try-live').textContent = 'Stop live smile meter';
    $('try-live').setAttribute('aria-pressed', 'true');
    ctx.setButtons();
  });
  // Until the model has learnt something, the panel says its answers are random.
  // A new, loaded or newly trained model makes the last prediction shown stale.
  ctx.onTrainedChange((on) => {
    $('try-untrained').hidden = on;
    result.classList.toggle('random', !on);
    if (!live) clearShown();
  });
  $('try-predict').addEventListener('click', tryImage);
  $('try-photo').addEventListener('change', (e) => {
    const file = e.target.files && e.target.files[0];
    if (file) tryPhoto(file).finally(() => (e.target.value = ''));
  });

  return {
    setEnabled(on) {
      for (const id of ['try-predict', 'try-photo', 'try-live']) $(id).disabled = !on;
      if (!on) stopLive();
    },
  };
}
