// The training page's own-data paths in headless Chromium: an image folder picked with the
// folder dialog trains (over http and from file://); a one-class folder and a non-image are
// refused with a message and the previous data kept; Happy House .h5 files are read by the
// page's HDF5 reader (a damaged one is named); a photo uploaded in Try it is predicted;
// the webcam (Chromium's fake camera) captures frames of both classes, one is deleted, the
// rest become the dataset, and the live smile meter runs.
// Run: node --test tests/e2e/ (after ./build.sh build).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FAKE_CAMERA, SINGLE_FILE_URL, launchBrowser, startServer } from './harness.mjs';
import { face, writeFolder, zip } from './images.mjs';
import { TINY, checkLog, messageOf, openTraining, region, text, train } from './training-page.mjs';

let server;
let browser;
let tmp;
before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'convscope-e2e-'));
  server = await startServer();
  browser = await launchBrowser(FAKE_CAMERA);
});
after(async () => {
  await browser?.close();
  await server?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

for (const target of ['http', 'file']) {
  const url = () => (target === 'http' ? server.url : SINGLE_FILE_URL);
  const origin = () => (target === 'http' ? server.origin : 'file');

  test(`over ${target}: a folder of 60 labelled images loads, shows its gallery and trains`, async () => {
    const dir = writeFolder(path.join(tmp, `faces-${target}`), ['no_smile', 'smile'], 30);
    const { page, log, close } = await openTraining(browser, url() + TINY);
    try {
      await region(page, 'Data').getByLabel('Load a folder of images (one subfolder per class)').setInputFiles(dir);
      await page.waitForFunction(() => document.querySelector('#data-info').textContent.startsWith('images from the folder'));
      assert.match(await text(page, '#data-info'), /^images from the folder faces-\w+ \(30 no_smile, 30 smile; a fifth of each class kept for testing\): 48 training images \(24 no_smile, 24 smile\) and 12 test images, 64×64×3\.$/);
      // Own pictures get the recommended settings, except what the link set (epochs, patience).
      assert.equal(await page.inputValue('#train-batch'), '8');
      assert.equal(await page.inputValue('#train-bn'), '0.99');
      assert.equal(await page.inputValue('#train-epochs'), '1');
      await page.waitForFunction(() => document.querySelector('#gallery figcaption').textContent === 'no_smile');
      const captions = await page.locator('#gallery figcaption').allTextContents();
      assert.deepEqual(captions, [...Array(8).fill('no_smile'), ...Array(8).fill('smile')]);
      await train(page);
      const cells = (await region(page, 'Results').getByRole('group', { name: 'Confusion matrix' }).getByRole('button').allTextContents()).map(Number);
      assert.equal(cells.reduce((a, b) => a + b, 0), 12);
      checkLog(log, origin());
    } finally {
      await close();
    }
  });
}

test('a one-class folder and a broken picture are refused, the data stay; a text file is skipped with a note; a non-image photo is explained', async () => {
  const oneClass = writeFolder(path.join(tmp, 'only-smiles'), ['smile'], 4);
  const withText = writeFolder(path.join(tmp, 'with-text'), ['no_smile', 'smile'], 3);
  fs.writeFileSync(path.join(withText, 'smile', 'notes.txt'), 'not a picture');
  const { page, log, close } = await openTraining(browser, server.url + TINY);
  try {
    const info = await text(page, '#data-info');
    const folder = region(page, 'Data').getByLabel('Load a folder of images (one subfolder per class)');
    await folder.setInputFiles(oneClass);
    assert.match(await messageOf(page, '#msg-data'), /^only-smiles: the folder has only one class \(smile\); a classifier needs at least two class subfolders\. The data and the model you had are unchanged\.$/);
    assert.equal(await text(page, '#data-info'), info);
    // A picture that is not one is refused, naming it; the data stay.
    fs.writeFileSync(path.join(withText, 'smile', 'broken.png'), 'not a picture');
    await folder.setInputFiles(withText);
    await page.waitForFunction(() => document.querySelector('#msg-data').textContent.includes('broken.png'));
    assert.match(await text(page, '#msg-data'), /broken\.png' is not a PNG or JPEG image\. The data and the model you had are unchanged\.$/);
    assert.equal(await text(page, '#data-info'), info);
    // A text file beside the pictures is skipped, as Keras skips it, and the note says so.
    fs.rmSync(path.join(withText, 'smile', 'broken.png'));
    await folder.setInputFiles(withText);
    await page.waitForFunction(() => document.querySelector('#data-info').textContent.startsWith('images from the folder with-text'));
    assert.equal(await text(page, '#data-notes'), '1 file that is not a PNG or JPEG picture was skipped (notes.txt).');

    // Try it: a text file as a photo is explained; a real photo (wider than tall) is predicted.
    const tryIt = region(page, 'Try it');
    await tryIt.getByLabel('Upload a photo').setInputFiles({ name: 'holiday.png', mimeType: 'image/png', buffer: Buffer.from('this is no picture') });
    assert.match(await messageOf(page, '#msg-try'), /^holiday\.png: this file is not a PNG or JPEG picture\.$/);
    await tryIt.getByLabel('Upload a photo').setInputFiles({ name: 'me.png', mimeType: 'image/png', buffer: face(true, 0, 120) });
    await page.waitForFunction(() => document.querySelector('#try-result').dataset.probabilities);
    // The folder with the skipped text file is the data now: its class names answer.
    assert.match(await text(page, '#try-result'), /^(no_smile|smile) \(\d+\.\d%\); your photo me\.png\.$/);
    const probs = (await page.locator('#try-result').getAttribute('data-probabilities')).split(',').map(Number);
    assert.ok(Math.abs(probs[0] + probs[1] - 1) < 1e-5);
    checkLog(log, server.origin);
  } finally {
    await close();
  }
});

test('a zip of an image folder dropped onto the Data panel loads', async () => {
  const files = [];
  for (const [name, smile] of [['no_smile', false], ['smile', true]]) {
    for (let i = 0; i < 10; i++) files.push({ path: `faces/${name}/${i}.png`, bytes: face(smile, i * 4) });
  }
  const bytes = zip(files);
  const { page, log, close } = await openTraining(browser, server.url + TINY);
  try {
    // A drop as the browser makes it: a DataTransfer holding the file.
    await page.evaluate((data) => {
      const transfer = new DataTransfer();
      transfer.items.add(new File([Uint8Array.from(data)], 'faces.zip', { type: 'application/zip' }));
      document.querySelector('.data-panel').dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
    }, [...bytes]);
    await page.waitForFunction(() => document.querySelector('#data-info').textContent.startsWith('images from faces.zip'));
    assert.match(await text(page, '#data-info'), /^images from faces\.zip \(10 no_smile, 10 smile; .*\): 16 training images \(8 no_smile, 8 smile\) and 4 test images/);
    // A damaged zip: refused, the zip's data stay.
    const info = await text(page, '#data-info');
    await region(page, 'Data').getByLabel('Load a zip of an image folder').setInputFiles({ name: 'broken.zip', mimeType: 'application/zip', buffer: bytes.subarray(0, 200) });
    assert.match(await messageOf(page, '#msg-data'), /^broken\.zip: .+ The data and the model you had are unchanged\.$/);
    assert.equal(await text(page, '#data-info'), info);
    checkLog(log, server.origin);
  } finally {
    await close();
  }
});

describe('webcam (fake camera)', () => {
  test('capture both classes, delete a frame, use them, train; the live smile meter predicts several times a second', async () => {
    const { page, log, close } = await openTraining(browser, server.url + TINY);
    try {
      const data = region(page, 'Data');
      await data.getByRole('button', { name: 'Start camera' }).click();
      const smile = data.getByRole('button', { name: 'Capture smile' });
      const noSmile = data.getByRole('button', { name: 'Capture no smile' });
      const thumbs = data.getByRole('group', { name: 'Captured frames' }).locator('canvas');
      for (const [button, n] of [[smile, 5], [smile, 10], [noSmile, 15], [noSmile, 20]]) {
        await button.click();
        await page.waitForFunction((k) => document.querySelectorAll('#cam-thumbs canvas').length === k && !document.querySelector('#cam-smile').disabled, n);
      }
      assert.equal(await thumbs.count(), 20);
      assert.equal(await text(page, '#cam-count'), '10 smile, 10 no smile');
      await data.getByRole('button', { name: 'Delete frame 3 (smile)' }).click();
      assert.equal(await thumbs.count(), 19);
      assert.equal(await text(page, '#cam-count'), '9 smile, 10 no smile');
      await data.getByRole('button', { name: 'Use these frames' }).click();
      await page.waitForFunction(() => document.querySelector('#data-info').textContent.startsWith('webcam frames'));
      assert.match(await text(page, '#data-info'), /^webcam frames \(10 no smile, 9 smile; a fifth of each class kept for testing\): 15 training images \(8 no smile, 7 smile\) and 4 test images, 64×64×3\.$/);
      // The gallery follows the info line: samples of the frames, both classes.
      await page.waitForFunction(() => document.querySelectorAll('#gallery canvas').length === 15);
      assert.deepEqual(new Set(await page.locator('#gallery figcaption').allTextContents()), new Set(['no smile', 'smile']));
      await train(page);

      const tryIt = region(page, 'Try it');
      await tryIt.getByRole('button', { name: 'Start live smile meter' }).click();
      const started = Date.now();
      await page.waitForFunction(() => Number(document.querySelector('#smile-meter-text').dataset.frames) >= 10, null, { timeout: 20_000 });
      const perSecond = 10 / ((Date.now() - started) / 1000);
      assert.ok(perSecond >= 2, `live predictions per second: ${perSecond.toFixed(1)}`);
      assert.match(await text(page, '#smile-meter-text'), /^smile: \d+\.\d%$/);
      await tryIt.getByRole('button', { name: 'Stop live smile meter' }).click();
      checkLog(log, server.origin);
    } finally {
      await close();
    }
  });
});

// The chapter's own test file, when ../shared is beside the project (tests may read it).
const SHARED_TEST_H5 = path.resolve(import.meta.dirname, '../../../shared/data/happy_house/test_happy.h5');
const SMALL_TRAIN_H5 = path.resolve(import.meta.dirname, '../fixtures/h5/train_small.h5');

test('Happy House .h5 files are read in the page (gzip-chunked and plain); damaged ones are named', async () => {
  const { page, log, close } = await openTraining(browser, server.url + TINY);
  try {
    const input = region(page, 'Data').getByLabel('Load Happy House .h5 files');
    await input.setInputFiles(SMALL_TRAIN_H5);
    await page.waitForFunction(() => document.querySelector('#data-info').textContent.startsWith('Happy House training file'));
    assert.match(await text(page, '#data-info'), /: 32 training images \(16 not smiling, 16 smiling\) and 8 test images, 64×64×3\.$/);
    const captions = await page.locator('#gallery figcaption').allTextContents();
    assert.ok(captions.includes('smiling') && captions.includes('not smiling'), captions.join());
    if (fs.existsSync(SHARED_TEST_H5)) {
      await input.setInputFiles([SMALL_TRAIN_H5, SHARED_TEST_H5]);
      await page.waitForFunction(() => document.querySelector('#data-info').textContent.startsWith('Happy House (train and test files)'));
      assert.match(await text(page, '#data-info'), /: 40 training images .* and 150 test images, 64×64×3\.$/);
    } else {
      console.log(`skipped the chapter's test_happy.h5: ${SHARED_TEST_H5} is absent`);
    }
    const info = await text(page, '#data-info');
    const small = fs.readFileSync(SMALL_TRAIN_H5);
    for (const [bytes, expected] of [
      [small.subarray(0, small.length - 100), /^train_happy\.h5: this \.h5 file is truncated: it should be 14072 bytes long but has only 13972/],
      [Buffer.from('just some text, not HDF5'), /^train_happy\.h5: this is not an HDF5 \(\.h5\) file/],
    ]) {
      await input.setInputFiles({ name: 'train_happy.h5', mimeType: 'application/octet-stream', buffer: bytes });
      await page.waitForFunction((re) => new RegExp(re).test(document.querySelector('#msg-data').textContent), expected.source);
      assert.match(await text(page, '#msg-data'), / The data and the model you had are unchanged\.$/);
      assert.equal(await text(page, '#data-info'), info, 'the data stay');
    }
    checkLog(log, server.origin);
  } finally {
    await close();
  }
});
