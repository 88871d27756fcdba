// Numbers as the page writes them: at most two decimals, a real minus sign, no "-0".

export function fmt(v) {
  if (!Number.isFinite(v)) return '—';
  const r = Math.round(v * 100) / 100;
  if (r === 0) return '0';
  const s = Number.isInteger(r) ? String(r) : r.toFixed(2).replace(/0+$/, '');
  return s.replace('-', '−');
}

// A factor in a written-out product: negative numbers in parentheses.
export function factor(v) {
  const s = fmt(v);
  return s.startsWith('−') ? `(${s})` : s;
}

export const times = (a, b) => `${a} × ${b}`;

// Whole numbers with the reader's digit grouping (24,336), one formatter for the page.
const WHOLE = new Intl.NumberFormat('en', { maximumFractionDigits: 0 });
export const count = (n) => WHOLE.format(n);

// Sizes in a message from the Rust core ("9x9", "64x64x3") written with the times sign, as
// the page writes every size. Only free-standing sizes: a file name such as face_64x64.png or
// a link's model text (16x5bm0.1) is left as it is.
export const timesSigns = (text) => text.replace(/(?<![\w.])\d+(?:x\d+)+(?!\w|\.\w)/g, (m) => m.replaceAll('x', '×'));

// A gradient as the page writes it: three significant digits, so that the small numbers of a
// mean squared error (0.00213) do not round to 0; very small or large ones in e-notation.
export function sig(v, digits = 3) {
  if (!Number.isFinite(v)) return '—';
  if (v === 0) return '0';
  const a = Math.abs(v);
  const s = a >= 1e-4 && a < 1e5 ? String(Number(v.toPrecision(digits))) : v.toExponential(digits - 1).replace(/\.?0+e/, 'e');
  return s.replace('-', '−');
}

// A factor in a written-out product with three significant digits, negatives in parentheses.
export function sigFactor(v) {
  const s = sig(v);
  return s.startsWith('−') ? `(${s})` : s;
}
