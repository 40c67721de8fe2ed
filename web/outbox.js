// The Outbox: messages written in Compose wait in IndexedDB (store "outbox") and are sent
// through their SMTP account by the WASM core's send job over the bridge as soon as the
// proxy can be reached — also when they were written offline.
//
// Exactly once: a message is composed once, when it is queued, so its bytes and Message-ID
// never change. An item is marked "sending" (durably) before the job starts and "sent" as
// soon as the server accepted it; the copy in Sent is keyed by the Message-ID, so it cannot
// be doubled. An item still "sending" when the page starts was interrupted at an unknown
// point: it is not sent again by itself (that could deliver it twice) but shown, for the
// person to decide. Only one tab works on the outbox at a time (Web Locks).
'use strict';

import { call, isOnline } from './api.js';
import * as db from './db.js';
import { runJob } from './retrieval.js';
import * as sync from './sync.js';

const listeners = new Set();
const RETRY_MS = 30 * 1000;
// Failures after which a later attempt may well succeed.
const TRANSIENT = new Set(['dns', 'refused', 'timeout', 'connection', 'tls']);
let retryTimer = null;
let working = false;

export function onChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function changed() {
  for (const fn of listeners) fn();
}

function randomHex(bytes) {
  const b = new Uint8Array(bytes);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

async function sha256Hex(text) {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (x) => x.toString(16).padStart(2, '0')).join('');
}

export async function list() {
  const items = await db.all('outbox');
  return items.sort((a, b) => b.created - a.created);
}

// Composes the message and puts it in the outbox. Throws an Error with a message for people
// when the message cannot be composed (an invalid address, say).
export async function queue(core, { account, to, cc, bcc, subject, text, attachments }) {
  const unique = randomHex(16);
  const now = new Date();
  const input = {
    from: { name: account.display_name || '', email: account.email },
    to, cc, bcc, subject, text,
    date: Math.floor(now.getTime() / 1000),
    utc_offset_minutes: -now.getTimezoneOffset(),
    unique,
  };
  const composed = core.composeMessage(JSON.stringify(input), attachments);
  if (!composed.ok) throw new Error(composed.error);
  const item = {
    id: unique,
    account_id: account.id,
    created: Date.now(),
    state: 'queued',
    message: composed.message,
    message_id: composed.message_id,
    envelope_from: account.email,
    recipients: composed.recipients,
    needs_smtputf8: composed.needs_smtputf8,
    eight_bit: composed.eight_bit,
    to: to.map((a) => a.email).join(', '),
    subject,
    attempts: 0,
    result: null,
    error: '',
    copied: false,
  };
  await db.put('outbox', item);
  changed();
  return item;
}

export async function remove(id) {
  await db.remove('outbox', id);
  changed();
}

// "Send again" for an item that failed or whose sending was interrupted.
export async function retry(id) {
  const item = await db.get('outbox', id);
  if (!item || item.state === 'sent') return;
  item.state = 'queued';
  item.error = '';
  await db.put('outbox', item);
  changed();
}

// At start: items left "sending" by a page that went away. Under the outbox's lock: while
// another tab is sending, its item is "sending" for good reason; once that tab let go of the
// lock, an item still "sending" really was interrupted.
export function recover() {
  if (navigator.locks) return navigator.locks.request('junction-outbox', markInterrupted);
  return markInterrupted();
}

async function markInterrupted() {
  for (const item of await db.all('outbox')) {
    if (item.state !== 'sending') continue;
    item.state = 'interrupted';
    item.error = 'Sending was interrupted; the message may or may not have been sent. ' +
      'Send it again only if the recipients did not get it.';
    await db.put('outbox', item);
  }
  changed();
}

function scheduleRetry(getCore) {
  if (retryTimer) return;
  retryTimer = setTimeout(() => {
    retryTimer = null;
    kick(getCore);
  }, RETRY_MS);
}

// Sends what is queued, if the proxy can be reached. getCore() resolves to the WASM core.
export async function kick(getCore) {
  if (working) return;
  working = true;
  try {
    const work = () => drain(getCore);
    if (navigator.locks) await navigator.locks.request('junction-outbox', work);
    else await work();
  } finally {
    working = false;
  }
}

async function drain(getCore) {
  let waiting = false;
  // The SMTP passwords this drain read from the proxy, by account id: read once per drain
  // (the proxy rate-limits reads of secrets), kept in memory only, gone when it ends.
  const passwords = new Map();
  for (const item of (await list()).reverse()) {  // oldest first
    if (item.state === 'sent' && !item.copied) {
      await copyToSent(item);
      if (!item.copied) waiting = true;
      continue;
    }
    if (item.state !== 'queued') continue;
    if (!isOnline()) {
      const probe = await call('GET', '/api/session', { timeoutMs: 5000 });
      if (probe.offline) {
        waiting = true;
        break;
      }
    }
    await sendOne(await getCore(), item, passwords);
    if (item.state === 'queued' || (item.state === 'sent' && !item.copied)) waiting = true;
  }
  if (waiting) scheduleRetry(getCore);
}

async function sendOne(core, item, passwords) {
  const account = sync.findSmtpAccount(item.account_id);
  if (!account) {
    item.state = 'failed';
    item.error = 'The SMTP account of this message was deleted.';
    await db.put('outbox', item);
    changed();
    return;
  }
  let password = account.auth === false ? '' : passwords.get(account.id);
  if (password === undefined) {
    password = await sync.passwordOf(account.id, 'smtp_accounts');
    if (password === null) return;  // the server cannot be reached: stays queued
    passwords.set(account.id, password);
  }
  if (password === '' && account.auth !== false) {
    item.state = 'failed';
    item.error = 'No password is stored for this SMTP account (its server, port, user name or ' +
      'encryption changed). Edit the account, type its password, and send the message again.';
    await db.put('outbox', item);
    changed();
    return;
  }
  item.state = 'sending';
  item.attempts += 1;
  await db.put('outbox', item);
  changed();
  const created = core.createSendJob(JSON.stringify({ ...account, password }), [{
    envelope_from: item.envelope_from,
    recipients: item.recipients,
    data: item.message,
    needs_smtputf8: item.needs_smtputf8,
    eight_bit: item.eight_bit,
  }], false);
  if (!created.ok) {
    item.state = 'failed';
    item.error = created.errors.map((e) => (e.field ? `${e.field}: ${e.message}` : e.message))
      .join('; ');
    await db.put('outbox', item);
    changed();
    return;
  }
  let summary;
  try {
    summary = await runJob(created.job, { pin: account.pinned_cert_sha256 });
  } finally {
    created.job.delete();
  }
  const result = summary.messages && summary.messages[0];
  item.result = result || null;
  if (result && result.accepted) {
    item.state = 'sent';
    item.error = '';
  } else if (TRANSIENT.has(summary.failure)) {
    item.state = 'queued';
    item.error = `Not sent yet: ${summary.message}. Junction tries again by itself.`;
  } else {
    item.state = 'failed';
    item.error = summary.message;
  }
  await db.put('outbox', item);
  changed();
  if (item.state === 'sent') await copyToSent(item);
}

// The copy in Sent, keyed by the Message-ID: stored once however often this runs.
async function copyToSent(item) {
  const key = await sha256Hex(item.message_id);
  const r = await call('POST', '/api/mailbox/messages?folder=Sent', {
    body: item.message,
    headers: {
      'Content-Type': 'message/rfc822',
      'X-Junction-Key': key,
      'X-Junction-Flags': '\\Seen',
      'X-Junction-Internal-Date': String(Math.floor(item.created / 1000)),
    },
  });
  if (r.status === 201) {
    item.copied = true;
    await db.put('outbox', item);
    changed();
  }
}
