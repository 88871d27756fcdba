// Short text alternatives for heat maps (saliency, Grad-CAM): where most of the map's mass lies,
// in words, for screen readers and for anyone who cannot tell the colours apart. Pure: no DOM.

const ROWS = ['upper', 'middle', 'lower'];
const COLS = ['left', 'middle', 'right'];

// The picture cut into a 3x3 grid; `values` (height x width, >= 0) summed per part.
// Returns the parts sorted by mass: [{row, col, share}], shares adding up to 1.
export function massByPart(values, height, width) {
  const sums = new Array(9).fill(0);
  let total = 0;
  for (let y = 0; y < height; y++) {
    const r = Math.min(2, Math.floor((y * 3) / height));
    for (let x = 0; x < width; x++) {
      const v = Math.max(0, values[y * width + x]);
      sums[r * 3 + Math.min(2, Math.floor((x * 3) / width))] += v;
      total += v;
    }
  }
  return sums
    .map((s, i) => ({ row: ROWS[Math.floor(i / 3)], col: COLS[i % 3], share: total > 0 ? s / total : 0 }))
    .sort((a, b) => b.share - a.share);
}

const partName = ({ row, col }) => (row === 'middle' && col === 'middle' ? 'the centre' : row === 'middle' ? `the middle ${col}` : `the ${row} ${col}`);
const percent = (share) => `${Math.round(share * 100)}%`;

// "Most of the Grad-CAM mass (41%) lies in the lower middle of the picture, then the centre (22%)."
// A map spread evenly (no part above a fifth) says so instead; an empty map says it is empty.
export function describeHeat(what, values, height, width) {
  const parts = massByPart(values, height, width);
  if (parts[0].share === 0) return `${what}: the map is empty (no evidence anywhere).`;
  if (parts[0].share < 0.2) return `${what}: spread over the whole picture (no ninth of it holds more than ${percent(parts[0].share)}).`;
  return `${what}: most of the mass (${percent(parts[0].share)}) lies in ${partName(parts[0])} of the picture, then ${partName(parts[1])} (${percent(parts[1].share)}).`;
}
