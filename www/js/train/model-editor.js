// The model editor: conv blocks (filters, kernel size, batch norm, pooling, dropout), the
// hidden dense layer's units, add and remove a block. It edits the `arch` field of the store
// (and so the link); numbers out of range are explained here and change nothing. Whether
// the layers fit together is decided by the Rust core when the model is built
// (training.js shows its answer with `showProblem`). The ranges are the core's (`schema.arch`,
// from state.js).

import { offerRange } from '../controls.js';
import { CHAPTER_ARCH, formatArch } from '../state.js';
import { $, make, say } from './dom.js';

export function createModelEditor(store, schema) {
  const { parseArch, blockProblem } = schema;
  const limits = schema.arch; // {blocks, filters, kernel, dropout, dense}: rows of the core's table
  // A number box offering its UI range (widened to the value it holds).
  const ranged = (input, range) => {
    offerRange(input, range, Number(input.value));
    return input;
  };
  const rows = $('editor-blocks');
  const dense = $('editor-dense');
  const message = $('msg-editor');
  let layout = parseArch(store.get().arch).value;
  let written = store.get().arch;
  let enabled = true;

  function commit() {
    written = formatArch(layout);
    store.set({ arch: written });
  }

  // A field's text → a number, or a message for the student.
  function readNumber(input, name, integer) {
    // A number field holds "" for text that is not a number.
    const text = input.value.trim();
    if (text === '') return { error: `${name}: type a number` };
    if (!/^-?\d*\.?\d+(e-?\d+)?$/i.test(text)) return { error: `${name}: “${text}” is not a number` };
    const v = Number(text);
    if (integer && !Number.isInteger(v)) return { error: `${name}: use a whole number` };
    return { value: v };
  }

  function blockRow(b, i) {
    const tr = make('tr');
    const n = i + 1;
    const cell = (el) => {
      const td = make('td');
      td.append(el);
      tr.append(td);
      return el;
    };
    tr.append(make('th', { scope: 'row' }, `Block ${n}`));
    const filters = cell(ranged(make('input', { type: 'number', value: b.filters, className: 'num', ariaLabel: `Block ${n} filters` }), limits.filters));
    const kernel = cell(ranged(make('input', { type: 'number', value: b.kernel, className: 'num', ariaLabel: `Block ${n} kernel size` }), limits.kernel));
    const bn = cell(make('input', { type: 'checkbox', checked: b.batchNorm, ariaLabel: `Block ${n} batch norm` }));
    const pool = cell(make('select', { ariaLabel: `Block ${n} pooling` }));
    for (const [value, text] of [['max', 'max'], ['average', 'average'], ['none', 'none']]) pool.append(make('option', { value, selected: b.pool === value }, text));
    const dropout = cell(ranged(make('input', { type: 'number', step: 0.05, value: b.dropout, className: 'num', ariaLabel: `Block ${n} dropout rate` }), limits.dropout));
    // A × (named by its label) leaves the table room to fit the model panel at a projector's size.
    const remove = cell(make('button', { type: 'button', className: 'button subtle remove', ariaLabel: `Remove block ${n}`, title: `Remove block ${n}` }, '×'));
    const update = () => {
      const read = [readNumber(filters, `Block ${n} filters`, true), readNumber(kernel, `Block ${n} kernel size`, true), readNumber(dropout, `Block ${n} dropout rate`, false)];
      const bad = read.find((r) => 'error' in r);
      if (bad) return say(message, `${bad.error}; the model is unchanged.`);
      const next = { filters: read[0].value, kernel: read[1].value, batchNorm: bn.checked, pool: pool.value, dropout: read[2].value };
      const problem = blockProblem(next);
      if (problem) return say(message, `Block ${n}: ${problem}; the model is unchanged.`);
      say(message, '');
      layout.blocks[i] = next;
      commit();
    };
    for (const el of [filters, kernel, dropout]) el.addEventListener('input', update);
    for (const el of [bn, pool]) el.addEventListener('change', update);
    remove.addEventListener('click', () => {
      if (layout.blocks.length === 1) return say(message, 'The model needs at least one conv block to be a CNN; the model is unchanged.');
      say(message, '');
      layout.blocks.splice(i, 1);
      commit();
      render();
    });
    return tr;
  }

  function render() {
    rows.replaceChildren(...layout.blocks.map(blockRow));
    offerRange(dense, limits.dense, layout.dense);
    if (document.activeElement !== dense) dense.value = String(layout.dense);
    setEnabled(enabled);
  }

  dense.addEventListener('input', () => {
    const r = readNumber(dense, 'Dense units', true);
    if ('error' in r) return say(message, `${r.error}; the model is unchanged.`);
    if (r.value < limits.dense.min || r.value > limits.dense.max) return say(message, `Dense units: at most ${limits.dense.max} (0 leaves the hidden dense layer out); the model is unchanged.`);
    say(message, '');
    layout.dense = r.value;
    commit();
  });
  $('editor-add').addEventListener('click', () => {
    if (layout.blocks.length >= limits.blocks.max) return say(message, `At most ${limits.blocks.max} conv blocks; the model is unchanged.`);
    say(message, '');
    const last = layout.blocks[layout.blocks.length - 1];
    layout.blocks.push({ ...last, filters: Math.min(limits.filters.max, last.filters * 2) });
    commit();
    render();
  });
  $('editor-reset').addEventListener('click', () => {
    say(message, '');
    layout = parseArch(CHAPTER_ARCH).value;
    commit();
    render();
  });

  function setEnabled(on) {
    enabled = on;
    for (const el of $('model-editor').querySelectorAll('input, select, button')) el.disabled = !on;
  }

  // A layout from elsewhere (the link edited by hand, a loaded model) replaces the editor's.
  store.subscribe((st) => {
    if (st.arch === written) return;
    written = st.arch;
    layout = parseArch(st.arch).value;
    render();
  });
  render();

  return {
    setEnabled,
    // The Rust core's reason for refusing the current layout (null: it was built).
    showProblem(problem) {
      say(message, problem ? `This model cannot be built: ${problem}. The summary shows the last model that could; Train uses it.` : '');
    },
  };
}
