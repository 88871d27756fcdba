// Small helpers the training section's modules share: element lookup, messages in a panel,
// and number formatting.

import { timesSigns } from '../format.js';

export const $ = (id) => document.getElementById(id);
export const pct = (v) => `${(v * 100).toFixed(1)}%`;
export const thousands = (n) => n.toLocaleString('en-US');

// Shows `text` in a message element (kind: error or note); an empty text clears it. Sizes in
// the core's messages ("64x64x3") are written as the page writes them (64×64×3).
export function say(el, text, kind = 'error') {
  el.replaceChildren();
  if (!text) return;
  const span = document.createElement('span');
  span.className = kind;
  span.textContent = timesSigns(text);
  el.append(span);
}

// Hands `bytes` to the browser as a download named `name`.
export function download(bytes, name) {
  const url = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

// "4.2 MB", "830 KB": the size of a downloaded file.
export const fileSize = (bytes) => (bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${Math.round(bytes / 1e3)} KB`);

export function formatSeconds(s) {
  if (!Number.isFinite(s)) return '…';
  if (s < 60) return `${Math.round(s)} s`;
  return `${Math.floor(s / 60)} min ${String(Math.round(s % 60)).padStart(2, '0')} s`;
}

// A labelled element: `make('button', {type: 'button', className: 'button'}, 'Remove')`.
export function make(tag, props = {}, text = '') {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k.startsWith('aria') || k.startsWith('data-')) el.setAttribute(k.replace(/^aria([A-Z])/, (_, c) => `aria-${c.toLowerCase()}`), v);
    else el[k] = v;
  }
  if (text) el.textContent = text;
  return el;
}
