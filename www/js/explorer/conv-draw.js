// Drawing for the convolution explorer: the padded input with the receptive field, the
// activation maps, the kernel editor and the current cell's products. These functions only
// draw what they are given (view.js calls them with a frame from data.js).

import { COLORS, brushMark, cellSize, cellText, css, diverging, focusFrame, focusWash, gridLines, hatchCell, inputColor, isDark, paintCells, sizeCanvas } from '../draw.js';
import { factor, fmt } from '../format.js';
import { CHANNEL_NAMES } from './data.js';

// The padded input. `desc` gives the padding; `cell` (or null) the current receptive field;
// `brush` (or null) the keyboard brush's {row, col} in the picture.
// Returns the geometry needed to map a mouse position back to a cell.
export function drawInput(canvas, img, desc, cell, box, brush = null) {
  const pt = desc ? desc.padTop : 0;
  const pl = desc ? desc.padLeft : 0;
  const rows = img.height + pt + (desc ? desc.padBottom : 0);
  const cols = img.width + pl + (desc ? desc.padRight : 0);
  const s = cellSize(cols, rows, box.width, box.height);
  const ctx = sizeCanvas(canvas, cols, rows, s);
  const inside = (r, c) => r >= pt && c >= pl && r < pt + img.height && c < pl + img.width;
  const colorAt = (r, c) => (inside(r, c) ? inputColor(img, (r - pt) * img.width + (c - pl)) : COLORS.pad);
  paintCells(ctx, cols, rows, s, colorAt);
  const showNumbers = s >= 26 && img.channels === 1;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const real = inside(r, c);
      if (!real) hatchCell(ctx, c * s, r * s, s);
      if (showNumbers) cellText(ctx, real ? fmt(img.data[(r - pt) * img.width + (c - pl)]) : '0', c * s, r * s, s, isDark(colorAt(r, c)));
    }
  }
  gridLines(ctx, cols, rows, s);
  if (cell) {
    const seen = new Set();
    for (const t of cell.terms) {
      const key = t.row * cols + t.col;
      if (seen.has(key)) continue;
      seen.add(key);
      focusWash(ctx, t.col * s, t.row * s, s);
    }
    focusFrame(ctx, cell.left * s, cell.top * s, cell.span * s, cell.span * s);
  }
  if (brush) brushMark(ctx, (brush.col + pl) * s, (brush.row + pt) * s, s);
  canvas.dataset.rows = String(rows);
  canvas.dataset.cols = String(cols);
  return { s, pt, pl };
}

// One canvas per activation map. Each map has its own colour scale (`scales`, its largest
// |value| is full colour): filters can differ in size by orders of magnitude, and a shared
// scale would leave the small ones blank.
export function drawMaps(container, maps, scales, oh, ow, names, selected, pos, box) {
  while (container.children.length > maps.length) container.lastChild.remove();
  while (container.children.length < maps.length) {
    const fig = document.createElement('figure');
    fig.className = 'map';
    const canvas = document.createElement('canvas');
    const cap = document.createElement('figcaption');
    fig.append(canvas, cap);
    container.append(fig);
  }
  const s = cellSize(ow, oh, box.width, box.height);
  maps.forEach((m, f) => {
    const fig = container.children[f];
    const canvas = fig.firstChild;
    fig.classList.toggle('selected', f === selected);
    canvas.setAttribute('aria-label', `Output map ${f + 1} (${names[f]}), ${oh} by ${ow}; the arrow keys move the current cell`);
    canvas.setAttribute('role', 'img');
    canvas.tabIndex = 0;
    canvas.dataset.rows = String(oh);
    canvas.dataset.cols = String(ow);
    canvas.dataset.filter = String(f);
    const ctx = sizeCanvas(canvas, ow, oh, s);
    paintCells(ctx, ow, oh, s, (y, x) => diverging(m[y * ow + x], scales[f]));
    gridLines(ctx, ow, oh, s);
    if (pos) focusFrame(ctx, pos.ox * s, pos.oy * s, s, s, f === selected);
    fig.lastChild.innerHTML = `<b>${f + 1}</b> ${escapeHtml(names[f])}`;
  });
}

export function escapeHtml(text) {
  return text.replace(/[&<>"]/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[ch]);
}

// The kernel of one filter and channel as a grid of number fields.
export function drawKernelEditor(container, weights, k, c, channel, onEdit) {
  container.style.setProperty('--k', String(k));
  container.classList.toggle('wide', k >= 6);
  const need = k * k;
  if (container.children.length !== need) {
    container.replaceChildren();
    for (let i = 0; i < need; i++) {
      const input = document.createElement('input');
      input.type = 'number';
      input.step = '0.1';
      input.className = 'num w';
      input.dataset.index = String(i);
      input.addEventListener('change', () => onEdit(Number(input.dataset.index), input));
      container.append(input);
    }
  }
  const chName = c > 1 ? `, channel ${CHANNEL_NAMES(c)[channel]}` : '';
  for (let i = 0; i < need; i++) {
    const input = container.children[i];
    const w = weights[i * c + channel];
    input.setAttribute('aria-label', `Weight row ${Math.floor(i / k) + 1} column ${(i % k) + 1}${chName}`);
    if (document.activeElement !== input) input.value = String(Math.round(w * 1000) / 1000);
    input.classList.toggle('neg', w < 0);
    input.classList.toggle('pos', w > 0);
  }
}

// The current cell's products, laid out like the kernel (for one channel).
export function drawProducts(container, cell, k, channel) {
  container.style.setProperty('--k', String(k));
  container.classList.toggle('wide', k >= 6);
  if (!cell) {
    container.replaceChildren();
    return;
  }
  const terms = cell.terms.filter((t) => t.c === channel);
  const scale = Math.max(1e-6, ...terms.map((t) => Math.abs(t.product)));
  container.replaceChildren(
    ...terms.map((t) => {
      const d = document.createElement('div');
      d.className = 'pcell' + (t.padding ? ' pad' : '');
      if (!t.padding && t.product !== 0) d.style.background = css(diverging(t.product, scale * 3));
      d.title = `input ${fmt(t.x)}${t.padding ? ' (padding)' : ''} × weight ${fmt(t.w)} = ${fmt(t.product)}`;
      const xw = document.createElement('span');
      xw.className = 'xw';
      // A line may break after the × (a zero-width space): a 5×5 cell is narrow.
      xw.textContent = `${factor(t.x)}×\u200b${factor(t.w)}`;
      const p = document.createElement('b');
      p.textContent = fmt(t.product);
      d.append(xw, p);
      return d;
    }),
  );
}
