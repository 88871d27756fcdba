// A student's own photos in headless Chromium, with folders shaped like users' folders: class-
// ordered (every frown, then every smile, as a file listing gives them), unbalanced, with the
// stray files operating systems leave (.DS_Store, Thumbs.db, a readme). The pictures are the
// crate's synthetic faces written as JPEG files by `examples/face_folder.rs`.
//
// a) 600 + 600 normal faces trained with the page's defaults over http must score within 3
//    points of the command line's recommended settings on the same folder and split
//    (`convscope train --data folder:DIR --seed 1`), and the command line must first have
//    learnt something, or the comparison says nothing. The page run trains for minutes on a
//    shared 2-core machine and the command line's run takes 1-2 minutes: the timeouts are long.
//    From file:// the same folder loads and two epochs learn the training faces (the numbers
//    are the worker's either way; what file:// changes is how pictures and the worker are
//    reached: minutes of a second full run would check nothing more).
// b) 13,000 faces (9,000 + 4,000) load through the folder dialog with the page and its worker
//    under 600 MB (peak resident memory of the renderer process, see harness.mjs), no main-
//    thread task over 100 ms, a "Loading pictures" progress bar that grows, and a note naming
//    the skipped stray files.
// c) An empty folder gets a message and keeps the data loaded before.
// The memory helper is checked first on a page that allocates 300 MB.
// Run: node --test tests/e2e/own-data.test.mjs (after ./build.sh build; needs cargo, which
// builds the example and the command line once, in the test profile, usually already built by cargo test).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT, SINGLE_FILE_URL, launchBrowser, measurePeakMemory, startMemoryWatch, startServer } from './harness.mjs';
import { writeFolder } from './images.mjs';
import { checkLog, messageOf, openTraining, percent, region, text } from './training-page.mjs';

const run = promisify(execFile);

const TARGET = process.env.CARGO_TARGET_DIR ? path.resolve(ROOT, process.env.CARGO_TARGET_DIR) : path.join(ROOT, 'target');
// The test profile (opt-level 3) that `cargo test --all-targets` in ./build.sh test has built
// already: a release build (LTO) would add minutes to a fresh run.
const FACE_FOLDER = path.join(TARGET, 'debug', 'examples', 'face_folder');
const CLI = path.join(TARGET, 'debug', 'convscope');
// Measured on a class-ordered 600 + 600 folder with the command line of cad48df (validation
// split stratified): hard faces 49.6% (early stopping restores epoch 6 of 16; 67% after 40
// epochs without it: the chapter's model does not learn them in a recommended run), normal
// faces 99.2%. Normal faces are the ones both sides can learn, so a gap is the page's fault.
const DIFFICULTY = 'normal';
const NO_CARGO = spawnSync('cargo', ['--version'], { stdio: 'ignore' }).status === 0 ? false : 'cargo is not available: these tests write their folders with examples/face_folder.rs and compare with the native command line';

const FOLDER_INPUT = 'Load a folder of images (one subfolder per class)';
// The page's data seed by default (`dataSeed` in www/js/state.js); the command line's --seed
// both splits the folder and seeds the training, so the test images are the same ones.
const DATA_SEED = 1;
const TEST_SPLIT = 0.2;
// 240 test images: a 95% noise band of about +-6 points around chance (50%), so below 65% the
// command line has not clearly learnt the faces and "within 3 points" would compare two coins.
const CLI_MUST_REACH = 0.65;
const WITHIN = 0.03;
// Budgets for 13,000 pictures of 64x64 (issue: own data at scale).
const MEMORY_LIMIT_MB = 600;
const LONG_TASK_LIMIT_MS = 100;
const MINUTE = 60_000;

let server;
let browser;
let tmp;
before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'convscope-own-data-'));
  server = await startServer();
  browser = await launchBrowser();
  if (!NO_CARGO) {
    // One build for both binaries (the test profile: optimized, and already built by ./build.sh test).
    const started = Date.now();
    await run('cargo', ['build', '--profile', 'test', '--example', 'face_folder', '--bin', 'convscope'], { cwd: ROOT, maxBuffer: 64 << 20 });
    console.log(`cargo build --profile test --example face_folder --bin convscope: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
});
after(async () => {
  await browser?.close();
  await server?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

// Writes a folder of faces with the example; returns its path.
async function faceFolder(name, args) {
  const dir = path.join(tmp, name);
  const { stdout } = await run(FACE_FOLDER, [dir, ...args]);
  console.log(stdout.trim());
  return dir;
}

const settle = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Waits until the load of the folder `name` ends: the data description names the folder
// (loaded) or the Data panel's message says something (refused), and no "Loading pictures"
// progress bar is left. Returns { loaded, message, seconds }.
async function loadEnd(page, name, started, timeout) {
  await page.waitForFunction(
    (n) => document.querySelector('#data-info').textContent.includes(n) || document.querySelector('#msg-data').textContent.length > 0,
    name,
    { timeout, polling: 100 },
  );
  await page.getByRole('progressbar', { name: 'Loading pictures' }).waitFor({ state: 'hidden', timeout });
  const message = await text(page, '#msg-data');
  return { loaded: (await text(page, '#data-info')).includes(name), message, seconds: (Date.now() - started) / 1000 };
}

test('the memory helper sees a 300 MB allocation in a page and in its worker (and a blank page does not grow)', async (t) => {
  const context = await browser.newContext();
  try {
    const blank = await context.newPage();
    await blank.goto('data:text/html,<title>blank</title>');
    const idle = await measurePeakMemory(browser, blank, () => blank.evaluate(() => new Promise((r) => setTimeout(r, 300))));
    const other = await (await browser.newContext()).newPage();
    await other.goto('data:text/html,<title>big</title>');
    const big = await measurePeakMemory(browser, other, () => other.evaluate(() => (globalThis.big = new Uint8Array(300e6).fill(1)).length));
    // A dedicated worker is a thread of the page's renderer: its memory counts there too.
    const worker = await measurePeakMemory(browser, blank, () =>
      blank.evaluate(
        () =>
          new Promise((resolve) => {
            const source = 'const a = new Uint8Array(300e6).fill(1); postMessage(a[1]);';
            globalThis.w = new Worker(URL.createObjectURL(new Blob([source], { type: 'text/javascript' })));
            globalThis.w.onmessage = (e) => resolve(e.data);
          }),
      ),
    );
    const f = (m) => `renderer ${m.pid}: ${m.startMB.toFixed(0)} -> peak ${m.peakMB.toFixed(0)} MB (high-water mark ${m.hwmMB.toFixed(0)}, sampled ${m.sampledPeakMB.toFixed(0)}, reset ${m.hwmReset})`;
    t.diagnostic(`blank page: ${f(idle)}; 300 MB in the page: ${f(big)}; 300 MB in its worker: ${f(worker)}`);
    assert.notEqual(big.pid, idle.pid, 'two browser contexts run in two renderers');
    assert.ok(idle.peakMB - idle.startMB < 20, `a blank page stays flat (+${(idle.peakMB - idle.startMB).toFixed(0)} MB)`);
    for (const m of [big, worker]) {
      const grew = m.peakMB - m.startMB;
      assert.ok(grew > 290 && grew < 340, `300 MB allocated reads as +${grew.toFixed(0)} MB`);
    }
    await other.context().close();
  } finally {
    await context.close();
  }
});

// The folder and the command line's run, made once for both page tests (and not at all when
// they are filtered out): { dir, cliRun }, the run a promise. The command line trains on one
// core while the first page test trains on the other (about three minutes less in all); its
// time, printed for the log only, is taken under that load.
let comparison;
function hardFacesAndCli() {
  comparison ??= (async () => {
    const dir = await faceFolder('faces-1200', ['--per-class', '600,600', '--difficulty', DIFFICULTY, '--seed', '7']);
    const cliRun = cliOn(dir);
    cliRun.catch(() => {}); // a page test that fails first must not leave it unhandled
    return { dir, cliRun };
  })();
  return comparison;
}

async function cliOn(dir) {
  // The command line's recommended settings (FitConfig::recommended) on the same split.
  const started = Date.now();
  const { stdout } = await run(CLI, ['train', '--data', `folder:${dir}`, '--seed', String(DATA_SEED), '--test-split', String(TEST_SPLIT), '--json'], { maxBuffer: 64 << 20 });
  const lines = stdout.trim().split('\n').map((l) => JSON.parse(l));
  const result = lines.find((l) => l.event === 'result');
  const cli = { ...result.test, epochs: result.epochs_run, restored: result.restored_epoch, seconds: (Date.now() - started) / 1000, lastEpoch: lines.filter((l) => l.event === 'epoch').at(-1) };
  delete cli.misclassified;
  console.log(`command line on ${result.data}: test accuracy ${(cli.accuracy * 100).toFixed(1)}%, confusion ${JSON.stringify(cli.confusion_matrix)}, ${cli.epochs} epochs (restored ${cli.restored}) in ${cli.seconds.toFixed(0)} s; last epoch ${JSON.stringify(cli.lastEpoch)}`);
  return cli;
}

describe(`600 + 600 ${DIFFICULTY} faces, class-ordered: the page trains like the command line`, { skip: NO_CARGO }, () => {
  // Load ~10 s; training with the page's defaults: minutes on a shared 2-core machine.
  test("over http: the page's defaults score within 3 points of the command line's", { timeout: 40 * MINUTE }, async (t) => {
    const { dir, cliRun } = await hardFacesAndCli();
    const { page, log, close } = await openTraining(browser, server.url);
    try {
      const { accuracy, seconds } = await loadAndTrain(t, page, dir, 'http');
      const cli = await cliRun;
      const report = `[http] page: test accuracy ${(accuracy * 100).toFixed(1)}% after ${seconds.toFixed(0)} s (${await text(page, '#train-status')} | ${await text(page, '#curves-note')}); command line: ${(cli.accuracy * 100).toFixed(1)}% (${cli.epochs} epochs, restored ${cli.restored})`;
      console.log(report);
      t.diagnostic(report);

      assert.ok(cli.accuracy >= CLI_MUST_REACH, `the command line must learn these faces for the comparison to mean anything: it reached ${(cli.accuracy * 100).toFixed(1)}% (< ${CLI_MUST_REACH * 100}%), confusion ${JSON.stringify(cli.confusion_matrix)}; last epoch ${JSON.stringify(cli.lastEpoch)} (a validation split that takes the last images of a class-ordered folder sees one class only)`);
      assert.ok(Math.abs(accuracy - cli.accuracy) <= WITHIN, `the page's ${(accuracy * 100).toFixed(1)}% is within ${WITHIN * 100} points of the command line's ${(cli.accuracy * 100).toFixed(1)}%`);
      checkLog(log, server.origin);
    } finally {
      await close();
    }
  });

  test('from file://: the same folder loads and two epochs learn the training faces', { timeout: 20 * MINUTE }, async (t) => {
    const { dir } = await hardFacesAndCli();
    const { page, log, close } = await openTraining(browser, SINGLE_FILE_URL + '#ep=2');
    try {
      const { accuracy, seconds } = await loadAndTrain(t, page, dir, 'file');
      const note = await text(page, '#curves-note');
      t.diagnostic(`[file] two epochs: test accuracy ${(accuracy * 100).toFixed(1)}% after ${seconds.toFixed(0)} s (${await text(page, '#train-status')} | ${note})`);
      assert.match(await text(page, '#train-status'), /^Done: trained for all epochs.* 2 epochs, /);
      // The training accuracy: after two epochs the test score still waits for batch norm's
      // moving statistics (momentum 0.99 over 60 batches), a lag the chapter explains.
      const trained = Number(note.match(/^Epoch 2: training loss [\d.]+, accuracy ([\d.]+)%/)[1]) / 100;
      assert.ok(trained >= 0.8, `training accuracy ${(trained * 100).toFixed(1)}% in epoch 2`);
      assert.ok(accuracy >= 0 && accuracy <= 1, `a test accuracy is shown (${accuracy})`);
      checkLog(log, 'file');
    } finally {
      await close();
    }
  });
});

// Loads the folder `dir` through the folder dialog, trains with the page's settings, and
// returns the test accuracy and the training time in seconds.
async function loadAndTrain(t, page, dir, target) {
  const started = Date.now();
  await region(page, 'Data').getByLabel(FOLDER_INPUT).setInputFiles(dir);
  const load = await loadEnd(page, path.basename(dir), started, 5 * MINUTE);
  assert.ok(load.loaded, `the folder loads (message: ${load.message})`);
  t.diagnostic(`[${target}] loaded in ${load.seconds.toFixed(1)} s: ${await text(page, '#data-info')}`);
  const trainStarted = Date.now();
  await region(page, 'Training').getByRole('button', { name: 'Train', exact: true }).click();
  await page.waitForSelector('body[data-evaluated="true"]', { timeout: 30 * MINUTE });
  return { accuracy: await percent(page, 'm-accuracy'), seconds: (Date.now() - trainStarted) / 1000 };
}

// The folder is written in 17-32 s. Measured at 862983c (which refuses the stray files): without
// them, 13,000 faces loaded in 18-30 s, the renderer peaked at 2,142-2,200 MB (from ~260 MB) and
// the main thread ran one task of 4-9 s (probably data-panel.js reading every file into one buffer).
test('13,000 faces (9,000 + 4,000, with stray files) load under 600 MB, without long tasks, with progress and a note on the skipped files', { skip: NO_CARGO, timeout: 20 * MINUTE }, async (t) => {
  const dir = await faceFolder('faces-13000', ['--per-class', '9000,4000', '--side', '64', '--stray']);
  const { page, log, close } = await openTraining(browser, server.url);
  try {
    // setInputFiles itself (the browser making 13,004 File objects) is one main-thread task of
    // 3-4 s even on a bare <input> with no script (measured here); the page's own code starts in
    // that task's 'change' event. So the page's share of it is timed from the event's capture
    // at the window to its bubble back there (the page's listener runs in between), and only
    // the tasks after it count as the page's.
    await page.evaluate(() => {
      window.__longTasks = [];
      window.__change = {};
      new PerformanceObserver((list) => window.__longTasks.push(...list.getEntries().map((e) => ({ start: e.startTime, duration: e.duration })))).observe({ type: 'longtask' });
      window.addEventListener('change', () => (window.__change.start = performance.now()), true);
      window.addEventListener('change', () => (window.__change.end = performance.now()));
    });
    const watch = await startMemoryWatch(browser, page);
    const loadStart = await page.evaluate(() => performance.now());
    const started = Date.now();
    await region(page, 'Data').getByLabel(FOLDER_INPUT).setInputFiles(dir);

    // The progress bar, read every 100 ms while the load runs.
    const bar = page.getByRole('progressbar', { name: 'Loading pictures' });
    const progress = [];
    let ended = null;
    const end = loadEnd(page, path.basename(dir), started, 15 * MINUTE).then((e) => (ended = e));
    while (!ended) {
      const value = await bar
        .evaluate((e) => Number(e.getAttribute('aria-valuenow') ?? e.value), null, { timeout: 50 })
        .catch(() => null);
      if (value !== null && value !== progress.at(-1)) progress.push(value);
      await Promise.race([end, settle(100)]);
    }
    const load = await end;
    const memory = await watch.stop();
    const change = await page.evaluate(() => window.__change);
    const inChange = change.end - change.start;
    const longTasks = await page.evaluate((t0) => window.__longTasks.filter((l) => l.start >= t0), change.end ?? loadStart);
    const longest = Math.max(inChange, ...longTasks.map((l) => l.duration));
    const notes = (await page.locator('#data-notes').textContent({ timeout: 1000 }).catch(() => null)) ?? '(no #data-notes element)';
    const report = `13,000 pictures: ${load.loaded ? 'loaded' : 'refused'} after ${load.seconds.toFixed(1)} s; renderer (page + worker) peak ${memory.peakMB.toFixed(0)} MB (from ${memory.startMB.toFixed(0)} MB; high-water mark ${memory.hwmMB.toFixed(0)}, sampled ${memory.sampledPeakMB.toFixed(0)} in ${memory.samples} samples, reset ${memory.hwmReset}); longest main-thread task of the page ${longest.toFixed(0)} ms (its change handler ${inChange.toFixed(0)} ms; ${longTasks.length} later tasks over 50 ms); progress values seen ${JSON.stringify(progress.slice(0, 20))}${progress.length > 20 ? '…' : ''}; message: ${JSON.stringify(load.message)}; data: ${JSON.stringify(await text(page, '#data-info'))}; notes: ${JSON.stringify(notes)}`;
    console.log(report);
    t.diagnostic(report);

    assert.ok(load.loaded, `the folder loads (message: ${load.message})`);
    assert.ok(memory.peakMB <= MEMORY_LIMIT_MB, `page and worker peak at ${memory.peakMB.toFixed(0)} MB (at most ${MEMORY_LIMIT_MB})`);
    assert.ok(longest <= LONG_TASK_LIMIT_MS, `the longest main-thread task took ${longest.toFixed(0)} ms (at most ${LONG_TASK_LIMIT_MS}): ${JSON.stringify(longTasks.slice(0, 10))}`);
    assert.ok(progress.length >= 2 && progress.at(-1) > progress[0], `a "Loading pictures" progress bar grew during the load (values seen: ${JSON.stringify(progress)})`);
    assert.match(await text(page, '#data-info'), /9000|9,000/);
    // Four stray files: readme.txt and .DS_Store at the top, .DS_Store and Thumbs.db in the
    // class folders; all are counted, the first three named.
    assert.match(notes, /^4 files that are not PNG or JPEG pictures were skipped \((?=.*readme\.txt)(?=.*\.DS_Store)[^)]*, \.\.\.\)\.$/);
    checkLog(log, server.origin);
  } finally {
    await close();
  }
});

test('an empty folder gets a message and the data loaded before stay', { timeout: 5 * MINUTE }, async () => {
  const faces = writeFolder(path.join(tmp, 'small-faces'), ['no_smile', 'smile'], 10);
  const empty = path.join(tmp, 'empty-folder');
  fs.mkdirSync(empty, { recursive: true });
  const { page, log, close } = await openTraining(browser, server.url);
  try {
    const folder = region(page, 'Data').getByLabel(FOLDER_INPUT);
    await folder.setInputFiles(faces);
    const load = await loadEnd(page, 'small-faces', Date.now(), MINUTE);
    assert.ok(load.loaded, `a small folder loads first (message: ${load.message})`);
    const info = await text(page, '#data-info');

    await folder.setInputFiles(empty);
    // Whatever the page says comes within seconds; silence is a failure too.
    const message = await messageOf(page, '#msg-data').catch(() => '(no message within the timeout)');
    assert.match(message, /empty/i, `an empty folder is explained: ${message}`);
    assert.equal(await text(page, '#data-info'), info, 'the data loaded before stay');
    await settle(500);
    assert.equal(await text(page, '#data-info'), info, 'and are still there a moment later');
    checkLog(log, server.origin);
  } finally {
    await close();
  }
});
