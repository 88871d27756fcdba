// Panel widths, kept by a ResizeObserver so that drawing never forces a layout (reading
// clientWidth after the DOM changed was most of the time of a redraw). `onResize` is called
// when one of `panels` changes width. All are read once now, in one layout.

export function watchWidths(panels, onResize) {
  const widths = new Map();
  const widthOf = (el) => {
    if (!widths.has(el)) widths.set(el, el.clientWidth);
    return widths.get(el);
  };
  const observer = new ResizeObserver((entries) => {
    let changed = false;
    for (const e of entries) {
      const w = Math.floor(e.contentRect.width);
      changed ||= widths.get(e.target) !== w;
      widths.set(e.target, w);
    }
    if (changed) onResize();
  });
  for (const el of panels) observer.observe(el);
  for (const el of panels) widthOf(el);
  return widthOf;
}
