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
