/* The device's IndexedDB, shared by the page and the service worker: one lazily opened
 * connection (opened again after an unexpected close), transactions that resolve after the
 * commit, the key-value store, and the cross-tab "something changed" broadcast.
 *
 * A plain script (no import/export): the page imports it as a module for its side effect and
 * the service worker — a classic worker, because it must importScripts('/push-sw.js') —
 * loads it with importScripts. It and js/outbox.js fill one namespace, `doorstepCore`.
 * Queued data lives here, never in a versioned cache. */
(function (root) {
  'use strict';

  const DB_NAME = 'doorstep';
  const DB_VERSION = 1;
  const S = Object.freeze({ kv: 'kv', visits: 'visits', drafts: 'drafts', outbox: 'outbox', journal: 'journal' });
  const CHANNEL = 'doorstep';

  let dbPromise = null;

  function upgrade(db, oldVersion) {
    if (oldVersion < 1) {
      db.createObjectStore(S.kv);
      db.createObjectStore(S.visits, { keyPath: 'id' }).createIndex('case_id', 'case_id');
      db.createObjectStore(S.drafts, { keyPath: 'visit_id' });
      db.createObjectStore(S.outbox, { keyPath: 'seq', autoIncrement: true });
      db.createObjectStore(S.journal, { keyPath: 'id' }).createIndex('done_at', 'done_at');
    }
  }

  function openDb() {
    if (!dbPromise) {
      dbPromise = new Promise((resolve, reject) => {
        const request = indexedDB.open(DB_NAME, DB_VERSION);
        request.onupgradeneeded = (event) => upgrade(request.result, event.oldVersion);
        request.onsuccess = () => {
          const db = request.result;
          // Open again on next use after an unexpected close (iOS drops connections)
          // or when another tab upgrades the schema.
          db.onclose = () => { dbPromise = null; };
          db.onversionchange = () => { db.close(); dbPromise = null; };
          resolve(db);
        };
        request.onerror = () => { dbPromise = null; reject(request.error); };
      });
    }
    return dbPromise;
  }

  function req(request) {
    return new Promise((resolve, reject) => {
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }

  /* Run fn(stores) inside one transaction; resolves with fn's value after the commit.
   * fn may await IndexedDB requests only — never the network (the transaction would close). */
  async function tx(names, mode, fn) {
    const db = await openDb();
    const list = Array.isArray(names) ? names : [names];
    return new Promise((resolve, reject) => {
      let transaction;
      try {
        transaction = db.transaction(list, mode);
      } catch (err) {
        dbPromise = null; // a closed connection throws InvalidStateError: reopen next time
        reject(err);
        return;
      }
      const stores = {};
      for (const name of list) stores[name] = transaction.objectStore(name);
      let value;
      Promise.resolve()
        .then(() => fn(stores, transaction))
        .then((v) => { value = v; }, (err) => {
          try { transaction.abort(); } catch (_) { /* already finished */ }
          reject(err);
        });
      transaction.oncomplete = () => resolve(value);
      transaction.onerror = () => reject(transaction.error);
      transaction.onabort = () => reject(transaction.error || new DOMException('Transaction aborted', 'AbortError'));
    });
  }

  const kvGet = (key) => tx(S.kv, 'readonly', (s) => req(s.kv.get(key)));
  const kvSet = (key, value) => tx(S.kv, 'readwrite', (s) => { s.kv.put(value, key); });

  function notify(message) {
    try {
      const channel = new BroadcastChannel(CHANNEL);
      channel.postMessage(message);
      channel.close();
    } catch (_) { /* BroadcastChannel missing: the same tab refreshes itself */ }
  }

  root.doorstepCore = Object.assign(root.doorstepCore || {}, { S, CHANNEL, openDb, req, tx, kvGet, kvSet, notify });
})(typeof self !== 'undefined' ? self : globalThis);
