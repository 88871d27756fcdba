// Drawing for the pooling panel: the map being pooled (with its window), the pooled map and
// the window's values written out. They only draw what they are given.

import { COLORS, cellSize, cellText, css, diverging, focusFrame, focusWash, gridLines, hatchCell, isDark, paintCells, sizeCanvas } from '../draw.js';
import { fmt } from '../format.js';

// The map being pooled, with `same` padding drawn around it and the current window framed.
export function drawPoolInput(canvas, map, h, w, pads, scale, cell, box) {
  const rows = h + pads.top + pads.bottom;
  const cols = w + pads.left + pads.right;
  const s = cellSize(cols, rows, box.width, box.height);
  const ctx = sizeCanvas(canvas, cols, rows, s);
  const inside = (r, c) => r >= pads.top && c >= pads.left && r < pads.top + h && c < pads.left + w;
  paintCells(ctx, cols, rows, s, (r, c) => (inside(r, c) ? diverging(map[(r - pads.top) * w + (c - pads.left)], scale) : COLORS.pad));
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) if (!inside(r, c)) hatchCell(ctx, c * s, r * s, s);
  gridLines(ctx, cols, rows, s);
  if (cell) {
    for (const t of cell.cells) if (!t.padding) focusWash(ctx, t.col * s, t.row * s, s);
    focusFrame(ctx, cell.left * s, cell.top * s, cell.window * s, cell.window * s);
  }
  canvas.dataset.rows = String(rows);
  canvas.dataset.cols = String(cols);
}

export function drawPoolOutput(canvas, out, oh, ow, scale, cell, box) {
  const s = cellSize(ow, oh, box.width, box.height);
  const ctx = sizeCanvas(canvas, ow, oh, s);
  const colorAt = (y, x) => diverging(out[y * ow + x], scale);
  paintCells(ctx, ow, oh, s, colorAt);
  if (s >= 30) for (let y = 0; y < oh; y++) for (let x = 0; x < ow; x++) cellText(ctx, fmt(out[y * ow + x]), x * s, y * s, s, isDark(colorAt(y, x)));
  gridLines(ctx, ow, oh, s);
  if (cell) focusFrame(ctx, cell.ox * s, cell.oy * s, s, s);
  canvas.dataset.rows = String(oh);
  canvas.dataset.cols = String(ow);
}

// The window's values in a grid (the max ringed) and the pooling written out.
export function drawPoolWindow(container, cell, scale) {
  container.style.setProperty('--k', String(cell ? cell.window : 1));
  if (!cell) {
    container.replaceChildren();
    return '';
  }
  container.replaceChildren(
    ...cell.cells.map((t, i) => {
      const d = document.createElement('div');
      d.className = 'pcell' + (t.padding ? ' pad' : '') + (i === cell.winner ? ' winner' : '');
      if (!t.padding) d.style.background = css(diverging(t.x, scale * 2.5));
      const b = document.createElement('b');
      b.textContent = t.padding ? '—' : fmt(t.x);
      d.append(b);
      return d;
    }),
  );
  const values = cell.cells.filter((t) => !t.padding).map((t) => fmt(t.x));
  if (cell.kind === 'max') return `max(${values.join(', ')}) = ${fmt(cell.output)}`;
  return `(${values.join(' + ')}) / ${cell.count} = ${fmt(cell.output)}`;
}
