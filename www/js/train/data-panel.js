// The Data panel: the synthetic smiles, Happy House .h5 files, a folder or zip of labelled
// images (one subfolder per class), by file dialog or dropped onto the panel, and the gallery
// of samples of whatever is loaded. A file that fails leaves the data and model as they were.

import { drawGallery } from './images.js';
import { $, say } from './dom.js';

const UNCHANGED = 'The data and the model you had are unchanged.';

// Files of a dropped folder, read recursively: [{path, file}] with paths like "faces/smile/1.png".
async function filesOfEntry(entry, prefix = '') {
  if (entry.isFile) return [{ path: prefix + entry.name, file: await new Promise((ok, fail) => entry.file(ok, fail)) }];
  const reader = entry.createReader();
  const children = [];
  // readEntries returns the listing in pieces until it returns none.
  for (;;) {
    const batch = await new Promise((ok, fail) => reader.readEntries(ok, fail));
    if (!batch.length) break;
    children.push(...batch);
  }
  const nested = await Promise.all(children.map((c) => filesOfEntry(c, `${prefix}${entry.name}/`)));
  return nested.flat();
}

export function createDataPanel(ctx) {
  const { worker, store } = ctx;
  const message = $('msg-data');

  async function showGallery(info) {
    // Up to 8 samples of each class, in the set's order.
    const labels = await worker.call('labels', { split: 'train' });
    const per = Math.max(2, Math.floor(16 / info.classNames.length));
    const taken = new Map();
    const indices = [];
    labels.forEach((y, i) => {
      if ((taken.get(y) ?? 0) < per && indices.length < 16) {
        taken.set(y, (taken.get(y) ?? 0) + 1);
        indices.push(i);
      }
    });
    indices.sort((a, b) => labels[a] - labels[b] || a - b);
    const { rgba } = await worker.call('images', { split: 'train', indices });
    drawGallery($('gallery'), rgba, info.height, info.width, indices.map((i) => info.classNames[labels[i]]));
  }

  function describe(info) {
    const counts = info.classNames.map((c, i) => `${info.trainCounts[i]} ${c}`).join(', ');
    $('data-info').textContent = `${info.description}: ${info.train} training images (${counts}) and ${info.test} test images, ${info.height}×${info.width}×${info.channels}.`;
  }

  // Runs a loader in the worker; its failure becomes a message that says nothing changed.
  async function load(what, request) {
    if (ctx.running()) {
      say(message, 'Stop the training run before loading other data.');
      return;
    }
    await ctx.whileLoading(ctx.guarded(async () => {
      let info;
      try {
        info = await request();
      } catch (e) {
        throw new Error(`${what}${e.message.replace(/\.?$/, '.')} ${UNCHANGED}`);
      }
      await ctx.dataLoaded(info);
    }, message));
  }

  const synthetic = () =>
    load('', async () => {
      const s = store.get();
      $('data-info').textContent = `Painting ${s.trainSize + s.testSize} synthetic faces…`;
      try {
        return await worker.call('loadSynthetic', { train: s.trainSize, test: s.testSize, seed: s.dataSeed, difficulty: s.difficulty });
      } catch (e) {
        $('data-info').textContent = '';
        if (ctx.data()) describe(ctx.data());
        throw e;
      }
    });

  async function h5Files(files) {
    // The training file first, so that a pair dropped together loads in one go.
    const sorted = [...files].sort((a, b) => Number(/test/i.test(a.name)) - Number(/test/i.test(b.name)));
    await load('', async () => {
      let info = null;
      for (const f of sorted) {
        const bytes = await f.arrayBuffer();
        info = await worker.call('loadH5', { bytes, name: f.name }, [bytes]);
      }
      return info;
    });
  }

  async function zipFile(file) {
    await load('', async () => {
      const bytes = await file.arrayBuffer();
      return worker.call('loadZip', { bytes, name: file.name, seed: store.get().dataSeed }, [bytes]);
    });
  }

  // [{path, file}] of a folder: all bytes in one buffer, with each file's path and length.
  async function folderFiles(items, name) {
    await load(`${name}: `, async () => {
      const buffers = await Promise.all(items.map((i) => i.file.arrayBuffer()));
      const total = buffers.reduce((n, b) => n + b.byteLength, 0);
      const bytes = new Uint8Array(total);
      let at = 0;
      for (const b of buffers) {
        bytes.set(new Uint8Array(b), at);
        at += b.byteLength;
      }
      const request = { paths: items.map((i) => i.path), lengths: buffers.map((b) => b.byteLength), bytes: bytes.buffer, name, seed: store.get().dataSeed };
      return worker.call('loadFolder', request, [bytes.buffer]);
    });
  }

  // Any set of files: .h5 files, one zip, or the files of a folder.
  async function loadFiles(files, folderItems = null) {
    say(message, '');
    const list = [...files];
    if (folderItems) {
      const name = folderItems[0]?.path.split('/')[0] || 'folder';
      return folderFiles(folderItems, name);
    }
    if (list.length && list.every((f) => /\.(h5|hdf5)$/i.test(f.name))) return h5Files(list);
    if (list.length === 1 && /\.zip$/i.test(list[0].name)) return zipFile(list[0]);
    say(message, `${list.map((f) => f.name).join(', ')}: drop Happy House .h5 files, a zip of an image folder, or a folder with one subfolder per class. ${UNCHANGED}`);
  }

  $('data-generate').addEventListener('click', () => {
    say(message, '');
    synthetic();
  });
  const picked = (input, handler) =>
    input.addEventListener('change', () => {
      const files = input.files;
      if (files && files.length) handler(files).finally(() => (input.value = ''));
    });
  picked($('data-h5'), (files) => loadFiles(files));
  picked($('data-zip'), (files) => loadFiles(files));
  picked($('data-folder'), (files) => {
    const items = [...files].map((file) => ({ path: file.webkitRelativePath || file.name, file }));
    return loadFiles(files, items);
  });

  const panel = document.querySelector('.data-panel');
  panel.addEventListener('dragover', (e) => {
    e.preventDefault();
    panel.classList.add('dropping');
  });
  panel.addEventListener('dragleave', () => panel.classList.remove('dropping'));
  panel.addEventListener('drop', async (e) => {
    e.preventDefault();
    panel.classList.remove('dropping');
    const entries = [...e.dataTransfer.items].map((i) => i.webkitGetAsEntry && i.webkitGetAsEntry()).filter(Boolean);
    if (entries.some((en) => en.isDirectory)) {
      const items = (await Promise.all(entries.map((en) => filesOfEntry(en)))).flat();
      await loadFiles([], items);
    } else if (e.dataTransfer.files.length) {
      await loadFiles(e.dataTransfer.files);
    }
  });

  return {
    synthetic,
    describe,
    showGallery,
    setEnabled(on) {
      for (const id of ['data-generate', 'data-h5', 'data-zip', 'data-folder']) $(id).disabled = !on;
    },
  };
}
