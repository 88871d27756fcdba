// Drawing for the backward mode: gradient maps on the (padded) input grid, read-only grids of
// numbers (dW, a window's shares), and small labelled maps. They only draw what they are given.

import { COLORS, cellSize, cellText, css, diverging, focusFrame, focusWash, gridLines, hatchCell, isDark, paintCells, sizeCanvas } from '../draw.js';
import { sig } from '../format.js';

// The largest |value| (at least a tiny one, so that an all-zero map draws white).
export const absMax = (values) => Math.max(1e-12, ...Array.from(values, (v) => Math.abs(v)));

// A gradient over the padded input: `values` (H, W, C) of which channel `ch` is drawn, padding
// hatched, cells no window reaches dotted, the current window washed and framed.
// `frame`: {pt, pb, pl, pr} padding; `cell`: {top, left, span, taps} or null.
export function drawGradientGrid(canvas, values, img, ch, frame, cell, reached, scale, box) {
  const { pt, pb, pl, pr } = frame;
  const rows = img.height + pt + pb;
  const cols = img.width + pl + pr;
  const s = cellSize(cols, rows, box.width, box.height);
  const ctx = sizeCanvas(canvas, cols, rows, s);
  const inside = (r, c) => r >= pt && c >= pl && r < pt + img.height && c < pl + img.width;
  const at = (r, c) => ((r - pt) * img.width + (c - pl)) * img.channels + ch;
  const colorAt = (r, c) => (inside(r, c) ? diverging(values[at(r, c)], scale) : COLORS.pad);
  paintCells(ctx, cols, rows, s, colorAt);
  const showNumbers = s >= 30;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      if (!inside(r, c)) {
        hatchCell(ctx, c * s, r * s, s);
        continue;
      }
      if (reached && !reached[(r - pt) * img.width + (c - pl)]) {
        ctx.fillStyle = COLORS.hatch;
        ctx.beginPath();
        ctx.arc(c * s + s / 2, r * s + s / 2, Math.max(1.5, s / 8), 0, 2 * Math.PI);
        ctx.fill();
      } else if (showNumbers) {
        cellText(ctx, sig(values[at(r, c)], 2), c * s, r * s, s, isDark(colorAt(r, c)));
      }
    }
  }
  gridLines(ctx, cols, rows, s);
  if (cell) {
    const seen = new Set();
    for (const t of cell.taps) {
      if (seen.has(t.row * cols + t.col)) continue;
      seen.add(t.row * cols + t.col);
      focusWash(ctx, t.col * s, t.row * s, s);
    }
    focusFrame(ctx, cell.left * s, cell.top * s, cell.span * s, cell.span * s);
  }
  canvas.dataset.rows = String(rows);
  canvas.dataset.cols = String(cols);
  return s;
}

// A plain map (rows x cols) in the diverging colours, with its numbers when they fit and the
// cell `pos` ({oy, ox} or null) framed.
export function drawMap(canvas, values, rows, cols, scale, pos, box) {
  const s = cellSize(cols, rows, box.width, box.height);
  const ctx = sizeCanvas(canvas, cols, rows, s);
  const colorAt = (y, x) => diverging(values[y * cols + x], scale);
  paintCells(ctx, cols, rows, s, colorAt);
  if (s >= 30) for (let y = 0; y < rows; y++) for (let x = 0; x < cols; x++) cellText(ctx, sig(values[y * cols + x], 2), x * s, y * s, s, isDark(colorAt(y, x)));
  gridLines(ctx, cols, rows, s);
  if (pos) focusFrame(ctx, pos.ox * s, pos.oy * s, s, s);
  canvas.dataset.rows = String(rows);
  canvas.dataset.cols = String(cols);
  return s;
}

// Figures of labelled maps in a container, kept in place between redraws (so that a canvas
// keeps its listeners and its focus). `maps`: [{key, label, values, rows, cols, scale, pos, ariaLabel}].
export function drawFigures(container, maps, box) {
  const byKey = new Map([...container.children].map((f) => [f.dataset.key, f]));
  const figures = maps.map((m) => {
    let fig = byKey.get(m.key);
    if (!fig) {
      fig = document.createElement('figure');
      fig.className = 'map';
      fig.dataset.key = m.key;
      fig.append(document.createElement('canvas'), document.createElement('figcaption'));
    }
    const canvas = fig.querySelector('canvas');
    canvas.setAttribute('aria-label', m.ariaLabel || m.label);
    drawMap(canvas, m.values, m.rows, m.cols, m.scale, m.pos, box);
    fig.querySelector('figcaption').textContent = m.label;
    return fig;
  });
  container.replaceChildren(...figures);
  return figures;
}

// A read-only grid of numbers laid out k x k (dW of one channel, a flipped kernel).
export function drawNumberGrid(container, values, k, label) {
  container.style.setProperty('--k', String(k));
  container.classList.toggle('wide', k >= 6);
  container.setAttribute('aria-label', label);
  const scale = absMax(values);
  container.replaceChildren(
    ...Array.from(values, (v, i) => {
      const d = document.createElement('div');
      d.className = 'pcell';
      d.setAttribute('role', 'img');
      d.setAttribute('aria-label', `row ${Math.floor(i / k) + 1}, column ${(i % k) + 1}: ${sig(v)}`);
      if (v !== 0) d.style.background = css(diverging(v, scale * 2.5));
      const b = document.createElement('b');
      b.textContent = sig(v, 2);
      d.append(b);
      return d;
    }),
  );
}

// Cells of a grid with two lines each: `top` (small) and `main` (bold); `pad` hatched, `ring`
// framed. items: [{top, main, value, pad, ring, title}].
export function drawCellGrid(container, items, k) {
  container.style.setProperty('--k', String(k));
  container.classList.toggle('wide', k >= 6);
  const scale = absMax(items.map((t) => t.value));
  container.replaceChildren(
    ...items.map((t) => {
      const d = document.createElement('div');
      d.className = 'pcell' + (t.pad ? ' pad' : '') + (t.ring ? ' winner' : '');
      if (!t.pad && t.value) d.style.background = css(diverging(t.value, scale * 4));
      if (t.title) d.title = t.title;
      const top = document.createElement('span');
      top.className = 'xw';
      top.textContent = t.top;
      const main = document.createElement('b');
      main.textContent = t.main;
      d.append(top, main);
      return d;
    }),
  );
}
