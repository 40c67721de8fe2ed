// The browser driver of a retrieval run (ARCHITECTURE.md, "One engine, three drivers"): the
// WASM core's retrieval job decides, this file carries out its effects. Bytes travel over
// the proxy's WebSocket bridge (shared/bridge/PROTOCOL.md); messages are delivered through
// the proxy's batch append API, which answers only once they are on disk, and only then does
// the job hear "committed" (so a POP3 DELE never precedes durable storage); state goes to
// the proxy (under the task's lease) and to IndexedDB. tests/serve/bridge_client.cpp is the
// native twin of this loop.
'use strict';

import { call, encodeSegment } from './api.js';
import * as db from './db.js';

const SUBPROTOCOL = 'junction-bridge.v1';
// The proxy refuses frames over 1 MiB; writes go out in pieces of at most this.
const MAX_OUTGOING_FRAME = 256 * 1024;
// Bytes that already arrived are handed to the core together, up to this much.
const MAX_COALESCED_INPUT = 1024 * 1024;
const LEASE_SECONDS = 300;
const LEASE_RENEW_MS = 60 * 1000;

// Bridge error codes → the core's failure kinds.
const FAILURE_FOR_CODE = {
  dns: 'dns',
  refused: 'refused',
  egress_denied: 'refused',
  timeout: 'timeout',
  tls_handshake: 'tls',
  tls_verify: 'certificate',
  upstream_closed: 'connection',
  limit: 'connection',
};

class BridgeError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

// One WebSocket to /bridge with a queue of what arrived.
class BridgeSocket {
  constructor() {
    this.frames = [];
    this.waiter = null;
    this.ws = null;
  }

  push(frame) {
    this.frames.push(frame);
    if (this.waiter) {
      const wake = this.waiter;
      this.waiter = null;
      wake();
    }
  }

  async connect() {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${scheme}//${location.host}/bridge`, SUBPROTOCOL);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    ws.onmessage = (event) => {
      if (typeof event.data === 'string') {
        let j = null;
        try {
          j = JSON.parse(event.data);
        } catch (e) {
          j = { op: 'error', code: 'bad_frame', message: `not JSON: ${event.data.slice(0, 200)}` };
        }
        this.push({ type: 'text', json: j });
      } else {
        this.push({ type: 'binary', bytes: new Uint8Array(event.data) });
      }
    };
    ws.onclose = (event) => this.push({ type: 'closed', code: event.code });
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = () => reject(new BridgeError('bridge',
        'the connection to the Junction server was refused (sign in again if this persists)'));
    });
    ws.onerror = null;
  }

  async read() {
    while (this.frames.length === 0) await new Promise((resolve) => (this.waiter = resolve));
    return this.frames.shift();
  }

  // A binary frame joined with the binary frames queued behind it.
  async readCoalesced() {
    const first = await this.read();
    if (first.type !== 'binary' || this.frames.length === 0 || this.frames[0].type !== 'binary') {
      return first;
    }
    const parts = [first.bytes];
    let size = first.bytes.length;
    while (this.frames.length && this.frames[0].type === 'binary' && size < MAX_COALESCED_INPUT) {
      const next = this.frames.shift().bytes;
      parts.push(next);
      size += next.length;
    }
    const joined = new Uint8Array(size);
    let at = 0;
    for (const p of parts) {
      joined.set(p, at);
      at += p.length;
    }
    return { type: 'binary', bytes: joined };
  }

  async expectText(op) {
    const f = await this.read();
    if (f.type === 'text' && f.json.op === op) return f.json;
    if (f.type === 'text') {
      throw new BridgeError(f.json.code || 'protocol', f.json.message || `unexpected ${f.json.op}`);
    }
    if (f.type === 'closed') throw new BridgeError('connection', 'the bridge closed without an answer');
    throw new BridgeError('protocol', `bytes arrived before "${op}"`);
  }

  sendText(obj) {
    this.ws.send(JSON.stringify(obj));
  }

  sendBytes(bytes) {
    for (let at = 0; at < bytes.length; at += MAX_OUTGOING_FRAME) {
      this.ws.send(bytes.subarray(at, Math.min(bytes.length, at + MAX_OUTGOING_FRAME)));
    }
  }

  close() {
    if (this.ws && this.ws.readyState <= 1) this.ws.close(1000);
  }
}

function concat(chunks, size) {
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

const FLAG_NAMES = [[1, '\\Seen'], [2, '\\Answered'], [4, '\\Flagged'], [8, '\\Draft']];
function flagsText(bits) {
  return FLAG_NAMES.filter(([bit]) => bits & bit).map(([, name]) => name).join(' ');
}

// Stores the ended deliveries with one batch request; returns the core's commit results.
async function commitBatch(deliveries) {
  if (deliveries.length === 0) return [];
  const encoder = new TextEncoder();
  const parts = [];
  for (const d of deliveries) {
    const line = { folder: d.folder, key: d.key, internal_date: d.internalDate, size: d.size };
    if (d.flags) line.flags = flagsText(d.flags);
    parts.push(encoder.encode(`${JSON.stringify(line)}\n`), ...d.chunks, encoder.encode('\n'));
  }
  const result = await call('POST', '/api/mailbox/batch', {
    body: new Blob(parts),
    headers: { 'Content-Type': 'application/vnd.junction.batch' },
    timeoutMs: 300000,
  });
  const answers = result.status === 200 && result.data && Array.isArray(result.data.results)
    ? result.data.results : null;
  return deliveries.map((d, i) => {
    if (!answers || !answers[i]) {
      const why = result.offline ? 'the Junction server cannot be reached'
        : `the mailbox answered HTTP ${result.status}`;
      return { delivery: d.delivery, status: 'failed', error: why };
    }
    const a = answers[i];
    if (a.error) return { delivery: d.delivery, status: 'failed', error: String(a.error) };
    return { delivery: d.delivery, status: a.already_had ? 'already_had' : 'stored', error: '' };
  });
}

// Runs one job to its end. hooks: saveState(text), onProgress(folder, done, total), pin.
// Returns the core's summary.
export async function runJob(job, hooks = {}) {
  let socket = null;
  let outgoing = [];
  let outgoingSize = 0;
  const deliveries = new Map();
  let ended = [];

  const flush = () => {
    if (outgoingSize === 0) return;
    socket.sendBytes(concat(outgoing, outgoingSize));
    outgoing = [];
    outgoingSize = 0;
  };
  const failFromError = (e) => {
    if (e instanceof BridgeError) {
      job.onFailure(FAILURE_FOR_CODE[e.code] || 'connection', `bridge: ${e.message}`);
    } else {
      job.onFailure('connection', `bridge: ${e && e.message ? e.message : String(e)}`);
    }
  };

  try {
    for (;;) {
      if (hooks.cancelled && hooks.cancelled()) job.cancel();
      const e = job.next();
      switch (e.kind) {
        case 'connect':
          try {
            if (socket) socket.close();
            socket = new BridgeSocket();
            await socket.connect();
            const open = { op: 'open', host: e.host, port: e.port, tls: e.tls };
            if (hooks.pin) open.pin_sha256 = hooks.pin;
            socket.sendText(open);
            await socket.expectText('opened');
            job.onConnected();
          } catch (err) {
            failFromError(err);
          }
          break;
        case 'send':
          outgoing.push(e.bytes);
          outgoingSize += e.bytes.length;
          break;
        case 'receive': {
          try {
            flush();
          } catch (err) {
            failFromError(err);
            break;
          }
          const f = await socket.readCoalesced();
          if (f.type === 'binary') {
            job.onData(f.bytes);
          } else if (f.type === 'closed') {
            job.onEof();
          } else {
            const code = f.json.code || '';
            job.onFailure(FAILURE_FOR_CODE[code] || 'protocol',
              `bridge: ${code}: ${f.json.message || ''}`);
          }
          break;
        }
        case 'start_tls':
          if (outgoingSize !== 0) {
            job.onFailure('protocol', 'internal: data queued before STARTTLS');
            break;
          }
          try {
            socket.sendText({ op: 'starttls' });
            await socket.expectText('tls');
            job.onTlsStarted();
          } catch (err) {
            failFromError(err);
          }
          break;
        case 'deliver_begin':
          deliveries.set(e.delivery, { delivery: e.delivery, folder: e.folder, chunks: [], size: 0 });
          break;
        case 'deliver_data': {
          const d = deliveries.get(e.delivery);
          d.chunks.push(e.bytes);
          d.size += e.bytes.length;
          break;
        }
        case 'deliver_end': {
          const d = deliveries.get(e.delivery);
          d.key = e.key;
          d.flags = e.flags;
          d.internalDate = e.internalDate;
          ended.push(d);
          break;
        }
        case 'deliver_abort':
          deliveries.delete(e.delivery);
          ended = ended.filter((d) => d.delivery !== e.delivery);
          break;
        case 'commit': {
          const batch = ended.filter((d) => deliveries.has(d.delivery));
          ended = [];
          const results = await commitBatch(batch);
          for (const d of batch) deliveries.delete(d.delivery);
          job.onCommitted(results);
          break;
        }
        case 'save_state':
          try {
            if (hooks.saveState) await hooks.saveState(e.state);
            job.onStateSaved();
          } catch (err) {
            job.onFailure('mailbox', `could not save the task's state: ${err.message || err}`);
          }
          break;
        case 'progress':
          if (hooks.onProgress) hooks.onProgress(e.folder, e.done, e.total);
          break;
        case 'close':
          if (socket) {
            try {
              flush();  // best effort: a final QUIT / LOGOUT
            } catch (err) {
              // The connection is going away anyway.
            }
            socket.close();
            socket = null;
          }
          break;
        case 'done':
        case 'failed':
          if (socket) socket.close();
          return job.summary();
        default:
          throw new Error(`unknown effect ${e.kind}`);
      }
    }
  } finally {
    if (socket) socket.close();
  }
}

function coreErrorText(errors) {
  return errors.map((x) => (x.field ? `${x.field}: ${x.message}` : x.message)).join('; ');
}

// Test Connection: connect, TLS, log in, count; stores nothing. Resolves {ok, message}.
export async function testConnection(core, task) {
  const created = core.createRetrievalJob(JSON.stringify(task), 'task:check', '', true);
  if (!created.ok) return { ok: false, message: coreErrorText(created.errors) };
  const job = created.job;
  try {
    const s = await runJob(job, { pin: task.pinned_cert_sha256 });
    return { ok: s.ok, failure: s.failure, message: s.message, summary: s };
  } finally {
    job.delete();
  }
}

function randomOwner() {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return `page-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

// Retrieve Messages Now from the page: takes the task's lease, runs the job with the state the
// proxy holds, records the run, gives the lease back. Resolves {ok, message, summary}.
export async function retrieveNow(core, { task, userId, onProgress }) {
  const id = encodeSegment(task.id);
  const owner = randomOwner();
  const lease = await call('POST', `/api/tasks/${id}/lease`, {
    body: { owner, seconds: LEASE_SECONDS },
  });
  if (lease.offline) {
    return { ok: false, message: 'The Junction server cannot be reached; try again when online.' };
  }
  if (lease.status === 409) {
    return { ok: false, message: 'This task is already running (scheduled or on another device).' };
  }
  if (lease.status !== 200) {
    return { ok: false, message: `The task could not be started (HTTP ${lease.status}).` };
  }
  let lost = false;
  const renew = setInterval(async () => {
    const r = await call('POST', `/api/tasks/${id}/lease`, { body: { owner, seconds: LEASE_SECONDS } });
    if (r.status === 409) lost = true;
  }, LEASE_RENEW_MS);
  const startedAt = Math.floor(Date.now() / 1000);
  let job = null;
  try {
    const stored = await call('GET', `/api/tasks/${id}/state`, { raw: true });
    if (stored.offline || (stored.status !== 200 && stored.status !== 204)) {
      return { ok: false, message: 'The task\'s state could not be read from the Junction server.' };
    }
    const state = stored.status === 200 ? new TextDecoder().decode(stored.data) : '';
    const created = core.createRetrievalJob(JSON.stringify(task), `task:u${userId}-${task.id}`,
      state, false);
    if (!created.ok) return { ok: false, message: coreErrorText(created.errors) };
    job = created.job;
    const summary = await runJob(job, {
      pin: task.pinned_cert_sha256,
      onProgress,
      cancelled: () => lost,
      saveState: async (text) => {
        const r = await call('PUT', `/api/tasks/${id}/state?owner=${encodeSegment(owner)}`, {
          body: text,
          headers: { 'Content-Type': 'application/json' },
        });
        if (r.status !== 204 && r.status !== 200) {
          throw new Error(r.offline ? 'the Junction server cannot be reached'
            : `HTTP ${r.status}${r.status === 409 ? ' (the task\'s lease was lost)' : ''}`);
        }
        await db.put('state', text, task.id);
      },
    });
    const run = {
      owner,
      started_at: startedAt,
      finished_at: Math.floor(Date.now() / 1000),
      ok: summary.ok,
      failure: summary.ok ? '' : summary.failure,
      message: summary.message,
      folders: summary.folders.map((f) => ({
        folder: f.folder, new: f.new_messages, already_had: f.already_had, deleted: f.deleted,
      })),
    };
    await call('POST', `/api/tasks/${id}/runs`, { body: run });
    return { ok: summary.ok, message: summary.message, summary };
  } finally {
    clearInterval(renew);
    if (job) job.delete();
    await call('DELETE', `/api/tasks/${id}/lease?owner=${encodeSegment(owner)}`);
  }
}
