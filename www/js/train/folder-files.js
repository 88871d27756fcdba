// An image folder (dropped, or unpacked from a zip by the core) made into the session's data,
// in the worker: the core plans it from the paths (classes, counts: a mistake is reported
// before anything is decoded), checks each picture's header, the browser decodes it, the
// core shrinks it to the model's input and builds the dataset.

import { decodePicture } from '../picture.js';

// Pictures decoded at once: the browser decodes them in parallel.
const AT_ONCE = 8;

// `bytes` holds every file one after another, `lengths[i]` bytes for `paths[i]`; `source`
// names the folder in the data's description. Returns the data info.
export async function loadFolderFiles(session, paths, lengths, bytes, source, seed) {
  const order = session.planImageFolder(paths);
  const offsets = new Array(lengths.length);
  for (let i = 0, at = 0; i < lengths.length; i++) {
    offsets[i] = at;
    at += lengths[i];
  }
  const file = (i) => bytes.subarray(offsets[i], offsets[i] + lengths[i]);
  const shrunk = [];
  for (let start = 0; start < order.length; start += AT_ONCE) {
    const batch = Array.from(order.subarray(start, start + AT_ONCE));
    // Headers first, in order, so the first bad file is the one reported.
    for (const i of batch) session.checkFolderPicture(paths[i], file(i));
    const settled = await Promise.allSettled(batch.map((i) => decodePicture(file(i))));
    const pictures = settled.map((s, k) => {
      if (s.status === 'rejected') throw new Error(`'${paths[batch[k]]}' could not be read as an image: ${s.reason.message}`);
      return s.value;
    });
    for (const p of pictures) shrunk.push(session.shrinkFolderPicture(p.rgba, p.width, p.height));
  }
  const all = new Uint8Array(shrunk.reduce((n, s) => n + s.length, 0));
  shrunk.reduce((at, s) => (all.set(s, at), at + s.length), 0);
  return session.loadImageFolder(paths, all, source, seed);
}
