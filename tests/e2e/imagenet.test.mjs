// "Look inside" on the pretrained ImageNet network in headless Chromium, over http (the page
// downloads the model with a progress bar) and from the single file on file:// (the student
// chooses the model file once; a reload finds it kept in IndexedDB): the cat photo's top-5
// holds a cat, saliency and Grad-CAM are drawn, a two-class activation maximization runs, and
// bad input (another file as the model, the smile model, a 1x1 photo, a class that does not
// exist) gets its message with the loaded network untouched; the network, and a transfer head
// with it, download as ONNX files (tests/onnx_export.rs checks their numbers natively).
// Screenshots to build/screenshots/.
// Needs the converted model (./build.sh build makes it); without it (registry unreachable)
// the test is skipped with a message, unless CONVSCOPE_REQUIRE_IMAGENET is set.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { ROOT, SINGLE_FILE_URL, launchBrowser, startServer } from './harness.mjs';
import { TINY, checkLog, messageOf, openTraining } from './training-page.mjs';

const SHOTS = path.join(ROOT, 'build', 'screenshots');
const MODEL = path.join(ROOT, 'build', 'imagenet', 'efficientnet-lite0.safetensors');
const CAT = path.join(ROOT, 'tests', 'fixtures', 'imagenet', 'chelsea.png');
const haveModel = fs.existsSync(MODEL);
// axe-core on the ImageNet view once it shows everything (evaluated: the CSP refuses inline scripts).
const AXE = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const WCAG_22_AA = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22a', 'wcag22aa'];
async function violations(page) {
  await page.evaluate(AXE);
  const result = await page.evaluate((tags) => window.axe.run('#inside', { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] }), WCAG_22_AA);
  return result.violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).slice(0, 5).join(', ')}`);
}
if (!haveModel) {
  if (process.env.CONVSCOPE_REQUIRE_IMAGENET) throw new Error(`${MODEL} is missing (python3 tools/imagenet/fetch_and_convert.py makes it)`);
  console.log(`skipped: no ImageNet model at ${MODEL} (python3 tools/imagenet/fetch_and_convert.py makes it)`);
}

let server;
let browser;
let scratch;
before(async () => {
  if (!haveModel) return;
  fs.mkdirSync(SHOTS, { recursive: true });
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'convscope-imagenet-'));
  server = await startServer();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.close();
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

// A 1x1 PNG, written by hand (zlib for the pixel row); `side` makes the header claim another
// size (the pixel data then do not match, but the size check comes first).
function tinyPng(file, side = 1) {
  const crc = (buf) => {
    let c = ~0;
    for (const b of buf) {
      c ^= b;
      for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
    }
    return ~c >>> 0;
  };
  const chunk = (type, data) => {
    const body = Buffer.concat([Buffer.from(type), data]);
    const out = Buffer.alloc(body.length + 8);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc(body), body.length + 4);
    return out;
  };
  const ihdr = Buffer.from([0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0]);
  ihdr.writeUInt32BE(side, 0);
  ihdr.writeUInt32BE(side, 4);
  const png = Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(Buffer.from([0, 200, 100, 50]))), chunk('IEND', Buffer.alloc(0))]);
  fs.writeFileSync(file, png);
  return file;
}

const hasDrawing = (c) => {
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  for (let i = 4; i < d.length; i += 4) if (d[i] !== d[0] || d[i + 1] !== d[1] || d[i + 2] !== d[2]) return true;
  return false;
};
const drawn = (page, id) => page.locator(`#${id}`).evaluate(hasDrawing);
const data = (page, key) => page.evaluate((k) => document.body.dataset[k], key);
const panel = (page, name) => page.getByRole('region', { name, exact: true });

async function switchToImagenet(page) {
  await page.waitForSelector('body[data-inside-ready="true"]', { timeout: 60_000 });
  await page.locator('#inside').scrollIntoViewIfNeeded();
  await page.getByRole('radio', { name: /the ImageNet network/ }).check();
  await page.waitForSelector('#imagenet-view:not([hidden])');
}

async function explainTheCat(page, target) {
  const loadPanel = panel(page, 'ImageNet network');
  await loadPanel.getByLabel('Photo for the ImageNet network').setInputFiles(CAT);
  await page.waitForFunction(() => Number(document.body.dataset.imagenetExplained ?? 0) > 0, null, { timeout: 120_000 });
  const top = await page.locator('#imagenet-top li').allTextContents();
  assert.equal(top.length, 5, 'five classes');
  const top1 = Number(await data(page, 'imagenetTop1'));
  assert.ok(top1 >= 281 && top1 <= 285, `the cat's top-1 (${top1}) is one of ImageNet's cats: ${top.join(' | ')}`);
  assert.match(top[0], /Egyptian cat \(285\)/);
  for (const id of ['imagenet-canvas', 'imagenet-saliency', 'imagenet-gradcam']) assert.ok(await drawn(page, id), `${id} is drawn`);
  assert.match(await page.locator('#imagenet-gradcam-caption').textContent(), /Grad-CAM on head_relu6 \(7×7\)/);

  // Grad-CAM on an earlier block, of another class picked by name.
  const where = panel(page, 'Where the ImageNet network looks');
  await where.getByLabel('Class to explain').fill('tiger cat');
  await where.getByLabel('Grad-CAM layer').selectOption({ label: 'b10_add (14×14, 112 maps)' });
  const before = Number(await data(page, 'imagenetExplained'));
  await where.getByRole('button', { name: 'Explain this class' }).click();
  await page.waitForFunction((n) => Number(document.body.dataset.imagenetExplained) > n + 1, before, { timeout: 120_000 });
  assert.match(await page.locator('#imagenet-gradcam-caption').textContent(), /b10_add \(14×14\).*tiger cat/);
  assert.match(await page.locator('#imagenet-maps figcaption').textContent(), /b10_add · first 32 of 112 maps · \(14, 14, 32\)/);
  assert.ok(await page.locator('#imagenet-maps canvas').evaluate(hasDrawing), 'the block maps are drawn');

  // Two classes at once, a few iterations of the chapter's max_iter.
  const act = panel(page, 'ImageNet activation maximization');
  await act.getByLabel('Class', { exact: true }).fill('leopard, Panthera pardus');
  await act.getByLabel('And a second class (optional)').fill('tabby, tabby cat');
  await act.getByLabel('max_iter').fill('10');
  await act.getByRole('button', { name: 'Run' }).click();
  await page.waitForFunction(() => Number(document.body.dataset.imagenetActmaxFrames ?? 0) > 1, null, { timeout: 180_000 });
  assert.match(await page.locator('#imagenet-actmax-status').textContent(), /After 10 iterations the logit of “leopard, Panthera pardus” \+ “tabby, tabby cat” went from -?\d+\.\d\d to -?\d+\.\d\d/);
  assert.ok(await drawn(page, 'imagenet-actmax-canvas'));
  await page.locator('#imagenet-view').screenshot({ path: path.join(SHOTS, `imagenet-${target}.png`) });
  assert.deepEqual(await violations(page), [], 'axe-core: no WCAG 2.2 AA violation in the ImageNet view');

  // Bad input: each a message, the network and its answers left as they were.
  await where.getByLabel('Class to explain').fill('unicorn');
  await where.getByRole('button', { name: 'Explain this class' }).click();
  assert.match(await messageOf(page, '#msg-imagenet-explain'), /no ImageNet class is called "unicorn"/);
  await loadPanel.getByLabel('Photo for the ImageNet network').setInputFiles(tinyPng(path.join(scratch, 'tiny.png')));
  assert.match(await messageOf(page, '#msg-imagenet'), /tiny\.png: this photo is only 1×1 pixels; the ImageNet network needs at least 32 pixels a side/);
  assert.equal(Number(await data(page, 'imagenetTop1')), top1, 'the last photo stays');
  await loadPanel.getByLabel('Photo for the ImageNet network').setInputFiles(tinyPng(path.join(scratch, 'huge.png'), 8000));
  await page.waitForFunction(() => document.querySelector('#msg-imagenet').textContent.startsWith('huge.png'));
  assert.match(await page.locator('#msg-imagenet').textContent(), /huge\.png: .*8000×8000.*4096/);
  // A model file cut short, and a file that is not one.
  const cut = path.join(scratch, 'cut.safetensors');
  fs.writeFileSync(cut, fs.readFileSync(MODEL).subarray(0, 5_000_000));
  await loadPanel.getByLabel('Choose the ImageNet model file').setInputFiles(cut);
  await page.waitForFunction(() => document.querySelector('#msg-imagenet').textContent.startsWith('cut.safetensors'));
  assert.match(await page.locator('#msg-imagenet').textContent(), /truncated/);
  const notes = path.join(scratch, 'notes.safetensors');
  fs.writeFileSync(notes, 'not a model');
  await loadPanel.getByLabel('Choose the ImageNet model file').setInputFiles(notes);
  await page.waitForFunction(() => document.querySelector('#msg-imagenet').textContent.startsWith('notes.safetensors'));
  assert.match(await page.locator('#imagenet-status').textContent(), /is loaded/);
}

// A new head on the loaded data (the link's 60 + 20 synthetic faces, two classes): its test
// metrics, confusion matrix, curves and an explanation of a test picture through it.
async function transferLearning(page, target) {
  const tl = panel(page, 'Transfer learning');
  await tl.getByRole('button', { name: 'Train a new head on the loaded data' }).click();
  await page.waitForFunction(() => document.body.dataset.transferAccuracy !== undefined && Number(document.body.dataset.transferExplained ?? 0) > 0, null, { timeout: 180_000 });
  const accuracy = Number(await data(page, 'transferAccuracy'));
  assert.ok(accuracy >= 0 && accuracy <= 1, `accuracy ${accuracy}`);
  assert.match(await page.locator('#transfer-accuracy').textContent(), /^\d+\.\d%$/);
  assert.match(await page.locator('#transfer-status').textContent(), /The new head trained for \d+ epochs/);
  const rows = page.locator('#transfer-confusion tr');
  assert.equal(await rows.count(), 3, 'a header and one row per class');
  const counts = (await page.locator('#transfer-confusion td').allTextContents()).map(Number);
  assert.equal(counts.reduce((a, b) => a + b, 0), 20, 'the confusion matrix counts the 20 test pictures');
  await page.waitForFunction(() => Number(document.getElementById('transfer-loss-chart').dataset.points ?? 0) > 0, null, { timeout: 30_000 });
  for (const id of ['transfer-picture', 'transfer-saliency', 'transfer-gradcam']) assert.ok(await drawn(page, id), `${id} is drawn`);
  assert.match(await page.locator('#transfer-gradcam-caption').textContent(), /Grad-CAM on \w+: where it finds “smiling”/);
  // A test picture that does not exist: a message, the results stay.
  await tl.getByLabel('Test picture', { exact: true }).fill('999');
  await tl.getByRole('button', { name: 'Explain this test picture' }).click();
  assert.match(await messageOf(page, '#msg-transfer'), /there is no test picture 999: the test set has 20/);
  await page.locator('.imagenet-transfer').screenshot({ path: path.join(SHOTS, `imagenet-transfer-${target}.png`) });

  // Save the head, then load it back: the same score on the same test pictures.
  const [download] = await Promise.all([page.waitForEvent('download'), tl.getByRole('button', { name: 'Save the head' }).click()]);
  const saved = path.join(scratch, `head-${target}.safetensors`);
  await download.saveAs(saved);
  const shown = await page.locator('#transfer-accuracy').textContent();
  await tl.getByLabel('Load a saved transfer head').setInputFiles(saved);
  await page.waitForFunction((f) => document.getElementById('transfer-status').textContent.startsWith(`The head from ${f}`), path.basename(saved), { timeout: 120_000 });
  assert.equal(await page.locator('#transfer-accuracy').textContent(), shown, 'the loaded head scores as the trained one');
  assert.ok(await page.locator('#transfer-curves').isHidden(), 'no curves for a loaded head');
  // Network and head as one ONNX model, with the head's classes in its metadata: the network's
  // 3.4 million weights up to its features (not its 1,000-class layer), f32.
  const onnx = await downloadOnnx(page, tl.getByRole('button', { name: 'Download network and head as ONNX' }), 'transfer-model.onnx', target, 13e6);
  assert.ok(onnx.includes('convscope.classes') && onnx.includes('["frowning","smiling"]'), 'the head\'s class names are in the ONNX file');
  assert.match(await page.locator('#msg-transfer').textContent(), /^Downloaded \d+\.\d MB as transfer-model\.onnx: the ImageNet network and your head as one model/);
  // The ImageNet network itself is not a head.
  await tl.getByLabel('Load a saved transfer head').setInputFiles(MODEL);
  await page.waitForFunction(() => document.getElementById('msg-transfer').textContent.startsWith('efficientnet-lite0.safetensors'));
  assert.match(await page.locator('#msg-transfer').textContent(), /holds a graph model/);
}

// Presses `button`, which downloads an ONNX file named `name` of at least `atLeast` bytes;
// returns its bytes.
async function downloadOnnx(page, button, name, target, atLeast) {
  const [download] = await Promise.all([page.waitForEvent('download'), button.click()]);
  assert.equal(download.suggestedFilename(), name);
  const file = path.join(scratch, `${target}-${name}`);
  await download.saveAs(file);
  const bytes = fs.readFileSync(file);
  assert.ok(bytes.length >= atLeast, `${name}: ${bytes.length} bytes, expected at least ${atLeast}`);
  return bytes;
}

for (const target of ['http', 'file']) {
  test(`${target}: the ImageNet network loads, names the cat, explains it and draws two classes`, { skip: !haveModel, timeout: 420_000 }, async () => {
    const url = target === 'http' ? server.url : SINGLE_FILE_URL;
    const { page, log, close } = await openTraining(browser, url + TINY, { width: 1280, height: 900 });
    try {
      await switchToImagenet(page);
      const loadPanel = panel(page, 'ImageNet network');
      if (target === 'http') {
        await loadPanel.getByRole('button', { name: 'Load the ImageNet network' }).click();
      } else {
        // From file:// the page cannot fetch: it says to choose the file.
        await loadPanel.getByRole('button', { name: 'Load the ImageNet network' }).click();
        assert.match(await messageOf(page, '#msg-imagenet'), /Opened from a file, the page cannot download the network: choose the model file/);
        await loadPanel.getByLabel('Choose the ImageNet model file').setInputFiles(MODEL);
      }
      await page.waitForSelector('body[data-imagenet-loaded="true"]', { timeout: 60_000 });
      assert.equal(await page.locator('#imagenet-progress').evaluate((p) => p.value), 1);
      await explainTheCat(page, target);
      await transferLearning(page, target);
      // The network alone as ONNX (4.7 million f32 weights), with its class names.
      const onnx = await downloadOnnx(page, panel(page, 'ImageNet network').getByRole('button', { name: 'Download as ONNX' }), 'efficientnet-lite0.onnx', target, 18e6);
      assert.ok(onnx.includes('convscope.classes') && onnx.includes('tabby, tabby cat'), 'the class names are in the ONNX file');
      assert.match(await page.locator('#msg-imagenet').textContent(), /^Downloaded \d+\.\d MB as efficientnet-lite0\.onnx, for ONNX Runtime/);
      if (target === 'file') {
        // The chosen file was kept: after a reload the network is there without asking.
        await page.reload();
        await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
        await switchToImagenet(page);
        await page.waitForSelector('body[data-imagenet-loaded="true"]', { timeout: 60_000 });
        assert.match(await page.locator('#imagenet-status').textContent(), /kept in this browser/);
      }
      // The failed loads above are messages, not page errors.
      checkLog(log, target === 'http' ? server.url.replace(/\/$/, '') : 'file');
    } finally {
      await close();
    }
  });
}
