// Binds the controls named in the state's field list (state.js) to the store. An edit goes
// through the field's own parser, so a control can hold nothing a link could not; every state
// change writes the controls back. A value the parser refuses (a typed number out of range)
// is reported to `onInvalid(field, message)` and leaves the state as it was.

// The extent each slider or number box offers now (element -> {min, max}).
const offered = new WeakMap();

// Gives `el` (a range or number input) the UI range of `range` (a row of the core's table),
// widened to include `value`: a link may bring any value the core accepts, and the slider
// must be able to show it. Widening lasts for the visit, so that a slider does not rescale
// under the pointer when the value comes back into the usual range. Call it before setting
// the value: a range input clamps its value to min..max.
export function offerRange(el, range, value) {
  const was = offered.get(el);
  const v = Number.isFinite(value) ? value : range.uiMin;
  const min = Math.min(was ? was.min : range.uiMin, v);
  const max = Math.max(was ? was.max : range.uiMax, v);
  if (was && was.min === min && was.max === max) return;
  offered.set(el, { min, max });
  el.min = String(min);
  el.max = String(max);
}

export function bindControls(store, fields, onInvalid) {
  const bound = fields.filter((f) => f.control);
  const element = (f) => document.getElementById(f.control.id);
  const radios = (f) => document.querySelectorAll(`input[name="${f.control.id}"]`);

  for (const f of bound) {
    const apply = (text) => {
      const r = f.parse(text);
      onInvalid(f, 'error' in r ? r.error : null);
      if (!('error' in r)) store.set({ [f.key]: r.value });
    };
    const { kind } = f.control;
    if (kind === 'radios') for (const r of radios(f)) r.addEventListener('change', () => apply(r.value));
    else if (kind === 'checkbox') element(f).addEventListener('change', (e) => apply(e.target.checked ? '1' : '0'));
    else element(f).addEventListener(kind === 'select' ? 'change' : 'input', (e) => apply(e.target.value.trim()));
  }

  // Writes the state into the controls (a field being typed into is left alone).
  return function reflect(st) {
    for (const f of bound) {
      const v = st[f.key];
      const { kind, id, show } = f.control;
      if (f.range && (kind === 'range' || kind === 'number')) offerRange(element(f), f.range, v);
      if (kind === 'radios') for (const r of radios(f)) r.checked = r.value === v;
      else if (kind === 'checkbox') element(f).checked = v;
      else if (document.activeElement !== element(f)) element(f).value = String(v);
      if (show) document.getElementById(`${id}-out`).textContent = show(v);
    }
  };
}
