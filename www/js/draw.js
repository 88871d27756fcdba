// Canvas drawing shared by the views: crisp grids at any device pixel ratio, the colour
// scales, padding hatching and highlight frames. Nothing here knows the explorer's state.

export const COLORS = {
  ink: [31, 41, 55],
  paper: [255, 255, 255],
  neg: [33, 102, 172],
  pos: [178, 24, 43],
  mid: [247, 247, 247],
  pad: [238, 240, 243],
  hatch: '#c3c9d2',
  grid: 'rgba(31, 41, 55, 0.10)',
  focus: '#f59e0b',
  focusDark: '#7c2d12',
  focusRing: '#b45309', // --focus-ring in style.css
};

// Sizes a canvas to `cols` x `rows` cells of `cell` CSS pixels and returns a cleared context
// in CSS pixels. The backing store is reallocated only when the size really changes.
export function sizeCanvas(canvas, cols, rows, cell) {
  const dpr = window.devicePixelRatio || 1;
  const w = cols * cell;
  const h = rows * cell;
  const [pw, ph] = [Math.round(w * dpr), Math.round(h * dpr)];
  if (canvas.width !== pw || canvas.height !== ph) {
    canvas.style.width = `${w}px`;
    canvas.style.height = `${h}px`;
    canvas.width = pw;
    canvas.height = ph;
  }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, pw, ph);
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return ctx;
}

// Paints a grid of cells in one go: the colours go into a cols x rows ImageData, which is
// scaled up without smoothing. (Thousands of fillRect calls were the page's slowest part.)
const scratch = document.createElement('canvas');
export function paintCells(ctx, cols, rows, s, rgbAt) {
  if (scratch.width !== cols || scratch.height !== rows) {
    scratch.width = cols;
    scratch.height = rows;
  }
  const sctx = scratch.getContext('2d');
  const img = sctx.createImageData(cols, rows);
  for (let r = 0, i = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++, i += 4) {
      const [red, green, blue] = rgbAt(r, c);
      img.data[i] = red;
      img.data[i + 1] = green;
      img.data[i + 2] = blue;
      img.data[i + 3] = 255;
    }
  }
  sctx.putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(scratch, 0, 0, cols * s, rows * s);
}

// The largest whole cell size that fits `cols` x `rows` into a box (at least 1 px).
export function cellSize(cols, rows, maxW, maxH) {
  return Math.max(1, Math.floor(Math.min(maxW / cols, maxH / rows)));
}

const lerp = (a, b, t) => [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
export const css = ([r, g, b]) => `rgb(${Math.round(r)},${Math.round(g)},${Math.round(b)})`;

// Signed values: blue below zero, red above, near-white at zero; `scale` is the |value| of
// full colour. Returns [r, g, b].
export function diverging(v, scale) {
  const t = Math.max(-1, Math.min(1, scale > 0 ? v / scale : 0));
  return t < 0 ? lerp(COLORS.mid, COLORS.neg, Math.pow(-t, 0.8)) : lerp(COLORS.mid, COLORS.pos, Math.pow(t, 0.8));
}

// How an input cell looks: `ink` pictures draw high values dark (a pen on paper), `light`
// pictures draw them bright (a photo); three channels are shown as RGB. Returns [r, g, b].
export function inputColor(img, i) {
  const span = img.hi - img.lo || 1;
  if (img.channels === 3) {
    const at = (c) => 255 * Math.max(0, Math.min(1, (img.data[i * 3 + c] - img.lo) / span));
    return [at(0), at(1), at(2)];
  }
  let t = 0;
  for (let c = 0; c < img.channels; c++) t += img.data[i * img.channels + c];
  t = Math.max(0, Math.min(1, (t / img.channels - img.lo) / span));
  return img.look === 'ink' ? lerp(COLORS.paper, COLORS.ink, t) : lerp(COLORS.ink, COLORS.paper, t);
}

// Whether a colour is dark enough to need light text on it.
export const isDark = ([r, g, b]) => 0.299 * r + 0.587 * g + 0.114 * b < 140;

// The hatch over a padding cell (painted COLORS.pad), so that padding never looks like data.
export function hatchCell(ctx, x, y, s) {
  if (s < 5) return;
  ctx.save();
  ctx.beginPath();
  ctx.rect(x, y, s, s);
  ctx.clip();
  ctx.strokeStyle = COLORS.hatch;
  ctx.lineWidth = 1;
  ctx.beginPath();
  const gap = Math.max(4, s / 3);
  for (let d = -s; d < s; d += gap) {
    ctx.moveTo(x + d, y + s);
    ctx.lineTo(x + d + s, y);
  }
  ctx.stroke();
  ctx.restore();
}

export function gridLines(ctx, cols, rows, s) {
  if (s < 6) return;
  ctx.strokeStyle = COLORS.grid;
  ctx.lineWidth = 1;
  ctx.beginPath();
  for (let c = 1; c < cols; c++) {
    ctx.moveTo(c * s + 0.5, 0);
    ctx.lineTo(c * s + 0.5, rows * s);
  }
  for (let r = 1; r < rows; r++) {
    ctx.moveTo(0, r * s + 0.5);
    ctx.lineTo(cols * s, r * s + 0.5);
  }
  ctx.stroke();
}

// The "you are here" frame: amber inside a dark outline, visible on any colour.
export function focusFrame(ctx, x, y, w, h, strong = true) {
  const lw = strong ? 3 : 2;
  ctx.lineWidth = lw + 2;
  ctx.strokeStyle = COLORS.focusDark;
  ctx.strokeRect(x + lw / 2, y + lw / 2, w - lw, h - lw);
  ctx.lineWidth = lw;
  ctx.strokeStyle = COLORS.focus;
  ctx.strokeRect(x + lw / 2, y + lw / 2, w - lw, h - lw);
}

// The keyboard brush's cell: a dark amber ring (the page's focus colour) with a white one
// inside, seen on ink and on paper alike.
export function brushMark(ctx, x, y, s) {
  ctx.lineWidth = 2;
  ctx.strokeStyle = COLORS.focusRing;
  ctx.strokeRect(x - 1, y - 1, s + 2, s + 2);
  ctx.lineWidth = 1;
  ctx.strokeStyle = '#ffffff';
  ctx.strokeRect(x + 0.5, y + 0.5, s - 1, s - 1);
}

// A light amber wash over a cell the kernel reads.
export function focusWash(ctx, x, y, s) {
  ctx.fillStyle = 'rgba(245, 158, 11, 0.30)';
  ctx.fillRect(x, y, s, s);
}

export function cellText(ctx, text, x, y, s, dark) {
  ctx.fillStyle = dark ? '#ffffff' : '#1f2933';
  ctx.font = `${Math.max(9, Math.min(15, Math.floor(s * 0.38)))}px ui-sans-serif, system-ui, sans-serif`;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  ctx.fillText(text, x + s / 2, y + s / 2 + 0.5);
}
