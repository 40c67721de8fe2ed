// How fast a POP3 retrieval runs through the JS surface of junction-core.js (contract C1):
// the in-JS scripted POP3 peer and an in-memory mailbox, so what is measured is the job
// plus the JS<->WASM boundary. Not part of the test suite.
//
//   node --no-experimental-fetch tests/bench/wasm_core_bench.js \
//        build-wasm/www/junction-core.js build-wasm/www/junction-core.wasm [messages] [bytes]
//
// Prints one line per round, then the fastest and the median round. The native reference is
// the same job on the same messages driven by tests/unit/jobs/scripted_driver.h with
// fake_pop3_server (PIPELINING on), timed around drive().
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const {Pop3Peer} = require('../unit/bindings/pop3_peer.js');
const {MemoryMailbox, drive} = require('../unit/bindings/js_driver.js');

const [jsPath, wasmPath, countArg, sizeArg, roundsArg] = process.argv.slice(2);
const COUNT = Number(countArg || 5000);
const SIZE = Number(sizeArg || 5120);
const ROUNDS = Number(roundsArg || 5);

// The same messages as the native bench: headers, then 76-character lines up to SIZE bytes,
// every 10th line starting with a dot (so dot-stuffing is exercised).
function message(i) {
  let s = `From: sender${i}@example.org\r\nTo: alice@example.org\r\nSubject: message ${i}\r\n` +
          `Message-ID: <bench${i}@example.org>\r\n\r\n`;
  for (let line = 0; s.length < SIZE; ++line) {
    const text = (line % 10 === 0 ? '.' : '') + `line ${line} of message ${i} `;
    s += text.padEnd(76, 'x').slice(0, Math.max(0, Math.min(76, SIZE - s.length - 2))) + '\r\n';
  }
  return Buffer.from(s, 'latin1');
}

(async () => {
  const JunctionCore = require(path.resolve(jsPath));
  const core = await JunctionCore({wasmBinary: fs.readFileSync(wasmPath)});
  const messages = [];
  for (let i = 1; i <= COUNT; ++i) messages.push({uidl: `uid-${i}`, content: message(i)});
  const totalBytes = messages.reduce((n, m) => n + m.content.length, 0);
  const task = JSON.stringify({type: 'pop3', server: 'pop.example.org', username: 'alice',
                               password: 'secret', encryption: 'none', leave_on_server: true});
  const times = [];
  // Round 0 warms up (JIT, the peer's cached answers) and is not counted.
  for (let round = 0; round <= ROUNDS; ++round) {
    const peer = new Pop3Peer({messages, pipelining: true});
    const mailbox = new MemoryMailbox();
    const created = core.createRetrievalJob(task, 'task:bench', '', false);
    if (!created.ok) throw new Error(JSON.stringify(created.errors));
    const start = process.hrtime.bigint();
    const r = drive(created.job, peer, mailbox);
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    created.job.delete();
    if (!r.summary.ok || mailbox.messages.length !== COUNT || mailbox.bytes !== totalBytes ||
        r.violations.length) {
      throw new Error('bench run failed: ' + JSON.stringify(r.summary) + ' ' + r.violations);
    }
    if (round === 0 && !mailbox.messages.every((m, i) => m.bytes.equals(messages[i].content))) {
      throw new Error('delivered bytes differ');
    }
    if (round === 0) continue;
    times.push(seconds);
    console.log(`round ${round}: ${seconds.toFixed(3)} s, ${r.effects} effects, ` +
                `${(COUNT / seconds).toFixed(0)} messages/s`);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  // The fastest round is the least disturbed by other load on the machine.
  console.log(`wasm: ${COUNT} messages, ${totalBytes} bytes: fastest ${times[0].toFixed(3)} s, ` +
              `median ${median.toFixed(3)} s, ` +
              `${(COUNT / median).toFixed(0)} messages/s, ` +
              `${(totalBytes / median / 1048576).toFixed(1)} MiB/s`);
})().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
