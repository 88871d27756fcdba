// Decodes a picture file with the browser's own PNG and JPEG decoders, on the page (the
// training worker asks the page: from file://, WebKit's worker cannot read Blobs). The wasm
// core keeps no decoders of its own (they would be a third of its download): it checks the
// file's header first (format, size limits) and takes the RGBA bytes this returns.

// The largest side handed to the core. Every use shrinks further (to 64 pixels for the
// model and the explorer), so a phone photo need not be copied whole into wasm memory, which
// never shrinks again; the core's own filter does the last step.
const HANDOVER_SIDE = 512;

// Returns {rgba, width, height}; throws an Error whose message completes "… could not be
// decoded: ".
export async function decodePicture(bytes) {
  let bitmap;
  try {
    // Raw pixel values: no colour management, alpha not premultiplied.
    bitmap = await createImageBitmap(new Blob([bytes]), { premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
  } catch (e) {
    // The core has checked the header, so this is usually a damaged or cut-short file; but say
    // what the browser said, so that any other failure is not passed off as damage.
    throw new Error(`the browser could not decode it (${e && e.name ? `${e.name}: ` : ''}${e && e.message ? e.message : e})`);
  }
  try {
    const scale = Math.min(1, HANDOVER_SIDE / Math.max(bitmap.width, bitmap.height));
    const width = Math.max(1, Math.round(bitmap.width * scale));
    const height = Math.max(1, Math.round(bitmap.height * scale));
    const context = new OffscreenCanvas(width, height).getContext('2d', { willReadFrequently: true });
    context.imageSmoothingQuality = 'high';
    context.drawImage(bitmap, 0, 0, width, height);
    const { data } = context.getImageData(0, 0, width, height);
    return { rgba: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width, height };
  } finally {
    bitmap.close();
  }
}

// An uploaded photo: `core.checkPicture` (the wasm exports) refuses other formats and huge
// pictures with a message for the student, then the browser decodes it (`decode`: on the page
// directly, or the worker's request to the page).
export async function decodeUpload(core, bytes, decode = decodePicture) {
  core.checkPicture(bytes);
  try {
    return await decode(bytes);
  } catch (e) {
    throw new Error(`this picture could not be decoded: ${e.message}`);
  }
}
