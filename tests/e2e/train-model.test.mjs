// The training page's model and setup, in headless Chromium over http: the model editor
// (summary totals follow the edits, invalid edits are explained), the setup in the URL (a
// round trip, and a garbled link), a divergent learning rate, leaving with an unsaved model
// (beforeunload), a model kept in the browser's storage and restored after a reload, and a
// Train click while the first faces are still being painted.
// Run: node --test tests/e2e/ (after ./build.sh build).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SINGLE_FILE_URL, launchBrowser, openPage, startServer } from './harness.mjs';
import { TINY, checkLog, messageOf, openTraining, percent, region, text, train } from './training-page.mjs';

let server;
let browser;
before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

const totals = (page) => text(page, '#summary-foot tr:first-child td');
const waitTotals = (page, before) => page.waitForFunction((t) => document.querySelector('#summary-foot tr:first-child td').textContent !== t, before);

describe('model editor', () => {
  test('edits change the summary and the link; invalid edits are explained and change nothing', async () => {
    const { page, log, close } = await openTraining(browser, server.url + TINY);
    try {
      const model = region(page, 'Model');
      assert.match(await totals(page), /^1,063,073 /);
      // Every control of the training section has a name a screen reader can say.
      const unnamed = await page.evaluate(() =>
        [...document.querySelectorAll('#training input, #training select, #training button')]
          .filter((el) => !el.getAttribute('aria-label') && !(el.id && document.querySelector(`label[for="${el.id}"]`)) && !el.closest('label') && !el.textContent.trim())
          .map((el) => el.outerHTML.slice(0, 80)),
      );
      assert.deepEqual(unnamed, [], 'every control is labelled');

      // 8 filters in the first block: 608 + 32 + 6,432 + 128 + 1,048,704 + 129 parameters.
      let before = await totals(page);
      await model.getByLabel('Block 1 filters').fill('8');
      await waitTotals(page, before);
      assert.match(await totals(page), /^1,056,033 /);
      await page.waitForFunction(() => location.hash.includes('ar=8x5bm0.1_32x5bm0.1_d128'));

      // Average pooling, no batch norm in block 2, a 3x3 kernel, 64 dense units.
      before = await totals(page);
      await model.getByLabel('Block 2 batch norm').uncheck();
      await model.getByLabel('Block 2 pooling').selectOption('average');
      await model.getByLabel('Block 2 kernel size').fill('3');
      await model.getByLabel('Dense units').fill('64');
      await page.waitForFunction(() => location.hash.includes('ar=8x5bm0.1_32x3a0.1_d64'));
      await page.waitForFunction(() => document.querySelector('#summary-body').textContent.includes('average_pooling2d'));
      // conv 608 + bn 32 + conv 3*3*8*32+32 = 2,336 + dense 8192*64+64 = 524,352 + 65.
      await page.waitForFunction(() => document.querySelector('#summary-foot tr:first-child td').textContent.startsWith('527,393 '));

      // Add a block (16x16x32 → 8x8x64) and remove it again.
      await model.getByRole('button', { name: 'Add a conv block' }).click();
      await page.waitForFunction(() => document.querySelectorAll('#editor-blocks tr').length === 3 && location.hash.includes('_64x3a0.1_d64'));
      await page.waitForFunction(() => document.querySelector('#summary-body').textContent.includes('conv2d_2'));
      await model.getByRole('button', { name: 'Remove block 3' }).click();
      await page.waitForFunction(() => document.querySelector('#summary-foot tr:first-child td').textContent.startsWith('527,393 '));

      // Nonsense in a field: a message, the model unchanged.
      await model.getByLabel('Block 1 filters').fill('0');
      assert.match(await messageOf(page, '#msg-editor'), /Block 1: the number of filters must be a whole number from 1 to 256; the model is unchanged\./);
      await model.getByLabel('Block 1 filters').fill('8');
      await model.getByLabel('Block 1 dropout rate').fill('');
      assert.match(await text(page, '#msg-editor'), /^Block 1 dropout rate: type a number; the model is unchanged\.$/);
      await model.getByLabel('Block 1 dropout rate').fill('1.5');
      assert.match(await text(page, '#msg-editor'), /^Block 1: the dropout rate must be from 0 to 0\.9; the model is unchanged\.$/);
      assert.match(await totals(page), /^527,393 /);
      await model.getByLabel('Block 1 dropout rate').fill('0.1');
      await page.waitForFunction(() => document.querySelector('#msg-editor').textContent === '');

      // A layout the Rust core refuses: 16x16x256 values into 1024 dense units are far too many parameters.
      await model.getByLabel('Block 2 filters').fill('256');
      await page.waitForFunction(() => document.querySelector('#summary-body').textContent.includes('256)'));
      await model.getByLabel('Dense units').fill('1024');
      assert.match(await messageOf(page, '#msg-editor'), /^This model cannot be built: the model has [\d,]+ parameters, more than the 50000000 a browser can train.*The summary shows the last model that could; Train uses it\.$/);
      assert.match(await text(page, '#summary-body'), /dense .*\(None, 64\)/, 'the summary still shows the last model that could be built');

      // Back to the chapter's model; it trains.
      await model.getByRole('button', { name: "Chapter's model" }).click();
      await page.waitForFunction(() => document.querySelector('#summary-foot tr:first-child td').textContent.startsWith('1,063,073 '));
      assert.equal(await text(page, '#msg-editor'), '');
      await train(page);
      assert.ok((await percent(page, 'm-accuracy')) >= 0);
      checkLog(log, server.origin);
    } finally {
      await close();
    }
  });
});

describe('setup in the URL', () => {
  test('a link carries data, hyper-parameters, seed and model; a reload gives the same setup', async () => {
    const link = '#dn=100&dt=30&ds=7&dd=normal&ep=3&bs=8&lr=0.01&pa=2&ts=5&ar=8x3bm0.2_16x5n0_d32';
    const { page, log, close } = await openTraining(browser, server.url + link);
    try {
      const values = () => page.evaluate(() => ['data-train', 'data-test', 'data-seed', 'data-difficulty', 'train-epochs', 'train-batch', 'train-lr', 'train-patience', 'train-seed'].map((id) => document.getElementById(id).value));
      assert.deepEqual(await values(), ['100', '30', '7', 'normal', '3', '8', '0.01', '2', '5']);
      assert.match(await text(page, '#data-info'), /normal, seed 7\): 100 training images .* 30 test images/);
      assert.equal(await page.locator('#editor-blocks tr').count(), 2);
      assert.equal(await region(page, 'Model').getByLabel('Block 2 pooling').inputValue(), 'none');
      assert.match(await text(page, '#summary-body'), /conv2d_1 .*\(None, 32, 32, 16\)/);
      assert.ok(await page.locator('#link-message').isHidden());

      // An edit goes into the link, and the link brings it back.
      await region(page, 'Training').getByLabel('Epochs').fill('4');
      await page.waitForFunction(() => location.hash.includes('ep=4'));
      const edited = await page.evaluate(() => location.hash);
      await page.reload();
      await page.waitForSelector('body[data-training-settled="true"]', { timeout: 60_000 });
      assert.equal(await page.evaluate(() => location.hash), edited);
      assert.deepEqual(await values(), ['100', '30', '7', 'normal', '4', '8', '0.01', '2', '5']);
      checkLog(log, server.origin);
    } finally {
      await close();
    }
  });

  test('a garbled link shows a message and the defaults, never an exception', async () => {
    const { page, log, close } = await openTraining(browser, server.url + '#ep=lots&lr=-1&ar=16x5bm0.1_banana_d128&dn=0&bs=%zz&xx=1');
    try {
      const banner = page.locator('#link-message');
      assert.ok(await banner.isVisible());
      const said = await banner.textContent();
      for (const part of ['ep: “lots” is not a whole number', 'lr: -1 is outside', 'ar: “banana” is not a conv block', 'dn: 0 is outside', 'unknown setting “xx”']) assert.ok(said.includes(part), `${part} in: ${said}`);
      assert.equal(await page.locator('#train-epochs').inputValue(), '6');
      assert.equal(await page.locator('#train-lr').inputValue(), '0.001');
      assert.match(await totals(page), /^1,063,073 /, 'the chapter model');
      assert.match(await text(page, '#data-info'), /600 training images/);
      checkLog(log, server.origin);
    } finally {
      await close();
    }
  });
});

describe('keeping work', () => {
  test('Train is enabled while the first faces are painted; a click then waits for them and trains', async () => {
    // The default 750 faces take a moment to paint: long enough to click before they are there.
    const { page, log, close } = await openPage(browser, server.url + '#ep=1&pa=0');
    try {
      await page.waitForSelector('body[data-training-ready="true"]', { timeout: 60_000 });
      const start = region(page, 'Training').getByRole('button', { name: 'Train', exact: true });
      await start.click();
      // Read at one moment: while the info line still says "Painting", the click is waiting.
      const seen = await page.evaluate(() => ({
        info: document.getElementById('data-info').textContent,
        status: document.getElementById('train-status').textContent,
        disabled: document.getElementById('train-start').disabled,
      }));
      if (seen.info.startsWith('Painting')) {
        assert.equal(seen.info, 'Painting 750 synthetic faces…');
        assert.equal(seen.status, 'Waiting for the data to load; training starts when it is there…');
        assert.ok(seen.disabled, 'a second click cannot queue a second run');
      } else {
        console.log('the faces were painted before the click: it trained at once');
      }
      await page.waitForSelector('body[data-evaluated="true"]', { timeout: 120_000 });
      assert.match(await text(page, '#data-info'), /600 training images/);
      assert.match(await text(page, '#train-status'), /^Done: /);
      checkLog(log, server.origin);
    } finally {
      await close();
    }
  });

  test('a learning rate of 10 diverges: the message names epoch and batch, the curves and weights stay', async () => {
    const { page, log, close } = await openTraining(browser, server.url + '#dn=60&dt=20&ep=5&pa=0&lr=10');
    try {
      await train(page);
      const message = await messageOf(page, '#msg-train');
      // Adam at 10 sends the loss into the millions (finite, computed from the logit) or to NaN.
      assert.match(message, /^The loss (became NaN|became infinite|exploded to [\d.e+]+) at epoch \d+, batch \d+; try a smaller learning rate\. The weights from before that batch and the curves so far are kept\.$/);
      assert.match(await text(page, '#train-status'), /^Stopped: the run diverged at epoch \d+, batch \d+\.$/);
      // The curves so far are still drawn, and the kept weights score the test set.
      // (The chart redraws on an animation frame, so a loaded machine may need a moment.)
      const drawnPoints = () => page.locator('#chart-loss').getAttribute('data-points').then(Number);
      await page.waitForFunction(() => Number(document.getElementById('chart-loss').dataset.points) >= 1, null, { timeout: 10_000 }).catch(() => {});
      const points = await drawnPoints();
      assert.ok(points >= 1, `the ${points} points trained before the bad batch are still drawn (${message})`);
      assert.match(await text(page, '#m-accuracy'), /^\d+\.\d%$/);
      checkLog(log, server.origin);
    } finally {
      await close();
    }
  });

  test('leaving with an unsaved trained model asks first; a kept model comes back after a reload', async () => {
    const { page, log, close } = await openTraining(browser, server.url + TINY);
    try {
      const dialogs = [];
      page.on('dialog', (d) => {
        dialogs.push(d.type());
        d.dismiss();
      });
      // Before training, Try it and Look inside say that the model's answers are random.
      const untrained = /^This model has not been trained yet: its answers are random\. Train it first/;
      assert.match(await text(page, '#try-untrained'), untrained);
      assert.match(await text(page, '#inside-untrained'), untrained);
      assert.ok(await page.locator('#try-untrained').isVisible());
      await train(page);
      assert.ok(await page.locator('#try-untrained').isHidden());
      assert.ok(await page.locator('#inside-untrained').isHidden());
      const accuracy = await text(page, '#m-accuracy');
      await page.close({ runBeforeUnload: true });
      await page.waitForFunction(() => true); // the page is still open: the prompt was dismissed
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(dialogs, ['beforeunload'], 'leaving asked first');
      assert.ok(!page.isClosed());

      await region(page, 'Try it').getByRole('button', { name: 'Keep in this browser' }).click();
      assert.match(await messageOf(page, '#msg-model'), /^Kept in this browser's storage \(IndexedDB, \d+ KB\)/);
      await page.reload();
      await page.waitForSelector('body[data-restored="true"]', { timeout: 60_000 });
      assert.deepEqual(dialogs, ['beforeunload'], 'a kept model leaves without asking');
      assert.match(await text(page, '#msg-model'), /^Restored the model kept in this browser's storage \(IndexedDB\) on .+, trained on synthetic smiles/);
      await page.waitForSelector('body[data-evaluated="true"]');
      assert.equal(await text(page, '#m-accuracy'), accuracy, 'the restored model scores as before');
      // Its curves come back with it (one epoch: one point per series), and it counts as trained.
      await page.waitForFunction(() => document.getElementById('chart-loss').dataset.points === '1', null, { timeout: 10_000 });
      assert.match(await text(page, '#curves-note'), /^The curves of the run that trained the model kept in this browser \(one point per epoch\)\. Epoch 1: /);
      assert.ok(await page.locator('#try-untrained').isHidden());

      // Forget it: the next reload starts fresh.
      await region(page, 'Try it').getByRole('button', { name: 'Forget kept model' }).click();
      await page.waitForFunction(() => document.querySelector('#msg-model').textContent.includes('forgotten'));
      await page.reload();
      await page.waitForSelector('body[data-training-settled="true"]', { timeout: 60_000 });
      assert.equal(await text(page, '#m-accuracy'), '—');
      checkLog(log, server.origin);
    } finally {
      await close();
    }
  });

  test('from file://, a damaged model file is refused and the trained model stays', async () => {
    const { page, log, close } = await openTraining(browser, SINGLE_FILE_URL + TINY);
    try {
      await train(page);
      const accuracy = await text(page, '#m-accuracy');
      await region(page, 'Try it').getByLabel('Load a model file').setInputFiles({ name: 'broken.safetensors', mimeType: 'application/octet-stream', buffer: Buffer.from('{"not": "a model"}') });
      assert.match(await messageOf(page, '#msg-model'), /^broken\.safetensors: .+ The model you had is unchanged\.$/);
      assert.equal(await text(page, '#m-accuracy'), accuracy);
      await region(page, 'Try it').getByRole('button', { name: 'Predict' }).click();
      await page.waitForFunction(() => document.querySelector('#try-result').dataset.probabilities);
      checkLog(log, 'file');
    } finally {
      await close();
    }
  });
});
