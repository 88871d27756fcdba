// The core of the end-to-end suite in Firefox ESR and WebKitGTK (Debian's packages, over
// WebDriver: webdriver.mjs), over http and from the single file on file://: the explorer by its
// labels, training with the page's defaults to above 90%, Look inside, a saved model file
// loaded back, a model kept in the browser's storage and restored after a reload, a damaged
// model file refused with the trained model kept, and the pictures a student brings (a photo
// in Try it and Look inside, a zip, an image folder), which WebKit could not read from
// file:// while the worker decoded them.
// WebKit runs under LANG=C (navigator.language "C"): the curves must still be drawn.
// Chromium runs the full suite in the other files (Playwright).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Key } from 'selenium-webdriver';
import { ROOT, SINGLE_FILE_URL, startServer } from './harness.mjs';
import { face, writeFolder, zip } from './images.mjs';
import { chooseFile, control, inPage, missing, openPage, pageErrors, press, reloadPage, startEngine, text, until } from './webdriver.mjs';

const SHOTS = path.join(ROOT, 'build', 'screenshots');
// 60 training and 20 test images, one epoch: the mechanics, quickly.
const TINY = '#dn=60&dt=20&ep=1&pa=0';

let server;
let work;
before(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  server = await startServer();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'convscope-engines-'));
  fs.writeFileSync(path.join(work, 'smile.png'), face(true, 8, 64));
  fs.writeFileSync(path.join(work, 'broken.safetensors'), '{"not": "a model"}');
  const files = [];
  for (const [name, smile] of [['no_smile', false], ['smile', true]]) {
    for (let i = 0; i < 10; i++) files.push({ path: `faces/${name}/${i}.png`, bytes: face(smile, i * 4) });
  }
  fs.writeFileSync(path.join(work, 'faces.zip'), zip(files));
  writeFolder(path.join(work, 'folder'), ['no_smile', 'smile'], 10);
});
after(async () => {
  await server?.close();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

const percent = async (d, id) => Number((await text(d, `#${id}`)).replace('%', '')) / 100;
const shot = async (d, name) => fs.writeFileSync(path.join(SHOTS, `${name}.png`), Buffer.from(await d.takeScreenshot(), 'base64'));

async function openTraining(d, url) {
  await openPage(d, url);
  await until(d, () => document.body.dataset.trainingSettled === 'true', 60_000);
  await inPage(d, () => document.querySelector('#training').scrollIntoView());
}

// Does `act`, then waits until Look inside has drawn its view again (or said why not).
async function lookInside(d, act) {
  const shown = Number((await inPage(d, () => document.body.dataset.insideShown)) ?? 0);
  await act();
  await until(d, (n) => Number(document.body.dataset.insideShown ?? 0) > n || document.querySelector('#msg-inside').textContent, 60_000, shown);
}

async function train(d, timeout = 150_000) {
  await press(d, 'Train', 'Training');
  await until(d, () => document.body.dataset.evaluated === 'true', timeout);
}

for (const engineName of ['firefox', 'webkit']) {
  const absent = missing(engineName);
  describe(`${engineName}`, { skip: absent ? `not installed: ${absent} (./build.sh setup installs it)` : false }, () => {
    // A fresh driver and browser per test, and a time limit on the whole test: a browser that
    // crashes leaves a WebDriver command waiting forever, so on a hang the driver's processes
    // (the browser among them) are killed and the test fails saying so, without taking the
    // next tests with it.
    async function withBrowser(fn, limitMs = 240_000) {
      const engine = await startEngine(engineName);
      let timer;
      try {
        const run = (async () => {
          const d = await engine.session();
          try {
            await fn(d);
            assert.deepEqual(await pageErrors(d), [], 'no uncaught errors in the page');
          } finally {
            await d.quit().catch(() => {});
          }
        })();
        const hang = new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`${engineName} did not answer within ${limitMs / 1000} s (${engine.log().slice(-800)})`)), limitMs);
        });
        await Promise.race([run, hang]);
      } finally {
        clearTimeout(timer);
        engine.stop();
      }
    }

    for (const target of ['http', 'file']) {
      const url = () => (target === 'http' ? server.url : SINGLE_FILE_URL);
      const tag = `${engineName}-${target}`;

      test(`[${target}] the explorer by its labels: the core starts, the kernel slider changes the output size`, () =>
        withBrowser(async (d) => {
          await openPage(d, url());
          assert.equal(await inPage(d, () => document.querySelector('#engine').dataset.simd), 'true', 'the SIMD128 build runs');
          assert.equal(await text(d, '[aria-label="Output size"]'), '26 × 26 × 4');
          const kernel = await control(d, 'Kernel size');
          assert.ok(kernel, 'a control labelled “Kernel size”');
          await kernel.sendKeys(Key.ARROW_RIGHT);
          // Kernel 4 on the 28x28 digit, stride 1, no padding: 25x25.
          await until(d, () => document.querySelector('[aria-label="Output size"]').textContent === '25 × 25 × 4', 10_000);
          await shot(d, `engine-explorer-${tag}`);
        }));

      test(`[${target}] the page defaults train to above 90% test accuracy; the curves are drawn; Look inside explains a test image`, () =>
        withBrowser(async (d) => {
          await openTraining(d, url());
          const started = Date.now();
          await train(d);
          const accuracy = await percent(d, 'm-accuracy');
          console.log(`[${tag}] defaults: ${(accuracy * 100).toFixed(1)}% after ${((Date.now() - started) / 1000).toFixed(0)} s; ${await text(d, '#train-status')}`);
          assert.ok(accuracy > 0.9, `test accuracy ${accuracy} above 90%`);
          // Two uPlot charts (under WebKit's LANG=C too), with points.
          await until(d, () => document.querySelectorAll('.uplot').length === 2 && Number(document.getElementById('chart-loss').dataset.points) > 0, 10_000);
          assert.equal(await inPage(d, () => document.querySelectorAll('.chart-failure').length), 0);
          await shot(d, `engine-trained-${tag}`);
          // Look inside (the header's link, then its button): the prediction and every layer's maps.
          await press(d, '4 · Look inside');
          await lookInside(d, () => press(d, 'Look inside', 'Picture'));
          assert.match(await text(d, '#inside-prediction'), /P\(smile\) = \d+\.\d%/);
          assert.ok((await inPage(d, () => document.querySelectorAll('#inside .layer-figure').length)) > 2, 'the layers are drawn');
          await shot(d, `engine-inside-${tag}`);
        }));

      test(`[${target}] Save model gives a file that loads back with the same score; a damaged model file is refused and the trained model stays; a photo is predicted in Try it and explained in Look inside`, () =>
        withBrowser(async (d) => {
          await openTraining(d, url() + TINY);
          await train(d);
          const accuracy = await text(d, '#m-accuracy');
          // Save model: the page hands the browser a Blob to download. WebDriver cannot reach
          // the download (WebKit's MiniBrowser has no download folder to set), so the Blob is
          // taken where the page makes its URL and the link's click is held back; the bytes
          // are the page's own.
          await inPage(d, () => {
            const make = URL.createObjectURL;
            URL.createObjectURL = (blob) => ((window.savedBlob = blob), make.call(URL, blob));
            const click = HTMLAnchorElement.prototype.click;
            HTMLAnchorElement.prototype.click = function () { if (!this.download) click.call(this); };
          });
          await press(d, 'Save model', 'Try it');
          await until(d, () => document.querySelector('#msg-model').textContent.startsWith('Saved'));
          assert.match(await text(d, '#msg-model'), /^Saved \d+ KB as convscope-smile-model\.safetensors\.$/);
          const saved = path.join(work, `saved-${tag}.safetensors`);
          fs.writeFileSync(saved, Buffer.from(await inPage(d, async () => {
            const bytes = new Uint8Array(await window.savedBlob.arrayBuffer());
            let s = '';
            for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
            return btoa(s);
          }), 'base64'));
          // A fresh page (untrained) loads the file and scores as the trained one did.
          await reloadPage(d);
          await until(d, () => document.body.dataset.trainingSettled === 'true', 60_000);
          assert.equal(await text(d, '#m-accuracy'), '—', 'the fresh page has no score yet');
          await chooseFile(d, 'Load a model file', saved);
          await until(d, () => document.querySelector('#msg-model').textContent.length > 0 && document.body.dataset.evaluated === 'true', 60_000);
          assert.equal(await text(d, '#msg-model'), `Loaded saved-${tag}.safetensors.`);
          assert.equal(await text(d, '#m-accuracy'), accuracy, 'the loaded model scores as the saved one');
          await chooseFile(d, 'Load a model file', path.join(work, 'broken.safetensors'));
          await until(d, () => document.querySelector('#msg-model').textContent.length > 0);
          assert.match(await text(d, '#msg-model'), /^broken\.safetensors: .+ The model you had is unchanged\.$/);
          assert.equal(await text(d, '#m-accuracy'), accuracy);
          // A photo (decoded on the page: WebKit's worker cannot read it from file://).
          await chooseFile(d, 'Upload a photo', path.join(work, 'smile.png'));
          await until(d, () => document.querySelector('#try-result').dataset.probabilities || document.querySelector('#msg-try')?.textContent, 30_000);
          assert.equal(await text(d, '#msg-try'), '', 'no message for a good photo');
          assert.match(await text(d, '#try-result'), /your photo smile\.png/);
          // Look inside with the photo: the view is drawn again, with no message.
          await press(d, '4 · Look inside');
          await lookInside(d, () => chooseFile(d, 'Look inside with a photo', path.join(work, 'smile.png')));
          assert.equal(await text(d, '#msg-inside'), '', 'no message for a good photo');
        }));

      test(`[${target}] a zip and an image folder load as data`, () =>
        withBrowser(async (d) => {
          await openTraining(d, url() + TINY);
          await chooseFile(d, 'Load a zip of an image folder', path.join(work, 'faces.zip'));
          await until(d, () => document.querySelector('#data-info').textContent.startsWith('images from faces.zip') || document.querySelector('#msg-data').textContent, 60_000);
          assert.equal(await text(d, '#msg-data'), '');
          assert.match(await text(d, '#data-info'), /^images from faces\.zip \(10 no_smile, 10 smile; .*\): 16 training images \(8 no_smile, 8 smile\) and 4 test images/);
          // A folder as the folder picker hands it to the page: Files whose webkitRelativePath
          // names class/picture. WebDriver cannot pick a directory (geckodriver refuses one,
          // WebKitWebDriver sends it as a single file), so the files are put into the labelled
          // input here; everything after the dialog (reading on the page, the worker's plan,
          // decoding on the page) is the page's own path.
          const folder = fs.readdirSync(path.join(work, 'folder')).flatMap((cls) =>
            fs.readdirSync(path.join(work, 'folder', cls)).map((f) => [`folder/${cls}/${f}`, fs.readFileSync(path.join(work, 'folder', cls, f)).toString('base64')]));
          await inPage(d, (files) => {
            const transfer = new DataTransfer();
            for (const [relative, b64] of files) {
              const file = new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], relative.split('/').pop(), { type: 'image/png' });
              Object.defineProperty(file, 'webkitRelativePath', { value: relative });
              transfer.items.add(file);
            }
            const input = document.querySelector('input[aria-label="Load a folder of images (one subfolder per class)"]');
            input.files = transfer.files;
            input.dispatchEvent(new Event('change', { bubbles: true }));
          }, folder);
          await until(d, () => document.querySelector('#data-info').textContent.startsWith('images from the folder') || document.querySelector('#msg-data').textContent, 60_000);
          assert.equal(await text(d, '#msg-data'), '');
          assert.match(await text(d, '#data-info'), /^images from the folder folder \(10 no_smile, 10 smile; .*\): 16 training images \(8 no_smile, 8 smile\) and 4 test images/);
          await shot(d, `engine-data-${tag}`);
        }));
    }

    test('[http] a model kept in the browser is restored after a reload, with the same score', () =>
      withBrowser(async (d) => {
        await openTraining(d, server.url + TINY);
        await train(d);
        const accuracy = await text(d, '#m-accuracy');
        await press(d, 'Keep in this browser', 'Try it');
        await until(d, () => document.querySelector('#msg-model').textContent.length > 0);
        assert.match(await text(d, '#msg-model'), /^Kept in this browser's storage \(IndexedDB, \d+ KB\)/);
        await reloadPage(d);
        await until(d, () => document.body.dataset.restored === 'true', 60_000);
        await until(d, () => document.body.dataset.evaluated === 'true', 60_000);
        assert.equal(await text(d, '#m-accuracy'), accuracy, 'the restored model scores as before');
        await inPage(d, () => (window.onbeforeunload = null));
      }));
  });
}

// Not a test of an engine: the URL the file:// runs open, for the log.
test('the single file exists for the file:// runs', () => {
  assert.ok(fs.existsSync(new URL(SINGLE_FILE_URL)), `${SINGLE_FILE_URL} (./build.sh build makes it)`);
  assert.ok(pathToFileURL(path.join(ROOT, 'dist', 'convscope.html')).href === SINGLE_FILE_URL);
});
