// A scripted POP3 server in JS (RFC 1939, CAPA RFC 2449), the in-memory peer of the JS
// driver: the same role as tests/unit/jobs/fake_pop3_server.h plays for the C++ job tests.
// Deletions take effect only at QUIT (UPDATE state); RETR answers are dot-stuffed.
'use strict';

const CRLF = Buffer.from('\r\n');

// RFC 1939 §3: a line starting with '.' gets one more; the last line ends in CRLF.
function dotStuff(content) {
  const out = [];
  let from = 0;
  if (content[0] === 0x2e) out.push(Buffer.from('.'));
  for (let nl = content.indexOf(0x0a); nl >= 0 && nl + 1 < content.length;
       nl = content.indexOf(0x0a, nl + 1)) {
    if (content[nl + 1] !== 0x2e) continue;
    out.push(content.subarray(from, nl + 1), Buffer.from('.'));
    from = nl + 1;
  }
  out.push(content.subarray(from));
  if (content.length && content[content.length - 1] !== 0x0a) out.push(CRLF);
  return Buffer.concat(out);
}

// RETR answers by message content, built once: a benchmark reuses the same messages for many
// peers and should not measure the peer's own stuffing.
const retrAnswers = new WeakMap();

class Pop3Peer {
  // messages: [{uidl, content: Buffer}] (the Buffers are kept, not copied: do not change them)
  constructor({user = 'alice', password = 'secret', messages = [], pipelining = false} = {}) {
    this.user = user;
    this.password = password;
    this.maildrop = messages.map((m) => ({uidl: m.uidl, content: m.content}));
    this.pipelining = pipelining;
    this.log = null;  // shared with the driver: 'C: <command line>' entries
    this.commands = [];
    this.connections = 0;
    this.deletedAtQuit = 0;
  }

  connect() {
    ++this.connections;
    this.connected = true;
    this.closing = false;
    this.state = 'authorization';
    this.userGiven = '';
    this.deleted = this.maildrop.map(() => false);
    this.input = '';
    this.output = [];
    this.reply('+OK scripted POP3 ready\r\n');
  }

  // What the client wrote; complete lines are answered at once.
  receive(bytes) {
    if (!this.connected || this.closing) return;
    this.input += Buffer.from(bytes).toString('latin1');
    let eol;
    while (!this.closing && (eol = this.input.indexOf('\r\n')) >= 0) {
      const line = this.input.slice(0, eol);
      this.input = this.input.slice(eol + 2);
      this.commands.push(line);
      if (this.log) this.log.push('C: ' + line);
      this.handle(line);
    }
  }

  // Everything queued for the client, as one Uint8Array (empty when nothing is queued).
  toClient() {
    if (!this.connected) return new Uint8Array(0);
    const out = this.output.length === 1 ? this.output[0] : Buffer.concat(this.output);
    this.output = [];
    return out;
  }

  atEof() {
    return !this.connected || (this.closing && this.output.length === 0);
  }

  disconnect() {
    this.connected = false;
  }

  count(verb) {
    return this.commands.filter((c) => c.split(' ')[0].toUpperCase() === verb).length;
  }

  reply(text) {
    this.output.push(typeof text === 'string' ? Buffer.from(text, 'latin1') : text);
  }

  index(arg) {
    if (!/^[0-9]{1,9}$/.test(arg)) return -1;
    const n = Number(arg);
    if (n < 1 || n > this.deleted.length || this.deleted[n - 1]) return -1;
    return n - 1;
  }

  handle(line) {
    const space = line.indexOf(' ');
    const verb = (space < 0 ? line : line.slice(0, space)).toUpperCase();
    const arg = space < 0 ? '' : line.slice(space + 1);
    if (verb === 'CAPA') {
      return this.reply('+OK capability list follows\r\nTOP\r\nUIDL\r\nUSER\r\n' +
                        (this.pipelining ? 'PIPELINING\r\n' : '') + '.\r\n');
    }
    if (verb === 'QUIT') {
      if (this.state === 'transaction') {
        const kept = [];
        this.maildrop.forEach((m, i) => {
          if (this.deleted[i]) {
            ++this.deletedAtQuit;
          } else {
            kept.push(m);
          }
        });
        this.maildrop = kept;
      }
      this.state = 'update';
      this.reply('+OK bye\r\n');
      this.closing = true;
      return;
    }
    if (this.state === 'authorization') {
      if (verb === 'USER') {
        this.userGiven = arg;
        return this.reply('+OK\r\n');
      }
      if (verb === 'PASS') {
        if (this.userGiven === this.user && arg === this.password) {
          this.state = 'transaction';
          return this.reply('+OK maildrop locked and ready\r\n');
        }
        this.userGiven = '';
        return this.reply('-ERR [AUTH] invalid user name or password\r\n');
      }
      return this.reply('-ERR not authenticated\r\n');
    }
    if (verb === 'STAT') {
      let n = 0;
      let octets = 0;
      this.maildrop.forEach((m, i) => {
        if (!this.deleted[i]) {
          ++n;
          octets += m.content.length;
        }
      });
      return this.reply(`+OK ${n} ${octets}\r\n`);
    }
    if (verb === 'UIDL' || verb === 'LIST') {
      const value = (i) => (verb === 'UIDL' ? this.maildrop[i].uidl : this.maildrop[i].content.length);
      if (arg) {
        const i = this.index(arg);
        return this.reply(i < 0 ? '-ERR no such message\r\n' : `+OK ${arg} ${value(i)}\r\n`);
      }
      let r = '+OK\r\n';
      this.maildrop.forEach((m, i) => {
        if (!this.deleted[i]) r += `${i + 1} ${value(i)}\r\n`;
      });
      return this.reply(r + '.\r\n');
    }
    if (verb === 'RETR') {
      const i = this.index(arg);
      if (i < 0) return this.reply('-ERR no such message\r\n');
      const m = this.maildrop[i];
      let answer = retrAnswers.get(m.content);
      if (!answer) {
        answer = Buffer.concat([Buffer.from(`+OK ${m.content.length} octets\r\n`),
                                dotStuff(m.content), Buffer.from('.\r\n')]);
        retrAnswers.set(m.content, answer);
      }
      return this.reply(answer);
    }
    if (verb === 'DELE') {
      const i = this.index(arg);
      if (i < 0) return this.reply('-ERR no such message\r\n');
      this.deleted[i] = true;
      return this.reply('+OK marked\r\n');
    }
    if (verb === 'NOOP') return this.reply('+OK\r\n');
    if (verb === 'RSET') {
      this.deleted = this.maildrop.map(() => false);
      return this.reply('+OK\r\n');
    }
    return this.reply('-ERR unknown command\r\n');
  }
}

module.exports = {Pop3Peer, dotStuff};
