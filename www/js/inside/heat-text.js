// Short text alternatives for heat maps (saliency, Grad-CAM) and a layer's grey maps: where
// most of a map's mass lies, in words, for screen readers and for anyone who cannot tell the
// colours or the greys apart. Pure: no DOM.

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

// One layer's maps (H, W, C interleaved, as the core sends them): how many, which are the
// strongest (largest mean), how many are silent (all zero: a ReLU that never fires here), and
// where the strongest one's activation lies.
// "conv1: 8 maps of 32 × 32; strongest maps 3, 1 and 7; 2 silent; map 3: most of the mass …"
export function describeLayerMaps(name, values, [height, width, channels]) {
  const means = new Array(channels).fill(0);
  const silent = new Array(channels).fill(true);
  for (let i = 0; i < values.length; i++) {
    const k = i % channels;
    means[k] += values[i] / (height * width);
    if (values[i] !== 0) silent[k] = false;
  }
  const order = means.map((m, k) => k).sort((a, b) => means[b] - means[a]);
  const strongest = order.slice(0, Math.min(3, channels)).map((k) => k + 1);
  const top = order[0];
  const topMap = Float32Array.from({ length: height * width }, (_, p) => values[p * channels + top]);
  const silentCount = silent.filter(Boolean).length;
  const parts = [`${name}: ${channels} ${channels === 1 ? 'map' : 'maps'} of ${height} × ${width}`];
  if (channels > 1) parts.push(`strongest ${strongest.length === 2 ? `maps ${strongest.join(' and ')}` : `maps ${strongest.slice(0, -1).join(', ')} and ${strongest.at(-1)}`}`);
  if (silentCount) parts.push(`${silentCount} silent (all zero)`);
  const where = describeHeat(`map ${top + 1}`, topMap, height, width);
  return `${parts.join('; ')}; ${where.replace(/\.$/, '')}.`;
}
