// Legible on a projector: at 1280×720, every piece of visible text in the page's main views
// (the explorer, an RGB kernel's products, pooling, the training section and Look inside, before
// and after a short training run) has a computed font size of at least 13 px, and all but
// hints, notes and captions at least 14 px; no text is clipped by a box that hides its
// overflow, no number field cuts its value, and no two pieces of text overlap.
// Run: node --test tests/e2e/legibility.test.mjs (after ./build.sh build).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { launchBrowser, openPage, startServer } from './harness.mjs';
import { TINY, checkLog, openTraining, region, train } from './training-page.mjs';

const BODY_PX = 14;
const SMALL_PX = 13;
// The only text allowed between 13 and 14 px, each a secondary line beside what it explains:
// hints under controls, notes under a view, figure captions, colour-bar legends, the caption of
// an empty view's placeholder, and the x×w line of a product cell (its product, the number that
// matters, is body size). Text drawn on canvases (the charts' tick labels, numbers in grid cells)
// is not text of the page and is not walked here.
const SMALL_OK = ['.hint', '.note', 'figcaption', '.legend', '.ph-caption', '.xw'];

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

// Runs in the page: every visible text node in the viewport, with its element's font size, plus
// the clipped texts and fields and the overlapping pairs found there.
function survey(smallOk) {
  const vw = window.innerWidth;
  const vh = window.innerHeight;
  // The sticky top bar covers what scrolls under it: text there is not seen, so not checked.
  const bar = document.querySelector('.topbar');
  const barBottom = bar.getBoundingClientRect().bottom;
  const inView = (r) => r.width > 0 && r.height > 0 && r.bottom > 0 && r.top < vh && r.right > 0 && r.left < vw;
  const seen = (el, r) => inView(r) && (bar.contains(el) || r.top >= barBottom);
  const describe = (el) => `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${el.className && typeof el.className === 'string' ? `.${el.className.trim().split(/\s+/).join('.')}` : ''}`;
  const texts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent.replace(/[\s\u200b]+/g, ' ').trim();
    const el = node.parentElement;
    if (!text || !el || el.closest('script, style, noscript, option, template')) continue;
    if (!el.checkVisibility({ checkOpacity: true, checkVisibilityCSS: true })) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    const rects = [...range.getClientRects()].filter((r) => seen(el, r));
    if (!rects.length) continue;
    texts.push({ node, el, text, rects, size: parseFloat(getComputedStyle(el).fontSize), small: !!el.closest(smallOk.join(',')) });
  }
  // Form fields show text that is no text node: their values.
  const fields = [...document.querySelectorAll('input[type="number"], input[type="text"], select')].filter((f) => f.checkVisibility({ checkOpacity: true, checkVisibilityCSS: true }) && seen(f, f.getBoundingClientRect()));
  const sizes = [
    ...texts.map((t) => ({ what: `${describe(t.el)} “${t.text.slice(0, 40)}”`, size: t.size, small: t.small })),
    ...fields.map((f) => ({ what: `${describe(f)} (field)`, size: parseFloat(getComputedStyle(f).fontSize), small: false })),
  ];

  // Clipped: a text box reaching outside an ancestor that hides its overflow.
  const clipped = [];
  for (const t of texts) {
    for (let a = t.el; a && a !== document.body; a = a.parentElement) {
      const cs = getComputedStyle(a);
      if (!/hidden|clip/.test(cs.overflowX + cs.overflowY)) continue;
      const box = a.getBoundingClientRect();
      const out = t.rects.find((r) => r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1 || r.bottom > box.bottom + 1);
      if (out) {
        clipped.push(`${describe(t.el)} “${t.text.slice(0, 40)}” by ${describe(a)}`);
        break;
      }
    }
    // Text reaching out of its panel is painted over by the next one.
    const panel = t.el.closest('.panel');
    const edge = panel && panel.getBoundingClientRect();
    if (edge && t.rects.some((r) => r.left < edge.left - 1 || r.right > edge.right + 1)) clipped.push(`${describe(t.el)} “${t.text.slice(0, 40)}” out of its panel`);
    if (getComputedStyle(t.el).textOverflow === 'ellipsis' && t.el.scrollWidth > t.el.clientWidth) clipped.push(`${describe(t.el)} “${t.text.slice(0, 40)}” (ellipsis)`);
  }
  // A field cuts its value: an input whose text is wider than its box, or a closed select whose
  // chosen option's text is wider than the room beside its arrow (measured in its own font).
  const measure = document.createElement('canvas').getContext('2d');
  for (const f of fields) {
    const panel = f.closest('.panel');
    if (panel && f.getBoundingClientRect().right > panel.getBoundingClientRect().right + 1) clipped.push(`${describe(f)} out of its panel`);
    if (f.tagName === 'INPUT' && f.scrollWidth > f.clientWidth + 1) clipped.push(`${describe(f)} value “${f.value}”`);
    if (f.tagName === 'SELECT' && f.selectedOptions[0]) {
      const cs = getComputedStyle(f);
      measure.font = `${cs.fontWeight} ${cs.fontSize} ${cs.fontFamily}`;
      const text = f.selectedOptions[0].textContent;
      const room = f.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight) - 16; // the arrow
      if (measure.measureText(text).width > room + 1) clipped.push(`${describe(f)} option “${text}”`);
    }
  }

  // Overlapping: two text boxes that share more than a sliver (lines that touch do not count).
  const overlaps = [];
  const boxes = texts.flatMap((t, i) => t.rects.map((r) => ({ i, r, t })));
  for (let a = 0; a < boxes.length; a++) {
    for (let b = a + 1; b < boxes.length; b++) {
      if (boxes[a].i === boxes[b].i) continue;
      const [p, q] = [boxes[a].r, boxes[b].r];
      const w = Math.min(p.right, q.right) - Math.max(p.left, q.left);
      const h = Math.min(p.bottom, q.bottom) - Math.max(p.top, q.top);
      if (w > 2 && h > 3) overlaps.push(`“${boxes[a].t.text.slice(0, 30)}” and “${boxes[b].t.text.slice(0, 30)}”`);
    }
  }
  return { count: sizes.length, sizes, clipped: [...new Set(clipped)], overlaps: [...new Set(overlaps)] };
}

async function checkView(page, name, { sizes = true } = {}) {
  await page.waitForTimeout(150); // a frame for lazily laid out sections
  const r = await page.evaluate(survey, SMALL_OK);
  assert.ok(r.count > 10, `${name}: some text was found (${r.count})`);
  assert.deepEqual(r.clipped, [], `${name}: clipped text`);
  assert.deepEqual(r.overlaps, [], `${name}: overlapping text`);
  if (!sizes) return r.count;
  const tiny = r.sizes.filter((s) => s.size < SMALL_PX - 0.01);
  const small = r.sizes.filter((s) => s.size < BODY_PX - 0.01 && !s.small);
  assert.deepEqual(tiny.map((s) => `${s.what}: ${s.size}px`), [], `${name}: text under ${SMALL_PX} px`);
  assert.deepEqual(small.map((s) => `${s.what}: ${s.size}px`), [], `${name}: body text under ${BODY_PX} px`);
  return r.count;
}

const scrollTo = (page, selector) => page.locator(selector).evaluate((el) => el.scrollIntoView({ block: 'start' }));

test('at 1280×720, body text is at least 14 px, nothing under 13 px, nothing clipped or overlapping', { timeout: 240_000 }, async () => {
  const { page, log, close } = await openTraining(browser, server.url + TINY, { width: 1280, height: 720 });
  try {
    await scrollTo(page, 'body');
    await checkView(page, 'explorer');
    await scrollTo(page, '#pooling');
    await checkView(page, 'pooling');
    await scrollTo(page, '#training');
    await checkView(page, 'training, top, before training');
    await scrollTo(page, '.results-panel');
    await checkView(page, 'results and Try it, before training');
    await page.waitForSelector('body[data-inside-ready="true"]');
    await scrollTo(page, '#inside');
    await checkView(page, 'Look inside, before training');
    await scrollTo(page, '.inside-layers');
    await checkView(page, 'Look inside, layers and activation maximization, before training');

    await train(page);
    await scrollTo(page, '.curves-panel');
    await checkView(page, 'curves after training');
    await scrollTo(page, '.results-panel');
    await checkView(page, 'results after training');
    await region(page, 'Picture').getByRole('button', { name: 'Look inside', exact: true }).click();
    await page.waitForFunction(() => Number(document.body.dataset.insideShown ?? 0) > 0, null, { timeout: 60_000 });
    await scrollTo(page, '#inside');
    await checkView(page, 'Look inside after training');
    checkLog(log, server.origin);
  } finally {
    await close();
  }
});

test('at 1280×720, a 5×5 RGB kernel’s products fit their cells', async () => {
  const { page, log, close } = await openPage(browser, server.url + '#in=face&t=1400&c=0', { width: 1280, height: 720 });
  try {
    await scrollTo(page, '.conv-grid');
    await checkView(page, 'the RGB face, 5×5×3 kernel');
    // The products grid fits its panel at this size: no scrolling needed to read it.
    const grid = await page.locator('.panel.fw .products-scroll').evaluate((el) => ({ scroll: el.scrollWidth, client: el.clientWidth }));
    assert.ok(grid.scroll <= grid.client + 1, `the products grid fits: ${JSON.stringify(grid)}`);
    checkLog(log, server.origin);
  } finally {
    await close();
  }
});

// The desktop size lays the panels out differently (four columns): nothing clipped there either.
test('at 1920×1080, nothing is clipped or overlapping', async () => {
  const { page, log, close } = await openTraining(browser, server.url + TINY, { width: 1920, height: 1080 });
  try {
    for (const [selector, name] of [['body', 'explorer'], ['#pooling', 'pooling'], ['#training', 'training'], ['.try-panel', 'Try it'], ['#inside', 'Look inside'], ['.inside-layers', 'every layer']]) {
      await scrollTo(page, selector);
      await checkView(page, `1920: ${name}`, { sizes: false });
    }
    checkLog(log, server.origin);
  } finally {
    await close();
  }
});
