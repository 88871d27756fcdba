// The fastest TensorFlow.js path that trains the chapter's model, for the bench (issue 6).
//
// TF.js's wasm backend (XNNPACK, SIMD) has no Conv2DBackpropFilter kernel, so a conv net cannot
// train on it as shipped. The issue measures it with a filter gradient patched in; this is that
// patch. Conv2D's gradient is registered again so that its filter part is a convolution the
// backend does have: with the batch and input-channel axes swapped, correlating the padded input
// with the output gradient *is* the filter gradient,
//   dW[kh, kw, ci, co] = sum over n, y, x of  xpad[n, y + kh, x + kw, ci] * dy[n, y, x, co],
// i.e. conv2d(input = xpad as (ci, H', W', n), filter = dy as (y, x, n, co), 'valid').
// Only what the chapter's model needs is covered (NHWC, stride 1, no dilation); anything else
// keeps TF.js's own gradient. The gradient registry is global, so patch only after every
// other backend's run, and check the patch against TF.js's own gradient (`checkPatch`).

export function patchConv2dFilterGradient(tf) {
  const original = tf.getGradient('Conv2D');
  tf.registerGradient({
    ...original,
    gradFunc: (dy, saved, attrs) => {
      const grads = original.gradFunc(dy, saved, attrs);
      const [x, filter] = saved;
      const { strides, dilations, pad, dataFormat } = attrs;
      const ones = (v) => [v].flat().every((s) => s === 1);
      if (!(ones(strides) && ones(dilations ?? 1) && (pad === 'same' || pad === 'valid') && dataFormat !== 'NCHW')) return grads;
      return { ...grads, filter: () => filterGradient(tf, x, dy, filter.shape, pad) };
    },
  });
}

// (KH, KW, C_in, C_out) from x (N, H, W, C_in) and dy (N, H', W', C_out), stride 1.
function filterGradient(tf, x, dy, [kh, kw], pad) {
  return tf.tidy(() => {
    // TF's 'same': the odd extra row and column go at the bottom and right.
    const [top, left] = pad === 'same' ? [(kh - 1) >> 1, (kw - 1) >> 1] : [0, 0];
    const [bottom, right] = pad === 'same' ? [kh - 1 - top, kw - 1 - left] : [0, 0];
    const padded = tf.pad(x, [[0, 0], [top, bottom], [left, right], [0, 0]]);
    const input = tf.transpose(padded, [3, 1, 2, 0]); // (C_in, H + KH - 1, W + KW - 1, N)
    const kernel = tf.transpose(dy, [1, 2, 0, 3]); // (H', W', N, C_out)
    const out = tf.conv2d(input, kernel, 1, 'valid'); // (C_in, KH, KW, C_out)
    return tf.transpose(out, [1, 2, 0, 3]);
  });
}

// The filter gradient of a small odd-shaped case (5x5 'same' and 3x3 'valid') by the current
// backend: compare a patched backend's values with the ones TF.js computes itself.
export function filterGradientCase(tf) {
  return tf.tidy(() => {
    const values = (n, seed) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + seed) * 0.5);
    const x = tf.tensor4d(values(2 * 7 * 9 * 3, 1), [2, 7, 9, 3]);
    return [[5, 'same'], [3, 'valid']].map(([k, pad]) => {
      const w = tf.tensor4d(values(k * k * 3 * 4, 2), [k, k, 3, 4]);
      const out = tf.conv2d(x, w, 1, pad);
      const dy = tf.tensor(values(out.size, 3), out.shape);
      return Array.from(tf.grad((w) => tf.sum(tf.mul(tf.conv2d(x, w, 1, pad), dy)))(w).dataSync());
    });
  });
}

// Largest absolute difference between two results of `filterGradientCase`.
export function maxDifference(a, b) {
  return Math.max(...a.flatMap((g, i) => g.map((v, j) => Math.abs(v - b[i][j]))));
}
