/* What the page reads and writes on the device: session, the day's visits, visit drafts,
 * and field work recorded as (record + outbox op) in one transaction. */
import './db.js';
import './outbox.js';

const core = globalThis.doorstepCore;
const { S, tx, req } = core;

export const kvGet = core.kvGet;
export const kvSet = core.kvSet;
export const outboxAll = core.outboxAll;
export const outboxCount = core.outboxCount;

export function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export async function deviceId() {
  let id = await kvGet('device_id');
  if (!id) {
    id = uuid();
    await kvSet('device_id', id);
  }
  return id;
}

export const getSession = () => kvGet('session');

export async function saveSession(session) {
  await kvSet('session', session);
}

export async function listVisits() {
  const visits = await tx(S.visits, 'readonly', (s) => req(s.visits.getAll()));
  return visits.sort((a, b) => (a.route_position ?? 1e9) - (b.route_position ?? 1e9) || a.id - b.id);
}

export const getVisit = (id) => tx(S.visits, 'readonly', (s) => req(s.visits.get(id)));
export const getDraft = (visitId) => tx(S.drafts, 'readonly', (s) => req(s.drafts.get(visitId)));
export const listDrafts = () => tx(S.drafts, 'readonly', (s) => req(s.drafts.getAll()));

/* Form state typed but not yet committed (a reload keeps it). Merged into the draft. */
export async function saveDraftFields(visitId, patch) {
  await tx(S.drafts, 'readwrite', async (s) => {
    const draft = (await req(s.drafts.get(visitId))) || { visit_id: visitId, created_at: new Date().toISOString() };
    s.drafts.put(deepMerge(draft, patch, { updated_at: new Date().toISOString() }));
  });
}

function deepMerge(target, ...patches) {
  const out = Array.isArray(target) ? target.slice() : Object.assign({}, target);
  for (const patch of patches) {
    for (const [key, value] of Object.entries(patch)) {
      if (value && typeof value === 'object' && !Array.isArray(value) && out[key] && typeof out[key] === 'object' && !Array.isArray(out[key])) {
        out[key] = deepMerge(out[key], value);
      } else {
        out[key] = value;
      }
    }
  }
  return out;
}

/* A step of field work: `ops` (type + payload) go to the outbox and `patch` to the visit's
 * draft in one transaction; only after it commits may the screen show the step as done. */
export async function recordStep(visitId, ops, patch, meta = {}) {
  const at = new Date().toISOString();
  const built = ops.map(({ type, payload }) => ({ id: uuid(), type, at, payload, meta: Object.assign({ visit_id: visitId }, meta) }));
  await core.enqueue(built, async (s) => {
    const draft = (await req(s.drafts.get(visitId))) || { visit_id: visitId, created_at: at };
    const log = (draft.ops || []).concat(built.map((op) => ({ id: op.id, type: op.type, at })));
    s.drafts.put(deepMerge(draft, patch, { updated_at: at, ops: log }));
  });
  return built;
}

export async function journal() {
  const items = await tx(S.journal, 'readonly', (s) => req(s.journal.getAll()));
  return items.sort((a, b) => (b.done_at || '').localeCompare(a.done_at || ''));
}

export async function acknowledge(opId) {
  await tx(S.journal, 'readwrite', async (s) => {
    const item = await req(s.journal.get(opId));
    if (item) s.journal.put(Object.assign(item, { acknowledged: true, acknowledged_at: new Date().toISOString() }));
  });
  core.notify({ type: 'outbox' });
}

/* The day packet replaces the stored day (R15: only today's debtors on the device).
 * Drafts and the outbox are never touched here. */
export async function storePacket(packet, clockOffsetMs) {
  await tx([S.visits, S.kv, S.drafts, S.outbox], 'readwrite', async (s) => {
    s.visits.clear();
    for (const visit of packet.visits || []) s.visits.put(visit);
    // R15: a past visit's draft goes once nothing of it waits in the outbox
    const keep = new Set((packet.visits || []).map((v) => v.id));
    const queued = new Set((await req(s.outbox.getAll())).map((e) => e.meta && e.meta.visit_id));
    for (const draft of await req(s.drafts.getAll())) {
      if (!keep.has(draft.visit_id) && !queued.has(draft.visit_id)) s.drafts.delete(draft.visit_id);
    }
    const { visits, ...meta } = packet;
    s.kv.put(Object.assign(meta, { fetched_at: new Date().toISOString(), clock_offset_ms: clockOffsetMs }), 'packet');
    s.kv.put(packet.cursor, 'cursor');
  });
}

/* Apply a delta page in order, in one transaction, and move the cursor with it. */
export async function applyChanges(changes, cursor) {
  const stopped = [];
  await tx([S.visits, S.kv], 'readwrite', async (s) => {
    const packet = await req(s.kv.get('packet'));
    const decisions = (await req(s.kv.get('plan_decisions'))) || {};
    for (const change of changes) {
      const data = change.data || {};
      if (change.kind === 'visit.upsert') {
        const visit = change.visit || data.visit;
        if (visit && (!packet || !visit.date || visit.date === packet.date)) s.visits.put(visit);
        else if (visit) s.visits.delete(visit.id);
      } else if (change.kind === 'visit.cancel') {
        const visit = await req(s.visits.get(change.ref_id));
        if (visit) s.visits.put(Object.assign(visit, change.visit || {}, { status: 'cancelled', cancelled_reason: data.reason || visit.cancelled_reason }));
      } else if (change.kind === 'visit.remove') {
        s.visits.delete(change.ref_id);
      } else if (change.kind === 'case.stop_work' || change.kind === 'case.flags') {
        const visits = await req(s.visits.index('case_id').getAll(change.ref_id));
        for (const visit of visits) {
          let flags = Array.isArray(data.flags) ? data.flags : (visit.flags || []);
          // A stop-work names the flag that now blocks the case: it is active whatever the list says.
          if (change.kind === 'case.stop_work' && data.flag && !flags.some((f) => f.flag === data.flag)) {
            flags = flags.concat([{ flag: data.flag, reason: data.reason || '' }]);
          }
          // A move on the ladder (case closed, stage changed) stops the visit, with the office's reason.
          const stop = change.kind === 'case.stop_work' && data.code ? { stopped: { code: data.code, stage: data.stage, reason: data.reason || '' } } : {};
          s.visits.put(Object.assign(visit, { flags }, stop));
          if (change.kind === 'case.stop_work') stopped.push(visit.id);
        }
      } else if (change.kind === 'plan.decided') {
        const key = data.plan_ref || String(change.ref_id);
        decisions[key] = Object.assign({ plan_id: change.ref_id }, data);
      }
    }
    s.kv.put(decisions, 'plan_decisions');
    s.kv.put(cursor, 'cursor');
  });
  return stopped;
}

/* The device's calendar day of a time (ms), as the day packet's `date` is written. */
/* The calendar day of an instant: in a timezone when given (the branch's: an agent's day is
 * the branch's day, never the phone's), else the device's. */
export function isoDay(ms, timeZone) {
  if (timeZone) {
    try {
      return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(ms));
    } catch (_) { /* an unknown zone: the device's day */ }
  }
  const d = new Date(ms);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

/* The packet's branch timezone (null before the first packet). */
export const branchZone = (packet) => (packet && packet.agent && packet.agent.branch && packet.agent.branch.timezone) || null;

const DAY_MS = 86400000;
export const DEFAULT_PURGE_DAYS = 1;

/* R15: debtor data stays on the device only as long as the work needs it. Run at start-up and
 * after every sync. Deletes journal items acknowledged more than `rules.device_purge_days` ago,
 * then the visits and drafts of past days that nothing keeps: no op of theirs waits in the
 * outbox, no answer of theirs is unacknowledged or younger than the period. The outbox itself
 * is never touched: what the agent recorded leaves the device only with the server's answer.
 * Returns what went, by store. */
export async function purgeExpired(nowMs = Date.now()) {
  const purged = { journal: 0, visits: 0, drafts: 0 };
  await tx([S.visits, S.drafts, S.journal, S.outbox, S.kv], 'readwrite', async (s) => {
    const packet = await req(s.kv.get('packet'));
    const rules = (packet && packet.rules) || {};
    const days = Number.isFinite(rules.device_purge_days) ? rules.device_purge_days : DEFAULT_PURGE_DAYS;
    const cutoff = nowMs - days * DAY_MS;
    const today = isoDay(nowMs + ((packet && packet.clock_offset_ms) || 0), branchZone(packet));
    const queued = await req(s.outbox.getAll());
    const queuedOps = new Set(queued.map((e) => e.op && e.op.id));
    const keep = new Set(queued.map((e) => e.meta && e.meta.visit_id).filter((id) => id != null));
    for (const item of await req(s.journal.getAll())) {
      const at = Date.parse(item.acknowledged_at || (item.acknowledged ? item.done_at : '') || '');
      if (item.acknowledged && Number.isFinite(at) && at <= cutoff && !queuedOps.has(item.id)) {
        s.journal.delete(item.id);
        purged.journal += 1;
      } else if (item.visit_id != null) {
        keep.add(item.visit_id); // a problem not yet seen, or an answer still within the period
      }
    }
    const stored = new Map((await req(s.visits.getAll())).map((v) => [v.id, v]));
    for (const visit of stored.values()) {
      if (visit.date && visit.date < today && !keep.has(visit.id)) {
        s.visits.delete(visit.id);
        stored.delete(visit.id);
        purged.visits += 1;
      }
    }
    for (const draft of await req(s.drafts.getAll())) {
      const visit = stored.get(draft.visit_id);
      if (!keep.has(draft.visit_id) && (!visit || (visit.date && visit.date < today))) {
        s.drafts.delete(draft.visit_id);
        purged.drafts += 1;
      }
    }
    if (purged.journal || purged.visits || purged.drafts) {
      const log = (await req(s.kv.get('purges'))) || [];
      // what went and when (counts only): the next sync reports it to the server (R15 audit)
      log.push(Object.assign({ at: new Date(nowMs).toISOString(), days }, purged));
      s.kv.put(log.slice(-50), 'purges');
    }
  });
  return purged;
}

/* The first `n` purge records were reported to the server. */
export async function forgetPurges(n) {
  await tx(S.kv, 'readwrite', async (s) => {
    const log = (await req(s.kv.get('purges'))) || [];
    s.kv.put(log.slice(n), 'purges');
  });
}

/* Signing out removes the day's personal data; the device id and language stay. */
export async function purgeDay() {
  await tx([S.visits, S.drafts, S.kv, S.journal], 'readwrite', async (s) => {
    s.visits.clear();
    s.drafts.clear();
    s.journal.clear();
    for (const key of ['session', 'packet', 'cursor', 'plan_decisions', 'last_sync', 'flush', 'ops_cursor']) s.kv.delete(key);
  });
}
