// The "Look inside" section in headless Chromium: after a short training run, a chosen test
// image's prediction, every layer's maps, saliency and Grad-CAM and the first-layer filters
// render without page errors (over http and from the single file on file://); activation
// maximization runs in the worker and shows its frames; the shortcut lab's switch trains a
// small model and shows both test accuracies. Screenshots at 1280x720 and 1920x1080 go to
// build/screenshots/. Run: node --test tests/e2e/inside.test.mjs (after ./build.sh build).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { FAKE_CAMERA, ROOT, SINGLE_FILE_URL, launchBrowser, startServer } from './harness.mjs';
import { TINY, checkLog, openTraining, region, train } from './training-page.mjs';

const SHOTS = path.join(ROOT, 'build', 'screenshots');

let server;
let browser;
before(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  server = await startServer();
  browser = await launchBrowser(FAKE_CAMERA);
});
after(async () => {
  await browser?.close();
  await server?.close();
});

const inside = (page) => page.locator('#inside');

// Presses "Look inside" for test image `index` and waits for the view to be drawn again.
async function lookInside(page, index) {
  const before = Number((await page.evaluate(() => document.body.dataset.insideShown)) ?? 0);
  await region(page, 'Picture').getByLabel('Test image').fill(String(index));
  await region(page, 'Picture').getByRole('button', { name: 'Look inside', exact: true }).click();
  await page.waitForFunction((n) => Number(document.body.dataset.insideShown ?? 0) > n, before, { timeout: 60_000 });
}

// Whether a canvas has more than one colour (something was drawn); run in the page.
const hasDrawing = (c) => {
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  for (let i = 4; i < d.length; i += 4) if (d[i] !== d[0] || d[i + 1] !== d[1] || d[i + 2] !== d[2]) return true;
  return false;
};
const drawn = (page, selector) => page.locator(selector).evaluate(hasDrawing);

async function checkView(page) {
  assert.match(await page.locator('#inside-prediction').textContent(), /P\(smile\) = \d+\.\d%/);
  const maps = inside(page).locator('.layer-figure');
  assert.ok((await maps.count()) >= 8, 'one figure per layer of the chapter model');
  assert.match(await maps.first().locator('figcaption').textContent(), /Conv2D · \(64, 64, 16\)/, 'the first convolution first');
  for (const sel of ['#inside-canvas', '#inside-saliency', '#inside-gradcam', '#inside-filters', '.layer-figure canvas >> nth=1']) {
    assert.ok(await drawn(page, `#inside ${sel}`), `${sel} is drawn`);
  }
}

for (const target of ['http', 'file']) {
  test(`${target}: after a short run, the look-inside view renders maps, saliency and Grad-CAM`, { timeout: 240_000 }, async () => {
    const url = target === 'http' ? server.url : SINGLE_FILE_URL;
    const { page, log, close } = await openTraining(browser, url + TINY);
    try {
      await page.waitForSelector('body[data-inside-ready="true"]');
      await train(page);
      // The header's link takes the student there and shows where they are.
      await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: '4 · Look inside' }).click();
      await page.waitForFunction(() => document.querySelector('.sections a[href="#inside"]').getAttribute('aria-current') === 'location', null, { timeout: 10_000 });
      assert.equal(await page.locator('.sections a.current').count(), 1);
      await lookInside(page, 3);
      await checkView(page);
      // Another class, SmoothGrad and per-map scales redraw without errors.
      const shown = Number(await page.evaluate(() => document.body.dataset.insideShown));
      await region(page, 'Where the network looks').getByLabel('Evidence for').selectOption('0');
      await region(page, 'Where the network looks').getByLabel(/SmoothGrad/).check();
      await page.waitForFunction((n) => Number(document.body.dataset.insideShown) > n, shown, { timeout: 60_000 });
      await region(page, 'Every layer').getByLabel('Colour scale').selectOption('map');
      // The last of the redraws these asked for is the one for "no smile" (an earlier one may
      // land first on a busy machine).
      await page.waitForFunction(() => /per place.*no smile/.test(document.getElementById('inside-gradcam-caption').textContent), null, { timeout: 60_000 });
      // The original Grad-CAM weighting, one switch away.
      await region(page, 'Where the network looks').getByLabel('Grad-CAM weights').selectOption('channel-mean');
      await page.waitForFunction(() => /one weight per map/.test(document.getElementById('inside-gradcam-caption').textContent), null, { timeout: 60_000 });
      assert.ok(await drawn(page, '#inside #inside-gradcam'));
      // A frame of (Chromium's fake) camera is explained like a test image.
      const shown3 = Number(await page.evaluate(() => document.body.dataset.insideShown));
      await region(page, 'Picture').getByRole('button', { name: 'Use a camera frame' }).click();
      await page.waitForFunction((n) => Number(document.body.dataset.insideShown) > n && document.body.dataset.insidePicture === 'camera', shown3, { timeout: 60_000 });
      await checkView(page);
      assert.equal(await page.locator('#msg-inside').textContent(), '');
      checkLog(log, target === 'http' ? server.origin : 'file');
    } finally {
      await close();
    }
  });
}

test('http: explanations refresh every N batches during training', { timeout: 240_000 }, async () => {
  const { page, log, close } = await openTraining(browser, server.url + '#dn=160&dt=20&ep=1&pa=0&bs=16');
  try {
    await page.waitForSelector('body[data-inside-ready="true"]');
    const picture = region(page, 'Picture');
    await picture.getByLabel('Refresh during training every').check();
    await picture.getByLabel('Refresh every this many batches').fill('1');
    await train(page);
    // Refreshed while training (and once more at the end), without pressing Look inside.
    await page.waitForFunction(() => Number(document.body.dataset.insideShown ?? 0) >= 2, null, { timeout: 60_000 });
    assert.equal(await page.locator('#msg-inside').textContent(), '');
    checkLog(log, server.origin);
  } finally {
    await close();
  }
});

test('http: activation maximization runs in the worker with progress and frames', { timeout: 240_000 }, async () => {
  const { page, log, close } = await openTraining(browser, server.url + TINY);
  try {
    await page.waitForSelector('body[data-inside-ready="true"]');
    await train(page);
    const panel = region(page, 'Activation maximization');
    await panel.scrollIntoViewIfNeeded();
    await panel.getByLabel('Iterations').fill('40');
    await panel.getByLabel('Step size').fill('0.02');
    await panel.getByRole('button', { name: 'Start from noise' }).click();
    await page.waitForSelector('body[data-actmax-frames]', { timeout: 120_000 });
    assert.equal(await page.evaluate(() => document.body.dataset.actmaxFrames), '5', 'the start and every 10 iterations');
    assert.equal(await panel.getByRole('progressbar').evaluate((p) => p.value), 1);
    assert.match(await page.locator('#actmax-status').textContent(), /After 40 iterations the target's score went from -?\d/);
    // The animation draws on its own clock: give a loaded machine a moment.
    // (Polled from here: a string predicate would be evaluated in the page, which its CSP forbids.)
    const until = Date.now() + 10_000;
    while (!(await drawn(page, '#actmax-canvas')) && Date.now() < until) await page.waitForTimeout(100);
    assert.ok(await drawn(page, '#actmax-canvas'), 'the animation drew on its canvas');
    // Two targets at once.
    await page.evaluate(() => delete document.body.dataset.actmaxFrames);
    await panel.getByLabel('Target').selectOption('smile_filter');
    await panel.getByLabel('Filter').fill('31');
    await panel.getByRole('button', { name: 'Start from noise' }).click();
    await page.waitForSelector('body[data-actmax-frames]', { timeout: 120_000 });
    checkLog(log, server.origin);
  } finally {
    await close();
  }
});

test('http: the shortcut lab switch trains on confounded faces and shows both accuracies', { timeout: 300_000 }, async () => {
  const { page, log, close } = await openTraining(browser, server.url + TINY);
  try {
    await page.waitForSelector('body[data-inside-ready="true"]');
    const lab = region(page, 'Shortcut lab');
    await lab.scrollIntoViewIfNeeded();
    await lab.getByLabel('Training faces').fill('60');
    await lab.getByLabel('Epochs').fill('1');
    await lab.getByRole('switch').check();
    await page.waitForSelector('body[data-lab-done="true"]', { timeout: 240_000 });
    for (const id of ['lab-acc-confounded', 'lab-acc-clean']) assert.match(await page.locator(`#${id}`).textContent(), /^\d+\.\d%$/);
    assert.equal(await lab.locator('.lab-explain canvas').count(), 12, 'four faces: picture, saliency, Grad-CAM');
    // The lab's model can be looked inside too; the student's model is untouched.
    await page.getByLabel("the shortcut lab's model").check();
    await page.waitForFunction(() => Number(document.body.dataset.insideShown ?? 0) > 0, null, { timeout: 60_000 });
    assert.equal(await page.locator('#msg-lab').textContent(), '');
    checkLog(log, server.origin);
  } finally {
    await close();
  }
});

test('screenshots of the view at 1280x720 and 1920x1080', { timeout: 240_000 }, async () => {
  for (const viewport of [{ width: 1280, height: 720 }, { width: 1920, height: 1080 }]) {
    const { page, log, close } = await openTraining(browser, server.url + TINY, viewport);
    try {
      await page.waitForSelector('body[data-inside-ready="true"]');
      await train(page);
      await inside(page).scrollIntoViewIfNeeded();
      await lookInside(page, 1);
      await region(page, 'Activation maximization').getByLabel('Iterations').fill('30');
      await region(page, 'Activation maximization').getByRole('button', { name: 'Start from noise' }).click();
      await page.waitForSelector('body[data-actmax-frames]', { timeout: 120_000 });
      await page.locator('#inside').screenshot({ path: path.join(SHOTS, `inside-${viewport.width}x${viewport.height}.png`) });
      await page.locator('#inside').evaluate((s) => window.scrollTo(0, s.offsetTop));
      await page.screenshot({ path: path.join(SHOTS, `inside-viewport-${viewport.width}x${viewport.height}.png`) });
      checkLog(log, server.origin);
    } finally {
      await close();
    }
  }
});
