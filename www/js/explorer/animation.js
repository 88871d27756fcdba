// The explorer's animation: play / pause / step / scrub through the cells of an output map.
// The stepper owns only the timing: the current index lives in the page state (so it is in
// the link), and the view tells it how many cells there are. The player is its controls.
// Nothing runs at import time, so the stepper is tested under Node with a fake clock.

export const SPEEDS = [1, 2, 4, 8, 16]; // cells per second

// getIndex/setIndex: the state's index. `clock`: setInterval/clearInterval (injected for tests).
// `onPlaying(on)`: told when playing starts or stops, to show Play or Pause.
export function createStepper({ getIndex, setIndex, clock = globalThis, onPlaying = () => {} }) {
  let count = 0;
  let timer = null;
  let speed = 2;

  const go = (i) => setIndex(Math.max(0, Math.min(count - 1, i)));

  function stop() {
    if (timer !== null) clock.clearInterval(timer);
    timer = null;
    onPlaying(false);
  }

  // From the start again when at the last cell; stops by itself at the last cell.
  function start() {
    if (count <= 1) return;
    if (getIndex() >= count - 1) setIndex(0);
    onPlaying(true);
    timer = clock.setInterval(() => {
      const i = getIndex();
      if (i >= count - 1) stop();
      else setIndex(i + 1);
    }, 1000 / speed);
  }

  return {
    toggle: () => (timer === null ? start() : stop()),
    stop,
    // A step by hand stops playing.
    back() { stop(); go(getIndex() - 1); },
    forward() { stop(); go(getIndex() + 1); },
    seek(i) { stop(); go(i); },
    setSpeed(cellsPerSecond) {
      speed = cellsPerSecond;
      if (timer !== null) { stop(); start(); }
    },
    get speed() { return speed; },
    get playing() { return timer !== null; },
    // n cells (0 when there is no output: playing stops).
    setCount(n) {
      count = n;
      if (n === 0) stop();
    },
  };
}

// Drawn icons, so that they look the same whatever fonts the machine has.
const svg = (body) => `<svg viewBox="0 0 16 16" width="16" height="16" aria-hidden="true" fill="currentColor">${body}</svg>`;
const ICONS = {
  play: svg('<path d="M4 2.5v11l9.5-5.5z"/>'),
  pause: svg('<rect x="3.5" y="2.5" width="3.2" height="11" rx="0.8"/><rect x="9.3" y="2.5" width="3.2" height="11" rx="0.8"/>'),
  back: svg('<rect x="2.5" y="2.5" width="2.2" height="11" rx="0.6"/><path d="M13.5 2.5v11L5.8 8z"/>'),
  forward: svg('<rect x="11.3" y="2.5" width="2.2" height="11" rx="0.6"/><path d="M2.5 2.5v11L10.2 8z"/>'),
};

function el(tag, attrs = {}, text = '') {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text) e.textContent = text;
  return e;
}

// root: an empty element; label: the scrub bar's name ("Step"); getIndex/setIndex: the state.
export function createPlayer(root, { label, getIndex, setIndex }) {
  const back = el('button', { type: 'button', class: 'button icon', 'aria-label': 'Step back', title: 'Step back' });
  const play = el('button', { type: 'button', class: 'button icon primary', 'aria-label': 'Play', title: 'Play' });
  const fwd = el('button', { type: 'button', class: 'button icon', 'aria-label': 'Step forward', title: 'Step forward' });
  back.innerHTML = ICONS.back;
  play.innerHTML = ICONS.play;
  fwd.innerHTML = ICONS.forward;
  const scrub = el('input', { type: 'range', min: '0', max: '0', step: '1', 'aria-label': label, class: 'scrub' });
  const readout = el('span', { class: 'readout', 'aria-live': 'off' });
  const speedSel = el('select', { 'aria-label': `${label} speed`, class: 'speed' });
  for (const s of SPEEDS) speedSel.append(el('option', { value: String(s) }, `${s}/s`));

  const row1 = el('div', { class: 'player-row' });
  row1.append(back, play, fwd, scrub);
  const row2 = el('div', { class: 'player-row small' });
  row2.append(readout, el('span', { class: 'spacer' }), el('span', { class: 'hint' }, 'speed'), speedSel);
  root.append(row1, row2);

  const stepper = createStepper({
    getIndex,
    setIndex,
    onPlaying(on) {
      const name = on ? 'Pause' : 'Play';
      play.innerHTML = on ? ICONS.pause : ICONS.play;
      play.setAttribute('aria-label', name);
      play.title = name;
    },
  });
  speedSel.value = String(stepper.speed);

  play.addEventListener('click', () => stepper.toggle());
  back.addEventListener('click', () => stepper.back());
  fwd.addEventListener('click', () => stepper.forward());
  scrub.addEventListener('input', () => stepper.seek(Number(scrub.value)));
  speedSel.addEventListener('change', () => stepper.setSpeed(Number(speedSel.value)));

  return {
    // n cells (0 when there is no output), the current index and a line describing it.
    update(n, index, text) {
      stepper.setCount(n);
      scrub.max = String(Math.max(0, n - 1));
      scrub.value = String(index);
      for (const b of [back, play, fwd, scrub]) b.disabled = n === 0;
      readout.textContent = text;
    },
    stop: stepper.stop,
  };
}
