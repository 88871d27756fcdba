// The live loss and accuracy curves (uPlot). x is in epochs: the training series gets a point
// after every progress report (the running mean of the epoch so far, as Keras's progress bar),
// the validation series one point per finished epoch. The epoch whose weights were kept by
// early stopping is marked with a vertical line.
//
// uPlot is loaded and the charts are made after the page is interactive (when the browser is
// idle, or at the first point to draw): its start-up (the first Intl formatter) and two charts
// took about 50 ms of the main thread while the page opened.

const TRAIN = '#0e6d6a';
const VAL = '#c2410c';
const MARK = '#7c3aed';
const REDRAW_MS = 400;

function markerPlugin(getMark) {
  return {
    hooks: {
      draw(u) {
        const mark = getMark();
        if (mark == null) return;
        const x = Math.round(u.valToPos(mark.epoch, 'x', true));
        const { ctx } = u;
        const { top, height } = u.bbox;
        ctx.save();
        ctx.strokeStyle = MARK;
        ctx.lineWidth = 2 * devicePixelRatio;
        ctx.setLineDash([6 * devicePixelRatio, 4 * devicePixelRatio]);
        ctx.beginPath();
        ctx.moveTo(x, top);
        ctx.lineTo(x, top + height);
        ctx.stroke();
        ctx.setLineDash([]);
        ctx.fillStyle = MARK;
        ctx.font = `${12 * devicePixelRatio}px system-ui, sans-serif`;
        const text = mark.label;
        const w = ctx.measureText(text).width;
        const tx = x + 6 * devicePixelRatio + w > u.bbox.left + u.bbox.width ? x - 6 * devicePixelRatio - w : x + 6 * devicePixelRatio;
        ctx.fillText(text, tx, top + 14 * devicePixelRatio);
        ctx.restore();
      },
    },
  };
}

function makeChart(uPlot, el, yLabel, percent, getMark) {
  const fmtY = percent ? (v) => (v == null ? '—' : `${(v * 100).toFixed(1)}%`) : (v) => (v == null ? '—' : v.toFixed(3));
  const opts = {
    width: Math.max(200, el.clientWidth),
    height: 210,
    plugins: [markerPlugin(getMark)],
    cursor: { drag: { x: false, y: false } },
    legend: { show: true },
    scales: { x: { time: false }, y: percent ? { range: [0, 1] } : { range: (u, min, max) => [0, Math.max(0.1, max * 1.05)] } },
    axes: [
      { label: 'epoch', size: 36, labelSize: 18, font: '12px system-ui, sans-serif', labelFont: '12px system-ui, sans-serif' },
      { size: 52, font: '12px system-ui, sans-serif', values: (u, vals) => vals.map((v) => (percent ? `${Math.round(v * 100)}%` : v.toFixed(2))) },
    ],
    series: [
      { label: 'epoch', value: (u, v) => (v == null ? '—' : v.toFixed(2)) },
      { label: `train ${yLabel}`, stroke: TRAIN, width: 2, spanGaps: true, value: (u, v) => fmtY(v), points: { show: false } },
      { label: `val ${yLabel}`, stroke: VAL, width: 2, spanGaps: true, value: (u, v) => fmtY(v), points: { show: true, size: 6, fill: VAL } },
    ],
  };
  return new uPlot(opts, [[], [], []], el);
}

// uPlot makes a number formatter for navigator.language when it is imported. WebKitGTK started
// with LANG=C reports the language "C", which Intl refuses (RangeError): the import failed and
// the curves stayed empty. A tag Intl refuses is replaced by one it accepts before the import.
const acceptedByIntl = (tag) => {
  try {
    new Intl.NumberFormat(tag);
    return true;
  } catch {
    return false;
  }
};
function ensureValidLanguage() {
  if (acceptedByIntl(navigator.language)) return;
  const valid = (navigator.languages ?? []).find(acceptedByIntl);
  Object.defineProperty(navigator, 'language', { value: valid ?? 'en-US', configurable: true });
}

// Said in place of the curves when they cannot be drawn; training itself goes on.
function showChartFailure(lossEl, accEl, err) {
  for (const el of [lossEl, accEl]) {
    const note = document.createElement('p');
    note.className = 'chart-failure';
    note.setAttribute('role', 'alert');
    note.textContent = `The curves could not be drawn (${err && err.message ? err.message : err}). Training is not affected: the status line and the results still report it.`;
    el.replaceChildren(note);
  }
}

export function createCurves(lossEl, accEl) {
  let mark = null;
  const getMark = () => mark;
  let charts = null; // {loss, acc} once made
  let making = null;
  // uPlot's start-up and each chart in a task of its own (20-30 ms each on a slow machine):
  // they may run while a first epoch trains, when the page must stay responsive.
  const nextTask = () => new Promise((resolve) => setTimeout(resolve, 0));
  const make = () =>
    (making ??= (async () => {
      try {
        ensureValidLanguage();
        const { default: uPlot } = await import('uplot');
        await nextTask();
        const loss = makeChart(uPlot, lossEl, 'loss', false, getMark);
        await nextTask();
        charts = { loss, acc: makeChart(uPlot, accEl, 'accuracy', true, getMark) };
      } catch (err) {
        showChartFailure(lossEl, accEl, err);
        return; // `making` stays settled: no retry on every redraw
      }
      new ResizeObserver(resize).observe(lossEl);
      redraw();
    })());
  (window.requestIdleCallback ?? setTimeout)(() => make());
  let x = [];
  let rows = { trainLoss: [], valLoss: [], trainAcc: [], valAcc: [] };
  let dirty = false;

  function push(xv, tl, vl, ta, va) {
    x.push(xv);
    rows.trainLoss.push(tl);
    rows.valLoss.push(vl);
    rows.trainAcc.push(ta);
    rows.valAcc.push(va);
    dirty = true;
  }

  // Redraws at most every REDRAW_MS, one chart per animation frame: each redraw stays a short
  // task on the main thread (the tests allow none over 100 ms while training, even on a busy
  // machine), and a few redraws a second are plenty for curves that grow per batch.
  function redraw() {
    if (!dirty) return;
    if (!charts) {
      make();
      return; // drawn once made
    }
    dirty = false;
    const { loss, acc } = charts;
    loss.setData([x, rows.trainLoss, rows.valLoss]);
    requestAnimationFrame(() => {
      acc.setData([x, rows.trainAcc, rows.valAcc]);
      // How many points are drawn, for tests and for anyone inspecting the page.
      lossEl.dataset.points = accEl.dataset.points = String(x.length);
    });
  }
  let timer = 0;
  let last = 0;
  const schedule = () => {
    if (timer) return;
    const wait = Math.max(0, last + REDRAW_MS - performance.now());
    timer = setTimeout(() => requestAnimationFrame(() => ((timer = 0), (last = performance.now()), redraw())), wait);
  };

  function resize() {
    for (const [chart, el] of [[charts.loss, lossEl], [charts.acc, accEl]]) chart.setSize({ width: Math.max(200, el.clientWidth), height: 210 });
  }

  return {
    reset() {
      x = [];
      rows = { trainLoss: [], valLoss: [], trainAcc: [], valAcc: [] };
      mark = null;
      dirty = true;
      schedule();
    },
    // A batch report: the running means of the current epoch.
    batch(b) {
      const xv = b.epoch - 1 + b.batch / b.batches;
      if (b.batch === b.batches) return; // the epoch's own point comes with its log
      push(xv, b.loss, null, b.accuracy, null);
      schedule();
    },
    epoch(log) {
      push(log.epoch, log.loss, log.val_loss ?? null, log.accuracy, log.val_accuracy ?? null);
      schedule();
    },
    // The per-epoch points of an earlier run (a kept or loaded model's history): the batch
    // points in between are not kept, so the training curve joins the epochs' means.
    restore({ epochs, mark: kept }) {
      x = [];
      rows = { trainLoss: [], valLoss: [], trainAcc: [], valAcc: [] };
      for (const log of epochs) push(log.epoch, log.loss, log.val_loss ?? null, log.accuracy, log.val_accuracy ?? null);
      mark = kept ?? null;
      dirty = true;
      schedule();
    },
    markEpoch(epoch, label) {
      mark = { epoch, label };
      charts?.loss.redraw(false, false); // else drawn with the mark once made
      charts?.acc.redraw(false, false);
    },
    points: () => x.length,
  };
}
