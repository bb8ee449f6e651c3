/* Sync controller in the page: when to flush the outbox and pull the day, and the status
 * everyone sees (unsent count, last sync, problems). The flush itself is in outbox.js. */
import './db.js';
import './outbox.js';
import { ApiError, NetworkError, request } from './api.js';
import * as store from './store.js';
import { keepDayTiles } from './tiles.js';

const core = globalThis.doorstepCore;
const TICK_MS = 20000;
const PULL_EVERY_MS = 60000;

const listeners = new Set();
let running = null;
let followUp = null; // the one run asked for while another was going
let lastPullAt = 0;
let lastResult = null;
let pullError = null;
let started = false;
// navigator.onLine only knows the radio; a dead zone or captive portal says "online" too.
// The answer of our own last request is the better signal.
let reachable = true;

export function onStatus(fn) {
  listeners.add(fn);
  status().then(fn);
  return () => listeners.delete(fn);
}

export async function status() {
  const [unsent, lastSync, flushState, items, session] = await Promise.all([
    store.outboxCount(), store.kvGet('last_sync'), store.kvGet('flush'), store.journal(), store.getSession(),
  ]);
  return {
    online: navigator.onLine && reachable,
    syncing: Boolean(running),
    unsent,
    lastSync,
    problems: items.filter((item) => !item.acknowledged).length,
    lastError: (flushState && flushState.last_error) || null,
    nextAt: (flushState && flushState.next_at) || 0,
    pullError,
    expired: Boolean(session && session.expired),
    lastResult,
  };
}

export async function emit() {
  const s = await status();
  for (const fn of listeners) fn(s);
}

/* The device's "today", on the server-corrected clock (R1 uses the same offset). */
export async function serverNow() {
  const packet = await store.kvGet('packet');
  return Date.now() + ((packet && packet.clock_offset_ms) || 0);
}

export const isoDay = store.isoDay;

/* Today for this agent: the branch's day, once a packet told which branch; null before
 * (the server then answers with today in the branch's timezone). */
export async function today() {
  const packet = await store.kvGet('packet');
  const zone = store.branchZone(packet);
  return zone ? isoDay(await serverNow(), zone) : null;
}

export async function pullPacket(date) {
  // R15: purges since the last report ride on the day's pull (the server keeps them in its audit trail)
  const purges = (await store.kvGet('purges')) || [];
  const purged = purges.reduce((n, p) => n + p.journal + p.visits + p.drafts, 0);
  const report = purged ? `&purged=${purged}&purged_at=${encodeURIComponent(purges[purges.length - 1].at)}` : '';
  const sentAt = Date.now();
  const query = [date ? `date=${encodeURIComponent(date)}` : '', report.slice(1)].filter(Boolean).join('&');
  const packet = await request(`/api/sync/packet${query ? `?${query}` : ''}`);
  const receivedAt = Date.now();
  const offset = packet.server_time ? Date.parse(packet.server_time) - (sentAt + receivedAt) / 2 : 0;
  await store.storePacket(packet, Number.isFinite(offset) ? offset : 0);
  if (purges.length) await store.forgetPurges(purges.length);
  // the day's street map for a dead zone later; never in the way of the sync
  keepDayTiles(packet).catch((err) => console.info('tiles not kept', err && err.message));
  return packet;
}

/* R15 purge, never in the way of syncing (an IndexedDB failure here must not stop the flush). */
export async function purge() {
  try {
    const purged = await store.purgeExpired();
    if (purged.visits || purged.drafts) window.dispatchEvent(new CustomEvent('doorstep:data'));
    return purged;
  } catch (err) {
    console.warn('purge failed', err);
    return null;
  }
}

/* Today's packet when the day changed, else the delta feed from the stored cursor. */
export async function pull() {
  const packet = await store.kvGet('packet');
  const day = await today();
  if (!packet || packet.date !== day) {
    await pullPacket(day);
    lastPullAt = Date.now();
    return { stopped: [] };
  }
  const stopped = [];
  for (let page = 0; page < 20; page += 1) {
    const cursor = await store.kvGet('cursor');
    let data;
    try {
      data = await request(`/api/sync/changes?since=${encodeURIComponent(cursor ?? 0)}`);
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 'unknown_cursor')) throw err;
      // The server's feed does not know our cursor (restored database): take the whole day again.
      await pullPacket(day);
      break;
    }
    const changes = data.changes || [];
    stopped.push(...await store.applyChanges(changes, data.cursor ?? cursor));
    if (!changes.length || !(data.more || data.has_more)) break;
  }
  lastPullAt = Date.now();
  return { stopped };
}

/* Flush, then pull. One run at a time in this tab; the Web Lock guards across tabs. A call
 * while a run is going (a step recorded after that run read the outbox) gets one more run right
 * after it, shared by every such call: what was recorded before the call is sent by what it
 * returns, not left for the next tick. */
export function syncNow() {
  if (running) {
    if (!followUp) followUp = running.catch(() => null).then(() => { followUp = null; return syncNow(); });
    return followUp;
  }
  running = (async () => {
    await emit();
    try {
      const session = await store.getSession();
      if (!session || session.expired) return null;
      lastResult = await core.flush();
      await purge(); // before a new day's pull, so that pull reports it
      try {
        const { stopped } = await pull();
        pullError = null;
        reachable = true;
        await store.kvSet('last_sync', new Date().toISOString());
        if (stopped.length) window.dispatchEvent(new CustomEvent('doorstep:stopwork', { detail: stopped }));
      } catch (err) {
        if (err instanceof NetworkError) reachable = false;
        pullError = err instanceof NetworkError ? null : err.message;
      }
      window.dispatchEvent(new CustomEvent('doorstep:data'));
      return lastResult;
    } finally {
      running = null;
      await emit();
    }
  })();
  return running;
}

/* After a step was recorded: send it now if we can. */
export function kick() {
  emit();
  if (navigator.onLine) syncNow();
}

/* The network is back (the radio says so): reset the back-off and send now. A flush still
 * waiting on the dead connection is let finish, then the outbox goes again at once. */
export async function networkBack() {
  reachable = true;
  await core.resetBackoff();
  return syncNow(); // a run still hanging on the dead connection is let finish, the next goes right after
}

async function tick() {
  const s = await status();
  // the radio, not the last request: after a dead zone the due retry is what finds the way back
  if (!navigator.onLine || s.expired) return;
  const due = s.unsent > 0 && Date.now() >= s.nextAt;
  if (due || Date.now() - lastPullAt >= PULL_EVERY_MS) syncNow();
}

export function start() {
  if (started) return;
  started = true;
  window.addEventListener('online', () => { networkBack(); });
  window.addEventListener('offline', () => emit());
  window.addEventListener('focus', () => syncNow());
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') syncNow();
  });
  setInterval(tick, TICK_MS);
  try {
    // Other tabs and the service worker announce outbox changes here.
    new BroadcastChannel(core.CHANNEL).onmessage = () => emit();
  } catch (_) { /* no BroadcastChannel: this tab still refreshes itself */ }
  syncNow();
}
