// The webcam: one camera stream shared by the capture panel (frames of "smile" and
// "no smile" that become a dataset) and the live smile meter in Try it. A frame is the
// centred square of the video, shrunk to the model's input size on a canvas.

import { $, make, say } from './dom.js';

export const FRAME_SIDE = 64;
// Each press of a capture button takes a short burst: a student moves a little between frames.
const BURST = 5;
const BURST_GAP_MS = 120;
const CLASSES = ['no smile', 'smile'];

let stream = null;

// Starts the camera once (the browser asks for permission the first time).
export async function openCamera(video) {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) throw new Error('this browser gives no access to a camera here (it needs http://localhost, https or a file opened from disk)');
  if (!stream) stream = await navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240 }, audio: false });
  if (video.srcObject !== stream) {
    video.hidden = false;
    video.srcObject = stream;
    await video.play();
  }
  if (!video.videoWidth) await new Promise((ok) => video.addEventListener('loadeddata', ok, { once: true }));
}

// The centred square of the video as (side, side, 4) RGBA bytes.
export function grabFrame(video, side = FRAME_SIDE) {
  const canvas = grabFrame.canvas || (grabFrame.canvas = document.createElement('canvas'));
  canvas.width = side;
  canvas.height = side;
  const g = canvas.getContext('2d', { willReadFrequently: true });
  const s = Math.min(video.videoWidth, video.videoHeight);
  g.drawImage(video, (video.videoWidth - s) / 2, (video.videoHeight - s) / 2, s, s, 0, 0, side, side);
  return g.getImageData(0, 0, side, side).data;
}

export function createWebcamCapture(ctx) {
  const video = $('cam-video');
  const thumbs = $('cam-thumbs');
  const message = $('msg-cam');
  let frames = []; // {label, rgba}
  let capturing = false;

  function render() {
    const figures = frames.map((f, i) => {
      const fig = make('figure');
      const canvas = make('canvas', { width: FRAME_SIDE, height: FRAME_SIDE, ariaLabel: `frame ${i + 1}: ${CLASSES[f.label]}` });
      canvas.getContext('2d').putImageData(new ImageData(new Uint8ClampedArray(f.rgba), FRAME_SIDE, FRAME_SIDE), 0, 0);
      const del = make('button', { type: 'button', className: 'delete', ariaLabel: `Delete frame ${i + 1} (${CLASSES[f.label]})`, title: 'delete this frame' }, '×');
      del.addEventListener('click', () => {
        frames.splice(i, 1);
        render();
      });
      fig.append(canvas, make('figcaption', {}, CLASSES[f.label]), del);
      return fig;
    });
    thumbs.replaceChildren(...figures);
    const count = (c) => frames.filter((f) => f.label === c).length;
    $('cam-count').textContent = frames.length ? `${count(1)} smile, ${count(0)} no smile` : '';
    setButtons();
  }

  // The captured frames as the worker takes them: (N, side, side, 4) RGBA and a label each.
  function packed() {
    const rgba = new Uint8Array(frames.length * FRAME_SIDE * FRAME_SIDE * 4);
    frames.forEach((f, i) => rgba.set(f.rgba, i * FRAME_SIDE * FRAME_SIDE * 4));
    return { rgba, labels: Uint8Array.from(frames, (f) => f.label) };
  }

  function setButtons() {
    const live = !!video.srcObject;
    $('cam-smile').disabled = !live || capturing;
    $('cam-nosmile').disabled = !live || capturing;
    $('cam-use').disabled = capturing || frames.length === 0 || ctx.running();
    $('cam-clear').disabled = frames.length === 0;
  }

  async function capture(label) {
    capturing = true;
    setButtons();
    for (let k = 0; k < BURST; k++) {
      frames.push({ label, rgba: grabFrame(video) });
      render();
      if (k < BURST - 1) await new Promise((ok) => setTimeout(ok, BURST_GAP_MS));
    }
    capturing = false;
    setButtons();
  }

  $('cam-start').addEventListener('click', async () => {
    say(message, '');
    try {
      await openCamera(video);
      $('cam-start').textContent = 'Camera on';
      $('cam-start').disabled = true;
    } catch (e) {
      say(message, `The camera could not start: ${e.message}.`);
    }
    setButtons();
  });
  $('cam-smile').addEventListener('click', () => capture(1));
  $('cam-nosmile').addEventListener('click', () => capture(0));
  $('cam-clear').addEventListener('click', () => {
    frames = [];
    render();
  });
  $('cam-use').addEventListener('click', () => {
    if (ctx.running()) return say(message, 'Stop the training run before loading other data.');
    ctx.guarded(async () => {
      const { rgba, labels } = packed();
      let info;
      try {
        info = await ctx.worker.call('loadCaptured', { rgba: rgba.buffer, labels, side: FRAME_SIDE, classNames: CLASSES, seed: ctx.store.get().dataSeed }, [rgba.buffer]);
      } catch (e) {
        throw new Error(`${e.message.replace(/\.?$/, '.')} The data and the model you had are unchanged.`);
      }
      await ctx.dataLoaded(info);
    }, message);
  });
  render();
  return {
    setButtons,
    // For the cross-dataset test: the frames as `crossCaptured` takes them, or null if none.
    frames: () => (frames.length ? { ...packed(), side: FRAME_SIDE, classNames: CLASSES } : null),
  };
}
