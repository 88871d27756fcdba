// convscope's page: start the Rust core, read the setup from the link, start the explorer,
// and keep the link up to date so that it can be shared.

import { loadCore } from './wasm.js';
import { createSchema, createStore } from './state.js';
import { settleLinkState } from './explorer/data.js';
import { startExplorer } from './explorer/explorer.js';
import { startTraining } from './train/training.js';
import { startWorker } from './train/client.js';
import { startInside } from './inside/inside.js';
import { startBackward } from './backward/backward.js';
import { startChecks } from './backward/check.js';

const $ = (id) => document.getElementById(id);

function showLinkProblems(problems) {
  const banner = $('link-message');
  banner.hidden = problems.length === 0;
  banner.textContent = problems.length ? `Part of this link could not be used, so defaults are shown for it: ${problems.join('; ')}.` : '';
}

function stateFromLink(schema) {
  const { state, problems, present } = schema.readHash(location.hash);
  const [settled, more] = settleLinkState(state, present);
  showLinkProblems([...problems, ...more]);
  return settled;
}

// The engine line sits in the footer; a failure to start is also said at the top, where it is seen.
function failed(text) {
  const engine = $('engine');
  engine.textContent = text;
  engine.classList.add('error');
  $('start-error').textContent = text;
  $('start-error').hidden = false;
}

async function main() {
  const engine = $('engine');
  // The training worker compiles its own instance of the module: begin now, on the other core,
  // so that Train is ready about when the explorer is. Its events wait for the section.
  const events = { listen: () => {} };
  const worker = startWorker((m) => events.listen(m));
  worker.catch(() => {}); // a failure is reported by the training section
  let core;
  try {
    core = await loadCore();
  } catch (e) {
    failed(`WebAssembly could not start: ${e.message}`);
    return;
  }
  const simd = core.simdEnabled();
  const relaxed = core.relaxedSimdEnabled();
  engine.textContent = `Rust core in WebAssembly · SIMD128 ${simd ? 'on' : 'off'} · relaxed SIMD ${relaxed ? 'on' : 'off'}`;
  engine.dataset.simd = String(simd);
  engine.dataset.relaxedSimd = String(relaxed);

  // The link's parser and the controls take their ranges from the core (src/limits.rs).
  let schema;
  try {
    schema = createSchema(core.controlRanges());
  } catch (e) {
    failed(`The page could not read the core's ranges: ${e.message}`);
    console.error(e);
    return;
  }
  const store = createStore(stateFromLink(schema));
  let explorer;
  try {
    explorer = startExplorer(core, store, schema);
    startBackward(core, store, explorer);
  } catch (e) {
    // A bug, not a user error: say so on the page, and keep it visible to tests and consoles.
    failed(`The explorer failed to start: ${e.message}`);
    console.error(e);
    return;
  }
  document.body.dataset.ready = 'true';

  // The training section starts after the explorer is up; its failure is shown there. It is
  // usable (Train enabled) before its first data is painted; the Look inside view waits for
  // that data and model.
  startTraining(store, worker, events, schema)
    .then(async (training) => {
      document.body.dataset.trainingReady = 'true';
      startChecks(store, explorer, training);
      await training.dataReady;
      document.body.dataset.trainingSettled = 'true';
      startInside(training);
    })
    .catch((e) => {
      const status = $('train-status');
      status.textContent = `The training engine could not start: ${e.message}`;
      status.classList.add('error');
      console.error(e);
    });

  // The link follows the state (replaceState: no history entry per slider move).
  let written = location.hash;
  let timer = null;
  store.subscribe((st) => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      const hash = schema.writeHash(st);
      if (hash !== location.hash) history.replaceState(null, '', hash === '#' ? location.pathname + location.search : hash);
      written = location.hash;
    }, 100);
  });
  // A link edited by hand in the address bar is read again.
  window.addEventListener('hashchange', () => {
    if (location.hash !== written) store.set(stateFromLink(schema));
    written = location.hash;
  });

  // The section links scroll; the fragment holds the setup, not a place on the page.
  const links = [...document.querySelectorAll('.sections a')];
  for (const a of links) {
    a.addEventListener('click', (e) => {
      e.preventDefault();
      document.querySelector(a.getAttribute('href')).scrollIntoView({ behavior: 'smooth' });
    });
  }
  // The section being read is marked as the current one: the last whose top has passed 40% of
  // the window's height (the top edge alone would keep the explorer marked while the training
  // section fills the view), or the last section once the page is scrolled to its end.
  const markCurrent = () => {
    const line = Math.max(80, window.innerHeight * 0.4);
    const atEnd = window.innerHeight + window.scrollY >= document.documentElement.scrollHeight - 2;
    const passed = links.filter((a) => document.querySelector(a.getAttribute('href')).getBoundingClientRect().top <= line);
    const under = atEnd ? links.at(-1) : passed.pop() ?? links[0];
    for (const a of links) {
      a.classList.toggle('current', a === under);
      if (a === under) a.setAttribute('aria-current', 'location');
      else a.removeAttribute('aria-current');
    }
  };
  window.addEventListener('scroll', markCurrent, { passive: true });
  // At the next frame, whose layout it then shares: called now, it forced a layout of the
  // whole page just drawn (60 ms of opening it, measured).
  requestAnimationFrame(markCurrent);

  $('copy-link').addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(location.href);
      $('copy-note').textContent = 'copied';
    } catch {
      $('copy-note').textContent = 'copy it from the address bar';
    }
  });
}

main();
