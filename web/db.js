// The browser's copy of the account: one IndexedDB database, "junction", whose named stores
// hold every byte the app keeps about the signed-in person, so signing out (or a remote
// wipe) erases it all with one deleteDatabase().
//
//   kv        small records by name: "session", "account" (the server's document and its
//             revision), "pending" (an edit not yet on the server, with the document it was
//             based on), "status:<task id>" (last run / next run as last seen)
//   state     retrieval state documents by task id (the proxy holds the authoritative copy)
//   folders   mailbox folders as last listed, by name
//   messages  message list entries by id, with an index on folder
//   bodies    raw messages opened in the mailbox view, by id
//   outbox    messages written to be sent through an SMTP account, by id (outbox.js)
'use strict';

const NAME = 'junction';
const VERSION = 2;
export const STORES = ['kv', 'state', 'folders', 'messages', 'bodies', 'outbox'];

let opening = null;

function request(r) {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

function open() {
  if (opening) return opening;
  opening = new Promise((resolve, reject) => {
    const r = indexedDB.open(NAME, VERSION);
    r.onupgradeneeded = (event) => {
      const db = r.result;
      if (event.oldVersion < 1) {
        db.createObjectStore('kv');
        db.createObjectStore('state');
        db.createObjectStore('folders', { keyPath: 'name' });
        const messages = db.createObjectStore('messages', { keyPath: 'id' });
        messages.createIndex('folder', 'folder');
        db.createObjectStore('bodies');
      }
      if (event.oldVersion < 2) db.createObjectStore('outbox', { keyPath: 'id' });
    };
    r.onsuccess = () => {
      const db = r.result;
      // Another tab wiping the data (sign-out) must not be blocked by this one.
      db.onversionchange = () => {
        db.close();
        opening = null;
      };
      resolve(db);
    };
    r.onerror = () => {
      opening = null;
      reject(r.error);
    };
  });
  return opening;
}

async function transaction(stores, mode, work) {
  const db = await open();
  const tx = db.transaction(stores, mode);
  const done = new Promise((resolve, reject) => {
    tx.oncomplete = resolve;
    tx.onabort = () => reject(tx.error || new Error('IndexedDB transaction aborted'));
    tx.onerror = () => reject(tx.error);
  });
  const result = await work(tx);
  await done;
  return result;
}

export function get(store, key) {
  return transaction([store], 'readonly', (tx) => request(tx.objectStore(store).get(key)));
}

export function put(store, value, key) {
  return transaction([store], 'readwrite', (tx) => {
    tx.objectStore(store).put(value, key);
  });
}

export function remove(store, key) {
  return transaction([store], 'readwrite', (tx) => {
    tx.objectStore(store).delete(key);
  });
}

export function all(store) {
  return transaction([store], 'readonly', (tx) => request(tx.objectStore(store).getAll()));
}

export function byIndex(store, index, value) {
  return transaction([store], 'readonly', (tx) =>
    request(tx.objectStore(store).index(index).getAll(value)));
}

// Replaces what a store holds for one folder (messages) or entirely (folders).
export function replaceFolderMessages(folder, messages) {
  return transaction(['messages'], 'readwrite', async (tx) => {
    const store = tx.objectStore('messages');
    const old = await request(store.index('folder').getAllKeys(folder));
    for (const key of old) store.delete(key);
    for (const m of messages) store.put({ ...m, folder });
  });
}

export function replaceAll(store, values) {
  return transaction([store], 'readwrite', (tx) => {
    const s = tx.objectStore(store);
    s.clear();
    for (const v of values) s.put(v);
  });
}

// Everything the app stored: gone. Resolves once the database is deleted.
export async function wipe() {
  if (opening) {
    try {
      (await opening).close();
    } catch (e) {
      // It never opened: nothing to close.
    }
    opening = null;
  }
  await new Promise((resolve, reject) => {
    const r = indexedDB.deleteDatabase(NAME);
    r.onsuccess = resolve;
    r.onerror = () => reject(r.error);
    r.onblocked = resolve;  // other tabs close on versionchange; the delete completes then
  });
}
