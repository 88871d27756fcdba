// The explorer's backward mode in headless Chromium, served and from file://: switch to it by
// its label, step through the convolution's backward pass and see dW and dX change as the
// formulas say (checked here against a hand computation on the chapter's X), the ReLU mask,
// pooling's routing, a painted target's loss, the gradient check passing and failing with a
// planted bug, and the slow-motion training step. Screenshots at 1280x720 and 1920x1080.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, SINGLE_FILE_URL, axeViolations, foreignRequests, launchBrowser, openPage, startServer } from './harness.mjs';

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

const SHOTS = path.join(ROOT, 'build', 'screenshots');
// axe-core on the page in backward mode, to WCAG 2.2 AA (as a11y.test.mjs does forwards).
const violations = (page) => axeViolations(page);
const num = (text) => Number(text.replace('−', '-'));

async function withPage(url, origin, fn, viewport) {
  const { page, log, close } = await openPage(browser, url, viewport);
  try {
    await page.waitForSelector('body[data-ready="true"]');
    await fn(page);
    assert.deepEqual(log.pageErrors, [], 'no page errors');
    assert.deepEqual(log.consoleErrors, [], 'no console errors');
    assert.deepEqual(foreignRequests(log, origin), [], 'no request to another origin');
  } finally {
    await close();
  }
}

// The X preset (9x9, +1 on the diagonals, -1 elsewhere) and the ↘ filter, valid, stride 1.
const X = Array.from({ length: 9 }, (_, r) => Array.from({ length: 9 }, (_, c) => (r > 0 && r < 8 && (r === c || r + c === 8) ? 1 : -1)));

async function backwardMode(page) {
  await page.getByRole('radio', { name: 'backward pass' }).check();
  await page.locator('#bw-stage').waitFor({ state: 'visible' });
  assert.equal(await page.locator('#maps').isVisible(), false, 'the forward maps give way');
}

const dwCells = (page) => page.$$eval('#bw-dw-grid .pcell b', (cells) => cells.map((c) => c.textContent));

for (const target of ['http', 'file']) {
  const url = () => (target === 'http' ? server.url : SINGLE_FILE_URL);
  const origin = () => (target === 'http' ? server.origin : 'file');
  const open = (fn, hash = '', viewport) => withPage(url() + hash, origin(), fn, viewport);

  describe(`backward mode over ${target}`, () => {
    test('steps dW and dX cell by cell as the formulas say, and ends on the kernels\' results', () =>
      open(async (page) => {
        await page.getByLabel('Input', { exact: true }).selectOption('x');
        await backwardMode(page);
        const readout = page.locator('#bw-player .readout');
        assert.match(await readout.textContent(), /map 1, row 1, column 1 · 1 of 49/);
        // The upstream gradient at (1,1) and dW after one cell = g × the X's top-left 3x3 patch.
        const g = num((await page.locator('#bw-gradient').textContent()).match(/dL\/dout here = (\S+)/)[1].replace(/;$/, ''));
        const expected = X.slice(0, 3).flatMap((row) => row.slice(0, 3)).map((x) => g * x);
        const shown = (await dwCells(page)).map(num);
        shown.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 0.01, `dW[${i}] ${v} vs ${expected[i]}`));
        assert.match(await page.locator('#bw-dw-text').textContent(), /^dW \+= /);
        assert.match(await page.locator('#bw-dx-text').textContent(), /x\[1,1\] \+= /);

        // One step forward adds the next cell's products.
        const before = await dwCells(page);
        await page.getByRole('button', { name: 'Step forward' }).first().click();
        assert.match(await readout.textContent(), /row 1, column 2 · 2 of 49/);
        assert.notDeepEqual(await dwCells(page), before, 'dW changed with the step');

        // At the last cell the sums equal the training kernels'.
        const scrub = page.getByRole('slider', { name: 'Backward step', exact: true });
        await scrub.focus();
        await scrub.press('End');
        assert.match(await readout.textContent(), /49 of 49/);
        const check = await page.locator('#bw-check').textContent();
        assert.match(check, /equal the training kernels' results; largest difference (\S+)\./);
        assert.ok(num(check.match(/largest difference (\S+)\./)[1]) < 1e-4, check);

        // dX as a convolution with the flipped kernel: the same numbers.
        await page.getByText('dX is a convolution too').click();
        await page.waitForFunction(() => document.getElementById('bw-flip-check').textContent.includes('difference'));
        const flip = await page.locator('#bw-flip-check').textContent();
        assert.ok(num(flip.match(/dX: (\S+)\./)[1]) < 1e-4, flip);
      }));

    test('the ReLU mask stops the gradient, a stride names the cells it skips, a painted target has a loss', () =>
      open(async (page) => {
        await page.getByLabel('Input', { exact: true }).selectOption('x');
        await backwardMode(page);
        await page.getByLabel('apply ReLU to the maps').check();
        await page.locator('#bw-upstream figure[data-key="masked"]').waitFor();
        // Step until a cell the ReLU cut: its gradient is 0 and says why.
        let found = false;
        for (let i = 0; i < 49 && !found; i++) {
          found = /the ReLU cut it: nothing flows back/.test(await page.locator('#bw-gradient').textContent());
          if (!found) await page.getByRole('button', { name: 'Step forward' }).first().click();
        }
        assert.ok(found, 'the X with the ↘ filter has cut cells');
        assert.ok((await page.locator('#bw-products .pcell b').allTextContents()).every((t) => t === '0'), 'nothing flows back from a cut cell');

        // A stride of 3 with a 1x1 kernel never looks at most cells: named, never thrown.
        const region = page.getByRole('region', { name: 'Convolution', exact: true });
        await region.getByLabel('Kernel size').fill('1');
        const stride = region.getByLabel('Stride', { exact: true });
        await stride.focus();
        await stride.press('ArrowRight');
        await stride.press('ArrowRight');
        assert.match(await page.locator('#bw-reach').textContent(), /of the input's 81 cells are never under the kernel .*row 1, column 2/);

        // Loss on a painted target: paint one cell and see the loss written out.
        await page.getByRole('radio', { name: 'loss on a target' }).check();
        await page.getByRole('button', { name: 'Paint the target' }).click();
        const canvas = page.locator('#bw-upstream figure[data-key="target"] canvas');
        const lossBefore = await page.locator('#bw-loss').textContent();
        assert.match(lossBefore, /L = mean\(\(map − target\)²\) over 27 values = /);
        const box = await canvas.boundingBox();
        await page.mouse.move(box.x + 3, box.y + 3);
        await page.mouse.down();
        await page.mouse.up();
        assert.notEqual(await page.locator('#bw-loss').textContent(), lossBefore, 'painting the target changes the loss');
      }));

    test('pooling routes each gradient to its window\'s maximum', () =>
      open(async (page) => {
        await backwardMode(page);
        const text = await page.locator('#bw-pool-text').textContent();
        assert.match(text, /goes to the window's maximum only/);
        assert.equal(await page.locator('#bw-pool-window .pcell.winner').count(), 1);
        await page.getByRole('radio', { name: 'average' }).check();
        assert.match(await page.locator('#bw-pool-text').textContent(), /is shared equally: .* \/ 4 = /);
      }));

    test('the gradient check passes on the real kernels and fails with a planted bug', () =>
      open(async (page) => {
        await page.getByLabel('Input', { exact: true }).selectOption('x');
        await backwardMode(page);
        await page.waitForSelector('body[data-training-ready="true"]');
        await page.getByRole('button', { name: 'Run the gradient check' }).click();
        await page.locator('#bw-check-table').waitFor({ state: 'visible', timeout: 60_000 });
        assert.match(await page.locator('#bw-check-message').textContent(), /Every tensor passes/);
        assert.equal(await page.locator('#bw-check-table tbody tr.pass').count(), 8);

        await page.getByLabel('Plant a bug').selectOption('relu-mask');
        await page.getByRole('button', { name: 'Run the gradient check' }).click();
        await page.locator('#bw-check-message .error').waitFor({ timeout: 60_000 });
        assert.match(await page.locator('#bw-check-message').textContent(), /The check fails for conv 1/);
        assert.ok(await page.locator('#bw-check-table tbody tr.fail').count() >= 1);
        assert.equal(await page.locator('#bw-check-table tbody tr').last().getAttribute('class'), 'pass', 'the dense bias, above the bug, passes');
      }));

    test('one training step in slow motion, down to Adam\'s update', () =>
      open(async (page) => {
        await backwardMode(page);
        await page.waitForSelector('body[data-training-settled="true"]', { timeout: 60_000 });
        const run = page.getByRole('button', { name: 'Run one step' });
        await page.getByLabel('Weight of layer').focus();
        await run.waitFor();
        assert.equal(await run.isEnabled(), true);
        await run.click();
        await page.locator('#bw-slow-view').waitFor({ state: 'visible', timeout: 60_000 });
        assert.match(await page.locator('#bw-slow-title').textContent(), /^Forward, layer 1: conv2d/);
        const scrub = page.getByRole('slider', { name: 'Phase of the step', exact: true });
        await scrub.focus();
        await scrub.press('End');
        assert.match(await page.locator('#bw-slow-text').textContent(), /Loss \S+ → \S+ \((lower|higher)\)/);
        await scrub.press('ArrowLeft');
        const update = await page.locator('#bw-slow-text').textContent();
        assert.match(update, /m̂ = m \/ \(1 − β₁\^1\) = /);
        const rows = await page.locator('#bw-slow-table tbody tr').count();
        assert.ok(rows >= 10, `every layer in the table (${rows})`);
        // With a check's table and the step drawn, and a target being painted: no violation.
        await page.getByRole('button', { name: 'Run the gradient check' }).click();
        await page.locator('#bw-check-table').waitFor({ state: 'visible', timeout: 60_000 });
        await page.getByRole('radio', { name: 'loss on a target' }).check();
        await page.getByText('dX is a convolution too').click();
        assert.deepEqual(await violations(page), [], 'axe-core in backward mode');
      }));
  });
}

describe('backward mode screenshots', () => {
  for (const [w, h] of [[1280, 720], [1920, 1080]]) {
    test(`at ${w}x${h}`, () =>
      withPage(server.url, server.origin, async (page) => {
        await page.getByLabel('Input', { exact: true }).selectOption('x');
        await backwardMode(page);
        fs.mkdirSync(SHOTS, { recursive: true });
        await page.locator('#explorer').screenshot({ path: path.join(SHOTS, `backward-${w}x${h}.png`) });
        // The panels below with their results: a failed check and a step's update.
        await page.waitForSelector('body[data-training-settled="true"]', { timeout: 60_000 });
        await page.getByLabel('Plant a bug').selectOption('batchnorm-mean');
        await page.getByRole('button', { name: 'Run the gradient check' }).click();
        await page.locator('#bw-check-message .error').waitFor({ timeout: 60_000 });
        await page.getByLabel('Weight of layer').focus();
        await page.getByRole('button', { name: 'Run one step' }).click();
        await page.locator('#bw-slow-view').waitFor({ state: 'visible', timeout: 60_000 });
        const scrub = page.getByRole('slider', { name: 'Phase of the step', exact: true });
        await scrub.focus();
        await scrub.press('End');
        await scrub.press('ArrowLeft');
        await page.locator('#bw-more').screenshot({ path: path.join(SHOTS, `backward-more-${w}x${h}.png`) });
      }, { width: w, height: h }));
  }
});
