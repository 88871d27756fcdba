// The convolution explorer in headless Chromium, both as the served site (http on 127.0.0.1)
// and as the single file opened from disk (file://). Controls are found by their labels,
// as a student (or a screen reader) finds them. Run: node --test tests/e2e/ (after ./build.sh build).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { SINGLE_FILE_URL, foreignRequests, launchBrowser, openPage, startServer } from './harness.mjs';

// The output size formula, written independently of the page.
const outLen = (n, k, s, p, d = 1) => Math.floor((n + 2 * p - d * (k - 1) - 1) / s) + 1;

// The chapter's X (9x9, +1 on the diagonals, -1 elsewhere) and its ↘ filter, to check the
// page's multiply-adds against a hand computation.
const X = Array.from({ length: 9 }, (_, r) => Array.from({ length: 9 }, (_, c) => (r > 0 && r < 8 && (r === c || r + c === 8) ? 1 : -1)));
const DIAG_DOWN = [[1, -1, -1], [-1, 1, -1], [-1, -1, 1]];
const xCell = (oy, ox) => DIAG_DOWN.flatMap((row, ky) => row.map((w, kx) => w * X[oy + ky][ox + kx])).reduce((a, b) => a + b, 0);
const minus = (v) => String(v).replace('-', '−');

// A PNG made here (no binary fixtures): width x height RGB, or just a header that claims a
// size (the decoder must refuse it from the header alone).
function png(width, height, { headerOnly = false } = {}) {
  const chunk = (type, data) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const rows = headerOnly ? Buffer.alloc(0) : Buffer.concat(
    Array.from({ length: height }, (_, y) => Buffer.from([0, ...Array.from({ length: width }, (_, x) => [x * 6, y * 12, 128]).flat()])),
  );
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(rows)), chunk('IEND', Buffer.alloc(0))]);
}

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

const conv = (page) => page.getByRole('region', { name: 'Convolution', exact: true });
const pooling = (page) => page.getByRole('region', { name: 'Pooling', exact: true });
const outputSize = (page) => page.getByLabel('Output size', { exact: true }).textContent();
const mapDims = (page) =>
  page.$$eval('#maps canvas', (cs) => cs.map((c) => ({ rows: Number(c.dataset.rows), cols: Number(c.dataset.cols), w: parseFloat(c.style.width), h: parseFloat(c.style.height) })));

async function expectMaps(page, rows, cols, count) {
  assert.equal(await outputSize(page), `${rows} × ${cols} × ${count}`);
  const dims = await mapDims(page);
  assert.equal(dims.length, count);
  for (const d of dims) {
    assert.deepEqual([d.rows, d.cols], [rows, cols]);
    // Drawn as whole square cells: rows x cols of the same size.
    assert.equal(d.w / cols, d.h / rows);
    assert.ok(Number.isInteger(d.w / cols) && d.w / cols >= 1);
  }
}

// Page errors, console errors and requests elsewhere are checked after every test.
async function withPage(url, origin, fn, viewport, initScript) {
  const { page, log, close } = await openPage(browser, url, viewport, initScript);
  try {
    await fn(page);
    assert.deepEqual(log.pageErrors, [], 'no page errors');
    assert.deepEqual(log.consoleErrors, [], 'no console errors');
    assert.deepEqual(foreignRequests(log, origin), [], 'no request to another origin');
  } finally {
    await close();
  }
}

for (const target of ['http', 'file']) {
  const url = () => (target === 'http' ? server.url : SINGLE_FILE_URL);
  const origin = () => (target === 'http' ? server.origin : 'file');
  const open = (fn, hash = '', viewport, initScript) => withPage(url() + hash, origin(), fn, viewport, initScript);

  describe(`explorer over ${target}`, () => {
    test('starts the Rust core with SIMD128 and draws the digit 7 with four edge maps', () =>
      open(async (page) => {
        const engine = page.locator('#engine');
        assert.equal(await engine.getAttribute('data-simd'), 'true');
        assert.match(await engine.textContent(), /SIMD128 on/);
        await expectMaps(page, 26, 26, 4);
        assert.equal(await page.locator('#input-canvas').getAttribute('data-rows'), '28');
        if (target === 'file') assert.equal(await page.locator('#convscope-wasm').count(), 1, 'the single file carries its wasm');
      }));

    test('loads the relaxed-SIMD build, which this Chromium validates', () =>
      open(async (page) => {
        const engine = page.locator('#engine');
        assert.equal(await engine.getAttribute('data-relaxed-simd'), 'true');
        assert.match(await engine.textContent(), /relaxed SIMD on/);
        if (target === 'file') assert.equal(await page.locator('#convscope-wasm-relaxed').count(), 1, 'the single file carries both builds');
      }));

    test('falls back to the SIMD128 build where relaxed SIMD does not validate', () =>
      open(
        async (page) => {
          const engine = page.locator('#engine');
          assert.equal(await engine.getAttribute('data-simd'), 'true');
          assert.equal(await engine.getAttribute('data-relaxed-simd'), 'false');
          assert.match(await engine.textContent(), /relaxed SIMD off/);
          await expectMaps(page, 26, 26, 4);
        },
        '',
        undefined,
        // An engine without relaxed SIMD rejects the probe module.
        () => {
          WebAssembly.validate = () => false;
        },
      ));

    test('stride and padding sliders change the output as the formula says', () =>
      open(async (page) => {
        const region = conv(page);
        const stride = region.getByLabel('Stride', { exact: true });
        await stride.focus();
        await stride.press('ArrowRight'); // stride 2
        assert.equal(await region.locator('#stride-out').textContent(), '2');
        await expectMaps(page, outLen(28, 3, 2, 0), outLen(28, 3, 2, 0), 4);
        assert.match(await page.locator('#formula-numbers').textContent(), /⌊\(28 \+ 2·0 − 1·\(3−1\) − 1\) \/ 2⌋ \+ 1 = 13/);

        await region.getByLabel('Padding', { exact: true }).fill('2');
        assert.equal(await region.getByRole('radio', { name: 'number' }).isChecked(), true, 'a padding number is explicit padding');
        await expectMaps(page, outLen(28, 3, 2, 2), outLen(28, 3, 2, 2), 4);
        assert.equal(await page.locator('#input-canvas').getAttribute('data-rows'), '32', 'the padding ring is drawn around the input');

        await region.getByLabel('Kernel size').fill('5');
        await expectMaps(page, outLen(28, 5, 2, 2), outLen(28, 5, 2, 2), 4);
        await region.getByLabel('Dilation').fill('2');
        await expectMaps(page, outLen(28, 5, 2, 2, 2), outLen(28, 5, 2, 2, 2), 4);

        await region.getByRole('radio', { name: 'same' }).check();
        await expectMaps(page, 14, 14, 4); // Keras 'same': ceil(28 / 2)
        assert.match(await region.locator('#padding-out').textContent(), /^same/);
        await region.getByRole('radio', { name: 'valid' }).check();
        await expectMaps(page, outLen(28, 5, 2, 0, 2), outLen(28, 5, 2, 0, 2), 4);

        await region.getByRole('button', { name: /Chapter example/ }).click();
        await expectMaps(page, 6, 6, 2);
        assert.equal(await region.getByLabel('Kernel size').inputValue(), '4');
      }));

    test('stepping writes out the multiply-adds of the current cell', () =>
      open(async (page) => {
        const region = conv(page);
        await region.getByLabel('Input', { exact: true }).selectOption('x');
        await expectMaps(page, 7, 7, 3);
        const madd = region.getByLabel('Multiply-adds');
        const total = page.locator('#madd-total');
        const check = async (oy, ox) => {
          const want = minus(xCell(oy, ox));
          const text = await madd.textContent();
          assert.equal(text.split('×').length - 1, 9, `nine products: ${text}`);
          assert.ok(text.endsWith(`= ${want}`), `${text} should end with = ${want}`);
          assert.match(await total.textContent(), new RegExp(`sum of 9 products = ${want}; \\+ bias 0 = ${want}$`));
          assert.match(await region.locator('#conv-player .readout, #pool-player .readout').textContent(), new RegExp(`row ${oy + 1}, column ${ox + 1} ·`));
        };
        await check(0, 0);
        // The first product is the top-left input cell (-1) times the top-left weight (1).
        assert.ok((await madd.textContent()).startsWith('(−1)×1 + (−1)×(−1)'));
        await region.getByRole('button', { name: 'Step forward' }).click();
        await check(0, 1);
        await region.getByLabel('Step', { exact: true }).fill('8'); // row 2, column 2: a perfect ↘ match
        await check(1, 1);
        assert.equal(xCell(1, 1), 9);
        await region.getByRole('button', { name: 'Step back' }).click();
        await check(1, 0);

        // Play advances by itself; pause stops it.
        await region.getByLabel('Step speed', { exact: true }).selectOption('16');
        await region.getByRole('button', { name: 'Play' }).click();
        await page.waitForFunction(() => Number(document.querySelector('#conv-player .scrub').value) >= 10);
        await region.getByRole('button', { name: 'Pause' }).click();
        const stopped = await region.getByLabel('Step', { exact: true }).inputValue();
        await page.waitForTimeout(250);
        assert.equal(await region.getByLabel('Step', { exact: true }).inputValue(), stopped);

        // ReLU keeps the sum but clips the map: (0, 0) of the ↘ filter with bias -8 is 7 - 8 < 0.
        await region.getByLabel('apply ReLU to the maps').check();
        await region.getByLabel('Bias').fill('-8');
        await region.getByLabel('Bias').press('Tab');
        await region.getByLabel('Step', { exact: true }).fill('0');
        assert.match(await total.textContent(), /= 7; \+ bias \(−8\) = −1; ReLU → 0$/);
        await region.getByLabel('apply ReLU to the maps').uncheck();
        await region.getByLabel('Bias').fill('0');
        await region.getByLabel('Bias').press('Tab');

        // With padding, the receptive field of the corner covers padding cells, which are zeros.
        await region.getByLabel('Padding', { exact: true }).fill('1');
        await region.getByLabel('Step', { exact: true }).fill('0');
        assert.equal(await page.locator('#products-grid .pcell.pad').count(), 5);
        assert.ok((await madd.textContent()).startsWith('0×1 + 0×(−1)'));
      }));

    test('a setting that cannot work is explained next to its control, and the page keeps going', () =>
      open(async (page) => {
        const region = conv(page);
        await region.getByLabel('Input', { exact: true }).selectOption('x');
        await region.getByLabel('Kernel size').fill('9');
        await expectMaps(page, 1, 1, 3);
        await region.getByLabel('Dilation').fill('2');
        const msg = page.locator('#msg-dilation');
        assert.match(await msg.textContent(), /does not fit in the padded input \(9×9\)/);
        assert.equal(await outputSize(page), 'none');
        assert.equal(await page.locator('#maps canvas').count(), 0);
        assert.match(await page.locator('#msg-pool').textContent(), /no output map to pool/);
        await region.getByLabel('Padding', { exact: true }).fill('4');
        assert.equal(await msg.textContent(), '');
        await expectMaps(page, 1, 1, 3);
        // Notes, not errors: a stride that jumps over cells, padding wider than the kernel.
        await region.getByLabel('Kernel size').fill('1');
        await region.getByLabel('Dilation').fill('1');
        await region.getByLabel('Padding', { exact: true }).fill('0');
        await region.getByLabel('Stride', { exact: true }).fill('3');
        assert.match(await page.locator('#msg-stride').textContent(), /never looked at/);
        await expectMaps(page, 3, 3, 3);
        await region.getByLabel('Kernel size').fill('3');
        await region.getByLabel('Stride', { exact: true }).fill('1');
        await region.getByLabel('Padding', { exact: true }).fill('3');
        assert.match(await page.locator('#msg-padding').textContent(), /only padding zeros/);
        await expectMaps(page, 13, 13, 3);
      }));

    test('the setup lives in the link, and a garbled link falls back to defaults', async () => {
      let link;
      await open(async (page) => {
        const region = conv(page);
        await region.getByLabel('Input', { exact: true }).selectOption('x');
        await region.getByLabel('Stride', { exact: true }).fill('2');
        await region.getByRole('radio', { name: 'same' }).check();
        await region.getByRole('tab', { name: 'Filter 2' }).click();
        await region.getByLabel('Weight row 1 column 2').fill('0.5');
        await region.getByLabel('Weight row 1 column 2').press('Tab');
        await region.getByLabel('Bias').fill('-2');
        await region.getByLabel('Bias').press('Tab');
        await pooling(page).getByRole('radio', { name: 'average' }).check();
        await page.waitForFunction(() => location.hash.includes('pk=average') && location.hash.includes('b='));
        link = page.url();
        assert.equal(await outputSize(page), '5 × 5 × 3');
      });
      await withPage(link, origin(), async (page) => {
        const region = conv(page);
        assert.equal(await page.locator('#link-message').isHidden(), true);
        assert.equal(await region.getByLabel('Input', { exact: true }).inputValue(), 'x');
        assert.equal(await region.getByLabel('Stride', { exact: true }).inputValue(), '2');
        assert.equal(await region.getByRole('radio', { name: 'same' }).isChecked(), true);
        assert.equal(await outputSize(page), '5 × 5 × 3');
        assert.equal(await region.getByRole('tab', { name: 'Filter 2' }).getAttribute('aria-selected'), 'true');
        assert.equal(await region.getByLabel('Weight row 1 column 2').inputValue(), '0.5');
        assert.equal(await region.getByLabel('Bias').inputValue(), '-2');
        assert.equal(await region.getByLabel('Preset').inputValue(), 'custom');
        assert.equal(await pooling(page).getByRole('radio', { name: 'average' }).isChecked(), true);
      });
      await open(async (page) => {
        const banner = page.locator('#link-message');
        assert.equal(await banner.isVisible(), true);
        const text = await banner.textContent();
        for (const bad of ['k:', 's:', 'f:', 'unknown setting', 'px:']) assert.ok(text.includes(bad), `${bad} in: ${text}`);
        await expectMaps(page, 26, 26, 4);
      }, '#k=abc&s=99&f=%3Cscript%3E&zz=1&px=12x12:0:1:ink:zz&in=upload');
    });

    test('a link with any stride the core accepts reaches it: the slider widens to show it', () =>
      open(async (page) => {
        const region = conv(page);
        assert.equal(await page.locator('#link-message').isHidden(), true, 'the link is not refused');
        const stride = region.getByLabel('Stride', { exact: true });
        assert.equal(await stride.inputValue(), '12');
        assert.equal(await region.locator('#stride-out').textContent(), '12');
        assert.ok(Number(await stride.getAttribute('max')) >= 12, 'the slider reaches 12');
        // The face is 64x64, its filters 5x5: floor((64 - 5) / 12) + 1 = 5.
        await expectMaps(page, outLen(64, 5, 12, 0), outLen(64, 5, 12, 0), 2);
        assert.match(await page.locator('#formula-numbers').textContent(), /⌊\(64 \+ 2·0 − 1·\(5−1\) − 1\) \/ 12⌋ \+ 1 = 5/);
        // One step down on the widened slider: floor(59 / 11) + 1 = 6.
        await stride.focus();
        await stride.press('ArrowLeft');
        assert.equal(await region.locator('#stride-out').textContent(), '11');
        await expectMaps(page, outLen(64, 5, 11, 0), outLen(64, 5, 11, 0), 2);
      }, '#in=face&s=12'));

    test('painting is a mode: a plain click leaves the input alone; strokes change the maps, are kept in the link and undone', () =>
      open(async (page) => {
        const region = conv(page);
        await region.getByLabel('Input', { exact: true }).selectOption('x');
        const canvas = page.locator('#input-canvas');
        const mapsNow = () => page.$eval('#maps canvas', (c) => c.toDataURL());
        const before = await mapsNow();
        const box = await canvas.boundingBox();
        const cell = box.width / 9;
        const stroke = async (col, fromRow, toRow) => {
          await page.mouse.move(box.x + cell * col, box.y + cell * fromRow);
          await page.mouse.down();
          await page.mouse.move(box.x + cell * col, box.y + cell * toRow, { steps: 4 });
          await page.mouse.up();
        };
        // Paint off: a click or a drag on the grid changes nothing.
        const paint = region.getByRole('button', { name: 'Paint', exact: true });
        const undo = region.getByRole('button', { name: 'Undo', exact: true });
        assert.equal(await paint.getAttribute('aria-pressed'), 'false');
        await stroke(4.5, 0.5, 2.5);
        assert.equal(await region.getByLabel('Input', { exact: true }).inputValue(), 'x');
        assert.equal(await mapsNow(), before);
        assert.ok(await undo.isDisabled());

        await paint.click();
        assert.equal(await paint.getAttribute('aria-pressed'), 'true');
        await stroke(4.5, 0.5, 2.5);
        assert.equal(await region.getByLabel('Input', { exact: true }).inputValue(), 'painted');
        const oneStroke = await mapsNow();
        assert.notEqual(oneStroke, before);
        await page.waitForFunction(() => location.hash.includes('px=9x9'));
        await stroke(1.5, 4.5, 6.5);
        assert.notEqual(await mapsNow(), oneStroke);

        // Undo takes the strokes back one at a time, down to the preset.
        await undo.click();
        assert.equal(await mapsNow(), oneStroke);
        await undo.click();
        assert.equal(await mapsNow(), before);
        assert.equal(await region.getByLabel('Input', { exact: true }).inputValue(), 'x');
        assert.ok(await undo.isDisabled());
        await paint.click();
        assert.equal(await paint.getAttribute('aria-pressed'), 'false');
      }));

    test('the note follows the kernel size, and the layer’s multiply-adds are written out', () =>
      open(async (page) => {
        const region = conv(page);
        const note = page.locator('#input-note');
        const madds = region.locator('#layer-madds');
        assert.match(await note.textContent(), /^Four 3×3 edge filters/);
        assert.equal(await madds.textContent(), 'This layer: 26×26×4×9 = 24,336 multiply-adds (3×3 = 9 per output cell)');
        await region.getByLabel('Kernel size').fill('5');
        assert.match(await note.textContent(), /^Four 5×5 edge filters/);
        assert.equal(await madds.textContent(), 'This layer: 24×24×4×25 = 57,600 multiply-adds (5×5 = 25 per output cell)');
        await region.getByRole('button', { name: 'Remove this filter' }).click();
        assert.match(await note.textContent(), /^Three 5×5 filters of your own/);
        await region.getByLabel('Input', { exact: true }).selectOption('face');
        assert.match(await note.textContent(), /each 5×5 filter is 5×5×3/);
        assert.equal(await madds.textContent(), 'This layer: 60×60×2×75 = 540,000 multiply-adds (5×5×3 = 75 per output cell)');
        // Sizes are written with the times sign wherever the page shows them.
        const visible = await page.locator('#explorer').evaluate((el) => el.innerText);
        assert.doesNotMatch(visible, /\d x ?\d|\dx\d/, 'no 9x9 in the explorer');
      }));

    test('an uploaded picture is shrunk and convolved; a huge one gets a message', () =>
      open(async (page) => {
        const region = conv(page);
        const upload = region.getByLabel('Upload a picture');
        await upload.setInputFiles({ name: 'small.png', mimeType: 'image/png', buffer: png(40, 20) });
        await page.waitForFunction(() => document.querySelector('#input-preset').value === 'upload');
        assert.equal(await page.locator('#input-caption').textContent(), '20×40');
        await expectMaps(page, 18, 38, 4);
        assert.match(await page.locator('#msg-input').textContent(), /stays on this device/);
        await region.getByLabel('in colour').check();
        await upload.setInputFiles({ name: 'wide.png', mimeType: 'image/png', buffer: png(128, 32) });
        await page.waitForFunction(() => document.querySelector('#input-caption').textContent.startsWith('16×64×3'));
        await expectMaps(page, 14, 62, 2); // colour: the face's two filters, 3x3x3 at the current kernel size
        await upload.setInputFiles({ name: 'huge.png', mimeType: 'image/png', buffer: png(5000, 5000, { headerOnly: true }) });
        await page.waitForFunction(() => /too large/.test(document.querySelector('#msg-input').textContent));
        assert.match(await page.locator('#msg-input').textContent(), /huge\.png.*too large \(5000×5000 pixels\)/);
        await expectMaps(page, 14, 62, 2);
        await upload.setInputFiles({ name: 'notes.png', mimeType: 'image/png', buffer: Buffer.from('not a picture') });
        await page.waitForFunction(() => /not a PNG or JPEG/.test(document.querySelector('#msg-input').textContent));
      }));

    test('pooling steps through windows and the shape calculator reproduces the chapter', () =>
      open(async (page) => {
        const region = pooling(page);
        const dims = () => page.$eval('#pool-out-canvas', (c) => [Number(c.dataset.rows), Number(c.dataset.cols)]);
        assert.deepEqual(await dims(), [13, 13]);
        await region.getByLabel('Pool window').fill('3');
        assert.deepEqual(await dims(), [outLen(26, 3, 2, 0), outLen(26, 3, 2, 0)]);
        await region.getByRole('radio', { name: 'same' }).check();
        assert.deepEqual(await dims(), [13, 13]);
        await region.getByRole('button', { name: 'Step forward' }).click();
        assert.match(await region.locator('#conv-player .readout, #pool-player .readout').textContent(), /row 1, column 2 · 2 of 169/);
        assert.match(await region.getByLabel('Pooling of the current window').textContent(), /^max\(.*\) = /);
        await region.getByRole('radio', { name: 'average' }).check();
        assert.match(await region.getByLabel('Pooling of the current window').textContent(), /\/ 9 = /);

        assert.equal(await region.getByLabel('Pooled shape').textContent(), '112×112×64');
        assert.match(await page.locator('#calc-result').textContent(), /^224×224×64 → 112×112×64$/);
        await region.getByLabel('Calculator window').fill('3');
        assert.equal(await region.getByLabel('Pooled shape').textContent(), '111×111×64');
        await region.getByLabel('Calculator window').fill('300');
        assert.match(await page.locator('#calc-result').textContent(), /larger than the input/);
      }));
  });
}
