/* The digital badge (R10): a link the debtor opens on their own phone to check who is at the
 * door and to confirm the visit; and the leave-behind card (R14), shown to copy or photograph. Made offline: the day packet carries a key per visit, and the
 * link carries the visit, the time on the server-corrected clock and this phone's id, signed
 * with HMAC-SHA256 (WebCrypto). Shown as a QR code and as text; valid for minutes, so the
 * dialog makes a fresh one each time it opens. */
import { qrCanvas } from '../../qrcode.js';
import { button, h } from '../dom.js';

function fromBase64Url(text) {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4);
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

function toBase64Url(bytes) {
  return btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/* The link's token: "visit.seconds.device.signature" (backend/presence/services.py reads it). */
export async function badgeToken(visit, deviceId, nowMs) {
  const key = await crypto.subtle.importKey('raw', fromBase64Url(visit.badge_key), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const message = `${visit.id}.${Math.floor(nowMs / 1000)}.${deviceId}`;
  const signature = await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(message));
  return `${message}.${toBase64Url(signature)}`;
}

export async function badgeLink(s) {
  const [deviceId, now] = await Promise.all([s.store.deviceId(), s.sync.serverNow()]);
  return `${location.origin}/badge.html#${await badgeToken(s.visit, deviceId, now)}`;
}

export async function openBadge(s) {
  const { t, packet } = s;
  const agent = (packet && packet.agent) || {};
  const org = (packet && packet.organisation) || {};
  if (!s.visit.badge_key) { s.toast(t('badge.no_key')); return; }
  const link = await badgeLink(s);
  const minutes = Math.round((((packet && packet.settings) || {}).badge_ttl_s || 600) / 60);
  const dialog = h('dialog', { class: 'sheet badge', 'aria-label': t('badge.title') },
    h('h2', { text: t('badge.title') }),
    h('p', { class: 'badge-who' }, h('strong', { text: agent.name || '' }), agent.badge_no ? ` · ${t('badge.number', { no: agent.badge_no })}` : ''),
    h('p', { class: 'muted', text: org.name || '' }),
    await qrCanvas(link),
    h('p', { class: 'muted', text: t('badge.help', { n: minutes }) }),
    h('p', { class: 'badge-link' }, h('a', { href: link, target: '_blank', rel: 'noopener', text: link })),
    h('div', { class: 'actions' }, button(t('common.close'), () => dialog.close(), 'btn secondary')));
  dialog.addEventListener('close', () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
}

/* The leave-behind card (R14) as the day packet carries it: the same neutral lines the printed
 * PDF has, and a QR code of its check link (valid for weeks, it confirms nothing). */
export async function openCard(s) {
  const { t, visit } = s;
  const card = visit.card;
  if (!card) { s.toast(t('badge.no_key')); return; }
  const dialog = h('dialog', { class: 'sheet leave-card', 'aria-label': t('card.title') },
    h('h2', { text: card.title }),
    card.lines.map((line) => h('p', { class: line === card.link ? 'badge-link' : '', text: line })),
    await qrCanvas(card.link, { scale: 4 }),
    h('p', { class: 'muted', text: t('card.help') }),
    h('div', { class: 'actions' }, button(t('common.close'), () => dialog.close(), 'btn secondary')));
  dialog.addEventListener('close', () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
}
