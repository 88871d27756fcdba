// Draws images that arrive as RGBA bytes from the worker: one picture, or a gallery of
// thumbnails with a caption under each.

// A view that has nothing to show yet is a drawn box with a caption (`.ph.empty` in the page);
// the first drawing on its canvas takes the placeholder away.
export function filled(canvas) {
  const ph = canvas.parentElement;
  if (ph && ph.classList.contains('ph')) ph.classList.remove('empty');
}

export function drawRgba(canvas, rgba, height, width, offset = 0) {
  filled(canvas);
  if (canvas.width !== width) canvas.width = width;
  if (canvas.height !== height) canvas.height = height;
  const pixels = new Uint8ClampedArray(rgba.buffer, rgba.byteOffset + offset, height * width * 4);
  canvas.getContext('2d').putImageData(new ImageData(pixels, width, height), 0, 0);
}

// `captions[i]` goes under image i of the (N, H, W, 4) bytes.
export function drawGallery(container, rgba, height, width, captions) {
  const figures = captions.map((caption, i) => {
    const fig = document.createElement('figure');
    const canvas = document.createElement('canvas');
    drawRgba(canvas, rgba, height, width, i * height * width * 4);
    canvas.setAttribute('aria-label', caption);
    const cap = document.createElement('figcaption');
    cap.textContent = caption;
    fig.append(canvas, cap);
    return fig;
  });
  container.replaceChildren(...figures);
}
