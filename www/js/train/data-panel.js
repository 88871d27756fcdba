// The Data panel: the synthetic smiles, Happy House .h5 files, a folder or zip of labelled
// images (one subfolder per class), by file dialog or dropped onto the panel, and the gallery
// of samples of whatever is loaded. A file that fails leaves the data and model as they were.

import { drawGallery } from './images.js';
import { $, say, thousands } from './dom.js';

const UNCHANGED = 'The data and the model you had are unchanged.';
// Files read and sent to the worker at a time while a folder loads.
const PIECE = 96;

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
    const notes = (info.notes ?? []).map((n) => n.charAt(0).toUpperCase() + n.slice(1) + '.');
    $('data-notes').textContent = notes.join(' ');
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
        info = await worker.call('loadH5', { bytes, name: f.name, seed: store.get().dataSeed }, [bytes]);
      }
      return info;
    });
  }

  async function zipFile(file) {
    await load('', async () => {
      const bytes = await file.arrayBuffer();
      try {
        return await worker.call('loadZip', { bytes, name: file.name, seed: store.get().dataSeed }, [bytes]);
      } finally {
        showProgress(0, null);
      }
    });
  }

  // Loading progress: a bar with counts (a classroom folder of thousands of pictures takes a
  // while); hidden when no load is running.
  const bar = $('data-progress');
  const barText = $('data-progress-text');
  function showProgress(done, total) {
    bar.closest('.progress-row').hidden = total === null;
    if (total === null) return;
    bar.max = Math.max(total, 1);
    bar.value = done;
    barText.textContent = `Loading pictures: ${thousands(done)} of ${thousands(total)}`;
  }
  ctx.onLoadProgress = ({ done, total }) => showProgress(done, total);

  // [{path, file}] of a folder. The worker plans it from the paths, then takes the pictures'
  // bytes a piece at a time (read here just before they are sent), so that neither the page
  // nor the worker holds every file at once, and no task on this page runs long.
  async function folderFiles(items, name) {
    await load(`${name}: `, async () => {
      const paths = items.map((i) => i.path);
      const plan = await worker.call('beginFolder', { paths, name, seed: store.get().dataSeed });
      const total = plan.files.length;
      try {
        showProgress(0, total);
        for (let start = 0; start < total; start += PIECE) {
          const indices = plan.files.slice(start, start + PIECE);
          const buffers = await Promise.all(indices.map((i) => items[i].file.arrayBuffer()));
          const bytes = new Uint8Array(buffers.reduce((n, b) => n + b.byteLength, 0));
          buffers.reduce((at, b) => (bytes.set(new Uint8Array(b), at), at + b.byteLength), 0);
          const lengths = buffers.map((b) => b.byteLength);
          const { done } = await worker.call('addFolderFiles', { indices, lengths, bytes: bytes.buffer }, [bytes.buffer]);
          showProgress(done, total);
        }
        return await worker.call('finishFolder');
      } catch (e) {
        await worker.call('cancelFolder').catch(() => {});
        throw e;
      } finally {
        showProgress(0, null);
      }
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
  // A folder dialog that returns nothing: the chosen folder was empty.
  $('data-folder').addEventListener('change', (e) => {
    if (!e.target.files || e.target.files.length === 0) say(message, `The folder you chose is empty: choose a folder with one subfolder per class, each holding that class's pictures. ${UNCHANGED}`);
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
      if (!items.length) {
        say(message, `The dropped folder is empty: drop a folder with one subfolder per class, each holding that class's pictures. ${UNCHANGED}`);
        return;
      }
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
