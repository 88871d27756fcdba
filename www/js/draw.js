// Canvas drawing shared by the views: crisp grids at any device pixel ratio, the colour
// scales, padding hatching and highlight frames. Nothing here knows the explorer's state.

export const COLORS = {
  ink: [31, 41, 55],
  paper: [255, 255, 255],
  neg: [33, 102, 172],
  pos: [178, 24, 43],
  mid: [247, 247, 247],
  pad: '#eef0f3',
  hatch: '#c3c9d2',
  grid: 'rgba(31, 41, 55, 0.10)',
  focus: '#f59e0b',
  focusDark: '#7c2d12',
};

// Sizes a canvas to `cols` x `rows` cells of `cell` CSS pixels and returns a context in CSS pixels.
export function sizeCanvas(canvas, cols, rows, cell) {
  const dpr = window.devicePixelRatio || 1;
  const w = cols * cell;
  const h = rows * cell;
  canvas.style.width = `${w}px`;
  canvas.style.height = `${h}px`;
  canvas.width = Math.round(w * dpr);
  canvas.height = Math.round(h * dpr);
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return ctx;
}

// The largest whole cell size that fits `cols` x `rows` into a box (at least 1 px).
export function cellSize(cols, rows, maxW, maxH) {
  return Math.max(1, Math.floor(Math.min(maxW / cols, maxH / rows)));
}

const lerp = (a, b, t) => a.map((v, i) => Math.round(v + (b[i] - v) * t));
const css = ([r, g, b]) => `rgb(${r},${g},${b})`;

// Signed values: blue below zero, red above, near-white at zero; `scale` is the |value| of full colour.
export function diverging(v, scale) {
  const t = Math.max(-1, Math.min(1, scale > 0 ? v / scale : 0));
  return css(t < 0 ? lerp(COLORS.mid, COLORS.neg, Math.pow(-t, 0.8)) : lerp(COLORS.mid, COLORS.pos, Math.pow(t, 0.8)));
}

// How an input cell looks: `ink` pictures draw high values dark (a pen on paper), `light`
// pictures draw them bright (a photo); three channels are shown as RGB.
export function inputColor(img, i) {
  const span = img.hi - img.lo || 1;
  if (img.channels === 3) {
    const at = (c) => Math.round(255 * Math.max(0, Math.min(1, (img.data[i * 3 + c] - img.lo) / span)));
    return `rgb(${at(0)},${at(1)},${at(2)})`;
  }
  let t = 0;
  for (let c = 0; c < img.channels; c++) t += img.data[i * img.channels + c];
  t = Math.max(0, Math.min(1, (t / img.channels - img.lo) / span));
  return css(img.look === 'ink' ? lerp(COLORS.paper, COLORS.ink, t) : lerp(COLORS.ink, COLORS.paper, t));
}

// Whether a colour is dark enough to need light text on it.
export function isDark(color) {
  const m = /rgb\((\d+),(\d+),(\d+)\)/.exec(color);
  if (!m) return false;
  return 0.299 * m[1] + 0.587 * m[2] + 0.114 * m[3] < 140;
}

// A padding cell: pale with a diagonal hatch, so it never looks like data.
export function padCell(ctx, x, y, s) {
  ctx.fillStyle = COLORS.pad;
  ctx.fillRect(x, y, s, s);
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
