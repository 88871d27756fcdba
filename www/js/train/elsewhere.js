// Results › "Does it see smiles elsewhere?": the trained model tested on pictures it never saw
// (synthetic faces of another seed or difficulty, a Happy House file, the student's webcam
// frames), beside its own test accuracy. Each test adds a row naming the augmentation the
// model was trained with, so that a run without and a run with augmentation can be compared.
// Nothing loaded or trained changes.

import { $, make, pct, say } from './dom.js';

const SYNTHETIC_COUNT = 300;

// "flips, ±15°, shift ±0.1, …" or "no augmentation".
const NUMBERS = ['rotationDegrees', 'shift', 'zoom', 'brightness', 'contrast', 'elasticPixels'];
export function describeAugmentation(a) {
  // A loaded model's file says what it says: anything unexpected is "unknown".
  if (!a || typeof a !== 'object' || !NUMBERS.every((k) => Number.isFinite(a[k]))) return 'unknown';
  const parts = [];
  if (a.flipHorizontal) parts.push('left–right flips');
  if (a.flipVertical) parts.push('upside-down flips');
  if (a.rotationDegrees) parts.push(`±${a.rotationDegrees}°`);
  if (a.shift) parts.push(`shift ±${a.shift}`);
  if (a.zoom !== 1) parts.push(`zoom ×${a.zoom}`);
  if (a.brightness) parts.push(`brightness ±${a.brightness}`);
  if (a.contrast) parts.push(`contrast ±${a.contrast}`);
  if (a.elasticPixels) parts.push(`elastic ${a.elasticPixels} px`);
  return parts.length ? parts.join(', ') : 'no augmentation';
}

export function createElsewhere(ctx) {
  const message = $('msg-elsewhere');
  const body = $('elsewhere-table').querySelector('tbody');

  function addRow(r) {
    const tr = make('tr');
    const gap = r.gap >= 0 ? `${(r.gap * 100).toFixed(1)} points lower` : `${(-r.gap * 100).toFixed(1)} points higher`;
    for (const [text, n] of [[r.description, false], [describeAugmentation(ctx.trainedWith()), false], [pct(r.ownAccuracy), true], [pct(r.otherAccuracy), true], [gap, true]]) {
      tr.append(make('td', n ? { className: 'n' } : {}, text));
    }
    body.prepend(tr);
    if (r.notes.length) say(message, r.notes.map((n) => n.charAt(0).toUpperCase() + n.slice(1) + '.').join(' '), 'note');
  }

  const test = (request) =>
    ctx.guarded(async () => {
      try {
        addRow(await request());
      } catch (e) {
        throw new Error(`${e.message.replace(/\.?$/, '.')} The data and the model are unchanged.`);
      }
    }, message);

  $('elsewhere-synthetic').addEventListener('click', () => {
    const seed = Number($('elsewhere-seed').value);
    if (!Number.isInteger(seed) || seed < 0 || seed > 4294967295) return say(message, 'The face seed must be a whole number from 0 to 4294967295.');
    test(() => ctx.worker.call('crossSynthetic', { count: SYNTHETIC_COUNT, seed, difficulty: $('elsewhere-difficulty').value }));
  });
  $('elsewhere-h5').addEventListener('change', (e) => {
    const file = e.target.files[0];
    e.target.value = '';
    if (file) test(async () => ctx.worker.call('crossH5', { bytes: await file.arrayBuffer(), name: file.name }));
  });
  $('elsewhere-webcam').addEventListener('click', () => {
    const frames = ctx.capturedFrames();
    if (!frames) return say(message, 'Capture some webcam frames of smiles and of no smiles first (the Webcam part of the Data panel).');
    test(() => ctx.worker.call('crossCaptured', frames, [frames.rgba.buffer]));
  });

  return {
    setEnabled(on) {
      for (const id of ['elsewhere-synthetic', 'elsewhere-h5', 'elsewhere-webcam']) $(id).disabled = !on;
    },
  };
}
