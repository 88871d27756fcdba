// Results on the test set: accuracy, precision, recall, F1, the class balance of the test set
// beside them, and the confusion matrix, whose cells open the images they count, each with its
// predicted probability.

import { count } from '../format.js';
import { drawGallery } from './images.js';
import { $, pct, say } from './dom.js';

// The score of never looking at the picture: always answering the largest class. On a set
// that is 72% one class, 72% accuracy is what a model that learnt nothing gets; a student
// needs that number beside the accuracy to tell the two apart.
export function baselineText(classNames, counts, accuracy) {
  const total = counts.reduce((a, b) => a + b, 0);
  if (!total) return '';
  const largest = counts.indexOf(Math.max(...counts));
  const share = counts[largest] / total;
  const balance = classNames.map((n, i) => `${count(counts[i])} ${n}`).join(', ');
  let text = `The test set: ${balance}. Always answering “${classNames[largest]}” would score ${pct(share)} (${count(counts[largest])} of ${count(total)})`;
  // Compared at the shown precision, so that the sentence agrees with the numbers on the page.
  const [acc, base] = [Math.round(accuracy * 1000), Math.round(share * 1000)];
  if (acc <= base) text += ': this model does no better than that';
  else text += `; this model scores ${((acc - base) / 10).toFixed(1)} points more`;
  return `${text}.`;
}

export function createResults(ctx) {
  let results = null;

  function clear() {
    results = null;
    for (const id of ['m-accuracy', 'm-precision', 'm-recall', 'm-f1']) $(id).textContent = '—';
    $('baseline').textContent = '';
    const empty = document.createElement('p');
    empty.className = 'placeholder-box';
    empty.textContent = 'The confusion matrix of the test set appears here once the model is trained.';
    $('confusion').replaceChildren(empty);
    $('cell-images').replaceChildren();
    delete document.body.dataset.evaluated;
  }

  async function evaluate() {
    try {
      results = await ctx.worker.call('evaluate');
    } catch (e) {
      say($('msg-train'), e.message);
      return;
    }
    $('m-accuracy').textContent = pct(results.accuracy);
    $('m-precision').textContent = pct(results.precision);
    $('m-recall').textContent = pct(results.recall);
    $('m-f1').textContent = pct(results.f1);
    // The true classes of the evaluated set are the confusion matrix's row sums: the very set
    // the accuracy was computed on (the data info's testCounts say the same of the loaded set).
    const counts = results.confusion.map((row) => row.reduce((a, b) => a + b, 0));
    $('baseline').textContent = baselineText(results.classNames, counts, results.accuracy);
    showConfusion();
    document.body.dataset.evaluated = 'true';
  }

  function showConfusion() {
    const names = results.classNames;
    const grid = $('confusion');
    grid.style.setProperty('--k', names.length);
    const cells = [document.createElement('span')];
    for (const n of names) {
      const h = document.createElement('span');
      h.className = 'head';
      h.textContent = `predicted ${n}`;
      cells.push(h);
    }
    const max = Math.max(1, ...results.confusion.flat());
    results.confusion.forEach((row, t) => {
      const h = document.createElement('span');
      h.className = 'head row';
      h.textContent = `true ${names[t]}`;
      cells.push(h);
      row.forEach((count, p) => {
        const b = document.createElement('button');
        b.type = 'button';
        b.className = `cell ${t === p ? 'right' : 'wrong'}`;
        b.style.setProperty('--a', (count / max).toFixed(3));
        b.textContent = String(count);
        b.setAttribute('aria-label', `true ${names[t]}, predicted ${names[p]}: ${count} images`);
        b.addEventListener('click', () => showCell(t, p, b));
        cells.push(b);
      });
    });
    grid.replaceChildren(...cells);
  }

  async function showCell(t, p, button) {
    for (const b of $('confusion').querySelectorAll('.cell')) b.classList.toggle('selected', b === button);
    const names = results.classNames;
    const all = results.labels.map((y, i) => i).filter((i) => results.labels[i] === t && results.predictions[i] === p);
    const shown = all.slice(0, 40);
    const box = $('cell-images');
    const title = document.createElement('p');
    title.className = 'cell-title';
    title.textContent = `${all.length} test images: true ${names[t]}, predicted ${names[p]}${all.length > shown.length ? ` (first ${shown.length} shown)` : ''}`;
    if (!shown.length) {
      box.replaceChildren(title);
      return;
    }
    const { rgba } = await ctx.worker.call('images', { split: 'test', indices: shown });
    const gallery = document.createElement('div');
    gallery.className = 'gallery small';
    const data = ctx.data();
    drawGallery(gallery, rgba, data.height, data.width, shown.map((i) => `#${i} · ${Math.round(results.confidence[i] * 100)}% ${names[p]}`));
    box.replaceChildren(title, gallery);
  }

  return { clear, evaluate, accuracy: () => results && results.accuracy };
}
