// Accessibility (issue 21): axe-core (npm) on the whole page, every section, to WCAG 2.2 AA,
// before and after training, in headless Chromium over http; and the filter tabs by keyboard.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { launchBrowser, startServer } from './harness.mjs';
import { TINY, checkLog, openTraining, region, train } from './training-page.mjs';

// Evaluated rather than added as a script tag: the page's CSP refuses inline scripts.
const AXE = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const WCAG_22_AA = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22a', 'wcag22aa'];

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

// Every violation as "rule (impact): target, target…", so that a failure says what to fix.
async function violations(page) {
  await page.evaluate(AXE);
  const result = await page.evaluate((tags) => window.axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] }), WCAG_22_AA);
  return result.violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).slice(0, 5).join(', ')}`);
}

test('axe-core finds no WCAG 2.2 AA violation on any section, before and after training', async () => {
  const { page, log, close } = await openTraining(browser, server.url + TINY);
  try {
    assert.deepEqual(await violations(page), [], 'before training');
    await train(page);
    // Look inside with its maps, saliency and Grad-CAM drawn.
    await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: '4 · Look inside' }).click();
    await region(page, 'Picture').getByRole('button', { name: 'Look inside', exact: true }).click();
    await page.waitForFunction(() => Number(document.body.dataset.insideShown ?? 0) > 0, null, { timeout: 60_000 });
    assert.deepEqual(await violations(page), [], 'after training');
    checkLog(log, server.origin);
  } finally {
    await close();
  }
});

test('the filter tabs move with the arrow keys, Home and End, and Tab reaches only the selected one', async () => {
  const { page, log, close } = await openTraining(browser, server.url + TINY);
  try {
    const tabs = page.getByRole('tablist', { name: 'Filters' }).getByRole('tab');
    const selected = () => page.getByRole('tab', { selected: true }).getAttribute('aria-label');
    assert.ok((await tabs.count()) >= 2);
    assert.equal(await page.getByRole('tablist', { name: 'Filters' }).getByRole('button').count(), 0, 'the tab list holds tabs only');
    await page.getByRole('tab', { name: 'Filter 1' }).focus();
    await page.keyboard.press('ArrowRight');
    assert.equal(await selected(), 'Filter 2');
    assert.equal(await page.evaluate(() => document.activeElement.getAttribute('aria-label')), 'Filter 2', 'focus follows');
    await page.keyboard.press('End');
    assert.equal(await selected(), `Filter ${await tabs.count()}`);
    await page.keyboard.press('Home');
    assert.equal(await selected(), 'Filter 1');
    assert.deepEqual(await tabs.evaluateAll((ts) => ts.map((t) => t.tabIndex)), [0, ...Array((await tabs.count()) - 1).fill(-1)]);
    checkLog(log, server.origin);
  } finally {
    await close();
  }
});
