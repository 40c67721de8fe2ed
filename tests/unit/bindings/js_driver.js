// Carries out a RetrievalJob's effects (the JS surface, wasm-core/bindings/README.md) against an in-memory
// peer and mailbox, the way the browser app does against the WebSocket bridge and the proxy's
// batch API. The JS counterpart of tests/unit/jobs/scripted_driver.h.
'use strict';

// Messages by folder, deduplicated by delivery key like the proxy's mailbox.
class MemoryMailbox {
  constructor({keepBytes = true} = {}) {
    this.keepBytes = keepBytes;
    this.messages = [];  // {folder, key, bytes: Buffer, flags, internalDate}
    this.keys = new Set();
    this.bytes = 0;
  }

  store(message) {
    if (this.keys.has(message.key)) return 'already_had';
    this.keys.add(message.key);
    this.bytes += message.size;
    this.messages.push(message);
    return 'stored';
  }
}

// Returns {summary, log, effects, kinds, states, progress, violations, connects}. `log`
// interleaves the peer's commands ('C: ...') with what the driver did: 'E: stored #i' (the
// commit stored mailbox.messages[i]), 'E: committed n' (onCommitted was called with n
// results), 'E: state_saved' (onStateSaved was called).
function drive(job, peer, mailbox, {maxEffects = 10_000_000} = {}) {
  const result = {log: [], effects: 0, kinds: [], states: [], progress: [], violations: [],
                  connects: []};
  peer.log = result.log;
  const deliveries = new Map();  // delivery id -> {folder, chunks, size, key, ended}
  let outgoing = [];
  let connected = false;
  const flush = () => {
    if (outgoing.length) peer.receive(outgoing.length === 1 ? outgoing[0] : Buffer.concat(outgoing));
    outgoing = [];
  };
  for (;;) {
    if (++result.effects > maxEffects) {
      result.violations.push(`more than ${maxEffects} effects`);
      break;
    }
    const e = job.next();
    if (result.kinds.length < 100000) result.kinds.push(e.kind);
    switch (e.kind) {
      case 'connect':
        result.connects.push({host: e.host, port: e.port, tls: e.tls});
        if (connected) result.violations.push('connect while connected');
        peer.connect();
        connected = true;
        job.onConnected();
        break;
      case 'send':
        if (!(e.bytes instanceof Uint8Array)) result.violations.push('send without bytes');
        outgoing.push(e.bytes);
        break;
      case 'receive': {
        flush();
        const data = peer.toClient();
        if (data.length) {
          job.onData(data);
        } else if (peer.atEof()) {
          job.onEof();
        } else {
          result.log.push('E: receive with nothing to read');
          job.onFailure('timeout', 'the server did not answer');
        }
        break;
      }
      case 'start_tls':
        job.onFailure('tls', 'the scripted peer has no TLS');
        break;
      case 'deliver_begin':
        if (deliveries.has(e.delivery)) result.violations.push('delivery id reused');
        deliveries.set(e.delivery, {folder: e.folder, chunks: [], size: 0, ended: false});
        break;
      case 'deliver_data': {
        const d = deliveries.get(e.delivery);
        if (!d) {
          result.violations.push('data for an unknown delivery');
          break;
        }
        d.size += e.bytes.length;
        if (mailbox.keepBytes) d.chunks.push(e.bytes);
        break;
      }
      case 'deliver_end': {
        const d = deliveries.get(e.delivery);
        if (!d) {
          result.violations.push('end of an unknown delivery');
          break;
        }
        Object.assign(d, {ended: true, key: e.key, flags: e.flags, internalDate: e.internalDate});
        break;
      }
      case 'deliver_abort':
        deliveries.delete(e.delivery);
        break;
      case 'commit': {
        const results = [];
        for (const [id, d] of deliveries) {
          if (!d.ended) continue;
          const bytes = mailbox.keepBytes ? Buffer.concat(d.chunks) : null;
          const status = mailbox.store({folder: d.folder, key: d.key, bytes, size: d.size,
                                        flags: d.flags, internalDate: d.internalDate});
          results.push({delivery: id, status, error: ''});
          if (status === 'stored') result.log.push('E: stored #' + (mailbox.messages.length - 1));
          deliveries.delete(id);
        }
        job.onCommitted(results);
        result.log.push('E: committed ' + results.length);
        break;
      }
      case 'save_state':
        result.states.push(e.state);
        job.onStateSaved();
        result.log.push('E: state_saved');
        break;
      case 'progress':
        result.progress.push({folder: e.folder, done: e.done, total: e.total});
        if (e.total !== 0 && e.done > e.total) result.violations.push(`progress ${e.done}/${e.total}`);
        break;
      case 'close':
        if (connected) flush();
        outgoing = [];
        peer.disconnect();
        connected = false;
        break;
      case 'done':
      case 'failed':
        result.log.push('E: ' + e.kind);
        result.summary = job.summary();
        peer.disconnect();
        peer.log = null;
        return result;
      default:
        result.violations.push('unknown effect kind ' + e.kind);
        result.summary = job.summary();
        return result;
    }
  }
  result.summary = job.summary();
  return result;
}

module.exports = {MemoryMailbox, drive};
