// Tablets and phones (issue 21): at 768x1024 and 390x844 no section scrolls sideways, the
// training inputs keep a usable width, the model summary keeps its parameter column in view,
// and on a touch screen a tap paints the explorer's input (pointer events, nothing needs hover).
// Screenshots of both layouts go to build/screenshots/.

import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, useServerAndBrowser } from './harness.mjs';

const SHOTS = path.join(ROOT, 'build', 'screenshots');
const TINY = '#dn=60&dt=20&ep=1&pa=0';

const env = useServerAndBrowser();
before(() => fs.mkdirSync(SHOTS, { recursive: true }));

for (const [name, width, height] of [['tablet', 768, 1024], ['phone', 390, 844]]) {
  test(`${name} ${width}×${height}: no sideways scrolling, usable inputs, the summary's parameter column in view, a tap paints`, async () => {
    const context = await env.browser.newContext({ viewport: { width, height }, hasTouch: true, isMobile: name === 'phone' });
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    try {
      await page.goto(env.server.url + TINY);
      await page.waitForSelector('body[data-training-settled="true"]', { timeout: 60_000 });
      for (const id of ['explorer', 'training', 'inside']) {
        await page.evaluate((id) => document.getElementById(id).scrollIntoView({ block: 'start' }), id);
        await page.waitForTimeout(150);
        assert.equal(await page.evaluate(() => document.documentElement.scrollWidth), width, `${id}: the page is as wide as the screen`);
        await page.screenshot({ path: path.join(SHOTS, `${name}-${width}x${height}-${id}.png`) });
      }
      // The training inputs (they once shrank to nothing at 768 px).
      for (const label of ['Epochs', 'Batch size', 'Learning rate']) {
        const box = await page.getByRole('region', { name: 'Training', exact: true }).getByLabel(label, { exact: true }).boundingBox();
        assert.ok(box.width >= 48, `${label} is ${box.width} px wide`);
      }
      // The summary's "Param #" column: inside the screen, not scrolled away.
      const param = await page.getByRole('table', { name: 'Model summary' }).getByRole('columnheader', { name: 'Param #' }).boundingBox();
      assert.ok(param.x >= 0 && param.x + param.width <= width, `Param # at ${param.x}..${param.x + param.width}`);

      // Painting by touch: Paint, then a tap on the input grid changes a cell.
      await page.evaluate(() => document.getElementById('explorer').scrollIntoView({ block: 'start' }));
      await page.getByRole('button', { name: 'Paint', exact: true }).tap();
      await page.locator('#input-canvas').scrollIntoViewIfNeeded();
      const canvas = await page.locator('#input-canvas').boundingBox();
      await page.touchscreen.tap(canvas.x + canvas.width * 0.2, canvas.y + canvas.height * 0.2);
      await page.waitForFunction(() => /(^|&|#)in=painted/.test(location.hash) || !document.getElementById('paint-undo').disabled, null, { timeout: 5_000 });
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });
}
