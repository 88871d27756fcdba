// "Download as ONNX" in headless Chromium over http: the model trained in the page, downloaded
// as an .onnx file and run in ONNX Runtime Web (the npm package, wasm backend, one thread, no
// proxy worker) in the same page load, gives the page's own answers on every test image: the
// same class on each, the probabilities within 1e-5, and so the page's confusion matrix. With
// nothing trained the control says so in words, downloads nothing and changes nothing.
// Run: node --test tests/e2e/onnx.test.mjs (after ./build.sh build).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, useServerAndBrowser } from './harness.mjs';
import { TINY, checkLog, messageOf, openTraining, region, text, train } from './training-page.mjs';

const env = useServerAndBrowser();
const ORT_DIST = path.join(ROOT, 'node_modules', 'onnxruntime-web', 'dist');
const SCRATCH = path.join(ROOT, 'build', 'e2e-onnx');
// f32 against f32 through different kernels (convscope's SIMD GEMM, ONNX Runtime's MLAS).
const TOLERANCE = 1e-5;

// ONNX Runtime Web from node_modules under the page's own origin, /ort/ (the page's policy
// allows scripts and fetches from itself only), and the downloaded model at /onnx-under-test.
async function serveOrt(page, onnxBytes) {
  await page.route(/\/ort\/[^/]+$/, (route) => {
    const file = path.join(ORT_DIST, path.basename(new URL(route.request().url()).pathname));
    if (!fs.existsSync(file)) return route.fulfill({ status: 404, body: 'not found' });
    return route.fulfill({ path: file, contentType: file.endsWith('.wasm') ? 'application/wasm' : 'text/javascript' });
  });
  await page.route(/\/onnx-under-test$/, (route) => route.fulfill({ body: onnxBytes, contentType: 'application/octet-stream' }));
}

// Test image `index` through Try it: the page's probabilities (every digit the worker gave),
// the label it names, and the picture it drew (RGBA bytes read back from its canvas: the
// 8-bit values the model saw, as the synthetic faces are stored).
async function tryTestImage(page, index) {
  const tryIt = region(page, 'Try it');
  await page.evaluate(() => delete document.querySelector('#try-result').dataset.probabilities);
  await tryIt.getByLabel('Test image', { exact: true }).fill(String(index));
  await tryIt.getByRole('button', { name: 'Predict' }).click();
  await page.waitForFunction(() => document.querySelector('#try-result').dataset.probabilities);
  const probabilities = (await page.locator('#try-result').getAttribute('data-probabilities')).split(',').map(Number);
  const label = /the label says (.+)\.$/.exec(await text(page, '#try-result'))[1];
  const rgba = await page.evaluate(() => {
    const c = document.getElementById('try-canvas');
    return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data);
  });
  return { probabilities, label, rgba };
}

const argmax = (xs) => xs.indexOf(Math.max(...xs));

test('a trained model downloaded as ONNX gives the same answers in ONNX Runtime Web on every test image', { timeout: 240_000 }, async () => {
  const { page, log, close } = await openTraining(env.browser, env.server.url + TINY);
  try {
    await train(page);
    const info = await text(page, '#data-info');
    const [, testCount, side, channels] = /and (\d+) test images, (\d+)×\d+×(\d+)\.$/.exec(info).map(Number);
    assert.equal(channels, 3, 'the synthetic faces are RGB');
    const classNames = (await page.locator('#confusion .head:not(.row)').allTextContents()).map((t) => t.replace(/^predicted /, ''));

    // The page's own answers on every test image.
    const cases = [];
    for (let i = 0; i < testCount; i++) cases.push(await tryTestImage(page, i));
    const smiles = cases.map((c) => c.probabilities[1]);
    assert.ok(Math.max(...smiles) - Math.min(...smiles) > 0.01, `the trained model tells the images apart (p from ${Math.min(...smiles)} to ${Math.max(...smiles)})`);

    // The download: a file named like the model file, with the class names in its metadata.
    const tryIt = region(page, 'Try it');
    const [download] = await Promise.all([page.waitForEvent('download'), tryIt.getByRole('button', { name: 'Download as ONNX' }).click()]);
    assert.equal(download.suggestedFilename(), 'convscope-smile-model.onnx');
    fs.mkdirSync(SCRATCH, { recursive: true });
    const file = path.join(SCRATCH, 'trained.onnx');
    await download.saveAs(file);
    const onnx = fs.readFileSync(file);
    assert.ok(onnx.length > 4_000_000, `the ONNX file holds about a million f32 weights (${onnx.length} bytes)`);
    assert.ok(onnx.includes('convscope.classes') && onnx.includes(JSON.stringify(classNames)), 'the class names are in its metadata');
    assert.match(await messageOf(page, '#msg-model'), /^Downloaded \d+ KB as convscope-smile-model\.onnx, for ONNX Runtime/);

    // ONNX Runtime Web in this page, on the pictures the page drew.
    await serveOrt(page, onnx);
    const ort = await page.evaluate(
      async ({ images, side }) => {
        const ort = await import('/ort/ort.wasm.min.mjs');
        ort.env.wasm.wasmPaths = '/ort/';
        ort.env.wasm.numThreads = 1;
        ort.env.wasm.proxy = false;
        const model = new Uint8Array(await (await fetch('/onnx-under-test')).arrayBuffer());
        const session = await ort.InferenceSession.create(model, { executionProviders: ['wasm'] });
        // NCHW, each 8-bit value v as v / 255 in f32 (the core's rule).
        const plane = side * side;
        const input = new Float32Array(images.length * 3 * plane);
        images.forEach((rgba, n) => {
          for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) input[(n * 3 + c) * plane + p] = rgba[p * 4 + c] / 255;
        });
        const out = await session.run({ image: new ort.Tensor('float32', input, [images.length, 3, side, side]) });
        const probabilities = out.probabilities;
        const answer = { inputNames: session.inputNames, outputNames: session.outputNames, dims: probabilities.dims, data: Array.from(probabilities.data) };
        await session.release();
        return answer;
      },
      { images: cases.map((c) => c.rgba), side },
    );
    assert.deepEqual(ort.inputNames, ['image']);
    assert.deepEqual(ort.outputNames, ['probabilities']);
    assert.deepEqual(ort.dims, [testCount, 1], "the chapter's model: one sigmoid unit, p(smiling)");

    // Image by image: ONNX Runtime's [1 - p, p] against the page's probabilities.
    let maxDiff = 0;
    const confusion = classNames.map(() => classNames.map(() => 0));
    cases.forEach((c, i) => {
      const p = ort.data[i];
      const theirs = [1 - p, p];
      for (let k = 0; k < 2; k++) {
        const diff = Math.abs(theirs[k] - c.probabilities[k]);
        maxDiff = Math.max(maxDiff, diff);
        assert.ok(diff <= TOLERANCE, `test image ${i}, ${classNames[k]}: ONNX Runtime ${theirs[k]}, convscope ${c.probabilities[k]}`);
      }
      assert.equal(argmax(theirs), argmax(c.probabilities), `test image ${i}: the same class`);
      confusion[classNames.indexOf(c.label)][argmax(theirs)] += 1;
    });
    console.log(`ONNX Runtime Web against convscope on ${testCount} test images: max |Δp| ${maxDiff.toExponential(2)}; p(smiling) from ${Math.min(...smiles).toFixed(4)} to ${Math.max(...smiles).toFixed(4)}`);

    // ...and so the page's confusion matrix of the test set, cell by cell.
    const cells = await region(page, 'Results').getByRole('group', { name: 'Confusion matrix' }).getByRole('button').evaluateAll((bs) => bs.map((b) => b.getAttribute('aria-label')));
    const expected = classNames.flatMap((t, ti) => classNames.map((p, pi) => `true ${t}, predicted ${p}: ${confusion[ti][pi]} images`));
    assert.deepEqual(cells, expected);
    checkLog(log, env.server.origin);
  } finally {
    await close();
  }
});

test('with nothing trained, Download as ONNX says so, downloads nothing and changes nothing', async () => {
  const { page, log, close } = await openTraining(env.browser, env.server.url + TINY);
  try {
    let downloads = 0;
    page.on('download', () => (downloads += 1));
    const info = await text(page, '#data-info');
    const summary = await text(page, '#summary-foot');
    const button = region(page, 'Try it').getByRole('button', { name: 'Download as ONNX' });
    assert.ok(await button.isEnabled(), 'the control is there to press, and answers in words');
    await button.click();
    assert.equal(
      await messageOf(page, '#msg-model'),
      'There is no trained model to download yet: train one first (the Train button above) or load a model file. An untrained model only answers at random.',
    );
    await page.waitForTimeout(500);
    assert.equal(downloads, 0, 'no file');
    assert.equal(await text(page, '#data-info'), info, 'the data stay');
    assert.equal(await text(page, '#summary-foot'), summary, 'the model stays');
    assert.equal(await page.evaluate(() => document.body.dataset.modelTrained), 'false');
    // The page still works: it trains, and then the download goes through.
    await train(page);
    const [download] = await Promise.all([page.waitForEvent('download'), button.click()]);
    assert.equal(download.suggestedFilename(), 'convscope-smile-model.onnx');
    checkLog(log, env.server.origin);
  } finally {
    await close();
  }
});
