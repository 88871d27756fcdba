// The explorer's backward mode: the convolution and the pooling of the explorer run backwards,
// cell by cell, on the real backward kernels (the core's ConvBackLab and PoolBackLab); the
// other layers written out; the gradient check and the slow-motion step (check.js). The
// forward explorer keeps its state; this view reads its runs (explorer.js `conv`, `pool`).

import { createPlayer } from '../explorer/animation.js';
import { CHANNEL_NAMES, stepAfterKey, stepAt, stepAtPoint } from '../explorer/data.js';
import { setMessage } from '../explorer/view.js';
import { sig, sigFactor } from '../format.js';
import { watchWidths } from '../widths.js';
import { absMax, drawCellGrid, drawFigures, drawGradientGrid, drawMap, drawNumberGrid } from './draw.js';

const $ = (id) => document.getElementById(id);
const DROPOUT_RATE = 0.1; // the chapter's

// The largest difference between two arrays, for the "equals the kernel" lines.
const maxDiff = (a, b) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

export function startBackward(core, store, explorer) {
  // Hidden panels read 0 wide until backward mode shows them: then 300 until measured.
  const watched = ['bw-input-canvas', 'bw-pool-canvas', 'bw-pool-up-canvas'].map((id) => $(id).parentElement).concat([$('bw-upstream'), $('bw-flip-figures')]);
  const measured = watchWidths(watched, () => store.get().pass === 'backward' && render(store.get()));
  const widthOf = (el) => measured(el) || 300;
  const box = (el, maxH) => ({ width: widthOf(el), height: Math.min(maxH, widthOf(el)) });

  // The target the student paints, (OH, OW, F), for the current output's shape.
  let target = null;
  let targetShape = '';
  let targetVersion = 0;
  let paintingTarget = false;

  // ---- the core's backward runs, memoized on what they depend on ----
  let back = null;
  function backOf(st, conv) {
    const from = st.bwFrom;
    const inputs = [conv.lab, from, st.bwSeed, from === 'target' ? targetVersion : 0];
    if (back && back.inputs.every((v, i) => v === inputs[i])) return back;
    if (back && back.lab) back.lab.free();
    back = { inputs, lab: null, error: null };
    if (!conv.lab) return back;
    try {
      back.lab = conv.lab.backward(from, st.bwSeed, from === 'target' ? ensureTarget(conv) : new Float32Array(0));
      back.reach = back.lab.reach();
    } catch (e) {
      back.error = e.message;
      back.lab = null;
    }
    return back;
  }
  let poolBack = null;
  function poolBackOf(st, pool) {
    const inputs = [pool.lab, st.bwSeed];
    if (poolBack && poolBack.inputs.every((v, i) => v === inputs[i])) return poolBack;
    if (poolBack && poolBack.lab) poolBack.lab.free();
    poolBack = { inputs, lab: null, error: null };
    if (!pool.lab) return poolBack;
    try {
      poolBack.lab = pool.lab.backward('random', st.bwSeed, new Float32Array(0));
      poolBack.upstream = poolBack.lab.upstream();
      poolBack.dx = poolBack.lab.inputGradient();
    } catch (e) {
      poolBack.error = e.message;
      poolBack.lab = null;
    }
    return poolBack;
  }

  function ensureTarget(conv) {
    const shape = `${conv.lab.outHeight}x${conv.lab.outWidth}x${conv.lab.filters}`;
    if (shape !== targetShape) {
      targetShape = shape;
      target = new Float32Array(conv.lab.outHeight * conv.lab.outWidth * conv.lab.filters);
    }
    return target;
  }

  // ---- controls ----
  const set = (patch) => store.set(patch);
  const players = {
    conv: createPlayer($('bw-player'), { label: 'Backward step', getIndex: () => store.get().bwStep, setIndex: (i) => set({ bwStep: i }) }),
    pool: createPlayer($('bw-pool-player'), { label: 'Pooling backward step', getIndex: () => store.get().bwPoolStep, setIndex: (i) => set({ bwPoolStep: i }) }),
  };

  function paintTarget(e, canvas) {
    const conv = explorer.conv();
    if (!conv.lab) return;
    const st = store.get();
    const [oh, ow, f] = [conv.lab.outHeight, conv.lab.outWidth, conv.lab.filters];
    const rect = canvas.getBoundingClientRect();
    const x = Math.floor(((e.clientX - rect.left) / rect.width) * ow);
    const y = Math.floor(((e.clientY - rect.top) / rect.height) * oh);
    if (x < 0 || y < 0 || x >= ow || y >= oh) return;
    const value = Number($('bw-target-value').value);
    const t = ensureTarget(conv);
    const at = (y * ow + x) * f + Math.min(st.filter, f - 1);
    if (!Number.isFinite(value) || t[at] === value) return;
    t[at] = value;
    targetVersion++;
    render(store.get());
  }
  $('bw-upstream').addEventListener('pointerdown', (e) => {
    const canvas = e.target.closest('canvas');
    if (!canvas) return;
    const conv = explorer.conv();
    if (!conv.lab) return;
    if (paintingTarget && canvas.closest('figure').dataset.key === 'target') {
      canvas.setPointerCapture(e.pointerId);
      canvas.dataset.painting = '1';
      paintTarget(e, canvas);
      return;
    }
    const rect = canvas.getBoundingClientRect();
    set({ bwStep: stepAtPoint(e.clientX - rect.left, e.clientY - rect.top, rect.width, conv.lab.outHeight, conv.lab.outWidth) });
  });
  $('bw-upstream').addEventListener('pointermove', (e) => {
    const canvas = e.target.closest('canvas');
    if (canvas && canvas.dataset.painting === '1') paintTarget(e, canvas);
  });
  const endPaint = (e) => {
    const canvas = e.target.closest && e.target.closest('canvas');
    if (canvas) delete canvas.dataset.painting;
  };
  $('bw-upstream').addEventListener('pointerup', endPaint);
  $('bw-upstream').addEventListener('pointercancel', endPaint);
  // By keyboard: the arrow keys move the current cell on a map; on the target map while
  // painting, Space or Enter paints the current cell.
  $('bw-upstream').addEventListener('keydown', (e) => {
    const canvas = e.target.closest('canvas');
    const conv = explorer.conv();
    if (!canvas || !conv.lab) return;
    const st = store.get();
    const [oh, ow] = [conv.lab.outHeight, conv.lab.outWidth];
    if ((e.key === ' ' || e.key === 'Enter') && paintingTarget && canvas.closest('figure').dataset.key === 'target') {
      e.preventDefault();
      const { pos } = stepAt(st.bwStep, oh, ow);
      const t = ensureTarget(conv);
      const f = conv.lab.filters;
      t[(pos.oy * ow + pos.ox) * f + Math.min(st.filter, f - 1)] = Number($('bw-target-value').value) || 0;
      targetVersion++;
      render(store.get());
      return;
    }
    const step = stepAfterKey(st.bwStep, e.key, oh, ow);
    if (step === null) return;
    e.preventDefault();
    set({ bwStep: step });
  });
  $('bw-target-paint').addEventListener('click', () => {
    paintingTarget = !paintingTarget;
    $('bw-target-paint').setAttribute('aria-pressed', String(paintingTarget));
    render(store.get());
  });
  $('bw-target-copy').addEventListener('click', () => {
    const conv = explorer.conv();
    if (!conv.lab) return;
    const t = ensureTarget(conv);
    const f = conv.lab.filters;
    conv.maps.forEach((m, k) => m.forEach((v, i) => (t[i * f + k] = v)));
    targetVersion++;
    render(store.get());
  });
  $('bw-target-clear').addEventListener('click', () => {
    const conv = explorer.conv();
    if (!conv.lab) return;
    ensureTarget(conv).fill(0);
    targetVersion++;
    render(store.get());
  });
  $('bw-channel-tabs').addEventListener('change', (e) => set({ channel: Number(e.target.value) }));

  // ---- drawing ----
  function showMode(backward) {
    for (const el of document.querySelectorAll('.conv-grid > .fw, .pool-grid > .fw')) el.hidden = backward;
    for (const el of document.querySelectorAll('.conv-grid > .bw, .pool-grid > .bw')) el.hidden = !backward;
    $('bw-more').hidden = !backward;
  }

  function renderConv(st) {
    const conv = explorer.conv();
    const b = backOf(st, conv);
    const channels = conv.img.channels;
    const ch = Math.min(st.channel, channels - 1);
    $('bw-target-tools').hidden = st.bwFrom !== 'target';
    if (!b.lab) {
      players.conv.update(0, 0, 'no output');
      setMessage('bw-reach', [{ level: 'error', message: b.error || 'No output with these settings, so nothing flows back: see the message next to the slider.' }]);
      for (const id of ['bw-dw-grid', 'bw-products', 'bw-upstream', 'bw-flip-figures', 'bw-channel-tabs']) $(id).replaceChildren();
      for (const id of ['bw-gradient', 'bw-dw-text', 'bw-dx-text', 'bw-bias', 'bw-check', 'bw-loss', 'bw-flip-check', 'bw-bn', 'bw-dropout', 'bw-dense']) $(id).textContent = '';
      const cv = $('bw-input-canvas');
      cv.width = cv.height = 0;
      cv.style.width = cv.style.height = '0px';
      return null;
    }
    const lab = b.lab;
    const [oh, ow, filters] = [conv.lab.outHeight, conv.lab.outWidth, conv.lab.filters];
    const f = Math.min(st.filter, filters - 1);
    const { count, step, pos } = stepAt(st.bwStep, oh, ow);
    const cell = lab.cell(pos.oy, pos.ox, f);
    const totals = lab.totals(f);
    const k = st.kernel;
    const d = conv.desc;
    setMessage('bw-reach', b.reach.message ? [{ level: 'note', message: b.reach.message }] : []);
    players.conv.update(count, step, `map ${f + 1}, row ${pos.oy + 1}, column ${pos.ox + 1} · ${step + 1} of ${count}`);

    // The input's gradient so far, on the padded grid.
    const scale = absMax(totals.dx);
    const inBox = box($('bw-input-canvas').parentElement, Math.max(260, window.innerHeight - 360));
    drawGradientGrid($('bw-input-canvas'), cell.dx, conv.img, ch, { pt: d.padTop, pb: d.padBottom, pl: d.padLeft, pr: d.padRight }, cell, b.reach.reached, scale, inBox);
    $('bw-input-caption').textContent = `${conv.img.height}×${conv.img.width}${channels > 1 ? `×${channels}, channel ${CHANNEL_NAMES(channels)[ch]}` : ''} · from map ${f + 1}`;
    $('bw-dx-min').textContent = sig(-scale, 2);
    $('bw-dx-max').textContent = sig(scale, 2);

    // dW so far, of the channel shown.
    $('bw-channel-tabs').hidden = channels === 1;
    $('bw-channel-tabs').replaceChildren(...CHANNEL_NAMES(channels).map((name, i) => {
      const label = document.createElement('label');
      const r = Object.assign(document.createElement('input'), { type: 'radio', name: 'bw-channel', value: String(i), checked: i === ch });
      label.append(r, ` ${name}`);
      return label;
    }));
    const dwChannel = Array.from({ length: k * k }, (_, i) => cell.dw[i * channels + ch]);
    drawNumberGrid($('bw-dw-grid'), dwChannel, k, `dW of filter ${f + 1} so far${channels > 1 ? `, channel ${CHANNEL_NAMES(channels)[ch]}` : ''}`);
    $('bw-kernel-caption').textContent = `filter ${f + 1}, after ${step + 1} of ${count} cells`;
    $('bw-bias').textContent = `d bias so far = sum of the gradients = ${sig(cell.runningBias)}`;
    $('bw-cell-title').textContent = `This step: map ${f + 1}, row ${pos.oy + 1}, column ${pos.ox + 1}`;
    const g = cell.gradient;
    let gradientText = `dL/dout here = ${sig(cell.upstream)}`;
    if (st.relu) {
      gradientText += cell.masked
        ? `; the forward value was ${sig(cell.value)} ≤ 0, so the ReLU cut it: nothing flows back (gradient 0)`
        : `; the forward value was ${sig(cell.value)} > 0, so the ReLU lets it through`;
    }
    $('bw-gradient').textContent = gradientText;
    const taps = cell.taps.filter((t) => t.c === ch);
    drawCellGrid($('bw-products'), taps.map((t) => ({
      top: `${sigFactor(g)}×\u200b${sigFactor(t.x)}`,
      main: sig(t.dw, 2),
      value: t.dw,
      pad: t.padding,
      title: `gradient ${sig(g)} × input ${sig(t.x)}${t.padding ? ' (padding)' : ''} = ${sig(t.dw)}, added to dW`,
    })), k);
    $('bw-dw-text').textContent = `dW += ${sig(g)} × receptive field: ${taps.map((t) => `${sigFactor(g)}×${sigFactor(t.x)}`).join(' + ')}`;
    const dxParts = taps.map((t) => (t.padding ? `(padding: dropped)` : `x[${t.row - d.padTop + 1},${t.col - d.padLeft + 1}] += ${sigFactor(g)}×${sigFactor(t.w)} = ${sig(t.dx)}`));
    $('bw-dx-text').textContent = `dX += ${sig(g)} × W: ${dxParts.join('; ')}`;

    // After the last cell: the running sums against the kernels' results.
    if (step === count - 1) {
      const dxAll = new Float32Array(totals.dx.length);
      for (let j = 0; j < filters; j++) lab.cell(oh - 1, ow - 1, j).dx.forEach((v, i) => (dxAll[i] += v));
      const diff = Math.max(maxDiff(cell.dw, totals.dw), Math.abs(cell.runningBias - totals.dbias[f]), maxDiff(dxAll, totals.dx));
      $('bw-check').textContent = `All ${count} cells added up: dW, d bias and (with every filter's share) dX equal the training kernels' results; largest difference ${sig(diff, 2)}.`;
    } else {
      $('bw-check').textContent = `Step to the last cell to see the sums equal the training kernels' results.`;
    }

    // The upstream gradient, and the target it came from.
    const maps = lab.maps(f);
    const figs = [];
    if (st.bwFrom === 'target') {
      const t = ensureTarget(conv);
      const tf = Float32Array.from({ length: oh * ow }, (_, i) => t[i * filters + f]);
      figs.push({ key: 'target', label: `target of map ${f + 1}${paintingTarget ? ' (painting)' : ''}`, values: tf, rows: oh, cols: ow, scale: absMax(tf), pos, ariaLabel: `Target of map ${f + 1}; ${paintingTarget ? 'drag to paint, or move with the arrow keys and press Space' : 'press Paint the target to change it'}` });
      figs.push({ key: 'map', label: `map ${f + 1} (forward)`, values: conv.maps[f], rows: oh, cols: ow, scale: conv.scales[f], pos });
    }
    figs.push({ key: 'upstream', label: `dL/dout of map ${f + 1}`, values: maps.upstream, rows: oh, cols: ow, scale: absMax(maps.upstream), pos, ariaLabel: `Upstream gradient of map ${f + 1}; the arrow keys move the current cell` });
    if (st.relu) figs.push({ key: 'masked', label: 'after the ReLU mask', values: maps.gradient, rows: oh, cols: ow, scale: absMax(maps.upstream), pos });
    const perRow = figs.length > 1 ? 2 : 1;
    const upBox = { width: Math.floor((widthOf($('bw-upstream')) - (perRow - 1) * 12) / perRow), height: perRow === 1 ? 300 : 200 };
    for (const fig of drawFigures($('bw-upstream'), figs, upBox)) fig.querySelector('canvas').tabIndex = 0;
    $('bw-maps-caption').textContent = `${oh}×${ow}×${filters}`;
    $('bw-target-map').textContent = String(f + 1);
    $('bw-loss').textContent = st.bwFrom === 'target'
      ? `L = mean((map − target)²) over ${oh * ow * filters} values = ${sig(lab.loss)}; dL/dout = 2 (map − target) / ${oh * ow * filters}`
      : `Seeded values in tenths (seed ${st.bwSeed}): no loss, just a gradient to follow.`;

    // dX as a forward convolution.
    if ($('bw-flip').open) {
      const v = lab.flippedView();
      const spread = Float32Array.from({ length: v.height * v.width }, (_, i) => v.map[i * filters + f]);
      const flipped = Float32Array.from({ length: k * k }, (_, i) => v.kernel[(i * filters + f) * channels + ch]);
      const dxc = Float32Array.from({ length: conv.img.height * conv.img.width }, (_, i) => v.dx[i * channels + ch]);
      const fb = { width: Math.floor((widthOf($('bw-flip-figures')) - 12) / 2), height: 180 };
      drawFigures($('bw-flip-figures'), [
        { key: 'spread', label: `dL/dout of map ${f + 1}, spread and padded (${v.height}×${v.width})`, values: spread, rows: v.height, cols: v.width, scale: absMax(spread), pos: null },
        { key: 'flipped', label: 'its kernel turned 180°', values: flipped, rows: k, cols: k, scale: absMax(flipped), pos: null },
        { key: 'dx', label: 'their convolution, over all filters: dX', values: dxc, rows: conv.img.height, cols: conv.img.width, scale: absMax(dxc), pos: null },
      ], fb);
      $('bw-flip-check').textContent = `Largest difference from the backward kernel's dX: ${sig(maxDiff(v.dx, totals.dx), 2)}.`;
    }
    return { conv, pos, f };
  }

  function renderLayers(conv, pos, f) {
    // The maps as (rows, F) values: what batch norm and dropout would see.
    const [oh, ow, filters] = [conv.lab.outHeight, conv.lab.outWidth, conv.lab.filters];
    const values = new Float32Array(oh * ow * filters);
    conv.maps.forEach((m, k) => m.forEach((v, i) => (values[i * filters + k] = v)));
    let r;
    try {
      r = core.layerBackward(values, filters, pos.oy * ow + pos.ox, f, DROPOUT_RATE, store.get().bwSeed);
    } catch (e) {
      $('bw-bn').textContent = e.message;
      return;
    }
    const t = r.batchNorm;
    $('bw-bn').textContent = `x = ${sig(t.x)}, x̂ = (x − mean ${sig(t.mean)}) / √(var ${sig(t.variance)} + ε) = ${sig(t.xhat)}; dy = ${sig(t.dy)}, γ = ${sig(t.gamma)}. `
      + `dx = direct γ·dy/σ = ${sig(t.direct)} + through the mean −(γ/σ)·mean(dy) = ${sig(t.viaMean)} + through the variance −(γ/σ)·x̂·mean(dy·x̂) = ${sig(t.viaVariance)} `
      + `= ${sig(t.sum)} (the kernel: ${sig(t.kernel)}). Over the ${t.rows} values of map ${f + 1}: dγ = Σ dy·x̂ = ${sig(t.dGamma)}, dβ = Σ dy = ${sig(t.dBeta)}.`;
    const i = (pos.oy * ow + pos.ox) * filters + f;
    const m = r.dropout.mask[i];
    $('bw-dropout').textContent = `rate ${DROPOUT_RATE}: this value was ${m === 0 ? 'dropped (mask 0)' : `kept (mask 1/(1 − ${DROPOUT_RATE}) = ${sig(m)})`}, so dx = dy × mask = ${sigFactor(r.dropout.upstream[i])} × ${sig(m)} = ${sig(r.dropout.dx[i])}. `
      + `${r.dropout.mask.filter((v) => v === 0).length} of ${r.dropout.mask.length} values get no gradient.`;
    const o = r.outer;
    $('bw-dense').textContent = `This cell's ${filters} map values as the inputs x of a ${r.units}-unit dense layer: dW = xᵀ·dy, one product per weight. `
      + `dW[${o.input + 1}][${o.unit + 1}] = x[${o.input + 1}] × dy[${o.unit + 1}] = ${sigFactor(o.x[0])} × ${sigFactor(o.dy[0])} = ${sig(o.sum)} (the kernel: ${sig(o.kernel)}); `
      + `dx = dy·Wᵀ: dx[${o.input + 1}] = ${sig(r.dense.dx[o.input])}; d bias = dy.`;
  }

  function renderPool(st) {
    const pool = explorer.pool();
    const p = poolBackOf(st, pool);
    if (!p.lab) {
      players.pool.update(0, 0, 'no output');
      $('bw-pool-text').textContent = p.error || pool.error || '';
      $('bw-pool-window').replaceChildren();
      return;
    }
    const [oh, ow] = [pool.lab.outHeight, pool.lab.outWidth];
    const { count, step, pos } = stepAt(st.bwPoolStep, oh, ow);
    const cell = p.lab.cell(pos.oy, pos.ox);
    players.pool.update(count, step, `row ${pos.oy + 1}, column ${pos.ox + 1} · ${step + 1} of ${count}`);
    const img = { height: pool.h, width: pool.w, channels: 1 };
    drawGradientGrid($('bw-pool-canvas'), cell.dx, img, 0, { pt: pool.pads.top, pb: pool.pads.bottom, pl: pool.pads.left, pr: pool.pads.right },
      { top: cell.top, left: cell.left, span: cell.window, taps: cell.cells.filter((c) => !c.padding) }, null, absMax(p.dx), box($('bw-pool-canvas').parentElement, 320));
    $('bw-pool-caption').textContent = `${pool.h}×${pool.w}, so far`;
    drawMap($('bw-pool-up-canvas'), p.upstream, oh, ow, absMax(p.upstream), pos, box($('bw-pool-up-canvas').parentElement, 320));
    $('bw-pool-cell-title').textContent = `This window: row ${pos.oy + 1}, column ${pos.ox + 1}`;
    drawCellGrid($('bw-pool-window'), cell.cells.map((c, i) => ({
      top: c.padding ? 'padding' : `x ${sig(c.x, 2)}`,
      main: c.padding ? '—' : `+${sig(c.share, 2)}`.replace('+−', '−'),
      value: c.share,
      pad: c.padding,
      ring: i === cell.winner,
      title: cell.ties.includes(i) ? 'ties with the winner, but the kernel takes the first maximum in reading order' : '',
    })), cell.window);
    const where = (i) => `row ${cell.cells[i].row - pool.pads.top + 1}, column ${cell.cells[i].col - pool.pads.left + 1}`;
    let text;
    if (st.poolKind === 'max') {
      text = `The gradient ${sig(cell.upstream)} goes to the window's maximum only (${where(cell.winner)}, value ${sig(cell.cells[cell.winner].x)}); the other cells get 0.`;
      if (cell.ties.length) text += ` Tie: ${cell.ties.map(where).join('; ')} hold${cell.ties.length === 1 ? 's' : ''} the same value but get nothing: the kernel takes the first maximum in reading order.`;
    } else {
      const real = cell.cells.length - cell.cells.filter((c) => c.padding).length;
      text = `The gradient ${sig(cell.upstream)} is shared equally: ${sig(cell.upstream)} / ${cell.divisor} = ${sig(cell.upstream / cell.divisor)} to each of the ${real} real cells${real < cell.cells.length ? ' (the padding counts for nothing, as in the forward average)' : ''}.`;
    }
    $('bw-pool-text').textContent = text;
  }

  function render(st) {
    const backward = st.pass === 'backward';
    showMode(backward);
    if (!backward) {
      players.conv.stop();
      players.pool.stop();
      return;
    }
    const shown = renderConv(st);
    if (shown) renderLayers(shown.conv, shown.pos, shown.f);
    renderPool(st);
  }

  $('bw-flip').addEventListener('toggle', () => render(store.get()));
  store.subscribe((st) => render(st));
  render(store.get());
  return { render };
}
