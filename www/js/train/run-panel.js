// The Training panel: Train, Pause, Resume, Stop, the progress bar with epoch, batch, images
// per second and time left, and the end of a run (early stopping marked on the curves, a
// divergent run explained with its weights and curves kept).

import { augmentationOf } from '../state.js';
import { $, formatSeconds, pct, say } from './dom.js';

// The stop's cause ("the loss became infinite") at its epoch and batch → the page's sentence.
function divergedMessage(stop) {
  const what = stop.cause.replace(' (not a number)', '');
  const [first, ...rest] = what.split(' ');
  const subject = `${first[0].toUpperCase()}${first.slice(1)} ${rest.join(' ')}`;
  return `${subject} at epoch ${stop.epoch}, batch ${stop.batch}; try a smaller learning rate. The weights from before that batch and the curves so far are kept.`;
}

// One epoch's log as the model file keeps it: the curves' numbers, to 5 significant digits
// (a thousand epochs stay a few tens of KB in the file's header).
const round = (v) => (v == null || !Number.isFinite(v) ? null : Number(v.toPrecision(5)));
const historyEntry = (log) => ({ epoch: log.epoch, loss: round(log.loss), accuracy: round(log.accuracy), val_loss: round(log.val_loss), val_accuracy: round(log.val_accuracy) });

export function createRunPanel(ctx) {
  const { worker, store, curves } = ctx;
  const status = $('train-status');
  const message = $('msg-train');
  let run = null; // { settings, started, pausedFor, pausedAt, paused, epochs } while training

  const settings = () => {
    const s = store.get();
    return { epochs: s.epochs, batchSize: s.batchSize, learningRate: s.learningRate, patience: s.patience, seed: s.trainSeed, bnMomentum: s.bnMomentum, augmentation: augmentationOf(s) };
  };

  function onProgress(report) {
    if (!run) return;
    const b = report.batch;
    if (b) {
      curves.batch(b);
      const total = run.settings.epochs * b.batches;
      const done = (b.epoch - 1) * b.batches + b.batch;
      const elapsed = (performance.now() - run.started - run.pausedFor) / 1000;
      const left = (elapsed / done) * (total - done);
      $('train-progress').value = done / total;
      status.textContent = `Epoch ${b.epoch} of ${run.settings.epochs} · batch ${b.batch} of ${b.batches} · ${Math.round(b.images_per_second)} images/s · about ${formatSeconds(left)} left (at most) · loss ${b.loss.toFixed(3)}, accuracy ${pct(b.accuracy)}`;
    }
    for (const log of report.epochs) {
      curves.epoch(log);
      run.epochs.push(log);
      const val = log.val_loss == null ? '' : `; validation loss ${log.val_loss.toFixed(3)}, accuracy ${pct(log.val_accuracy)}`;
      $('curves-note').textContent = `Epoch ${log.epoch}: training loss ${log.loss.toFixed(3)}, accuracy ${pct(log.accuracy)}${val} · ${log.seconds.toFixed(1)} s`;
    }
  }

  async function onFinished(finished) {
    if (!run) return;
    const epochs = run.epochs;
    const settingsOfRun = run.settings;
    run = null;
    const kept = finished.restoredEpoch;
    let mark = null; // the epoch whose weights were kept, marked on the curves
    if (finished.stop.reason === 'diverged') {
      say(message, divergedMessage(finished.stop));
      status.textContent = `Stopped: the run diverged at epoch ${finished.stop.epoch}, batch ${finished.stop.batch}.`;
    } else {
      $('train-progress').value = 1;
      const last = epochs[epochs.length - 1];
      mark = kept ? { epoch: kept, label: finished.stop.reason === 'early_stopped' ? `early stop: kept epoch ${kept}` : `best epoch ${kept} kept` } : null;
      status.textContent = `Done: ${finished.message}${kept ? `; the weights of epoch ${kept} (lowest validation loss) are kept` : ''}.${last ? ` ${epochs.length} epochs, ${Math.round(last.images_per_second)} images/s.` : ''}`;
    }
    if (mark) curves.markEpoch(mark.epoch, mark.label);
    // The curves go with the model's file (its notes), so that a kept or loaded model shows them.
    ctx.setHistory({ epochs: epochs.map(historyEntry), mark });
    document.body.dataset.trained = 'true';
    ctx.modelTrained(settingsOfRun);
    ctx.setButtons();
    await ctx.evaluate();
  }

  function onEvent(m) {
    if (m.event === 'progress') onProgress(m.report);
    else if (m.event === 'finished') onFinished(m.finished);
    else if (m.event === 'failed') {
      run = null;
      say(message, m.message);
      ctx.setButtons();
    }
  }

  $('train-start').addEventListener('click', async () => {
    say(message, '');
    // A click while data loads (the first faces are painted as the page opens) waits for it;
    // Stop cancels the wait.
    const waiting = { waiting: true };
    run = waiting;
    ctx.setButtons();
    if (ctx.isLoading()) status.textContent = 'Waiting for the data to load; training starts when it is there…';
    await ctx.loaded();
    if (run !== waiting) return;
    if (!ctx.data() || !ctx.hasModel()) {
      run = null;
      status.textContent = 'Not trained.';
      say(message, 'There is no data or model to train; load data first.');
      ctx.setButtons();
      return;
    }
    const s = settings();
    ctx.clearResults();
    curves.reset();
    $('train-progress').value = 0;
    status.textContent = 'Starting…';
    run = { settings: s, started: performance.now(), pausedFor: 0, pausedAt: 0, paused: false, epochs: [] };
    ctx.setButtons();
    try {
      await worker.call('train', { settings: s });
    } catch (e) {
      run = null;
      status.textContent = 'Not trained.';
      say(message, e.message);
      ctx.setButtons();
    }
  });
  $('train-pause').addEventListener('click', async () => {
    if (!run) return;
    run.paused = true;
    run.pausedAt = performance.now();
    ctx.setButtons();
    await worker.call('pause');
    if (run) status.textContent = `Paused. ${status.textContent.replace(/^Paused\. /, '')}`;
  });
  $('train-resume').addEventListener('click', async () => {
    if (!run) return;
    run.paused = false;
    run.pausedFor += performance.now() - run.pausedAt;
    ctx.setButtons();
    await worker.call('resume');
  });
  $('train-stop').addEventListener('click', () => {
    if (run && run.waiting) {
      run = null;
      status.textContent = 'Not trained.';
      ctx.setButtons();
      return;
    }
    worker.call('stop');
  });

  return {
    onEvent,
    settings,
    running: () => !!run,
    setButtons(busy, hasData, loading) {
      $('train-start').disabled = !!run || !(loading || (!busy && hasData));
      $('train-pause').disabled = !run || run.paused || !!run.waiting;
      $('train-resume').disabled = !run || !run.paused;
      $('train-stop').disabled = !run;
    },
  };
}
