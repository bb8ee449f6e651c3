/* Photo evidence (the door or the building, never people — the dialog says so): taken with the
 * phone's camera, resized on the device, re-encoded through a canvas (which leaves EXIF behind:
 * no camera, no GPS, no time in the file), hashed, and queued in the outbox like the signature. */
import * as ops from '../../ops.js';
import { button, field, h } from '../dom.js';

export const MAX_SIDE = 1280;
const MAX_BYTES = 480 * 1024; // under the server's attachment limit

async function sha256Hex(bytes) {
  const digest = await crypto.subtle.digest('SHA-256', bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

function toBase64(bytes) {
  let text = '';
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

/* The file as a JPEG at most MAX_SIDE on its longer side, drawn upright, with no metadata. */
export async function preparePhoto(file) {
  const bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
  const scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
  const canvas = h('canvas', { width: Math.round(bitmap.width * scale), height: Math.round(bitmap.height * scale) });
  canvas.getContext('2d').drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  bitmap.close();
  let bytes = null;
  for (const quality of [0.8, 0.6, 0.4]) {
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', quality));
    bytes = new Uint8Array(await blob.arrayBuffer());
    if (bytes.length <= MAX_BYTES) break;
  }
  return { jpegBase64: toBase64(bytes), sha256: await sha256Hex(bytes), width: canvas.width, height: canvas.height, size: bytes.length };
}

export function openPhoto(s) {
  const { t, store, sync, visit, draft } = s;
  const kind = h('select', {}, ['door', 'building'].map((k) => h('option', { value: k, text: t(`photo.kind.${k}`) })));
  const input = h('input', { type: 'file', accept: 'image/*', capture: 'environment', class: 'photo-input' });
  const status = h('p', { class: 'muted', role: 'status' });
  const dialog = h('dialog', { class: 'sheet photo', 'aria-label': t('photo.title') },
    h('h2', { text: t('photo.title') }),
    h('p', { class: 'notice warn', text: t('photo.not_people') }),
    field(t('photo.kind'), kind), field(t('photo.take'), input), status,
    h('div', { class: 'actions' }, button(t('common.close'), () => dialog.close(), 'btn secondary')));
  input.addEventListener('change', () => s.guarded(null, async () => {
    const file = input.files && input.files[0];
    if (!file) return;
    status.textContent = t('photo.preparing');
    const prepared = await preparePhoto(file);
    await store.recordStep(s.visitId, [ops.photo(visit, kind.value, prepared)],
      { photos: (draft.photos || []).concat([{ kind: kind.value, sha256: prepared.sha256, at: new Date().toISOString() }]) },
      { case_id: visit.case_id });
    sync.kick();
    dialog.close();
    s.toast(t('photo.saved'));
  }));
  dialog.addEventListener('close', () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
}
