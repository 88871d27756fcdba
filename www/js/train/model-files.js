// Save and load: download the model as a file and load one back; keep it in this browser's
// storage (persistence.js) and have it restored after a reload, with a visible note. The model
// can also be downloaded as an ONNX file, for other tools (the worker converts the model file).

import { forget, keep, readKept } from './persistence.js';
import { $, download, say } from './dom.js';

const FILE_NAME = 'convscope-smile-model.safetensors';
const ONNX_NAME = FILE_NAME.replace(/\.safetensors$/, '.onnx');
const when = (ms) => new Date(ms).toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'short' });

export function createModelFiles(ctx) {
  const { worker } = ctx;
  const message = $('msg-model');

  const save = async () => (await worker.call('save', { notes: ctx.notes() })).bytes;

  $('model-save').addEventListener('click', () =>
    ctx.guarded(async () => {
      const bytes = await save();
      download(bytes, FILE_NAME);
      ctx.modelSaved();
      say(message, `Saved ${Math.round(bytes.length / 1024)} KB as ${FILE_NAME}.`, 'note');
    }, message),
  );

  // The ONNX file cannot be loaded back here, so it does not count as saving the model (leaving
  // the page still asks first). The class names go into its metadata.
  $('model-onnx').addEventListener('click', () =>
    ctx.guarded(async () => {
      if (!ctx.trained()) {
        throw new Error('There is no trained model to download yet: train one first (the Train button above) or load a model file. An untrained model only answers at random.');
      }
      const notes = { ...ctx.notes(), class_names: ctx.data()?.classNames };
      const { bytes } = await worker.call('onnx', { notes });
      download(bytes, ONNX_NAME);
      say(message, `Downloaded ${Math.round(bytes.length / 1024)} KB as ${ONNX_NAME}, for ONNX Runtime, Netron and other tools (input: pixels from 0 to 1, channels first; output: each class's probability). To load the model back here, use Save model.`, 'note');
    }, message),
  );

  $('model-keep').addEventListener('click', () =>
    ctx.guarded(async () => {
      const bytes = await save();
      try {
        await keep({ bytes: bytes.buffer, savedAt: Date.now(), description: ctx.notes().data });
      } catch (e) {
        throw new Error(`The browser would not store the model (${e.message}); download it with Save model instead.`);
      }
      ctx.modelSaved();
      $('model-forget').hidden = false;
      say(message, `Kept in this browser's storage (IndexedDB, ${Math.round(bytes.length / 1024)} KB): it comes back when this page is opened again.`, 'note');
    }, message),
  );

  $('model-forget').addEventListener('click', () =>
    ctx.guarded(async () => {
      await forget();
      $('model-forget').hidden = true;
      say(message, 'The model kept in this browser is forgotten (the one on the page stays).', 'note');
    }, message),
  );

  $('model-load').addEventListener('change', (e) => {
    const file = e.target.files && e.target.files[0];
    if (!file) return;
    ctx
      .guarded(async () => {
        const bytes = await file.arrayBuffer();
        let loaded;
        try {
          loaded = await worker.call('load', { bytes }, [bytes]);
        } catch (err) {
          throw new Error(`${file.name}: ${err.message.replace(/\.?$/, '.')} The model you had is unchanged.`);
        }
        await ctx.modelLoaded(loaded, `Loaded ${file.name}.`, file.name);
        say(message, `Loaded ${file.name}.`, 'note');
      }, message)
      .finally(() => (e.target.value = ''));
  });

  // Restores a kept model (after the first data are loaded); says so on the page.
  async function restore() {
    let record;
    try {
      record = await readKept();
    } catch {
      return; // no storage (a private window, say): nothing to restore
    }
    if (!record) return;
    $('model-forget').hidden = false;
    await ctx.guarded(async () => {
      let loaded;
      try {
        loaded = await worker.call('load', { bytes: record.bytes.slice(0) });
      } catch (err) {
        throw new Error(`A model kept in this browser could not be restored: ${err.message.replace(/\.?$/, '.')} It stays kept until you press Forget.`);
      }
      await ctx.modelLoaded(loaded, `Restored the model kept in this browser on ${when(record.savedAt)}.`, 'the model kept in this browser');
      say(message, `Restored the model kept in this browser's storage (IndexedDB) on ${when(record.savedAt)}${record.description ? `, trained on ${record.description}` : ''}.`, 'note');
      document.body.dataset.restored = 'true';
    }, message);
  }

  return {
    restore,
    setEnabled(on) {
      for (const id of ['model-save', 'model-onnx', 'model-keep', 'model-load', 'model-forget']) $(id).disabled = !on;
    },
  };
}
