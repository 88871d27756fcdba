// Drawing for the "Look inside" view: feature maps as grids in grey, saliency as heat, Grad-CAM
// as a heat overlay on the picture, filters and activation-maximization pictures as RGB.
// Every canvas is drawn at its data's resolution; CSS scales it up (pixelated).

import { drawRgba, filled } from '../train/images.js';
import { describeHeat, describeLayerMaps } from './heat-text.js';

export { drawRgba };

const clamp01 = (v) => Math.max(0, Math.min(1, v));

// Black → red → yellow → white: more is brighter, readable without colour vision too.
export function heat(t) {
  t = clamp01(t);
  return [255 * clamp01(t * 3), 255 * clamp01(t * 3 - 1), 255 * clamp01(t * 3 - 2)];
}

// Dark blue → teal → green → yellow (viridis's anchors), for the Grad-CAM overlay: brighter is
// more, and no red/green pair carries the meaning, so it reads with any colour vision
// (the rainbow "jet" it replaces does neither).
const VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
function sequential(t) {
  const x = clamp01(t) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - i;
  return VIRIDIS[i].map((a, k) => a + (VIRIDIS[i + 1][k] - a) * f);
}

// The canvas as an image whose name says where the map's mass lies.
function describe(canvas, what, values, height, width) {
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', describeHeat(what, values, height, width));
}

function put(canvas, width, height, fill) {
  filled(canvas);
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d');
  const img = ctx.createImageData(width, height);
  fill(img.data);
  ctx.putImageData(img, 0, 0);
}

const maxOf = (values) => values.reduce((m, v) => (v > m ? v : m), 0);

// A map (H, W) of values >= 0 as heat, scaled to its own maximum; `what` names it in the
// canvas's text alternative.
export function drawHeat(canvas, values, height, width, what = 'Saliency') {
  describe(canvas, what, values, height, width);
  const top = maxOf(values) || 1;
  put(canvas, width, height, (d) => {
    for (let i = 0; i < values.length; i++) {
      const [r, g, b] = heat(values[i] / top);
      d.set([r, g, b, 255], i * 4);
    }
  });
}

// The picture (H, W, 4 bytes) with the heatmap (H, W) laid over it where it is high.
export function drawOverlay(canvas, rgba, heatmap, height, width, what = 'Grad-CAM') {
  describe(canvas, what, heatmap, height, width);
  const top = maxOf(heatmap);
  put(canvas, width, height, (d) => {
    for (let i = 0; i < heatmap.length; i++) {
      const t = top > 0 ? heatmap[i] / top : 0;
      const [r, g, b] = sequential(t);
      const a = 0.15 + 0.5 * t;
      d.set([rgba[i * 4] * (1 - a) + r * a, rgba[i * 4 + 1] * (1 - a) + g * a, rgba[i * 4 + 2] * (1 - a) + b * a, 255], i * 4);
    }
  });
}

// The picture in grey with a signed map (H, W) over it: orange where it is evidence for the
// class, blue against, stronger with |value| (scaled to the map's largest |value|). Grey under
// the colour keeps the picture's own colours from reading as evidence.
const FOR = [230, 97, 1];
const AGAINST = [33, 102, 172];
export function drawSignedOverlay(canvas, rgba, map, height, width, what) {
  describe(canvas, what, map.map((v) => Math.max(0, v)), height, width);
  const top = map.reduce((m, v) => Math.max(m, Math.abs(v)), 0) || 1;
  put(canvas, width, height, (d) => {
    for (let i = 0; i < map.length; i++) {
      const t = map[i] / top;
      const grey = 0.3 * rgba[i * 4] + 0.59 * rgba[i * 4 + 1] + 0.11 * rgba[i * 4 + 2];
      const colour = t >= 0 ? FOR : AGAINST;
      const a = Math.min(1, Math.abs(t)) * 0.85;
      d.set([grey * (1 - a) + colour[0] * a, grey * (1 - a) + colour[1] * a, grey * (1 - a) + colour[2] * a, 255], i * 4);
    }
  });
}

// The first layer's filters (count, KH, KW, 3) in [0, 1] as a grid of patches with 1 px gaps.
export function drawFilters(canvas, f) {
  const cols = Math.min(16, f.count);
  const rows = Math.ceil(f.count / cols);
  const kh = f.kernelHeight;
  const kw = f.kernelWidth;
  const W = cols * (kw + 1) + 1;
  const H = rows * (kh + 1) + 1;
  put(canvas, W, H, (d) => {
    d.fill(255);
    for (let n = 0; n < f.count; n++) {
      const ox = 1 + (n % cols) * (kw + 1);
      const oy = 1 + Math.floor(n / cols) * (kh + 1);
      for (let y = 0; y < kh; y++) {
        for (let x = 0; x < kw; x++) {
          const p = ((n * kh + y) * kw + x) * 3;
          d.set([255 * f.patches[p], 255 * f.patches[p + 1], 255 * f.patches[p + 2], 255], ((oy + y) * W + ox + x) * 4);
        }
      }
    }
  });
}

// One layer's maps (H, W, C) in grey as a grid: `perMap` scales each map to its own range,
// otherwise all maps of the layer share one (so a weak map looks weak).
function drawMapGrid(canvas, values, [h, w, c], perMap) {
  const cols = Math.min(c, c > 16 ? 8 : 4);
  const rows = Math.ceil(c / cols);
  const W = cols * (w + 2);
  const H = rows * (h + 2);
  const range = (k) => {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = k ?? 0; i < values.length; i += k == null ? 1 : c) {
      if (values[i] < lo) lo = values[i];
      if (values[i] > hi) hi = values[i];
    }
    return [lo, hi - lo || 1];
  };
  const shared = range(null);
  put(canvas, W, H, (d) => {
    d.fill(255);
    for (let k = 0; k < c; k++) {
      const [lo, span] = perMap ? range(k) : shared;
      const ox = 1 + (k % cols) * (w + 2);
      const oy = 1 + Math.floor(k / cols) * (h + 2);
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const v = 255 * ((values[(y * w + x) * c + k] - lo) / span);
          d.set([v, v, v, 255], ((oy + y) * W + ox + x) * 4);
        }
      }
    }
  });
}

// Every layer as a titled figure: maps as a grid, a flat vector as its length and range.
export function drawLayers(container, layers, perMap) {
  container.replaceChildren(
    ...layers.map((layer) => {
      const fig = document.createElement('figure');
      fig.className = 'layer-figure';
      const cap = document.createElement('figcaption');
      cap.textContent = `${layer.name} · ${layer.kind} · (${layer.shape.join(', ')})`;
      if (layer.shape.length === 3) {
        const canvas = document.createElement('canvas');
        canvas.setAttribute('role', 'img');
        canvas.setAttribute('aria-label', describeLayerMaps(layer.name, layer.values, layer.shape));
        drawMapGrid(canvas, layer.values, layer.shape, perMap);
        // Small maps are drawn larger, so that every layer's grid has a readable size.
        canvas.style.width = `${Math.min(640, canvas.width * Math.max(1, Math.round(48 / layer.shape[1])))}px`;
        fig.append(cap, canvas);
      } else {
        const v = layer.values;
        const note = document.createElement('p');
        note.className = 'hint';
        let lo = Infinity;
        let hi = -Infinity;
        for (const x of v) {
          lo = Math.min(lo, x);
          hi = Math.max(hi, x);
        }
        note.textContent = v.length === 1 ? `value ${v[0].toFixed(3)}` : `${v.length.toLocaleString('en-US')} numbers from ${lo.toFixed(2)} to ${hi.toFixed(2)}`;
        fig.append(cap, note);
      }
      return fig;
    }),
  );
}
