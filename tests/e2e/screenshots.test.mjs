// Screenshots of the explorer at a desktop (1920x1080) and a projector (1280x720) size, written
// to build/screenshots/ for people to look at. The test checks only that the pages drew
// without errors; judging legibility is a human's job (see README).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, launchBrowser, openPage, startServer } from './harness.mjs';

const OUT = path.join(ROOT, 'build', 'screenshots');
const SHOTS = [
  { name: 'explorer-1920x1080', viewport: { width: 1920, height: 1080 }, hash: '', fullPage: true },
  { name: 'explorer-1280x720', viewport: { width: 1280, height: 720 }, hash: '' },
  { name: 'letter-x-padding-1280x720', viewport: { width: 1280, height: 720 }, hash: '#in=x&pm=explicit&p=1&t=12' },
  { name: 'face-rgb-1920x1080', viewport: { width: 1920, height: 1080 }, hash: '#in=face&t=1400&c=0' },
  { name: 'chapter-example-1280x720', viewport: { width: 1280, height: 720 }, hash: '#in=seven14&t=14' },
  { name: 'pooling-1280x720', viewport: { width: 1280, height: 720 }, hash: '#t=300&pt=40', scrollTo: '#pool-in-canvas' },
];

let server;
let browser;
before(async () => {
  fs.mkdirSync(OUT, { recursive: true });
  server = await startServer();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

test('screenshots at desktop and projector sizes', async () => {
  for (const shot of SHOTS) {
    const { page, log, close } = await openPage(browser, server.url + shot.hash, shot.viewport);
    if (shot.scrollTo) await page.locator(shot.scrollTo).scrollIntoViewIfNeeded();
    const file = path.join(OUT, `${shot.name}.png`);
    await page.screenshot({ path: file, fullPage: Boolean(shot.fullPage) });
    assert.deepEqual([...log.pageErrors, ...log.consoleErrors], [], shot.name);
    assert.ok(fs.statSync(file).size > 10000, `${file} has content`);
    await close();
  }
  console.log(`screenshots in ${path.relative(process.cwd(), OUT)}/`);
});
