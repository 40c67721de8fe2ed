// The JS surface of the WASM core (wasm-core/bindings/README.md) under node: a real POP3 retrieval job driven
// through junction-core.js against a scripted POP3 peer, plus the task, port and message
// view functions, and the rule that nothing thrown inside ever reaches JS.
//
//   node --no-experimental-fetch bindings_test.js path/to/junction-core.js path/to/junction-core.wasm
'use strict';

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const {Pop3Peer} = require('./pop3_peer.js');
const {MemoryMailbox, drive} = require('./js_driver.js');

const [jsPath, wasmPath] = process.argv.slice(2);
if (!jsPath || !wasmPath) {
  console.error('usage: bindings_test.js junction-core.js junction-core.wasm');
  process.exit(2);
}

const crlf = (lines) => Buffer.from(lines.join('\r\n') + '\r\n', 'latin1');

// Three messages that a careless binding or driver would damage: plain text; 8-bit bytes
// (UTF-8 and bytes that are not UTF-8 at all); lines that POP3 must dot-stuff.
const MESSAGES = [
  {uidl: 'uid-1', content: crlf(['From: bob@example.org', 'To: alice@example.org',
                                 'Subject: plain', '', 'Hello Alice.'])},
  {uidl: 'uid-2', content: Buffer.concat([
    crlf(['From: =?UTF-8?Q?Ren=C3=A9?= <rene@example.org>', 'Subject: 8bit',
          'Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit', '']),
    Buffer.from('Caf\u00e9 cr\u00e8me \u20ac\r\nraw: ', 'utf8'),
    Buffer.from([0xff, 0xfe, 0x80, 0x81, 0x00, 0x7f, 0xc3]),
    Buffer.from('\r\n', 'latin1')])},
  {uidl: 'uid-3', content: crlf(['From: carol@example.org', 'Subject: dots', '',
                                 '.leading dot', '..two dots', '.', 'after a lone dot',
                                 '...'])},
];

function task(overrides = {}) {
  return JSON.stringify(Object.assign({type: 'pop3', server: 'pop.example.org',
                                       username: 'alice', password: 'secret',
                                       encryption: 'ssl', destination_folder: 'INBOX'},
                                      overrides));
}

function createJob(core, taskText, state = '', checkOnly = false) {
  const created = core.createRetrievalJob(taskText, 'task:u1-1', state, checkOnly);
  assert.equal(created.ok, true, JSON.stringify(created.errors));
  assert.deepEqual(created.errors, []);
  assert.ok(created.job);
  return created.job;
}

function run(core, peer, mailbox, taskText, state = '', checkOnly = false) {
  const job = createJob(core, taskText, state, checkOnly);
  try {
    const result = drive(job, peer, mailbox);
    assert.deepEqual(result.violations, []);
    return result;
  } finally {
    job.delete();
  }
}

// The effects up to the end of a run that needs no more answers (after a failure: close, failed).
function remainingKinds(job) {
  const kinds = [];
  for (let i = 0; i < 10; ++i) {
    kinds.push(job.next().kind);
    if (kinds[kinds.length - 1] === 'done' || kinds[kinds.length - 1] === 'failed') break;
  }
  return kinds;
}

function originalIndex(bytes) {
  return MESSAGES.findIndex((m) => m.content.equals(bytes));
}

const tests = [];
const test = (name, body) => tests.push({name, body});

test('the glue needs no eval: the page runs under a CSP without unsafe-eval', () => {
  const glue = fs.readFileSync(jsPath, 'utf8');
  assert.doesNotMatch(glue, /new Function\s*\(/);
  assert.doesNotMatch(glue, /[^.\w]eval\s*\(/);
});

test('version and defaultPort', (core) => {
  assert.match(core.version(), /^\d+\.\d+\.\d+/);
  assert.equal(core.defaultPort('pop3', 'ssl'), 995);
  assert.equal(core.defaultPort('pop3', 'none'), 110);
  assert.equal(core.defaultPort('pop3', 'starttls'), 110);
  assert.equal(core.defaultPort('imap', 'ssl'), 993);
  assert.equal(core.defaultPort('imap', 'starttls'), 143);
  assert.equal(core.defaultPort('imap', 'none'), 143);
  assert.equal(core.defaultPort('smtp', 'ssl'), 0);
  assert.equal(core.defaultPort(7, null), 0);
});

test('validateTask reports every field error and normalises a good task', (core) => {
  const bad = core.validateTask(JSON.stringify({type: 'pop3', port: 70000, username: 'a',
                                                password: 'b'}));
  assert.equal(bad.ok, false);
  assert.equal(bad.task, '');
  const fields = bad.errors.map((e) => e.field);
  assert.ok(fields.includes('port'), JSON.stringify(bad.errors));
  assert.ok(fields.includes('server'), JSON.stringify(bad.errors));
  for (const e of bad.errors) assert.ok(e.message.length > 0);

  const good = core.validateTask(JSON.stringify({type: 'imap', server: 'imap.example.org',
                                                 username: 'jdoe', password: 'p\u00e4ss',
                                                 future_key: {kept: true}}));
  assert.equal(good.ok, true, JSON.stringify(good.errors));
  assert.deepEqual(good.errors, []);
  const normal = JSON.parse(good.task);
  assert.equal(normal.type, 'imap');
  assert.equal(normal.encryption, 'ssl');
  assert.equal(normal.method, 'manual');
  assert.equal(normal.interval_minutes, 10);
  assert.deepEqual(normal.folder_transfer, {mode: 'root', parent: ''});
  assert.equal(normal.password, 'p\u00e4ss');
  assert.deepEqual(normal.future_key, {kept: true});

  const notJson = core.validateTask('{"server": ');
  assert.equal(notJson.ok, false);
  assert.equal(notJson.errors.length, 1);
  assert.equal(notJson.errors[0].field, '');
  assert.equal(core.validateTask(42).ok, false);
});

test('POP3 retrieval delivers every message byte for byte and keeps them on the server', (core) => {
  const peer = new Pop3Peer({messages: MESSAGES});
  const mailbox = new MemoryMailbox();
  const r = run(core, peer, mailbox, task({leave_on_server: true}));
  assert.equal(r.summary.ok, true, r.summary.message);
  assert.equal(r.summary.failure, 'none');
  assert.deepEqual(r.connects, [{host: 'pop.example.org', port: 995, tls: 'implicit'}]);
  assert.match(r.summary.server_greeting, /scripted POP3 ready/);
  assert.equal(mailbox.messages.length, 3);
  for (const m of mailbox.messages) {
    assert.equal(m.folder, 'INBOX');
    assert.match(m.key, /^[0-9a-f]+$/);
  }
  // Byte for byte, in server order: 8-bit bytes intact, dot-stuffing undone.
  mailbox.messages.forEach((m, i) => assert.ok(m.bytes.equals(MESSAGES[i].content),
                                               `message ${i + 1} differs`));
  assert.deepEqual(r.summary.folders, [{folder: 'INBOX', new_messages: 3, already_had: 0,
                                        deleted: 0}]);
  assert.equal(peer.count('DELE'), 0);
  assert.equal(peer.count('RETR'), 3);
  assert.equal(peer.count('QUIT'), 1);
  const last = r.progress[r.progress.length - 1];
  assert.deepEqual(last, {folder: 'INBOX', done: 3, total: 3});
  // The saved state names every message, so the next run knows them.
  assert.ok(r.states.length >= 1);
  const state = JSON.parse(r.states[r.states.length - 1]);
  // Each seen message with its size and SHA-256, so that a UIDL the server hands out again for
  // other content is a new message (checked here against node's own SHA-256).
  assert.deepEqual(state.seen.map((e) => e.id), ['uid-1', 'uid-2', 'uid-3']);
  state.seen.forEach((e, i) => {
    const bytes = mailbox.messages[i].bytes;
    assert.equal(e.size, bytes.length, `size of ${e.id}`);
    assert.equal(e.sha256, crypto.createHash('sha256').update(bytes).digest('hex'),
                 `sha256 of ${e.id}`);
  });

  // Second run from the saved state: the server still has all three, nothing is fetched.
  const again = run(core, peer, mailbox, task({leave_on_server: true}),
                    r.states[r.states.length - 1]);
  assert.equal(again.summary.ok, true, again.summary.message);
  assert.equal(peer.count('RETR'), 3, 'the second run fetched a message again');
  assert.equal(mailbox.messages.length, 3);
  assert.deepEqual(again.summary.folders, [{folder: 'INBOX', new_messages: 0, already_had: 3,
                                            deleted: 0}]);
});

test('POP3 deletes a message only after it was committed and the state saved', (core) => {
  const peer = new Pop3Peer({messages: MESSAGES});
  const mailbox = new MemoryMailbox();
  const r = run(core, peer, mailbox, task({encryption: 'none'}));
  assert.equal(r.summary.ok, true, r.summary.message);
  assert.deepEqual(r.connects, [{host: 'pop.example.org', port: 110, tls: 'none'}]);
  assert.equal(mailbox.messages.length, 3);
  mailbox.messages.forEach((m, i) => assert.ok(m.bytes.equals(MESSAGES[i].content)));

  // Walk the log: for each DELE n, message n must have been stored by a commit, and a state
  // save must have followed that commit, before the DELE was sent.
  const storedAt = new Map();  // original index -> log position of its commit
  let lastSave = -1;
  let deles = 0;
  r.log.forEach((entry, pos) => {
    let m;
    if ((m = /^E: stored #(\d+)$/.exec(entry))) {
      storedAt.set(originalIndex(mailbox.messages[Number(m[1])].bytes), pos);
    } else if (entry === 'E: state_saved') {
      lastSave = pos;
    } else if ((m = /^C: DELE (\d+)$/.exec(entry))) {
      ++deles;
      const index = Number(m[1]) - 1;  // the maildrop is in MESSAGES order
      assert.ok(storedAt.has(index), `DELE ${m[1]} before message ${m[1]} was committed`);
      assert.ok(lastSave > storedAt.get(index),
                `DELE ${m[1]} before the state recording it was saved`);
    }
  });
  assert.equal(deles, 3);
  assert.ok(r.log.indexOf('C: QUIT') > r.log.lastIndexOf('C: DELE 3'));
  assert.equal(peer.deletedAtQuit, 3);
  assert.equal(peer.maildrop.length, 0);
  assert.deepEqual(r.summary.folders, [{folder: 'INBOX', new_messages: 3, already_had: 0,
                                        deleted: 3}]);
});

test('a commit that fails deletes nothing and fails the run', (core) => {
  const peer = new Pop3Peer({messages: MESSAGES});
  const job = createJob(core, task({encryption: 'none'}));
  try {
    const failing = new MemoryMailbox();
    failing.store = () => 'failed';
    const r = drive(job, peer, failing);
    assert.equal(r.summary.ok, false);
    assert.equal(r.summary.failure, 'mailbox');
    assert.equal(peer.count('DELE'), 0);
    assert.equal(peer.maildrop.length, 3);
    assert.equal(job.next().kind, 'failed');
  } finally {
    job.delete();
  }
});

test('POP3 checkOnly logs in, counts and retrieves nothing', (core) => {
  const peer = new Pop3Peer({messages: MESSAGES});
  const mailbox = new MemoryMailbox();
  const r = run(core, peer, mailbox, task(), '', true);
  assert.equal(r.summary.ok, true, r.summary.message);
  assert.equal(r.summary.total_messages, 3);
  assert.equal(peer.count('RETR'), 0);
  assert.equal(peer.count('DELE'), 0);
  assert.equal(mailbox.messages.length, 0);
});

test('a wrong password is a login failure', (core) => {
  const peer = new Pop3Peer({messages: MESSAGES, password: 'other'});
  const mailbox = new MemoryMailbox();
  const r = run(core, peer, mailbox, task());
  assert.equal(r.summary.ok, false);
  assert.equal(r.summary.failure, 'login');
  assert.match(r.summary.message, /invalid user name or password/);
  assert.equal(peer.count('RETR'), 0);
  assert.equal(mailbox.messages.length, 0);
});

test('connection failures reported by the driver end the run with their kind', (core) => {
  const job = createJob(core, task());
  try {
    assert.equal(job.next().kind, 'connect');
    job.onFailure('refused', 'connection refused by 192.0.2.1:995');
    assert.equal(remainingKinds(job).pop(), 'failed');
    const s = job.summary();
    assert.equal(s.ok, false);
    assert.equal(s.failure, 'refused');
    assert.match(s.message, /connection refused/);
  } finally {
    job.delete();
  }
});

test('createRetrievalJob refuses bad input with errors, never a throw', (core) => {
  const notJson = core.createRetrievalJob('this is not JSON', 'task:u1-1', '', false);
  assert.equal(notJson.ok, false);
  assert.equal(notJson.job, null);
  assert.ok(notJson.errors.length >= 1);
  assert.equal(typeof notJson.errors[0].message, 'string');

  const invalid = core.createRetrievalJob(task({server: '', port: 0}), 'task:u1-1', '', false);
  assert.equal(invalid.ok, false);
  assert.ok(invalid.errors.some((e) => e.field === 'server'));

  const noKey = core.createRetrievalJob(task(), '', '', false);
  assert.equal(noKey.ok, false);
  assert.equal(noKey.job, null);

  // A state document that is not JSON is ignored like a missing one (the job's rule), and
  // wrong types for the other arguments come back as errors.
  const junkState = core.createRetrievalJob(task(), 'task:u1-1', '{{{', false);
  assert.equal(junkState.ok, true);
  junkState.job.delete();
  assert.equal(core.createRetrievalJob(null, 'k', '', false).ok, false);
  assert.equal(core.createRetrievalJob(task(), 'k', 17, false).ok, false);
});

test('malformed answers from the driver fail the run instead of throwing', (core) => {
  const job = createJob(core, task());
  try {
    assert.equal(job.next().kind, 'connect');
    job.onConnected();
    assert.equal(job.next().kind, 'receive');
    job.onData('not bytes');  // a string where a Uint8Array belongs
    assert.deepEqual(remainingKinds(job), ['close', 'failed']);
    assert.equal(job.summary().ok, false);
    job.onCommitted(null);
    job.onCommitted([{delivery: 'x'}, null, 5]);
    job.onFailure(undefined, undefined);
    assert.equal(job.next().kind, 'failed');
  } finally {
    job.delete();
  }
});

test('viewMessage reads a multipart message', (core) => {
  const raw = crlf([
    'From: =?UTF-8?Q?Ren=C3=A9_Dupont?= <rene@example.org>',
    'To: alice@example.org',
    'Subject: =?UTF-8?B?SGVsbG8gd29ybGQ=?=',
    'Date: Tue, 01 Aug 2023 10:00:00 +0000',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="b1"',
    '',
    '--b1',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'The text part.',
    '--b1',
    'Content-Type: application/octet-stream',
    'Content-Disposition: attachment; filename="data.bin"',
    'Content-Transfer-Encoding: base64',
    '',
    'AAECAw==',
    '--b1--',
  ]);
  const v = core.viewMessage(new Uint8Array(raw));
  assert.equal(v.ok, true, v.error);
  assert.equal(v.subject, 'Hello world');
  assert.match(v.from, /Ren\u00e9 Dupont/);
  assert.match(v.from, /rene@example\.org/);
  assert.match(v.to, /alice@example\.org/);
  assert.equal(v.date, 1690884000);
  assert.match(v.text, /The text part\./);
  assert.equal(v.text_from_html, false);
  assert.equal(v.text_truncated, false);
  assert.equal(v.attachments.length, 1);
  assert.equal(v.attachments[0].filename, 'data.bin');
  assert.equal(v.attachments[0].size, 4);
  assert.ok(v.headers.some((h) => h.name === 'Subject' && h.value === 'Hello world'));

  const notBytes = core.viewMessage('From: a@b\r\n\r\nx');
  assert.equal(notBytes.ok, false);
  assert.ok(notBytes.error.length > 0);
});

// A scripted SMTP server for the send job: answers each command line, records what came.
class SmtpPeer {
  constructor({auth = true, refuse = []} = {}) {
    this.auth = auth;
    this.refuse = new Set(refuse);
    this.commands = [];
    this.messages = [];
    this.pending = [Buffer.from('220 peer.test ESMTP ready\r\n')];
    this.buffer = Buffer.alloc(0);
    this.inData = false;
    this.data = [];
    this.closed = false;
  }

  receive(bytes) {
    this.buffer = Buffer.concat([this.buffer, Buffer.from(bytes)]);
    for (;;) {
      const end = this.buffer.indexOf('\r\n');
      if (end < 0) return;
      const line = this.buffer.subarray(0, end).toString('latin1');
      this.buffer = this.buffer.subarray(end + 2);
      if (this.inData) {
        if (line === '.') {
          this.inData = false;
          this.messages.push(this.data.join('\r\n') + '\r\n');
          this.data = [];
          this.reply('250 2.0.0 queued');
        } else {
          this.data.push(line.startsWith('.') ? line.slice(1) : line);
        }
        continue;
      }
      this.commands.push(line);
      const verb = line.split(' ')[0].toUpperCase();
      if (verb === 'EHLO') {
        this.reply('250-peer.test\r\n250-PIPELINING\r\n250-SIZE 1000000\r\n250-8BITMIME\r\n' +
                   (this.auth ? '250-AUTH PLAIN LOGIN\r\n' : '') + '250 ENHANCEDSTATUSCODES');
      } else if (verb === 'AUTH') {
        const plain = Buffer.from(line.split(' ')[2] || '', 'base64').toString('latin1');
        this.reply(plain === '\0jane@example.com\0secret' ? '235 2.7.0 ok' : '535 5.7.8 no');
      } else if (verb === 'MAIL') {
        this.reply('250 2.1.0 ok');
      } else if (verb === 'RCPT') {
        const address = /<([^>]*)>/.exec(line)[1];
        this.reply(this.refuse.has(address) ? '550 5.1.1 no such user' : '250 2.1.5 ok');
      } else if (verb === 'DATA') {
        this.inData = true;
        this.reply('354 go ahead');
      } else if (verb === 'QUIT') {
        this.reply('221 2.0.0 bye');
        this.closed = true;
      } else {
        this.reply('502 5.5.2 what?');
      }
    }
  }

  reply(text) {
    this.pending.push(Buffer.from(text + '\r\n'));
  }

  take() {
    const out = Buffer.concat(this.pending);
    this.pending = [];
    return out;
  }
}

// Drives a SendJob against the peer; returns the summary.
function driveSend(job, peer) {
  for (let steps = 0; steps < 100000; ++steps) {
    const e = job.next();
    switch (e.kind) {
      case 'connect': job.onConnected(); break;
      case 'send': peer.receive(e.bytes); break;
      case 'receive': {
        const bytes = peer.take();
        if (bytes.length) job.onData(new Uint8Array(bytes));
        else job.onEof();
        break;
      }
      case 'start_tls': job.onFailure('tls', 'no TLS in this test'); break;
      case 'progress': case 'close': break;
      case 'done': case 'failed': return job.summary();
      default: throw new Error(`unexpected effect ${e.kind}`);
    }
  }
  throw new Error('the send job did not end');
}

const ACCOUNT = {display_name: 'Jane Doe', server: 'smtp.example.com', port: 25,
                 encryption: 'none', email: 'jane@example.com', auth: true,
                 password: 'secret'};

test('SMTP: defaultSmtpPort and validateSmtpAccount', (core) => {
  assert.equal(core.defaultSmtpPort('none'), 25);
  assert.equal(core.defaultSmtpPort('starttls'), 587);
  assert.equal(core.defaultSmtpPort('ssl'), 465);
  assert.equal(core.defaultSmtpPort('bogus'), 0);
  const good = core.validateSmtpAccount(JSON.stringify({server: 'smtp.example.com',
                                                        email: 'jane@example.com', password: 'x'}));
  assert.equal(good.ok, true, JSON.stringify(good.errors));
  const normal = JSON.parse(good.account);
  assert.equal(normal.port, 25);
  assert.equal(normal.encryption, 'none');
  assert.equal(normal.auth, true);
  const bad = core.validateSmtpAccount(JSON.stringify({server: '', port: 70000, email: 'nope'}));
  assert.equal(bad.ok, false);
  const fields = bad.errors.map((e) => e.field);
  assert.ok(fields.includes('port'), JSON.stringify(bad.errors));
  const notJson = core.validateSmtpAccount('{');
  assert.equal(notJson.ok, false);
});

test('SMTP: composeMessage, then a SendJob delivers it; a refused recipient does not sink the others',
     (core) => {
  const attachment = new Uint8Array([0, 1, 2, 255]);
  const composed = core.composeMessage(JSON.stringify({
    from: {name: 'Jane Doe', email: 'jane@example.com'},
    to: [{name: '', email: 'a@example.org'}, {name: '', email: 'gone@example.org'}],
    bcc: [{name: '', email: 'hidden@example.org'}],
    subject: 'Caf\u00e9', text: 'Hello\n.\nBye', date: 1700000000, unique: 'abc123',
  }), [{filename: 'x.bin', content_type: 'application/octet-stream', data: attachment}]);
  assert.equal(composed.ok, true, composed.error);
  assert.ok(composed.message instanceof Uint8Array);
  assert.equal(composed.message_id, '<abc123@example.com>');
  assert.deepEqual(composed.recipients, ['a@example.org', 'gone@example.org', 'hidden@example.org']);
  const text = Buffer.from(composed.message).toString('latin1');
  assert.ok(!/^Bcc:/mi.test(text), 'no Bcc header');
  assert.match(text, /^Subject: =\?utf-8\?/mi);

  const peer = new SmtpPeer({refuse: ['gone@example.org']});
  const created = core.createSendJob(JSON.stringify(ACCOUNT), [{
    envelope_from: 'jane@example.com', recipients: composed.recipients, data: composed.message,
    needs_smtputf8: false, eight_bit: false,
  }], false);
  assert.equal(created.ok, true, JSON.stringify(created.errors));
  const summary = driveSend(created.job, peer);
  created.job.delete();
  assert.equal(summary.ok, true, summary.message);
  assert.equal(summary.messages.length, 1);
  const m = summary.messages[0];
  assert.equal(m.accepted, true);
  assert.deepEqual(m.recipients.map((r) => [r.address, r.accepted, r.code]),
                   [['a@example.org', true, 250], ['gone@example.org', false, 550],
                    ['hidden@example.org', true, 250]]);
  assert.equal(m.recipients[1].enhanced_code, '5.1.1');
  assert.equal(peer.messages.length, 1);
  assert.equal(peer.messages[0], text, 'the server received exactly the composed message');
  assert.ok(peer.commands.some((c) => c.startsWith('AUTH PLAIN')));
});

test('SMTP: a wrong password fails with login; check-only sends no MAIL', (core) => {
  const wrong = core.createSendJob(JSON.stringify({...ACCOUNT, password: 'nope'}), [], true);
  assert.equal(wrong.ok, true);
  const peer = new SmtpPeer();
  const s = driveSend(wrong.job, peer);
  wrong.job.delete();
  assert.equal(s.ok, false);
  assert.equal(s.failure, 'login');

  const check = core.createSendJob(JSON.stringify(ACCOUNT), [], true);
  const peer2 = new SmtpPeer();
  const ok = driveSend(check.job, peer2);
  check.job.delete();
  assert.equal(ok.ok, true, ok.message);
  assert.ok(!peer2.commands.some((c) => c.startsWith('MAIL')), 'no MAIL in a check');
  assert.ok(peer2.commands.includes('QUIT'));

  const bad = core.createSendJob('{"server": ""}', [], true);
  assert.equal(bad.ok, false);
  assert.equal(bad.job, null);
  const notBytes = core.createSendJob(JSON.stringify(ACCOUNT), [{recipients: ['a@b.c'], data: 'text'}], false);
  assert.equal(notBytes.ok, false);
});

// A failure until every test has reported: node exits 0 when the event loop empties, so a
// test (or the loader) awaiting a promise that never settles would otherwise end the run
// early and "pass" (review F18, 1.2).
process.exitCode = 1;
let reported = 0;
process.on('exit', () => {
  if (reported !== tests.length) {
    console.log(`not ok - ${tests.length - reported} of ${tests.length} tests never settled` +
                ` (${reported} reported)`);
    process.exitCode = 1;
  }
});

(async () => {
  const JunctionCore = require(require('node:path').resolve(jsPath));
  const core = await JunctionCore({wasmBinary: fs.readFileSync(wasmPath)});
  let failed = 0;
  for (const {name, body} of tests) {
    try {
      await body(core);
      console.log(`ok - ${name}`);
    } catch (error) {
      ++failed;
      console.log(`not ok - ${name}\n${error.stack || error}`);
    }
    ++reported;
  }
  console.log(`${tests.length - failed} of ${tests.length} passed`);
  process.exitCode = failed ? 1 : 0;
})().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
