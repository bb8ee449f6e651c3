/* The outbox and its flush, the same code in the page and the service worker (Background
 * Sync). Loaded after js/db.js, whose part of `doorstepCore` it uses; a plain script for the
 * same reason (the worker loads both with importScripts).
 *
 * Rules kept here (ARCHITECTURE.md, Sync and Lessons):
 *  - a record and its outbox entry are written in ONE transaction (enqueue);
 *  - the outbox is FIFO and sent in order; the first retryable failure (network error,
 *    time-out, 5xx, 429) stops the flush and leaves everything queued;
 *  - one flusher at a time across tabs and the worker (Web Locks);
 *  - nothing is dropped: an op leaves the outbox only with the server's answer, which goes
 *    to the journal (conflicts and rejections are kept and shown).
 */
(function (root) {
  'use strict';

  const { S, tx, req, kvGet, kvSet, notify } = root.doorstepCore;
  const LOCK_NAME = 'doorstep-outbox-flush';
  const SYNC_TAG = 'doorstep-outbox';
  const RETRYABLE_STATUS = (status) => status >= 500 || status === 408 || status === 429;

  /* Write the records and their ops in one transaction. `write(stores)` puts the records
   * (drafts, visits, kv); each op becomes an outbox entry after them. An op's `meta`
   * (case and visit ids for the device's lists) is stored beside it, never sent. */
  async function enqueue(ops, write) {
    const now = new Date().toISOString();
    await tx([S.kv, S.visits, S.drafts, S.outbox], 'readwrite', async (s) => {
      if (write) await write(s);
      for (const { meta, ...op } of ops) s.outbox.add({ op, meta: meta || {}, enqueued_at: now, attempts: 0, error: null });
    });
    notify({ type: 'outbox' });
    requestBackgroundSync();
  }

  function requestBackgroundSync() {
    // A bonus where the browser has it (Chromium); the page's own triggers do the rest.
    if (!root.navigator || !navigator.serviceWorker || typeof root.document === 'undefined') return;
    navigator.serviceWorker.ready
      .then((reg) => (reg.sync ? reg.sync.register(SYNC_TAG) : null))
      .catch(() => {});
  }

  const outboxAll = () => tx(S.outbox, 'readonly', (s) => req(s.outbox.getAll()));
  const outboxCount = () => tx(S.outbox, 'readonly', (s) => req(s.outbox.count()));

  async function fetchWithTimeout(url, init, timeoutMs) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    try {
      return await fetch(url, Object.assign({}, init, { signal: controller.signal }));
    } finally {
      clearTimeout(timer);
    }
  }

  async function markFailure(entry, error, retryable) {
    await tx([S.outbox, S.kv], 'readwrite', async (s) => {
      const current = await req(s.outbox.get(entry.seq));
      if (current) {
        current.attempts += 1;
        current.error = error;
        current.last_attempt_at = new Date().toISOString();
        s.outbox.put(current);
      }
      const state = (await req(s.kv.get('flush'))) || { failures: 0 };
      state.failures = retryable ? state.failures + 1 : state.failures;
      // Exponential backoff with jitter, capped at two minutes.
      const delay = Math.min(120000, 2000 * 2 ** Math.min(state.failures, 6)) * (0.75 + Math.random() * 0.5);
      state.next_at = Date.now() + (retryable ? delay : 120000);
      state.last_error = error;
      s.kv.put(state, 'flush');
    });
  }

  /* The network came back: what failed in the dead zone is tried now, not after its back-off.
   * The last error stays on show until an answer replaces it. */
  async function resetBackoff() {
    await tx(S.kv, 'readwrite', async (s) => {
      const state = await req(s.kv.get('flush'));
      if (state) s.kv.put(Object.assign({}, state, { failures: 0, next_at: 0 }), 'flush');
    });
  }

  async function applyResults(entries, results, cursor) {
    const byId = new Map(results.map((r) => [r.id, r]));
    const now = new Date().toISOString();
    let answered = 0;
    await tx([S.outbox, S.journal, S.kv], 'readwrite', async (s) => {
      for (const entry of entries) {
        const result = byId.get(entry.op.id);
        if (!result) continue; // no answer: stays queued, sent again (the id makes that safe)
        answered += 1;
        const payload = Object.assign({}, entry.meta, entry.op.payload);
        s.journal.put({
          id: entry.op.id,
          type: entry.op.type,
          at: entry.op.at,
          case_id: payload.case_id ?? null,
          visit_id: payload.visit_id ?? null,
          status: result.status,
          detail: result.detail ?? null,
          errors: result.errors || null,
          code: result.code || null,
          params: result.params || null,
          server: result.server ?? null,
          enqueued_at: entry.enqueued_at,
          done_at: now,
          acknowledged: result.status === 'applied' || result.status === 'duplicate',
          // R15: the purge clock starts at acknowledgement — the server's answer for a record it
          // took, the agent's tap for a conflict or rejection (store.acknowledge)
          acknowledged_at: result.status === 'applied' || result.status === 'duplicate' ? now : null,
        });
        s.outbox.delete(entry.seq);
      }
      s.kv.put({ failures: 0, next_at: 0, last_error: null }, 'flush');
      s.kv.put(now, 'last_sync');
      if (cursor !== undefined) s.kv.put(cursor, 'ops_cursor');
    });
    return answered;
  }

  /* Send the outbox in order, in batches, until it is empty or something fails.
   * Returns {status: empty|done|retry|auth|error|busy|signed_out, sent, error?}. */
  async function flushNow({ batchSize = 20, timeoutMs = 20000 } = {}) {
    const session = await kvGet('session');
    if (!session || !session.token) return { status: 'signed_out', sent: 0 };
    if (session.expired) return { status: 'auth', sent: 0 }; // wait for the agent to sign in again
    let sent = 0;
    for (;;) {
      const entries = await tx(S.outbox, 'readonly', (s) => req(s.outbox.getAll(null, batchSize)));
      if (!entries.length) {
        return { status: sent ? 'done' : 'empty', sent };
      }
      let response;
      try {
        response = await fetchWithTimeout('/api/sync/ops', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${session.token}` },
          body: JSON.stringify({ device_id: session.device_id, ops: entries.map((e) => e.op) }),
        }, timeoutMs);
      } catch (err) {
        const error = { kind: 'network', message: err && err.name === 'AbortError' ? 'timeout' : 'network' };
        await markFailure(entries[0], error, true);
        return { status: 'retry', sent, error };
      }
      let body = null;
      try { body = await response.json(); } catch (_) { body = null; }
      if (response.status === 401) {
        await kvSet('session', Object.assign({}, session, { expired: true }));
        return { status: 'auth', sent };
      }
      if (RETRYABLE_STATUS(response.status) || (response.ok && !(body && Array.isArray(body.results)))) {
        // A 5xx, a time-out answer or a truncated body: keep everything and try again later.
        const error = { kind: 'server', status: response.status, message: (body && body.message) || `HTTP ${response.status}` };
        await markFailure(entries[0], error, true);
        return { status: 'retry', sent, error };
      }
      if (!response.ok) {
        // The server refused the whole batch (e.g. 422 envelope). Kept, shown, retried slowly.
        const error = { kind: 'refused', status: response.status, message: (body && body.message) || `HTTP ${response.status}`, errors: body && body.errors };
        await markFailure(entries[0], error, false);
        return { status: 'error', sent, error };
      }
      const answered = await applyResults(entries, body.results, body.cursor);
      sent += answered;
      notify({ type: 'outbox' });
      if (answered < entries.length) return { status: 'retry', sent, error: { kind: 'partial', message: 'partial' } };
    }
  }

  let localFlush = null;
  /* One flusher at a time: Web Locks across tabs and the worker; an in-page promise
   * where the browser lacks them (Safari < 15.4). */
  function flush(options) {
    if (root.navigator && navigator.locks && navigator.locks.request) {
      return navigator.locks.request(LOCK_NAME, { ifAvailable: true }, (lock) =>
        lock ? flushNow(options) : { status: 'busy', sent: 0 });
    }
    if (!localFlush) localFlush = flushNow(options).finally(() => { localFlush = null; });
    return localFlush;
  }

  Object.assign(root.doorstepCore, { SYNC_TAG, enqueue, outboxAll, outboxCount, flush, fetchWithTimeout, resetBackoff });
})(typeof self !== 'undefined' ? self : globalThis);
