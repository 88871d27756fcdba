// Accessibility (issue 21): axe-core (npm) on the whole page, every section, to WCAG 2.2 AA,
// before and after training, in headless Chromium over http; the heat maps' text alternatives;
// the filter tabs, the explorer, painting and a training run by keyboard only; reduced motion.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { useServerAndBrowser } from './harness.mjs';
import { TINY, checkLog, openTraining, region, train } from './training-page.mjs';

// Evaluated rather than added as a script tag: the page's CSP refuses inline scripts.
const AXE = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const WCAG_22_AA = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22a', 'wcag22aa'];

const env = useServerAndBrowser();

// Every violation as "rule (impact): target, target…", so that a failure says what to fix.
async function violations(page) {
  await page.evaluate(AXE);
  const result = await page.evaluate((tags) => window.axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] }), WCAG_22_AA);
  return result.violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).slice(0, 5).join(', ')}`);
}

test('axe-core finds no WCAG 2.2 AA violation on any section, before and after training', async () => {
  const { page, log, close } = await openTraining(env.browser, env.server.url + TINY);
  try {
    assert.deepEqual(await violations(page), [], 'before training');
    await train(page);
    // Look inside with its maps, saliency and Grad-CAM drawn.
    await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: '4 · Look inside' }).click();
    await region(page, 'Picture').getByRole('button', { name: 'Look inside', exact: true }).click();
    await page.waitForFunction(() => Number(document.body.dataset.insideShown ?? 0) > 0, null, { timeout: 60_000 });
    assert.deepEqual(await violations(page), [], 'after training');
    // The heat maps say in words where their mass lies.
    for (const [id, what] of [['inside-saliency', 'Saliency'], ['inside-gradcam', 'Grad-CAM']]) {
      const canvas = page.locator(`#${id}`);
      assert.equal(await canvas.getAttribute('role'), 'img');
      assert.match(await canvas.getAttribute('aria-label'), new RegExp(`^${what}: (most of the mass \\(\\d+%\\) lies in .+ of the picture|spread over the whole picture)`));
    }
    // So do the layers' grey maps.
    const layerLabels = await page.locator('#inside .layer-figure canvas').evaluateAll((cs) => cs.map((c) => [c.getAttribute('role'), c.getAttribute('aria-label')]));
    assert.ok(layerLabels.length >= 3, `${layerLabels.length} layer maps`);
    for (const [role, label] of layerLabels) {
      assert.equal(role, 'img');
      assert.match(label, /^.+: \d+ maps? of \d+ × \d+; .*map \d+: (most of the mass|spread over|the map is empty)/);
    }
    checkLog(log, env.server.origin);
  } finally {
    await close();
  }
});

test('the filter tabs move with the arrow keys, Home and End, and Tab reaches only the selected one', async () => {
  const { page, log, close } = await openTraining(env.browser, env.server.url + TINY);
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
    checkLog(log, env.server.origin);
  } finally {
    await close();
  }
});

// Tabs until `matches()` holds in the page for the focused element (at most `limit` presses).
async function tabTo(page, matches, what, limit = 400) {
  for (let i = 0; i < limit; i++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate(matches)) return;
  }
  throw new Error(`Tab never reached ${what}`);
}

// The focused element's outline, as drawn: a visible ring of at least 2 px.
const focusRing = (page) => page.evaluate(() => {
  const el = document.activeElement;
  const target = el.closest('.file-button') ?? el;
  const s = getComputedStyle(target);
  return { style: s.outlineStyle, width: parseFloat(s.outlineWidth), color: s.outlineColor };
});

test('keyboard only: a skip link, the explorer’s kernel slider, and a training run, with a visible focus ring', async () => {
  const { page, log, close } = await openTraining(env.browser, env.server.url + TINY);
  try {
    await page.evaluate(() => document.activeElement.blur());
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Skip to the content');
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'main');

    await tabTo(page, () => document.activeElement.id === 'kernel', 'the kernel slider');
    const ring = await focusRing(page);
    assert.equal(ring.style, 'solid');
    assert.ok(ring.width >= 2, `focus ring ${ring.width} px`);
    await page.keyboard.press('ArrowRight');
    assert.equal(await page.getByLabel('Output size', { exact: true }).textContent(), '25 × 25 × 4');
    // An output map is a tab stop; its arrow keys move the current cell and pick its filter.
    await tabTo(page, () => document.activeElement.matches('#maps canvas[data-filter="1"]'), 'the second output map');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowDown');
    assert.equal(await page.locator('#cell-title').textContent(), 'This step: map 2, row 2, column 2');
    assert.equal((await focusRing(page)).style, 'solid');

    await tabTo(page, () => document.activeElement.id === 'train-start', 'the Train button');
    assert.equal((await focusRing(page)).style, 'solid');
    await page.keyboard.press('Enter');
    await page.waitForSelector('body[data-evaluated="true"]', { timeout: 120_000 });
    // Progress and the result are announced politely (role=status is a polite live region).
    const status = page.locator('#train-status');
    assert.equal(await status.getAttribute('role'), 'status');
    assert.match(await status.textContent(), /^Done: /);
    checkLog(log, env.server.origin);
  } finally {
    await close();
  }
});

// The painted picture carried by the link (#…px=HxW:lo:hi:look:hex), one hex digit per cell.
// The link follows the page 100 ms after a change: `changedFrom` waits for a new picture,
// and without it the picture is read once the link has settled.
const paintedCells = async (page, changedFrom = null) => {
  if (changedFrom === null) await page.waitForTimeout(300);
  else await page.waitForFunction((before) => (new URLSearchParams(location.hash.slice(1)).get('px')?.split(':')[4] ?? '') !== before, changedFrom);
  return page.evaluate(() => new URLSearchParams(location.hash.slice(1)).get('px')?.split(':')[4] ?? '');
};
const cellsChanged = (a, b) => [...a].filter((d, i) => d !== b[i]).length;

test('keyboard only: painting on the input grid (arrow keys move the brush, Space paints, Shift paints along)', async () => {
  const { page, log, close } = await openTraining(env.browser, env.server.url + TINY);
  try {
    await page.evaluate(() => document.activeElement.blur());
    await tabTo(page, () => document.activeElement.id === 'paint-toggle', 'the Paint button');
    await page.keyboard.press('Space');
    assert.equal(await page.locator('#paint-toggle').getAttribute('aria-pressed'), 'true');
    await tabTo(page, () => document.activeElement.id === 'input-canvas', 'the input grid', 20);
    assert.equal((await focusRing(page)).style, 'solid');
    const hint = page.locator('#paint-hint');
    assert.equal(await hint.getAttribute('aria-live'), 'polite');
    const [, row, col] = (await hint.textContent()).match(/^brush at row (\d+), column (\d+)$/).map(Number);
    await page.keyboard.press('ArrowLeft');
    assert.equal(await hint.textContent(), `brush at row ${row}, column ${col - 1}`);

    await page.keyboard.press('Space');
    assert.equal(await page.locator('#input-preset').inputValue(), 'painted');
    const dab = await paintedCells(page, '');
    assert.ok(dab.length > 0, 'the painted picture is in the link');
    // Shift with the arrows paints the cells the brush passes, as one stroke.
    await page.keyboard.down('Shift');
    for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowDown');
    await page.keyboard.up('Shift');
    const line = await paintedCells(page, dab);
    assert.ok(cellsChanged(dab, line) >= 3, `the stroke changed ${cellsChanged(dab, line)} cells`);
    // Moving without Shift paints nothing.
    await page.keyboard.press('ArrowRight');
    assert.equal(await paintedCells(page), line);
    assert.equal(await page.locator('#paint-undo').isEnabled(), true);
    // Undo takes the Shift stroke back in one go, leaving the single dab.
    await page.locator('#paint-undo').focus();
    await page.keyboard.press('Enter');
    assert.equal(await paintedCells(page, line), dab);
    checkLog(log, env.server.origin);
  } finally {
    await close();
  }
});

test('with reduced motion asked for, activation maximization does not play by itself', async () => {
  const { page, log, close } = await openTraining(env.browser, env.server.url + TINY);
  try {
    await page.emulateMedia({ reducedMotion: 'reduce' });
    await train(page);
    await page.getByRole('button', { name: 'Start from noise' }).click();
    await page.waitForFunction(() => Number(document.body.dataset.actmaxFrames ?? 0) > 1, null, { timeout: 120_000 });
    assert.equal(await page.locator('#actmax-play').textContent(), 'Play', 'not playing');
    assert.equal(await page.locator('#actmax-frame').inputValue(), await page.locator('#actmax-frame').getAttribute('max'), 'the last frame is shown');
    checkLog(log, env.server.origin);
  } finally {
    await close();
  }
});
