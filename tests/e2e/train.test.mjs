// The "Model & training" section in headless Chromium, over http and from the single file on
// file://: synthetic data, the chapter's model trained with the page's defaults by pressing
// the labelled buttons, curves and test metrics, the confusion matrix, save / reload / load
// with the same prediction, Pause and Stop, long tasks on the main thread during an epoch,
// and a damaged .h5 that changes nothing. Screenshots go to build/screenshots/.
// Run: node --test tests/e2e/ (after ./build.sh build).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, SINGLE_FILE_URL, foreignRequests, launchBrowser, openPage, startServer } from './harness.mjs';

const SHOTS = path.join(ROOT, 'build', 'screenshots');
// The acceptance bound: test accuracy above 90% within two minutes of pressing Train.
const TRAIN_LIMIT_MS = 120_000;
// A small run for the mechanics: 160 training and 40 test images, two epochs.
const SMALL = '#dn=160&dt=40&ep=2&pa=0';

let server;
let browser;
before(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  server = await startServer();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

const region = (page, name) => page.getByRole('region', { name, exact: true });

// Opens the page, waits for the training engine and the default synthetic data; records long tasks.
async function openTraining(url, viewport) {
  const opened = await openPage(browser, url, viewport);
  const { page } = opened;
  await page.waitForSelector('body[data-training-settled="true"]', { timeout: 60_000 });
  await page.locator('#training').scrollIntoViewIfNeeded();
  await page.evaluate(() => {
    window.__longTasks = [];
    new PerformanceObserver((list) => window.__longTasks.push(...list.getEntries().map((e) => ({ start: e.startTime, duration: e.duration })))).observe({ type: 'longtask', buffered: false });
  });
  return opened;
}

const percent = async (page, id) => Number((await page.locator(`#${id}`).textContent()).replace('%', '')) / 100;

function checkLog(log, origin) {
  assert.deepEqual(log.pageErrors, [], 'no page errors');
  assert.deepEqual(log.consoleErrors, [], 'no console errors');
  assert.deepEqual(foreignRequests(log, origin), [], 'no request to another origin');
}

// A Happy House file cut short: the HDF5 signature and then garbage.
const DAMAGED_H5 = Buffer.concat([Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(200, 7)]);

for (const target of ['http', 'file']) {
  const url = () => (target === 'http' ? server.url : SINGLE_FILE_URL);
  const origin = () => (target === 'http' ? server.origin : 'file');

  describe(`training over ${target}`, () => {
    test('train a small run by the buttons: curves, metrics, a confusion-matrix cell, save, reload, load, same prediction', async () => {
      const { page, log, close } = await openTraining(url() + SMALL, { width: 1280, height: 720 });
      try {
        const data = region(page, 'Data');
        assert.match(await data.locator('#data-info').textContent(), /160 training images .* 40 test images, 64×64×3/);
        assert.equal(await data.locator('#gallery canvas').count(), 16);
        assert.match(await region(page, 'Model').getByRole('table', { name: 'Model summary' }).textContent(), /Total params1,063,073/);

        await region(page, 'Training').getByRole('button', { name: 'Train', exact: true }).click();
        // Long tasks on the main thread while the first epoch trains in the worker.
        await page.waitForFunction(() => document.querySelector('#train-status').textContent.startsWith('Epoch 2'), null, { timeout: 120_000 });
        const longTasks = await page.evaluate(() => window.__longTasks);
        assert.ok(longTasks.every((t) => t.duration < 100), `long tasks during an epoch: ${JSON.stringify(longTasks)}`);
        await page.waitForSelector('body[data-evaluated="true"]', { timeout: 120_000 });
        assert.match(await page.locator('#train-status').textContent(), /^Done: trained for all epochs/);
        assert.match(await page.locator('#curves-note').textContent(), /^Epoch 2: training loss \d/);
        const accuracy = await percent(page, 'm-accuracy');
        for (const id of ['m-accuracy', 'm-precision', 'm-recall', 'm-f1']) assert.ok((await percent(page, id)) >= 0, id);
        // Beside the accuracy, the class balance and the score of always answering the largest class.
        const baseline = await page.locator('#baseline').textContent();
        const m = /^The test set: (\d+) frowning, (\d+) smiling\. Always answering “(frowning|smiling)” would score (\d+\.\d)% \((\d+) of 40\)/.exec(baseline);
        assert.ok(m, baseline);
        assert.equal(Number(m[1]) + Number(m[2]), 40);
        assert.equal(Number(m[5]), Math.max(Number(m[1]), Number(m[2])));
        assert.equal(m[4], ((Number(m[5]) / 40) * 100).toFixed(1));

        // The curves: two uPlot charts with a legend for training and validation.
        assert.equal(await page.locator('.uplot').count(), 2);
        assert.match(await page.locator('#chart-acc .u-legend').textContent(), /val accuracy/);

        // The confusion matrix adds up to the test set; its fullest cell opens its images.
        const results = region(page, 'Results');
        const cells = results.getByRole('group', { name: 'Confusion matrix' }).getByRole('button');
        assert.equal(await cells.count(), 4);
        const counts = (await cells.allTextContents()).map(Number);
        assert.equal(counts.reduce((a, b) => a + b, 0), 40);
        const fullest = counts.indexOf(Math.max(...counts));
        await cells.nth(fullest).click();
        await page.waitForFunction((n) => document.querySelectorAll('#cell-images canvas').length === n, counts[fullest]);
        assert.match(await page.locator('#cell-images figcaption').first().textContent(), /^#\d+ · \d+% (smiling|frowning)$/);
        // The training view from the section's top (data, model, run, curves), the results
        // with the opened cell, and at a desktop size the whole section.
        await page.screenshot({ path: path.join(SHOTS, `training-results-${target}-1280x720.png`) });
        const toTop = () => page.evaluate(() => document.querySelector('#training').scrollIntoView({ block: 'start' }));
        await toTop();
        await page.waitForTimeout(300);
        await page.screenshot({ path: path.join(SHOTS, `training-${target}-1280x720.png`) });
        await page.setViewportSize({ width: 1920, height: 1080 });
        await toTop();
        await page.waitForTimeout(300);
        await page.screenshot({ path: path.join(SHOTS, `training-${target}-1920x1080.png`) });

        // Try it, save, reload, load: the same prediction for the same image.
        const tryIt = region(page, 'Try it');
        await tryIt.getByLabel('Test image', { exact: true }).fill('7');
        await tryIt.getByRole('button', { name: 'Predict' }).click();
        await page.waitForFunction(() => document.querySelector('#try-result').dataset.probabilities);
        const before = await page.locator('#try-result').getAttribute('data-probabilities');
        const [download] = await Promise.all([page.waitForEvent('download'), tryIt.getByRole('button', { name: 'Save model' }).click()]);
        const file = path.join(ROOT, 'build', `train-e2e-${target}.safetensors`);
        await download.saveAs(file);
        assert.ok(fs.statSync(file).size > 4_000_000, 'the model file holds about a million f32 weights');

        await page.reload();
        await page.waitForSelector('body[data-training-settled="true"]', { timeout: 60_000 });
        assert.equal(await page.locator('#m-accuracy').textContent(), '—');
        await tryIt.getByLabel('Load a model file').setInputFiles(file);
        await page.waitForSelector('body[data-evaluated="true"]');
        assert.equal(await percent(page, 'm-accuracy'), accuracy, 'the loaded model scores the same');
        // The file carries the run's curves: one point per epoch comes back.
        await page.waitForFunction(() => document.getElementById('chart-loss').dataset.points === '2', null, { timeout: 10_000 });
        assert.match(await page.locator('#curves-note').textContent(), new RegExp(`^The curves of the run that trained train-e2e-${target}\\.safetensors \\(one point per epoch\\)\\. Epoch 2: training loss \\d`));
        await tryIt.getByLabel('Test image', { exact: true }).fill('7');
        await tryIt.getByRole('button', { name: 'Predict' }).click();
        await page.waitForFunction(() => document.querySelector('#try-result').dataset.probabilities);
        assert.equal(await page.locator('#try-result').getAttribute('data-probabilities'), before, 'same prediction after reload and load');
        checkLog(log, origin());
      } finally {
        await close();
      }
    });

    // The acceptance bound of the issue, with the page's defaults (easy smiles, 6 epochs,
    // batch 16, BN momentum 0.9): measured 46-48 s and 97.3% on the shared 2-core machine.
    test('with the page defaults, test accuracy above 90% within two minutes of pressing Train', async () => {
      const { page, log, close } = await openTraining(url(), { width: 1280, height: 720 });
      try {
        const started = Date.now();
        await region(page, 'Training').getByRole('button', { name: 'Train', exact: true }).click();
        await page.waitForSelector('body[data-evaluated="true"]', { timeout: TRAIN_LIMIT_MS });
        const seconds = (Date.now() - started) / 1000;
        const accuracy = await percent(page, 'm-accuracy');
        console.log(`[${target}] defaults: evaluated after ${seconds.toFixed(1)} s, test accuracy ${(accuracy * 100).toFixed(1)}%; ${await page.locator('#train-status').textContent()} | ${await page.locator('#curves-note').textContent()}`);
        assert.ok(accuracy > 0.9, `test accuracy ${accuracy} above 90%`);
        checkLog(log, origin());
      } finally {
        await close();
      }
    });

    test('Pause, Resume and Stop; a damaged .h5 changes nothing', async () => {
      const { page, log, close } = await openTraining(url() + SMALL + '&ep=30', { width: 1280, height: 720 });
      try {
        const run = region(page, 'Training');
        const status = page.locator('#train-status');
        await run.getByRole('button', { name: 'Train', exact: true }).click();
        await page.waitForFunction(() => /batch [2-9]/.test(document.querySelector('#train-status').textContent));
        await run.getByRole('button', { name: 'Pause' }).click();
        await page.waitForFunction(() => document.querySelector('#train-status').textContent.startsWith('Paused'));
        const paused = await status.textContent();
        await page.waitForTimeout(1500);
        assert.equal(await status.textContent(), paused, 'nothing trains while paused');
        assert.ok(await run.getByRole('button', { name: 'Resume' }).isEnabled());

        // A damaged file while paused: refused (a run is going), the data stay.
        await run.getByRole('button', { name: 'Resume' }).click();
        await page.waitForFunction((p) => document.querySelector('#train-status').textContent !== p && !document.querySelector('#train-status').textContent.startsWith('Paused'), paused);
        await run.getByRole('button', { name: 'Stop' }).click();
        await page.waitForSelector('body[data-evaluated="true"]');
        assert.match(await status.textContent(), /stopped on request/);
        const accuracy = await page.locator('#m-accuracy').textContent();
        const info = await page.locator('#data-info').textContent();

        await region(page, 'Data').getByLabel('Load Happy House .h5 files').setInputFiles({ name: 'train_happy.h5', mimeType: 'application/octet-stream', buffer: DAMAGED_H5 });
        const message = page.locator('#msg-data');
        await page.waitForFunction(() => document.querySelector('#msg-data').textContent.length > 0);
        assert.match(await message.textContent(), /^train_happy\.h5: .+ The data and the model you had are unchanged\.$/);
        assert.equal(await page.locator('#data-info').textContent(), info);
        assert.equal(await page.locator('#m-accuracy').textContent(), accuracy, 'the trained model and its results stay');
        // The worker still answers: the same model predicts.
        await region(page, 'Try it').getByRole('button', { name: 'Predict' }).click();
        await page.waitForFunction(() => document.querySelector('#try-result').dataset.probabilities);
        checkLog(log, origin());
      } finally {
        await close();
      }
    });
  });
}
