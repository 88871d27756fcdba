// Look inside › "Compare the methods": the nine explanation methods of the core's scoreboard on
// the picture the view shows, drawn side by side (each computed in the worker, one after
// another, with progress), and the faithfulness scoreboard on the test set, advanced a few
// (method, image) pairs per worker call with a progress bar and Cancel. Settings the core
// refuses (zero path steps, a patch larger than the picture) are explained and nothing drawn
// before is lost.

import { $, say } from '../train/dom.js';
import { drawOverlay, drawSignedOverlay } from './maps.js';

const fmt = (v, digits = 3) => (v === null || v === undefined ? '—' : v.toFixed(digits));

export function createCompare({ worker, which, picture, onEvent }) {
  const message = $('msg-compare');
  const scoreMessage = $('msg-score');
  let methods = null; // [{id, name}] from the core
  let comparing = false;
  let scoring = false;

  const settings = () => ({
    igSteps: Number($('compare-ig-steps').value),
    igBaseline: $('compare-ig-baseline').value,
    occlusionPatch: Number($('compare-patch').value),
    occlusionStride: Number($('compare-stride').value),
    // The Grad-CAM layer picker's choice (empty before the first model: the core's default).
    camLayer: $('inside-cam-layer').value === '' ? null : Number($('inside-cam-layer').value),
  });

  async function compare() {
    if (comparing) return;
    comparing = true;
    $('compare-run').disabled = true;
    say(message, '');
    const bar = $('compare-progress');
    try {
      methods ??= await worker.call('explanationMethods', {});
      const pic = await picture();
      const cls = Number($('inside-class').value);
      const s = settings();
      bar.hidden = false;
      bar.max = methods.length;
      bar.value = 0;
      const figures = [];
      for (const [k, m] of methods.entries()) {
        const r = await worker.call('insideMethodMap', { which: which(), split: pic.split, index: pic.index, rgba: pic.rgba, cls, method: m.id, settings: s });
        const fig = document.createElement('figure');
        const canvas = document.createElement('canvas');
        const what = `${r.name} for “${cls ? 'smile' : 'no smile'}”`;
        if (r.signed) drawSignedOverlay(canvas, pic.pixels, r.map, r.height, r.width, what);
        else drawOverlay(canvas, pic.pixels, r.map, r.height, r.width, what);
        const cap = document.createElement('figcaption');
        cap.innerHTML = '<b></b> <span></span>';
        cap.children[0].textContent = r.name;
        const none = !r.map.some((v) => v > 0);
        cap.children[1].textContent = none ? 'finds no evidence for it' : r.signed ? 'for and against' : 'for only';
        fig.append(canvas, cap);
        figures.push(fig);
        bar.value = k + 1;
        // Show each map as it comes, the earlier ones kept.
        $('compare-maps').replaceChildren(...figures);
      }
      document.body.dataset.compared = String(Number(document.body.dataset.compared ?? 0) + 1);
    } catch (e) {
      say(message, `${e.message.replace(/\.?$/, '.')} The maps shown before are kept.`);
    } finally {
      bar.hidden = true;
      comparing = false;
      $('compare-run').disabled = false;
    }
  }

  const percent = (v) => (v === null ? '—' : `${Math.round(v * 100)}%`);

  function showScores(board) {
    const body = $('score-table').querySelector('tbody');
    const best = { deletion: board.best_deletion, insertion: board.best_insertion, randomization: board.best_randomization, pointing: board.best_pointing, face: board.best_face_evidence };
    body.replaceChildren(
      ...board.methods.map((m) => {
        const tr = document.createElement('tr');
        const cells = [
          [m.method, null],
          [fmt(m.deletion_area), 'deletion'],
          [fmt(m.insertion_area), 'insertion'],
          [fmt(m.randomization_rank_corr, 2), 'randomization'],
          [percent(m.pointing_game), 'pointing'],
          [percent(m.face_evidence), 'face'],
          [m.completeness_error === null ? '—' : `${(m.completeness_error * 100).toFixed(1)}%`, null],
        ];
        for (const [text, measure] of cells) {
          const td = document.createElement(measure === null && text === m.method ? 'th' : 'td');
          if (td.tagName === 'TH') td.scope = 'row';
          else td.className = 'n';
          td.textContent = text;
          if (measure && best[measure] === m.method) {
            td.classList.add('best');
            td.textContent += ' ★';
          }
          tr.append(td);
        }
        return tr;
      }),
    );
    const pointing = board.pointing_images
      ? ` The pointing game used the ${board.pointing_images} correctly classified faces among them.`
      : board.landmarks
        ? ' None of these faces was classified correctly, so there is no pointing game: train longer or score more pictures.'
        : ' These pictures come without face and mouth positions (the synthetic faces and the Happy House test photos have them), so there is no pointing game and no count of the evidence on the face.';
    $('score-summary').textContent = `On ${board.images} test pictures: most faithful by deletion ${board.best_deletion}, by insertion ${board.best_insertion}, least like an untrained model ${board.best_randomization}${board.pointing_images ? `, best at pointing ${board.best_pointing}` : ''} (★). No method wins everywhere: believe a map only as far as its measures go.${pointing}`;
    $('score-where').textContent = whereEvidenceFalls(board);
  }

  /** What the accuracies with the face hidden and alone say (within 10 points counts as "as well"). */
  function hidingVerdict(h) {
    if (h.accuracy < 0.65) return 'The model is still near chance on these pictures, so where its evidence falls says little yet.';
    if (h.face_hidden >= h.accuracy - 0.1) return 'It hardly needs the face: whatever it learnt, it is not mainly the smile.';
    if (h.face_only >= h.accuracy - 0.1) return 'The face alone is enough for it, as it should be for a smile detector.';
    return 'It needs both the face and what is around it.';
  }

  /** Says where the evidence falls against what a map blind to the face would give. */
  function whereEvidenceFalls(board) {
    const placed = board.methods.filter((m) => m.face_evidence !== null);
    if (board.face_area_share === null || placed.length === 0) return '';
    const area = board.face_area_share;
    const most = placed.reduce((a, b) => (b.face_evidence > a.face_evidence ? b : a));
    const least = placed.reduce((a, b) => (b.face_evidence < a.face_evidence ? b : a));
    const ratio = (m) => m.face_evidence / area;
    const verdict = ratio(most) < 1.5
      ? 'No method concentrates on the face much more than a map that ignored it would: on these pictures the model’s evidence is largely outside the face (background, hair, shoulders).'
      : ratio(least) >= 1.5
        ? 'Every method puts clearly more of its evidence on the face than its size alone would.'
        : 'The methods disagree about where the evidence is: check the maps above before believing one.';
    const h = board.hiding;
    const hiding = h
      ? ` A check without any map: on all ${h.images} test pictures the model is right on ${percent(h.accuracy)} as they are, on ${percent(h.face_hidden)} with the face hidden (painted over with the picture’s mean colour), and on ${percent(h.face_only)} with only the face shown. ${hidingVerdict(h)}`
      : '';
    return `The face covers ${percent(area)} of the picture on average; ${most.method} puts ${percent(most.face_evidence)} of its evidence there, ${least.method} ${percent(least.face_evidence)}. ${verdict}${hiding}`;
  }

  async function runScoreboard() {
    if (scoring) return;
    const images = Number($('score-images').value);
    if (!Number.isInteger(images) || images < 1 || images > 200) return say(scoreMessage, 'The scoreboard scores 1 to 200 test pictures.');
    scoring = true;
    $('score-run').disabled = true;
    $('score-cancel').disabled = false;
    $('score-progress').hidden = false;
    $('score-progress').value = 0;
    say(scoreMessage, '');
    try {
      const r = await worker.call('scoreboard', { which: which(), settings: { ...settings(), images } });
      if (r.report) showScores(r.report);
      if (r.cancelled) say(scoreMessage, `Cancelled after ${r.done} of ${r.total} method × picture pairs: the table shows the methods scored so far.`, 'note');
      document.body.dataset.scored = String(Number(document.body.dataset.scored ?? 0) + 1);
    } catch (e) {
      say(scoreMessage, `${e.message.replace(/\.?$/, '.')} The table shown before is kept.`);
    } finally {
      scoring = false;
      $('score-run').disabled = false;
      $('score-cancel').disabled = true;
      $('score-progress').hidden = true;
    }
  }

  $('compare-run').addEventListener('click', compare);
  $('score-run').addEventListener('click', runScoreboard);
  $('score-cancel').addEventListener('click', () => worker.call('scoreboardCancel', {}));
  onEvent((m) => {
    if (m.event !== 'scoreboard-progress') return;
    $('score-progress').max = m.total;
    $('score-progress').value = m.done;
  });
  return {};
}
