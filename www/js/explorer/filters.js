// Filters as the page keeps them: a kernel preset by name (the core builds its weights for
// any size and depth) or custom weights the student typed, (K, K, C).

// The weights of every filter for kernel size k and c channels, flattened (F, K, K, C), plus
// the problems found (a preset that needs a bigger kernel, a link with the wrong count).
export function buildWeights(core, filters, k, c) {
  const per = k * k * c;
  const flat = new Float32Array(filters.length * per);
  const problems = [];
  filters.forEach((f, i) => {
    if (f.recipe) {
      try {
        flat.set(core.kernelPreset(f.recipe, k, c), i * per);
      } catch (e) {
        problems.push(`Filter ${i + 1}: ${e.message}; it is all zeros for now.`);
      }
    } else if (f.weights.length === per) {
      flat.set(f.weights, i * per);
    } else {
      problems.push(`Filter ${i + 1} has ${f.weights.length} weights but a ${k}×${k}×${c} kernel needs ${per}; it is all zeros for now.`);
    }
  });
  return { flat, problems };
}

// Custom weights for a new kernel size: keep the centre, crop or pad with zeros around it.
export function resizeWeights(weights, oldK, newK, c) {
  const out = new Array(newK * newK * c).fill(0);
  const shift = Math.floor((newK - 1) / 2) - Math.floor((oldK - 1) / 2);
  for (let y = 0; y < oldK; y++) {
    for (let x = 0; x < oldK; x++) {
      const [ny, nx] = [y + shift, x + shift];
      if (ny < 0 || nx < 0 || ny >= newK || nx >= newK) continue;
      for (let ch = 0; ch < c; ch++) out[(ny * newK + nx) * c + ch] = weights[(y * oldK + x) * c + ch];
    }
  }
  return out;
}

export const recipeFilters = (ids) => ids.map((recipe) => ({ recipe, weights: null }));
