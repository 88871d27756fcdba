// Augmentation and "does it see smiles elsewhere?" in headless Chromium, by the labelled
// controls: the suggested augmentation fills the settings and the preview shows eight
// different variants, "Other variants" draws new ones, a rotation of 720° is refused in words
// with the previous settings kept; a model trained without and one trained with augmentation
// are each tested on synthetic faces of another seed and difficulty and on the real Happy
// House test file (when ../shared has it) and on webcam frames (Chromium's fake camera), each
// test a row naming its augmentation; a damaged file changes nothing. Screenshots go to build/screenshots/.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { FAKE_CAMERA, ROOT, axeViolations, useServerAndBrowser } from './harness.mjs';
import { checkLog, messageOf, openTraining, region, train } from './training-page.mjs';

const SHOTS = path.join(ROOT, 'build', 'screenshots');
const HAPPY_TEST = path.join(ROOT, '..', 'shared', 'data', 'happy_house', 'test_happy.h5');
const env = useServerAndBrowser(FAKE_CAMERA);

// A short run: 160 training and 40 test faces, two epochs, no early stopping.
const SMALL = '#dn=160&dt=40&ep=2&pa=0';

// The preview's pictures as data URLs (one per variant).
const previewPixels = (page) => page.locator('#aug-preview canvas').evaluateAll((cs) => cs.map((c) => c.toDataURL()));

test('augmentation preview, refusal of a bad range, and cross-dataset tests with and without it', { timeout: 600_000 }, async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  const { page, log } = await openTraining(env.browser, env.server.url + SMALL, { width: 1400, height: 1000 });
  const run = region(page, 'Training');
  await page.waitForFunction(() => document.querySelectorAll('#aug-preview canvas').length === 8);
  const plain = await previewPixels(page);
  assert.equal(new Set(plain).size, 1, 'without augmentation every variant is the picture itself');
  assert.match(await page.locator('#aug-caption').textContent(), /No augmentation/);

  await run.getByRole('button', { name: 'Suggested augmentation' }).click();
  await page.waitForFunction(() => /random variants/.test(document.querySelector('#aug-caption').textContent));
  assert.equal(await run.getByLabel('Rotation ±°').inputValue(), '10');
  assert.equal(await run.getByLabel('Mirror left–right').isChecked(), true);
  assert.equal(await run.getByLabel('Elastic warp (px)').inputValue(), '1');
  const varied = await previewPixels(page);
  assert.equal(new Set(varied).size, 8, 'eight different variants');
  assert.ok(!varied.includes(plain[0]), 'each differs from the picture');
  await run.getByRole('button', { name: 'Other variants' }).click();
  await page.waitForFunction((before) => [...document.querySelectorAll('#aug-preview canvas')].some((c, i) => c.toDataURL() !== before[i]), varied);

  // A rotation of 720°: refused in words, the suggested 10° kept (in the link too).
  await run.getByLabel('Rotation ±°').fill('720');
  assert.match(await messageOf(page, '#msg-aug'), /Rotation ±°: 720 is outside 0…180/);
  assert.match(await page.evaluate(() => location.hash), /arot=10/);
  await run.getByLabel('Rotation ±°').fill('10');
  await page.waitForFunction(() => document.querySelector('#msg-aug').textContent === '');
  await page.locator('fieldset.augment').screenshot({ path: path.join(SHOTS, 'augment-preview.png') });

  const results = region(page, 'Results');
  const tests = page.getByRole('table', { name: 'Cross-dataset tests' });
  const rows = () => tests.locator('tbody tr');
  assert.equal(await results.getByRole('button', { name: 'Test on 300 other synthetic faces' }).isDisabled(), true, 'nothing to test before training');

  // Trained with augmentation, then tested on faces of another seed and difficulty.
  await train(page);
  await results.getByLabel('Face seed').fill('4242');
  await results.getByLabel('Difficulty').selectOption('hard');
  await results.getByRole('button', { name: 'Test on 300 other synthetic faces' }).click();
  await page.waitForFunction(() => document.querySelectorAll('#elsewhere-table tbody tr').length === 1);
  const first = await rows().first().locator('td').allTextContents();
  assert.match(first[0], /300 synthetic faces \(hard, seed 4242\)/);
  assert.match(first[1], /left–right flips, ±10°/);
  assert.equal(first[2], await page.locator('#m-accuracy').textContent(), 'own test accuracy as the results say');
  assert.match(first[3], /^\d+\.\d%$/);
  assert.match(first[4], /points (lower|higher)/);

  // A damaged Happy House file: a message, the table and the model unchanged.
  const h5 = results.getByLabel('Test on a Happy House .h5 file');
  await h5.setInputFiles({ name: 'broken.h5', mimeType: 'application/octet-stream', buffer: Buffer.from('not an h5 file at all') });
  assert.match(await messageOf(page, '#msg-elsewhere'), /broken\.h5: this is not an HDF5 \(\.h5\) file.*The data and the model are unchanged/);
  assert.equal(await rows().count(), 1);

  // The same run without augmentation, on the same faces: a second row beside the first.
  await run.getByRole('button', { name: 'No augmentation' }).click();
  await page.waitForFunction(() => /No augmentation/.test(document.querySelector('#aug-caption').textContent));
  await train(page);
  await results.getByRole('button', { name: 'Test on 300 other synthetic faces' }).click();
  await page.waitForFunction(() => document.querySelectorAll('#elsewhere-table tbody tr').length === 2);
  const second = await rows().first().locator('td').allTextContents();
  assert.equal(second[0], first[0]);
  assert.equal(second[1], 'no augmentation');

  if (fs.existsSync(HAPPY_TEST)) {
    await h5.setInputFiles(HAPPY_TEST);
    await page.waitForFunction(() => document.querySelectorAll('#elsewhere-table tbody tr').length === 3);
    const happy = await rows().first().locator('td').allTextContents();
    assert.match(happy[0], /test_happy\.h5 \(150 Happy House pictures\)/);
  } else {
    console.log(`# skipped the Happy House cross-test: ${HAPPY_TEST} is absent`);
  }
  // Webcam frames: none captured yet is said in words; then five of each class.
  await results.getByRole('button', { name: 'Test on my webcam frames' }).click();
  assert.match(await messageOf(page, '#msg-elsewhere'), /Capture some webcam frames/);
  const data = region(page, 'Data');
  await data.getByRole('button', { name: 'Start camera' }).click();
  for (const [name, n] of [['Capture smile', 5], ['Capture no smile', 10]]) {
    await data.getByRole('button', { name }).click();
    await page.waitForFunction((k) => document.querySelectorAll('#cam-thumbs canvas').length === k && !document.querySelector('#cam-smile').disabled, n);
  }
  const before = await rows().count();
  await results.getByRole('button', { name: 'Test on my webcam frames' }).click();
  await page.waitForFunction((k) => document.querySelectorAll('#elsewhere-table tbody tr').length === k, before + 1);
  assert.match((await rows().first().locator('td').allTextContents())[0], /^10 webcam frames$/);
  await page.locator('.elsewhere').scrollIntoViewIfNeeded();
  await page.locator('.elsewhere').screenshot({ path: path.join(SHOTS, 'cross-dataset.png') });
  assert.deepEqual(await axeViolations(page, 'fieldset.augment'), [], 'axe-core on the augmentation controls');
  assert.deepEqual(await axeViolations(page, '.elsewhere'), [], 'axe-core on the cross-dataset test');
  checkLog(log, env.server.origin);
});
