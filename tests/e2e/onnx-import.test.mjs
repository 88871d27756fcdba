// ONNX files opened in the page, headless Chromium. A model trained in the page, downloaded as
// ONNX and opened again with "Load model…" answers as before (the same probabilities on a test
// image). A network built outside convscope (tests/fixtures/onnx/residual.onnx: a residual
// block made with onnx.helper by tools/onnx/make_import_fixtures.py; tests/onnx_import.rs checks
// its numbers against ONNX Runtime) opens in Look inside from the single file on file://: its
// classes for a photo, its saliency map and Grad-CAM are drawn. Each kind opened in the other
// place says where it belongs, and what was loaded stays.
// Run: node --test tests/e2e/onnx-import.test.mjs (after ./build.sh build).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, SINGLE_FILE_URL, useServerAndBrowser } from './harness.mjs';
import { TINY, checkLog, messageOf, openTraining, region, text, train } from './training-page.mjs';

const env = useServerAndBrowser();
const RESIDUAL = path.join(ROOT, 'tests', 'fixtures', 'onnx', 'residual.onnx');
const CAT = path.join(ROOT, 'tests', 'fixtures', 'imagenet', 'chelsea.png');
const SCRATCH = path.join(ROOT, 'build', 'e2e-onnx-import');
const SHOTS = path.join(ROOT, 'build', 'screenshots');

async function probabilitiesOf(page, index) {
  const tryIt = region(page, 'Try it');
  await page.evaluate(() => delete document.querySelector('#try-result').dataset.probabilities);
  await tryIt.getByLabel('Test image', { exact: true }).fill(String(index));
  await tryIt.getByRole('button', { name: 'Predict' }).click();
  await page.waitForFunction(() => document.querySelector('#try-result').dataset.probabilities);
  return (await page.locator('#try-result').getAttribute('data-probabilities')).split(',').map(Number);
}

test('a model downloaded as ONNX opens again with Load model and answers as before', { timeout: 240_000 }, async () => {
  const { page, log, close } = await openTraining(env.browser, env.server.url + TINY);
  try {
    await train(page);
    const before = [await probabilitiesOf(page, 0), await probabilitiesOf(page, 1)];
    const tryIt = region(page, 'Try it');
    const [download] = await Promise.all([page.waitForEvent('download'), tryIt.getByRole('button', { name: 'Download as ONNX' }).click()]);
    fs.mkdirSync(SCRATCH, { recursive: true });
    const file = path.join(SCRATCH, 'round-trip.onnx');
    await download.saveAs(file);

    // A graph network is not for the training panel: a message, and the trained model stays.
    await tryIt.getByLabel('Load a model file').setInputFiles(RESIDUAL);
    assert.match(await messageOf(page, '#msg-model'), /^residual\.onnx: this ONNX model is a network convscope can explain but not train here .*open it in Look inside.* The model you had is unchanged\./);
    assert.deepEqual(await probabilitiesOf(page, 0), before[0], 'the trained model is unchanged');

    await tryIt.getByLabel('Load a model file').setInputFiles(file);
    await page.waitForFunction(() => /^Loaded round-trip\.onnx\./.test(document.querySelector('#msg-model').textContent));
    const after = [await probabilitiesOf(page, 0), await probabilitiesOf(page, 1)];
    for (let i = 0; i < 2; i++) {
      for (let k = 0; k < before[i].length; k++) {
        assert.ok(Math.abs(after[i][k] - before[i][k]) <= 1e-6, `test image ${i}: ${after[i]} after the round trip, ${before[i]} before`);
      }
    }
    checkLog(log, env.server.origin);
  } finally {
    await close();
  }
});

test('an ONNX network made elsewhere opens in Look inside from file:// and is explained', { timeout: 180_000 }, async () => {
  const context = await env.browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  try {
    await page.goto(SINGLE_FILE_URL);
    await page.waitForSelector('body[data-inside-ready="true"]', { timeout: 60_000 });
    await page.locator('#inside').scrollIntoViewIfNeeded();
    await page.getByRole('radio', { name: /the ImageNet network/ }).check();
    await page.waitForSelector('#imagenet-view:not([hidden])');
    const loadPanel = region(page, 'ImageNet network');
    await loadPanel.getByLabel('Open an ONNX network to explain').setInputFiles(RESIDUAL);
    await page.waitForFunction(() => document.body.dataset.imagenetLoaded === 'true', null, { timeout: 60_000 });
    assert.equal(await text(page, '#imagenet-status'), 'The network residual.onnx is loaded (5 classes). Choose a photo.');

    await loadPanel.getByLabel('Photo for the ImageNet network').setInputFiles(CAT);
    await page.waitForFunction(() => Number(document.body.dataset.imagenetExplained ?? 0) > 0, null, { timeout: 60_000 });
    const top = await page.locator('#imagenet-top li').allTextContents();
    assert.equal(top.length, 5, `its five classes, ranked: ${top.join(' | ')}`);
    assert.match(top[0], /class \d \(\d\)/);
    const drawn = (id) =>
      page.locator(`#${id}`).evaluate((c) => {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        for (let i = 4; i < d.length; i += 4) if (d[i] !== d[0] || d[i + 1] !== d[1] || d[i + 2] !== d[2]) return true;
        return false;
      });
    for (const id of ['imagenet-canvas', 'imagenet-saliency', 'imagenet-gradcam']) assert.ok(await drawn(id), `${id} is drawn`);
    assert.equal(await text(page, '#msg-imagenet-explain'), '', 'no message on the explanations');
    fs.mkdirSync(SHOTS, { recursive: true });
    await page.locator('#imagenet-view').screenshot({ path: path.join(SHOTS, 'onnx-import-look-inside.png') });

    // Activation maximization of one of its classes, and a new head on its features.
    const act = region(page, 'ImageNet activation maximization');
    assert.equal(await act.getByLabel('Class', { exact: true }).inputValue(), 'class 0', "the class field holds one of this network's names");
    await act.getByLabel('max_iter').fill('5');
    await act.getByRole('button', { name: 'Run' }).click();
    await page.waitForFunction(() => Number(document.body.dataset.imagenetActmaxFrames ?? 0) > 1 || document.querySelector('#msg-imagenet-actmax').textContent, null, { timeout: 60_000 });
    assert.equal(await text(page, '#msg-imagenet-actmax'), '', 'no message from activation maximization');
    assert.ok(await drawn('imagenet-actmax-canvas'), 'activation maximization is drawn');

    const tl = region(page, 'Transfer learning');
    await tl.getByRole('button', { name: 'Train a new head on the loaded data' }).click();
    await page.waitForFunction(() => document.body.dataset.transferAccuracy !== undefined, null, { timeout: 120_000 });
    const accuracy = Number(await page.evaluate(() => document.body.dataset.transferAccuracy));
    assert.ok(accuracy >= 0 && accuracy <= 1, `a head trained on the network's features (test accuracy ${accuracy})`);
    assert.equal(await text(page, '#msg-transfer'), '', 'no message from transfer learning');

    // A file that is not ONNX, given as one: its message, and the network stays.
    const junk = path.join(SCRATCH, 'junk.onnx');
    fs.mkdirSync(SCRATCH, { recursive: true });
    fs.writeFileSync(junk, Buffer.from([8, 7, 18, 200, 1, 2, 3]));
    await loadPanel.getByLabel('Open an ONNX network to explain').setInputFiles(junk);
    await page.waitForFunction(() => document.querySelector('#msg-imagenet').textContent.startsWith('junk.onnx'));
    assert.match(await text(page, '#msg-imagenet'), /junk\.onnx: this is not an ONNX model, or the file is cut short or damaged/);
    assert.match(await text(page, '#imagenet-status'), /is loaded/);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});
