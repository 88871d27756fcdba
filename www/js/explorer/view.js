// The convolution explorer's view: writes a frame (data.js) into the page. It computes nothing
// but layout (panel widths, cell sizes); the drawing itself is in conv-draw.js and pool-draw.js.
// `actions` are the controller's handlers for the elements it builds (filter tabs, channel
// choice, kernel weights); `onResize` asks for a new frame when a panel changes width.

import { offerRange } from '../controls.js';
import { fmt, timesSigns } from '../format.js';
import { drawInput, drawKernelEditor, drawMaps, drawProducts } from './conv-draw.js';
import { drawPoolInput, drawPoolOutput, drawPoolWindow } from './pool-draw.js';
import { CONV_CONTROLS } from './data.js';
import { watchWidths } from '../widths.js';

const $ = (id) => document.getElementById(id);

// A control's messages from the core: errors and notes, each in its own span.
export function setMessage(id, items) {
  const el = $(id);
  el.replaceChildren(...items.map((d) => {
    const span = document.createElement('span');
    span.className = d.level;
    span.textContent = timesSigns(d.message); // the core writes 9x9; the page writes 9×9
    return span;
  }));
  el.hidden = items.length === 0;
}

// `ranges`: the core's ranges of the two sliders the explorer binds itself (kernel, pad).
export function createExplorerView({ ranges, actions, onResize }) {
  const panels = [...['input-canvas', 'pool-in-canvas', 'pool-out-canvas'].map((id) => $(id).parentElement), $('maps')];
  const widthOf = watchWidths(panels, onResize);

  function box(el, maxH) {
    const w = widthOf(el);
    return { width: w, height: Math.min(maxH, w) };
  }

  let inputGeom = null; // where the input grid's cells are, for painting
  let recipeOptionsFor = null;

  function renderSetup(s) {
    $('input-preset').value = s.input;
    for (const v of ['painted', 'upload']) $('input-preset').querySelector(`option[value="${v}"]`).hidden = s.input !== v;
    offerRange($('kernel'), ranges.kernel, s.kernel);
    $('kernel').value = String(s.kernel);
    $('kernel-out').textContent = s.kernelText;
    offerRange($('padding'), ranges.pad, s.pad);
    $('padding').value = String(s.pad);
    $('padding-out').textContent = s.padText;
    for (const r of document.querySelectorAll('input[name="pad-mode"]')) r.checked = r.value === s.padMode;
    for (const control of CONV_CONTROLS) {
      const items = s.messages[control];
      setMessage(`msg-${control}`, items);
      document.querySelector(`.slider[data-control="${control}"]`).classList.toggle('has-error', items.some((d) => d.level === 'error'));
    }
    setMessage('msg-input', s.messages.input);
    $('formula-numbers').replaceChildren(...s.formula.map((line) => Object.assign(document.createElement('span'), { textContent: line })));
    $('output-size').textContent = s.outputSize;
    $('output-size').classList.toggle('error', !s.ok);
    $('layer-madds').textContent = s.layerMadds;
  }

  function renderStage(t, player, brush) {
    const inBox = box($('input-canvas').parentElement, Math.max(260, window.innerHeight - 330));
    inputGeom = drawInput($('input-canvas'), t.img, t.desc, t.cell, inBox, brush);
    $('input-caption').textContent = t.inputCaption;
    $('input-note').textContent = t.inputNote;
    player.update(t.count, t.step, t.readout);

    const mapsEl = $('maps');
    const perRow = t.maps.length > 1 ? 2 : 1;
    const mapW = Math.floor((widthOf(mapsEl) - (perRow - 1) * 12) / perRow);
    drawMaps(mapsEl, t.maps, t.scales, t.oh, t.ow, t.names, t.filter, t.pos, { width: mapW, height: Math.min(mapW, 260) });
    $('maps-caption').textContent = t.mapsCaption;
    $('maps-empty').hidden = t.hasOutput;
    $('colorbar').hidden = !t.hasOutput;
    $('maps-empty').textContent = t.emptyText;
    $('cb-map').textContent = String(t.filter + 1);
    $('cb-min').textContent = fmt(-t.scale);
    $('cb-max').textContent = fmt(t.scale);
    renderFilterPanel(t);
  }

  // The filter panel: tabs, preset, bias, editable weights and this step's products.
  function renderFilterPanel(t) {
    const tabs = $('filter-tabs');
    // A roving tab stop: Tab reaches the selected filter, the arrow keys (and Home, End) move
    // between filters, as in any tab list.
    tabs.replaceChildren(
      ...t.names.map((name, i) => {
        const b = document.createElement('button');
        b.type = 'button';
        b.setAttribute('role', 'tab');
        b.setAttribute('aria-selected', String(i === t.filter));
        b.setAttribute('aria-label', `Filter ${i + 1}`);
        b.tabIndex = i === t.filter ? 0 : -1;
        b.title = name;
        b.textContent = String(i + 1);
        b.addEventListener('click', () => actions.selectFilter(i));
        return b;
      }),
    );
    tabs.onkeydown = (e) => {
      const last = t.names.length - 1;
      const next = { ArrowRight: t.filter + 1, ArrowDown: t.filter + 1, ArrowLeft: t.filter - 1, ArrowUp: t.filter - 1, Home: 0, End: last }[e.key];
      if (next === undefined) return;
      e.preventDefault();
      actions.selectFilter(Math.max(0, Math.min(last, next)));
      tabs.querySelector('[aria-selected="true"]')?.focus(); // the tabs were drawn anew
    };
    const add = $('filter-add');
    add.disabled = !t.canAdd;
    add.onclick = actions.addFilter;

    const sel = $('filter-recipe');
    if (t.recipesFor !== recipeOptionsFor) {
      // Rebuilt only when they change, so that an open list survives playback.
      recipeOptionsFor = t.recipesFor;
      sel.replaceChildren(
        ...t.recipes.map((r) => Object.assign(document.createElement('option'), { value: r.id, textContent: r.label, disabled: t.kernel < r.minSize })),
        Object.assign(document.createElement('option'), { value: 'custom', textContent: 'Custom (edited)', disabled: true }),
      );
    }
    sel.value = t.recipe;
    if (document.activeElement !== $('filter-bias')) $('filter-bias').value = String(t.bias);
    $('filter-remove').disabled = !t.canRemove;

    const chTabs = $('channel-tabs');
    chTabs.hidden = t.channels === 1;
    chTabs.replaceChildren(
      ...t.channelNames.map((name, i) => {
        const label = document.createElement('label');
        const r = Object.assign(document.createElement('input'), { type: 'radio', name: 'channel', value: String(i), checked: i === t.channel });
        r.addEventListener('change', () => actions.selectChannel(i));
        label.append(r, ` ${name}`);
        return label;
      }),
    );
    drawKernelEditor($('kernel-grid'), t.weights, t.kernel, t.channels, t.channel, actions.editWeight);

    $('cell-title').textContent = t.cellTitle;
    drawProducts($('products-grid'), t.cell, t.kernel, t.channel);
    $('madd').textContent = t.madd.products;
    $('madd-total').textContent = t.madd.total;
  }

  function renderPool(p, player) {
    setMessage('msg-pool', p.error ? [{ level: 'error', message: p.error }] : []);
    if (!p.ok) {
      player.update(0, 0, 'no output');
      for (const id of ['pool-in-canvas', 'pool-out-canvas']) {
        const cv = $(id);
        cv.width = cv.height = 0;
        cv.style.width = cv.style.height = '0px';
      }
      drawPoolWindow($('pool-window-grid'), null, 1);
      $('pool-madd').textContent = '';
      $('pool-in-caption').textContent = '';
      $('pool-out-caption').textContent = '';
      return;
    }
    drawPoolInput($('pool-in-canvas'), p.map, p.h, p.w, p.pads, p.scale, p.cell, box($('pool-in-canvas').parentElement, 320));
    drawPoolOutput($('pool-out-canvas'), p.out, p.oh, p.ow, p.scale, p.cell, box($('pool-out-canvas').parentElement, 320));
    $('pool-in-caption').textContent = p.inCaption;
    $('pool-out-caption').textContent = p.outCaption;
    $('pool-cell-title').textContent = p.cellTitle;
    $('pool-madd').textContent = drawPoolWindow($('pool-window-grid'), p.cell, p.scale);
    player.update(p.count, p.step, p.readout);
  }

  function renderCalc(q) {
    if (q.error) {
      $('calc-result').replaceChildren(Object.assign(document.createElement('span'), { className: 'error', textContent: q.error }));
      return;
    }
    // Numbers only (from the state and the core), so the markup is safe.
    $('calc-result').innerHTML = `${q.input} → <strong aria-label="Pooled shape">${q.output}</strong>`;
  }

  return {
    // frame: {setup, stage, pool, calc, canUndo, brush}; players: {conv, pool} (animation.js).
    render(frame, players) {
      $('paint-undo').disabled = !frame.canUndo;
      renderSetup(frame.setup);
      renderStage(frame.stage, players.conv, frame.brush);
      renderPool(frame.pool, players.pool);
      renderCalc(frame.calc);
    },
    renderCalc,
    inputGeom: () => inputGeom,
  };
}
