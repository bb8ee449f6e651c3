/* Signature pad: pointer events (mouse, pen, finger), strokes kept as [x, y, ms] in a
 * fixed 600×200 coordinate space, and a PNG rendered from the strokes at that size so the
 * file stays small whatever the screen (Lessons: check size before finalizing). The pad
 * itself takes the whole width it is given (wider when the phone is turned): its pixels
 * follow its size on screen and the strokes are drawn again from that coordinate space, so
 * a resize or a turn keeps them sharp and in place. */
import { h } from './dom.js';

export const PAD_W = 600;
export const PAD_H = 200;
const MAX_PNG_BYTES = 200 * 1024;

export function createPad({ strokes = [], label, onChange }) {
  const canvas = h('canvas', { class: 'sigpad', width: PAD_W, height: PAD_H, role: 'img', 'aria-label': label, tabindex: '0' });
  const ctx = canvas.getContext('2d');
  let current = null;
  let started = 0;
  const all = strokes.map((s) => s.slice());

  function point(event) {
    const rect = canvas.getBoundingClientRect();
    return [
      Math.round(((event.clientX - rect.left) / rect.width) * PAD_W),
      Math.round(((event.clientY - rect.top) / rect.height) * PAD_H),
      Math.round(event.timeStamp - started),
    ];
  }

  function redraw() {
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.setTransform(canvas.width / PAD_W, 0, 0, canvas.height / PAD_H, 0, 0);
    drawStrokes(ctx, all);
  }

  function fit() {
    // taken off the screen (the step moved on): the observer lets go of the pad
    if (!canvas.isConnected) { sizes.disconnect(); return; }
    const ratio = window.devicePixelRatio || 1;
    const width = Math.round(canvas.clientWidth * ratio);
    const height = Math.round(canvas.clientHeight * ratio);
    if (width && height && (width !== canvas.width || height !== canvas.height)) {
      canvas.width = width;
      canvas.height = height;
    }
    redraw();
  }
  const sizes = new ResizeObserver(fit);
  sizes.observe(canvas);

  canvas.addEventListener('pointerdown', (event) => {
    event.preventDefault();
    canvas.setPointerCapture(event.pointerId);
    if (!all.length) started = event.timeStamp;
    current = [point(event)];
    all.push(current);
  });
  canvas.addEventListener('pointermove', (event) => {
    if (!current) return;
    const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
    for (const e of (events.length ? events : [event])) current.push(point(e));
    redraw();
  });
  const end = () => {
    if (!current) return;
    current = null;
    onChange(all.map((s) => s.slice()));
  };
  canvas.addEventListener('pointerup', end);
  canvas.addEventListener('pointercancel', end);

  redraw();
  return {
    el: canvas,
    clear() { all.length = 0; redraw(); onChange([]); },
    strokes: () => all.map((s) => s.slice()),
  };
}

function drawStrokes(ctx, strokes) {
  ctx.lineWidth = 3;
  ctx.lineCap = 'round';
  ctx.lineJoin = 'round';
  ctx.strokeStyle = '#14285a';
  for (const stroke of strokes) {
    if (!stroke.length) continue;
    ctx.beginPath();
    ctx.moveTo(stroke[0][0], stroke[0][1]);
    if (stroke.length === 1) ctx.lineTo(stroke[0][0] + 0.5, stroke[0][1] + 0.5);
    for (const [x, y] of stroke.slice(1)) ctx.lineTo(x, y);
    ctx.stroke();
  }
}

/* The PNG the server stores: white background, the strokes, nothing else. */
export async function renderPng(strokes) {
  for (const scale of [1, 0.75, 0.5]) {
    const canvas = document.createElement('canvas');
    canvas.width = Math.round(PAD_W * scale);
    canvas.height = Math.round(PAD_H * scale);
    const ctx = canvas.getContext('2d');
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.scale(scale, scale);
    drawStrokes(ctx, strokes);
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/png'));
    const bytes = new Uint8Array(await blob.arrayBuffer());
    if (bytes.length <= MAX_PNG_BYTES) return bytes;
  }
  throw new Error('signature too large');
}

export function toBase64(bytes) {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}
