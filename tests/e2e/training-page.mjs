// Shared by the training-page tests: open the page at the training section once the worker
// and the first data are ready, small run settings, and reading the page's numbers.

import assert from 'node:assert/strict';
import { foreignRequests, openPage } from './harness.mjs';

// 60 training and 20 test images, one epoch, no early stopping: the mechanics, quickly.
export const TINY = '#dn=60&dt=20&ep=1&pa=0';

export const region = (page, name) => page.getByRole('region', { name, exact: true });

export async function openTraining(browser, url, viewport = { width: 1280, height: 720 }) {
  const opened = await openPage(browser, url, viewport);
  await opened.page.waitForSelector('body[data-training-settled="true"]', { timeout: 60_000 });
  await opened.page.locator('#training').scrollIntoViewIfNeeded();
  return opened;
}

export const text = (page, selector) => page.locator(selector).textContent();
export const percent = async (page, id) => Number((await text(page, `#${id}`)).replace('%', '')) / 100;

// Waits until a message element says something; returns it.
export async function messageOf(page, selector) {
  await page.waitForFunction((s) => document.querySelector(s).textContent.length > 0, selector);
  return text(page, selector);
}

export async function train(page) {
  await region(page, 'Training').getByRole('button', { name: 'Train', exact: true }).click();
  await page.waitForSelector('body[data-evaluated="true"]', { timeout: 120_000 });
}

export function checkLog(log, origin) {
  assert.deepEqual(log.pageErrors, [], 'no page errors');
  assert.deepEqual(log.consoleErrors, [], 'no console errors');
  assert.deepEqual(foreignRequests(log, origin), [], 'no request to another origin');
}
