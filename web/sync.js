// The account document, kept in IndexedDB and synchronised with the proxy.
//
// The page edits its own copy; an edit is recorded as "pending" together with the server
// document it was based on, and pushed with If-Match: <that revision>. When the proxy is
// unreachable the edit stays pending (and survives reloads) until it is back. When another
// device changed the document meanwhile (HTTP 412), the three documents (base, mine,
// theirs) are merged item by item: changes to different tasks both survive; two different
// changes to the same task are a conflict that the person resolves ("Keep mine" / "Use
// theirs"), never a silent loss.
'use strict';

import { call } from './api.js';
import * as db from './db.js';

const listeners = new Set();
let server = null;   // {revision, document}
let pending = null;  // {base, baseRevision, mine, conflict: null|{theirs, ids}, error}
let pushing = null;

export function onChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function changed() {
  for (const fn of listeners) fn();
}

const clone = (x) => (x === undefined ? undefined : JSON.parse(JSON.stringify(x)));

function same(a, b) {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(x) {
  if (Array.isArray(x)) return x.map(canonical);
  if (x && typeof x === 'object') {
    const out = {};
    for (const k of Object.keys(x).sort()) out[k] = canonical(x[k]);
    return out;
  }
  return x;
}

const isIdList = (v) => Array.isArray(v) && v.every((e) => e && typeof e === 'object' && e.id);

// Three-way merge of two lists of objects identified by "id". Returns {list, conflicts}.
function mergeList(base = [], mine = [], theirs = []) {
  const byId = (list) => new Map(list.map((e) => [e.id, e]));
  const b = byId(base);
  const m = byId(mine);
  const t = byId(theirs);
  const conflicts = [];
  const pick = (id) => {
    const bi = b.get(id);
    const mi = m.get(id);
    const ti = t.get(id);
    if (same(mi, bi)) return ti;
    if (same(ti, bi) || same(mi, ti)) return mi;
    conflicts.push(id);
    return ti;  // until the person decides
  };
  const list = [];
  const seen = new Set();
  for (const e of theirs) {
    seen.add(e.id);
    const v = pick(e.id);
    if (v) list.push(v);
  }
  for (const e of mine) {
    if (seen.has(e.id)) continue;
    seen.add(e.id);
    const v = pick(e.id);
    if (v) list.push(v);
  }
  for (const e of base) {
    if (!seen.has(e.id)) pick(e.id);  // deleted by both: nothing to add
  }
  return { list, conflicts };
}

// Merges whole documents: id lists item by item, other members as a whole.
export function merge(base, mine, theirs) {
  const out = { revision: theirs.revision };
  const conflicts = [];
  const keys = new Set([...Object.keys(base), ...Object.keys(mine), ...Object.keys(theirs)]);
  keys.delete('revision');
  for (const k of keys) {
    const versions = [base[k], mine[k], theirs[k]];
    if (versions.some(Array.isArray) && versions.every((v) => v === undefined || isIdList(v))) {
      const r = mergeList(base[k] || [], mine[k] || [], theirs[k] || []);
      out[k] = r.list;
      conflicts.push(...r.conflicts);
    } else if (same(mine[k], base[k])) {
      if (k in theirs) out[k] = theirs[k];
    } else if (same(theirs[k], base[k]) || same(mine[k], theirs[k])) {
      if (k in mine) out[k] = mine[k];
    } else {
      conflicts.push(k);
      if (k in theirs) out[k] = theirs[k];
    }
  }
  return { document: out, conflicts };
}

export async function load() {
  server = (await db.get('kv', 'account')) || null;
  if (server) server.document = withoutSecrets(server.document);
  pending = (await db.get('kv', 'pending')) || null;
  changed();
}

// The document the page shows: the pending edit if there is one.
export function document() {
  if (pending) return pending.mine;
  return server ? server.document : { revision: 0, retrieval_tasks: [] };
}

export function state() {
  return {
    hasServerCopy: !!server,
    pending: !!pending,
    conflict: pending && pending.conflict ? pending.conflict : null,
    error: pending && pending.error ? pending.error : null,
  };
}

async function savePending() {
  if (pending) {
    await db.put('kv', pending, 'pending');
  } else {
    await db.remove('kv', 'pending');
  }
}

// Task passwords stay on the server: the proxy never sends them in the account document (a
// stored one shows as "password_set": true), the page's copy (and so IndexedDB) holds none,
// and a task written back without its password keeps the stored one (unless its server,
// port, user name or encryption changed: then the proxy drops it). Only a password the
// person typed travels, in the pending edit until it is on the server.
function withoutSecrets(document) {
  const copy = clone(document);
  for (const task of copy.retrieval_tasks || []) delete task.password;
  for (const account of copy.smtp_accounts || []) delete account.password;
  return copy;
}

async function setServer(document) {
  const stripped = withoutSecrets(document);
  server = { revision: stripped.revision, document: stripped };
  await db.put('kv', server, 'account');
}

// The stored password of a task (or, with list 'smtp_accounts', of an SMTP account), read
// from the server (GET /api/account/{list}/{id}/secrets) only when a run, a test or a send
// needs it, and kept nowhere: a string; '' when none is stored (its server, port, user name
// or encryption changed since, or it was never given); null when the server cannot be
// reached, refuses (too many reads), or has no such item.
export async function passwordOf(id, list = 'retrieval_tasks') {
  const r = await call('GET', `/api/account/${encodeURIComponent(list)}/${encodeURIComponent(id)}/secrets`);
  if (r.status !== 200 || !r.data || !r.data.secrets) return null;
  const { password } = r.data.secrets;
  return typeof password === 'string' ? password : '';
}

// Whether `edited` logs in where `stored` did: a stored password is sent only there (the
// proxy drops it when one of these changes, see README "secrets").
const PLACE_FIELDS = {
  retrieval_tasks: ['type', 'server', 'port', 'username', 'encryption', 'pinned_cert_sha256'],
  smtp_accounts: ['server', 'port', 'username', 'encryption', 'pinned_cert_sha256'],
};
export function samePlace(edited, stored, list = 'retrieval_tasks') {
  if (!stored) return false;
  return PLACE_FIELDS[list].every((k) => JSON.stringify(edited[k] ?? null) === JSON.stringify(stored[k] ?? null));
}

// Applies fn to a copy of the document, records it, and pushes it when online.
export async function edit(fn) {
  const next = clone(document());
  fn(next);
  if (pending) {
    pending.mine = next;
    pending.error = null;
  } else {
    const base = server ? server.document : { revision: 0, retrieval_tasks: [] };
    pending = { base: clone(base), baseRevision: base.revision || 0, mine: next, conflict: null,
      error: null };
  }
  await savePending();
  changed();
  return push();
}

// Sends the pending edit. Resolves to 'saved', 'nothing', 'offline', 'conflict' or 'invalid'.
export function push() {
  if (!pushing) {
    pushing = pushOnce().finally(() => {
      pushing = null;
    });
  }
  return pushing;
}

async function pushOnce() {
  for (let attempt = 0; attempt < 5; ++attempt) {
    if (!pending) return 'nothing';
    if (pending.conflict) return 'conflict';
    const body = clone(pending.mine);
    delete body.revision;
    const r = await call('PUT', '/api/account', {
      body, headers: { 'If-Match': `"${pending.baseRevision}"` },
    });
    if (r.offline) return 'offline';
    if (r.status === 200 && r.data) {
      await setServer(r.data);
      pending = null;
      await savePending();
      changed();
      return 'saved';
    }
    if (r.status === 412 && r.data) {
      const theirs = r.data;
      await setServer(theirs);
      const merged = merge(pending.base, pending.mine, theirs);
      if (merged.conflicts.length) {
        pending.conflict = { theirs, ids: merged.conflicts };
        await savePending();
        changed();
        return 'conflict';
      }
      pending = { base: clone(theirs), baseRevision: theirs.revision, mine: merged.document,
        conflict: null, error: null };
      await savePending();
      continue;  // push the merge
    }
    if (r.status === 401) return 'unauthenticated';
    pending.error = (r.data && (r.data.errors || r.data.error)) || `HTTP ${r.status}`;
    await savePending();
    changed();
    return 'invalid';
  }
  return 'conflict';
}

// "Keep mine" or "Use theirs" for every conflicting item; then pushes.
export async function resolve(choice) {
  if (!pending || !pending.conflict) return 'nothing';
  const theirs = pending.conflict.theirs;
  const ids = new Set(pending.conflict.ids);
  const merged = merge(pending.base, pending.mine, theirs).document;
  if (choice === 'mine') {
    for (const k of Object.keys(merged)) {
      if (!isIdList(merged[k]) && !isIdList(pending.mine[k])) {
        if (ids.has(k)) merged[k] = pending.mine[k];
        continue;
      }
      const mineById = new Map((pending.mine[k] || []).map((e) => [e.id, e]));
      const list = [];
      const seen = new Set();
      for (const e of merged[k]) {
        seen.add(e.id);
        if (!ids.has(e.id)) list.push(e);
        else if (mineById.has(e.id)) list.push(mineById.get(e.id));
      }
      for (const [id, e] of mineById) if (ids.has(id) && !seen.has(id)) list.push(e);
      merged[k] = list;
    }
  }
  pending = { base: clone(theirs), baseRevision: theirs.revision, mine: merged, conflict: null,
    error: null };
  if (same({ ...merged, revision: 0 }, { ...theirs, revision: 0 })) pending = null;
  await savePending();
  changed();
  return push();
}

// Drops an edit the server refused as invalid.
export async function discard() {
  pending = null;
  await savePending();
  changed();
}

// Pushes what is pending, then reads the server's document. Resolves to the push outcome or
// 'offline' / 'unauthenticated'.
export async function refresh() {
  const pushed = await push();
  if (pushed === 'offline' || pushed === 'unauthenticated') return pushed;
  const r = await call('GET', '/api/account');
  if (r.offline) return 'offline';
  if (r.status === 401) return 'unauthenticated';
  if (r.status === 200 && r.data) {
    await setServer(r.data);
    if (pending && !pending.conflict && r.data.revision !== pending.baseRevision) {
      await push();
    }
    changed();
  }
  return pushed;
}

export function findTask(id) {
  return (document().retrieval_tasks || []).find((t) => t.id === id) || null;
}

export function findSmtpAccount(id) {
  return (document().smtp_accounts || []).find((a) => a.id === id) || null;
}

export function newTaskId() {
  const bytes = new Uint8Array(8);
  crypto.getRandomValues(bytes);
  return `t${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}
