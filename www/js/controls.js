// Binds the controls named in the state's field list (state.js) to the store. An edit goes
// through the field's own parser, so a control can hold nothing a link could not; every state
// change writes the controls back. A value the parser refuses (a typed number out of range)
// is reported to `onInvalid(field, message)` and leaves the state as it was.

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
      if (kind === 'radios') for (const r of radios(f)) r.checked = r.value === v;
      else if (kind === 'checkbox') element(f).checked = v;
      else if (document.activeElement !== element(f)) element(f).value = String(v);
      if (show) document.getElementById(`${id}-out`).textContent = show(v);
    }
  };
}
