// Look inside › "Compare the methods" in headless Chromium, by the labelled controls: after a
// short run, the nine explanation methods of one test face drawn side by side (each a real
// drawing, and not all alike); settings the core refuses (zero path steps, a patch larger than
// the picture) explained with the maps kept; the faithfulness scoreboard with its progress bar,
// one row per method, the best of each measure starred; Cancel keeps what was scored. On the
// chapter's Happy House test photos (when ../shared is beside the project) the scoreboard says
// where each method's evidence falls, from the face boxes marked for those photos.
// Screenshots go to build/screenshots/.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, axeViolations, useServerAndBrowser } from './harness.mjs';
import { checkLog, messageOf, openTraining, region, train } from './training-page.mjs';

const SHOTS = path.join(ROOT, 'build', 'screenshots');
const env = useServerAndBrowser();
// 160 training and 40 test faces, two epochs: a model that has learnt something, quickly.
const SMALL = '#dn=160&dt=40&ep=2&pa=0';

const compared = (page) => page.evaluate(() => Number(document.body.dataset.compared ?? 0));

test('nine methods side by side, bad settings refused, the scoreboard and its Cancel', { timeout: 600_000 }, async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  const { page, log } = await openTraining(env.browser, env.server.url + SMALL, { width: 1400, height: 1000 });
  await train(page);
  const panel = region(page, 'Compare explanation methods');
  await panel.scrollIntoViewIfNeeded();
  await region(page, 'Picture').getByLabel('Test image').fill('3');

  await panel.getByRole('button', { name: 'Compare the methods on this picture' }).click();
  await page.waitForFunction(() => Number(document.body.dataset.compared ?? 0) === 1, null, { timeout: 120_000 });
  const maps = panel.getByRole('group', { name: 'Explanation maps' }).locator('figure');
  assert.equal(await maps.count(), 9);
  const names = await maps.locator('figcaption b').allTextContents();
  assert.deepEqual(names, ['saliency', 'SmoothGrad', 'Integrated Gradients', 'occlusion', 'Grad-CAM', 'HiResCAM', 'Grad-CAM++', 'LayerCAM', 'Score-CAM']);
  const pictures = await maps.locator('canvas').evaluateAll((cs) => cs.map((c) => c.toDataURL()));
  assert.ok(new Set(pictures).size >= 7, 'the methods disagree: their drawings differ');
  const labels = await maps.locator('canvas').evaluateAll((cs) => cs.map((c) => c.getAttribute('aria-label')));
  assert.ok(labels.every((l) => /for “(smile|no smile)”/.test(l)), labels.join(' | '));
  await panel.screenshot({ path: path.join(SHOTS, 'compare-methods.png') });

  // Zero path steps, then a patch larger than the 64×64 picture: explained, the maps kept.
  for (const [label, value, words] of [
    ['Path steps', '0', /Integrated Gradients needs between 1 and 1024 steps along the path \(got 0\).*maps shown before are kept/],
    ['Occlusion patch (px)', '80', /the occlusion patch must be between 1 and 64 pixels \(the picture is 64×64; got 80\)/],
  ]) {
    await panel.getByLabel('Path steps').fill('64');
    await panel.getByLabel('Occlusion patch (px)').fill('8');
    await panel.getByLabel(label, { exact: true }).fill(value);
    await panel.getByRole('button', { name: 'Compare the methods on this picture' }).click();
    assert.match(await messageOf(page, '#msg-compare'), words);
    await page.waitForFunction(() => !document.querySelector('#compare-run').disabled);
    assert.ok((await maps.count()) >= 2, 'maps drawn before stay');
    await page.evaluate(() => (document.querySelector('#msg-compare').textContent = ''));
  }
  await panel.getByLabel('Path steps').fill('16');
  await panel.getByLabel('Occlusion patch (px)').fill('8');

  // The scoreboard on 4 test faces: a row per method, a star per measure.
  await panel.getByLabel('Test pictures').fill('4');
  await panel.getByRole('button', { name: 'Run the scoreboard' }).click();
  await page.waitForFunction(() => !document.querySelector('#score-progress').hidden);
  await page.waitForFunction(() => Number(document.body.dataset.scored ?? 0) === 1, null, { timeout: 300_000 });
  const table = page.getByRole('table', { name: 'Faithfulness scoreboard' });
  const rows = table.locator('tbody tr');
  assert.equal(await rows.count(), 9);
  const first = await rows.first().locator('th, td').allTextContents();
  assert.equal(first[0], 'saliency');
  assert.match(first[1], /^0\.\d{3}( ★)?$/);
  assert.ok((await table.locator('td.best').count()) >= 3, 'the best method of each measure is starred');
  const ig = await rows.nth(2).locator('td').allTextContents();
  assert.match(ig[4], /^\d+%( ★)?$/, 'the share of its evidence on the face');
  assert.match(ig[5], /^\d+\.\d%$/, 'Integrated Gradients reports its completeness error');
  assert.match(await page.locator('#score-summary').textContent(), /On 4 test pictures: most faithful by deletion .*No method wins everywhere/);
  assert.match(await page.locator('#score-where').textContent(), /^The face covers \d+% of the picture on average; .* puts \d+% of its evidence there/);
  await panel.screenshot({ path: path.join(SHOTS, 'scoreboard.png') });

  // Cancel a longer one: the methods scored so far are shown and said.
  await panel.getByLabel('Test pictures').fill('40');
  await panel.getByRole('button', { name: 'Run the scoreboard' }).click();
  await page.waitForFunction(() => document.querySelector('#score-progress').value >= 3);
  await panel.getByRole('button', { name: 'Cancel' }).click();
  assert.match(await messageOf(page, '#msg-score'), /Cancelled after \d+ of 360 method × picture pairs/);
  assert.ok((await rows.count()) >= 1 && (await rows.count()) <= 9);

  assert.deepEqual(await axeViolations(page, '.inside-compare'), [], 'axe-core on the comparison');
  checkLog(log, env.server.origin);
});

const SHARED_TEST_H5 = path.resolve(import.meta.dirname, '../../../shared/data/happy_house/test_happy.h5');
const SMALL_TRAIN_H5 = path.resolve(import.meta.dirname, '../fixtures/h5/train_small.h5');

test('on the Happy House test photos the scoreboard says where the evidence falls', { timeout: 600_000 }, async (t) => {
  if (!fs.existsSync(SHARED_TEST_H5)) return t.skip(`the chapter's test_happy.h5 is absent (${SHARED_TEST_H5})`);
  const { page, log } = await openTraining(env.browser, env.server.url + '#ep=2&pa=0', { width: 1400, height: 1000 });
  await region(page, 'Data').getByLabel('Load Happy House .h5 files').setInputFiles([SMALL_TRAIN_H5, SHARED_TEST_H5]);
  await page.waitForFunction(() => document.querySelector('#data-info').textContent.includes('150 test images'));
  await train(page);
  const panel = region(page, 'Compare explanation methods');
  await panel.scrollIntoViewIfNeeded();
  await panel.getByLabel('Path steps').fill('16');
  await panel.getByLabel('Test pictures').fill('3');
  await panel.getByRole('button', { name: 'Run the scoreboard' }).click();
  await page.waitForFunction(() => Number(document.body.dataset.scored ?? 0) === 1, null, { timeout: 300_000 });
  const rows = page.getByRole('table', { name: 'Faithfulness scoreboard' }).locator('tbody tr');
  assert.equal(await rows.count(), 9);
  // A map with no evidence for the class at all (possible after two epochs on 40 photos) has no share.
  const shares = [];
  for (let r = 0; r < 9; r++) shares.push((await rows.nth(r).locator('td').allTextContents())[4]);
  assert.ok(shares.every((c) => /^(\d+%( ★)?|—)$/.test(c)), shares.join(' | '));
  assert.ok(shares.filter((c) => c !== '—').length >= 6, shares.join(' | '));
  assert.doesNotMatch(await page.locator('#score-summary').textContent(), /come without face and mouth positions/);
  const summary = await page.locator('#score-where').textContent();
  assert.match(summary, /^The face covers 1\d% of the picture on average; .* puts \d+% of its evidence there, .* \d+%\. (No method|Every method|The methods disagree)/);
  assert.match(summary, /on all 150 test pictures the model is right on \d+% as they are, on \d+% with the face hidden .* and on \d+% with only the face shown\. \w/);
  await panel.screenshot({ path: path.join(SHOTS, 'scoreboard-happy-house.png') });
  checkLog(log, env.server.origin);
});
