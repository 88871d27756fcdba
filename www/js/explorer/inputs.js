// The explorer's input pictures: built-in presets (drawn by the Rust core), pictures the
// student uploads (checked by the core, decoded by the browser, fitted by the core) and
// painting on the grid.

import { decodeUpload } from '../picture.js';

// Each preset comes with the chapter's filters for it and a line on what to look for. The
// line is written for the setup on the page (`k` the kernel size, `n` the number of filters,
// `chapter` whether the filters are still the preset's own): a student who turns the kernel
// to 5×5 must not read "3×3" under it.
const NUMBER_WORDS = ['No', 'One', 'Two', 'Three', 'Four', 'Five', 'Six', 'Seven', 'Eight'];
const sq = (k) => `${k}×${k}`;
const yours = ({ k, n, channels }) =>
  `${NUMBER_WORDS[n] ?? n} ${sq(k)}${channels > 1 ? `×${channels}` : ''} filter${n === 1 ? '' : 's'} of your own: each makes one output map. Click a map to step to that cell.`;

export const PRESETS = {
  seven: {
    look: 'ink', lo: 0, hi: 1,
    setup: { kernel: 3, stride: 1, padMode: 'valid', pad: 0, dilation: 1, filters: ['edge_top', 'edge_bottom', 'edge_left', 'edge_right'] },
    note: (s) => (s.chapter
      ? `${NUMBER_WORDS[s.n]} ${sq(s.k)} edge filters take the 7 apart: top and bottom edges find the two sides of the bar; left edges (the 7’s inner vertical edge) and right edges (its outer one) find the down-stroke.`
      : yours(s)),
  },
  x: {
    look: 'ink', lo: -1, hi: 1,
    setup: { kernel: 3, stride: 1, padMode: 'valid', pad: 0, dilation: 1, filters: ['diag_down', 'cross', 'diag_up'] },
    note: (s) => (s.chapter
      ? `The ↘ and ↗ filters each match one stroke of the X (a perfect match of a ${sq(s.k)} filter scores ${s.k * s.k}); the cross filter scores highest where the strokes meet.`
      : yours(s)),
  },
  face: {
    look: 'light', lo: 0, hi: 1,
    setup: { kernel: 5, stride: 1, padMode: 'valid', pad: 0, dilation: 1, filters: ['sobel_x', 'redness'] },
    note: (s) => `The input has three channels, so each ${sq(s.k)} filter is ${sq(s.k)}×3: its depth spans R, G and B.${s.chapter ? ' Sobel x finds vertical edges in all three; redness adds red and subtracts green and blue, so skin glows and the lips most of all.' : ` ${yours(s)}`}`,
  },
  seven14: {
    look: 'ink', lo: 0, hi: 1,
    setup: { kernel: 4, stride: 2, padMode: 'valid', pad: 0, dilation: 1, filters: ['edge_top', 'edge_left'] },
    // The chapter's worked example holds for its own numbers only; other settings point to the formula.
    note: (s) => (s.k === 4 && s.stride === 2 && s.pad === 0 && s.dilation === 1
      ? 'The chapter’s size example: a 14×14 input, a 4×4 filter and stride 2 give ⌊(14 − 4) / 2⌋ + 1 = 6, a 6×6 map.'
      : `The chapter’s size example is a 14×14 input, a 4×4 filter and stride 2 (a 6×6 map); with a ${sq(s.k)} filter, stride ${s.stride}${s.pad ? `, padding ${s.pad}` : ''}${s.dilation > 1 ? `, dilation ${s.dilation}` : ''} the formula above gives ${s.out}.`),
  },
};

export const UPLOAD_SIDE = 64;

function fromCore(handle, extra) {
  try {
    return { height: handle.height, width: handle.width, channels: handle.channels, data: handle.data(), ...extra };
  } finally {
    handle.free();
  }
}

export function presetImage(core, name) {
  const p = PRESETS[name];
  return fromCore(core.inputPreset(name), { look: p.look, lo: p.lo, hi: p.hi });
}

// Throws the core's message (for example "this picture is too large …") for the page to show.
export async function uploadImage(core, file, colour) {
  const picture = await decodeUpload(core, new Uint8Array(await file.arrayBuffer()));
  return fromCore(core.fitPicture(picture.rgba, picture.width, picture.height, UPLOAD_SIDE, colour), { look: 'light', lo: 0, hi: 1 });
}

// A copy of `img` with a round brush dab at (row, col): `ink` is the pen, `paper` erases.
export function paintAt(img, row, col, brush) {
  const inkValue = img.look === 'ink' ? img.hi : img.lo;
  const value = brush === 'ink' ? inkValue : img.lo + img.hi - inkValue;
  const radius = Math.min(img.height, img.width) >= 24 ? 1 : 0;
  const data = Float32Array.from(img.data);
  let changed = false;
  for (let dy = -radius; dy <= radius; dy++) {
    for (let dx = -radius; dx <= radius; dx++) {
      const [r, c] = [row + dy, col + dx];
      if (r < 0 || c < 0 || r >= img.height || c >= img.width || dy * dy + dx * dx > radius * radius) continue;
      for (let ch = 0; ch < img.channels; ch++) {
        const i = (r * img.width + c) * img.channels + ch;
        if (data[i] !== value) { data[i] = value; changed = true; }
      }
    }
  }
  return changed ? { ...img, data } : img;
}
