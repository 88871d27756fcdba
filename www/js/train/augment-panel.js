// The Training panel's augmentation: its settings live in the state (and the link) like every
// hyper-parameter; this module adds the "Suggested" and "None" buttons (the core's values)
// and a live preview of what training shows the model in place of one training picture.
// The preview follows every change of a setting and of the data; a setting the core refuses
// is explained under the controls and the preview keeps the last good settings.

import { AUGMENTATION_KEYS, augmentationOf } from '../state.js';
import { drawGallery } from './images.js';
import { $, say } from './dom.js';

const VARIANTS = 8;

export function createAugmentPanel(ctx) {
  const { worker, store } = ctx;
  const message = $('msg-aug');
  let seed = 1; // "Other variants" draws a new set
  let index = 0; // the training picture previewed
  let pending = null; // the latest preview request (older answers are dropped)
  let none = null; // the core's "no augmentation", fetched once

  // The core's values are f32: 0.1 arrives as 0.10000000149; the page writes the decimal meant.
  const decimal = (v) => (typeof v === 'number' ? Number(v.toPrecision(6)) : v);
  const setAll = (a) => store.set(Object.fromEntries(Object.entries(AUGMENTATION_KEYS).map(([k, key]) => [key, decimal(a[k])])));

  async function preview() {
    const data = ctx.data();
    if (!data) return;
    const settings = augmentationOf(store.get());
    const request = (pending = { settings, seed, index });
    try {
      const { rgba } = await worker.call('augmentPreview', { split: 'train', index, settings, count: VARIANTS, seed });
      if (request !== pending) return;
      none ??= await worker.call('noAugmentation', {});
      const off = Object.keys(none).every((k) => settings[k] === none[k]);
      drawGallery($('aug-preview'), rgba, data.height, data.width, Array.from({ length: VARIANTS }, (_, i) => `variant ${i + 1}`));
      $('aug-caption').textContent = off
        ? `No augmentation: the model sees training picture #${index + 1} as it is, every epoch.`
        : `What the model may see in place of training picture #${index + 1}: ${VARIANTS} random variants (a new one each epoch).`;
    } catch (e) {
      if (request === pending) say(message, `${e.message.replace(/\.?$/, '.')} The previous augmentation settings are kept for training.`);
    }
  }

  $('aug-suggested').addEventListener('click', async () => setAll(await worker.call('suggestedAugmentation', {})));
  $('aug-none').addEventListener('click', async () => setAll(await worker.call('noAugmentation', {})));
  $('aug-reroll').addEventListener('click', () => {
    seed += 1;
    const data = ctx.data();
    if (data) index = (index + 1) % data.train;
    preview();
  });
  store.subscribe((st, changed) => {
    if (Object.values(AUGMENTATION_KEYS).some((k) => changed.has(k))) preview();
  });

  return {
    // New data: preview its first picture.
    dataLoaded() {
      index = 0;
      return preview();
    },
    setEnabled(on) {
      for (const id of ['aug-suggested', 'aug-none', 'aug-reroll', ...Object.values(AUGMENTATION_KEYS).map((k) => `aug-${k.slice(3).toLowerCase()}`)]) {
        const el = document.getElementById(id);
        if (el) el.disabled = !on;
      }
    },
  };
}
