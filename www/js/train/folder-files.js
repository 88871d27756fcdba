// An image folder (dropped, or unpacked from a zip by the core) made into the session's data,
// in the worker, picture by picture: the core plans it from the paths (classes, counts, files
// that are not pictures skipped: a mistake is reported before anything is decoded), checks
// each picture's header, the browser decodes it (on the page: `decode`, see worker.js), the
// core shrinks it into the dataset. Only
// the shrunk pictures are kept (8-bit, in wasm memory), so a classroom folder of thousands of
// photos is held once.

// Pictures decoded at once: the browser decodes them in parallel.
const AT_ONCE = 8;

// Adds the pictures `indices` (into `paths`, in plan order) to the folder being loaded;
// `file(i)` gives file i's bytes. `progress(count)` hears how many have arrived in all;
// `decode(bytes)` resolves to {rgba, width, height}.
export async function addFolderPictures(session, paths, indices, file, progress, decode) {
  for (let start = 0; start < indices.length; start += AT_ONCE) {
    const batch = indices.slice(start, start + AT_ONCE);
    // Headers first, in order, so the first bad file is the one reported.
    for (const i of batch) session.checkFolderPicture(paths[i], file(i));
    const settled = await Promise.allSettled(batch.map((i) => decode(file(i))));
    let count = 0;
    settled.forEach((s, k) => {
      if (s.status === 'rejected') throw new Error(`'${paths[batch[k]]}' could not be read as an image: ${s.reason.message}`);
      count = session.addFolderPicture(s.value.rgba, s.value.width, s.value.height);
    });
    progress(count);
  }
}

// A whole folder whose files are all at hand (a zip's): `bytes` holds every file one after
// another, `lengths[i]` bytes for `paths[i]`. Returns the data info.
export async function loadFolderFiles(session, paths, lengths, bytes, source, seed, progress, decode) {
  const plan = session.beginFolder(paths, source, seed);
  try {
    const offsets = new Array(lengths.length);
    for (let i = 0, at = 0; i < lengths.length; i++) {
      offsets[i] = at;
      at += lengths[i];
    }
    const file = (i) => bytes.subarray(offsets[i], offsets[i] + lengths[i]);
    progress({ done: 0, total: plan.files.length });
    await addFolderPictures(session, paths, plan.files, file, (done) => progress({ done, total: plan.files.length }), decode);
    return session.finishFolder();
  } catch (e) {
    session.cancelFolder();
    throw e;
  }
}
