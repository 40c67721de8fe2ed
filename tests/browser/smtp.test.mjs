// The SMTP Accounts story in the browser, against real SMTP peers (tests/integration/lib/smtp.sh):
// Dovecot's submission service (STARTTLS, AUTH) relaying to Postfix's smtp-sink, whose
// capture files show what was delivered. An SMTP account is created through the form
// (Test SMTP Connection with the right and a wrong password), a message with an attachment
// is composed and sent from the browser (the WASM engine over the bridge): the capture holds
// it (envelope with the Bcc recipient, attachment intact), Sent holds one copy equal to the
// captured message byte for byte. Then the proxy stops: the app, reloaded offline, composes a
// message that waits in the Outbox (IndexedDB) and is delivered by itself once the proxy is
// back — exactly once, also after the outbox's 30 s retry timer has run.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import {
  JunctionProxy, SmtpPeers, Story, SHORT, LONG, env, sourceAccounts, launchBrowser, signIn,
  visible, gone, text, until, sleep, screenshot, api, account, storedPassword,
} from './lib/harness.mjs';

const story = new Story(import.meta.filename ?? new URL(import.meta.url).pathname);
const smtp = new SmtpPeers();
let proxy;
const USER = 'erin';
const PASSWORD = 'erin-browser-pw-1';
// The submission server's user (Dovecot's passwd-file, shared with the source servers).
const SUBMIT = { user: 'esubmit', password: 'esubmit-pw-5' };
const ACCOUNT = { name: 'Erin Example', email: 'erin@junction.test', server: 'localhost' };
// The capture and the data dir are new for each run: the subjects alone identify the messages.
const FIRST = { subject: 'Quarterly report', to: 'Bob Roe <bob@example.net>',
  bcc: 'hidden@example.net', text: 'Hello Bob,\n\nthe report is attached.\n\n-- \nErin\n' };
const OFFLINE = { subject: 'Written offline', to: 'carl@example.net',
  text: 'Sent while the Junction server was down.\n' };
const ATTACHMENT = { name: 'report.bin', mimeType: 'application/octet-stream',
  buffer: crypto.randomBytes(30000) };
let context;
let page;

// ---- the page's SMTP parts (web/index.html) ----

function smtpForm() {
  return page.locator('form').filter({
    has: page.getByRole('heading', { name: /^(New|Edit) SMTP Account$/ }),
  });
}

function smtpTable() {
  return page.getByRole('table', { name: 'SMTP accounts' });
}

function outboxRow(subject) {
  return page.getByRole('table', { name: 'Outbox' }).getByRole('row').filter({ hasText: subject });
}

async function fillForm(form, fields) {
  for (const [label, value] of Object.entries(fields)) {
    const field = form.getByLabel(label, { exact: true });
    await visible(field, `the field "${label}" in the form`);
    const tag = await field.evaluate((e) => `${e.tagName}:${e.type || ''}`);
    if (tag.startsWith('SELECT')) await field.selectOption(String(value));
    else if (tag === 'INPUT:checkbox') await field.setChecked(Boolean(value));
    else await field.fill(String(value));
  }
}

// Clicks "Test SMTP Connection" and waits for the final #smtp-test-result ("Connection OK…" or
// "Connection failed…", not the "Testing the connection…" in between), which must match
// `pattern`. The result of an earlier click must be replaced first.
async function testSmtp(pattern, what) {
  const result = page.locator('#smtp-test-result');
  await result.evaluate((e) => { e.textContent = ''; });
  await smtpForm().getByRole('button', { name: 'Test SMTP Connection', exact: true }).click();
  const shown = await text(result, /^Connection (OK|failed)/, what, LONG);
  if (!pattern.test(shown)) {
    throw new Error(`expected ${what} to match ${pattern}; #smtp-test-result says ` +
      `${JSON.stringify(shown)}`);
  }
  return shown;
}

async function openCompose() {
  await page.getByRole('link', { name: 'Compose' }).click();
  await visible(page.getByRole('heading', { name: 'Compose' }), 'the heading "Compose"');
}

// The messages of the Sent folder on disk (Maildir++ ".Sent").
function sentFiles() {
  const files = [];
  for (const sub of ['cur', 'new']) {
    const dir = path.join(proxy.mailbox(), '.Sent', sub);
    if (fs.existsSync(dir)) for (const f of fs.readdirSync(dir)) files.push(path.join(dir, f));
  }
  return files;
}

function sentFilesWith(subject) {
  return sentFiles().filter((f) => fs.readFileSync(f, 'latin1').split('\r\n\r\n')[0]
    .split('\r\n').includes(`Subject: ${subject}`));
}

// The Sent folder through the API with the page's session: its messages with `subject`.
async function sentListed(subject) {
  const { status, data, text: body } = await api(context, proxy.url, 'GET',
    '/api/mailbox/messages?folder=Sent');
  if (status !== 200) throw new Error(`GET /api/mailbox/messages?folder=Sent → ${status}: ${body}`);
  return data.messages.filter((m) => m.subject === subject);
}

function messageIdOf(message) {
  const head = message.toString('latin1').split('\r\n\r\n')[0];
  const m = /^Message-ID:[ \t]*(<[^>\r\n]+>)/im.exec(head);
  return m ? m[1] : null;
}

// ---- the story ----

story.step('setup: submission server and capture, junction-proxy serve, Chromium', async () => {
  sourceAccounts([{ user: SUBMIT.user, password: SUBMIT.password, folders: [] }]);
  await smtp.start();
  story.onCleanup(() => smtp.stop());
  console.log(`  submission STARTTLS :${smtp.subPort}, implicit TLS :${smtp.subsPort}, ` +
    `capture :${smtp.sinkPort} (${smtp.dir}/sink)`);
  proxy = new JunctionProxy('smtp', { allow: [smtp.subPort, smtp.subsPort] });
  proxy.addUser(USER, PASSWORD);
  await proxy.start();
  story.onCleanup(() => proxy.stop());
  const profile = path.join(proxy.work, 'profile');
  fs.mkdirSync(profile);
  ({ context, page } = await launchBrowser(profile));
  story.page = page;
  story.onCleanup(() => context.close());
  await signIn(page, proxy.url, USER, PASSWORD);
  await visible(page.getByRole('heading', { name: 'SMTP Accounts' }),
    'the heading "SMTP Accounts" on the Connectivity page after signing in');
});

story.step('create an SMTP account: Test SMTP Connection (wrong password fails, right one OK), Save',
  async () => {
    await page.getByRole('button', { name: 'New SMTP Account' }).click();
    const form = smtpForm();
    await visible(form, 'the SMTP account form (heading "New SMTP Account")');
    // The form proposes the port of the encryption picked (RFC 8314: 465, 587).
    await fillForm(form, { 'Encryption': 'ssl' });
    assert.equal(await form.getByLabel('Port', { exact: true }).inputValue(), '465',
      'the Port proposed for SSL/TLS');
    await fillForm(form, { 'Encryption': 'starttls' });
    assert.equal(await form.getByLabel('Port', { exact: true }).inputValue(), '587',
      'the Port proposed for STARTTLS');
    await fillForm(form, {
      'Display Name': ACCOUNT.name,
      'Server Address': ACCOUNT.server,
      'Encryption': 'starttls',
      'Port': smtp.subPort,
      'Email Address': ACCOUNT.email,
      'Enable Authentication': true,
      'Username': SUBMIT.user,
      'Password': 'wrong-password-9',
    });
    const failed = await testSmtp(/^Connection failed/, 'Test SMTP Connection, wrong password');
    console.log(`  wrong password: ${failed}`);
    assert.match(failed, /log ?in|password|auth|credential/i,
      `the failure should say the login was refused: ${JSON.stringify(failed)}`);
    await fillForm(form, { 'Password': SUBMIT.password });
    const ok = await testSmtp(/^Connection OK/, 'Test SMTP Connection, right password');
    console.log(`  right password: ${ok}`);
    await form.getByRole('button', { name: 'Save', exact: true }).click();
    await gone(page.getByRole('heading', { name: 'New SMTP Account' }), 'the SMTP form after Save');
    const row = smtpTable().getByRole('row').filter({ hasText: ACCOUNT.email });
    await visible(row, `a row for ${ACCOUNT.email} in the table "SMTP accounts"`);
    await text(row, new RegExp(`${ACCOUNT.name}.*${ACCOUNT.server}:${smtp.subPort}.*STARTTLS`),
      'the account row (Display Name, Email Address, Server, Encryption)');
    await visible(row.getByRole('button', { name: 'Edit' }), 'the row\'s "Edit" button');
    await visible(row.getByRole('button', { name: 'Delete' }), 'the row\'s "Delete" button');
    const doc = await until(async () => {
      const a = await account(context, proxy.url);
      return a.smtp_accounts && a.smtp_accounts.length === 1 ? a : false;
    }, 'the server\'s account document to hold the SMTP account', SHORT,
    (v) => JSON.stringify(v).slice(0, 300));
    const saved = doc.smtp_accounts[0];
    const want = { display_name: ACCOUNT.name, server: ACCOUNT.server, port: smtp.subPort,
      encryption: 'starttls', email: ACCOUNT.email, auth: true, username: SUBMIT.user };
    for (const [key, value] of Object.entries(want)) {
      assert.equal(saved[key], value, `the saved SMTP account's ${key}`);
    }
    assert.ok(saved.id, 'the saved SMTP account has an id');
    assert.equal(saved.password_set, true, 'the saved SMTP account shows that a password is stored');
    assert.equal(await storedPassword(context, proxy.url, 'smtp_accounts', saved.id),
      SUBMIT.password, 'the saved SMTP account\'s password (GET /api/account/smtp_accounts/{id}/secrets)');
    await screenshot(page, 'smtp-accounts');
  });

story.step('compose and send with an attachment: the capture receives it, Sent holds the copy',
  async () => {
    await openCompose();
    const from = page.getByLabel('From', { exact: true });
    await until(async () => (await from.locator('option').allTextContents())
      .some((t) => t.includes(ACCOUNT.name) && t.includes(ACCOUNT.email)),
    `"From" to list "${ACCOUNT.name} <${ACCOUNT.email}>"`, SHORT,
    () => 'not listed');
    await page.getByLabel('To', { exact: true }).fill(FIRST.to);
    await page.getByLabel('Bcc', { exact: true }).fill(FIRST.bcc);
    await page.getByLabel('Subject', { exact: true }).fill(FIRST.subject);
    await page.getByLabel('Message', { exact: true }).fill(FIRST.text);
    await page.getByLabel('Attachments', { exact: true }).setInputFiles(ATTACHMENT);
    const before = smtp.captures().length;
    await page.getByRole('button', { name: 'Send', exact: true }).click();
    const result = await text(page.locator('#send-result'), /^(Sent|Not sent)\b/,
      'the send result in #send-result', LONG);
    console.log(`  ${result}`);
    assert.match(result, /^Sent\. /, 'the message was sent');
    assert.match(result, /bob@example\.net: accepted/, 'bob@example.net accepted');
    assert.match(result, /hidden@example\.net: accepted/, 'the Bcc recipient accepted');
    await visible(outboxRow(FIRST.subject).and(page.locator('[data-state="sent"]')),
      'the message in the Outbox with data-state="sent"');

    const captures = await until(() => {
      const c = smtp.capturesWith(`Subject: ${FIRST.subject}`);
      return c.length ? c : false;
    }, `the capture (smtp-sink) to receive "${FIRST.subject}"`, 15_000,
    () => `${smtp.captures().length - before} new capture(s), none with that Subject`);
    assert.equal(captures.length, 1, 'one capture of the message');
    const message = smtp.message(captures[0]);
    const messageId = messageIdOf(message);
    assert.ok(messageId, 'the captured message has a Message-ID');
    assert.equal(smtp.capturesWith(`Message-ID: ${messageId}`).length, 1,
      `one capture with Message-ID ${messageId}`);
    const envelope = smtp.envelope(captures[0]);
    assert.ok(envelope.some((l) => /^MAIL <erin@junction\.test>/.test(l)),
      `the envelope sender is the account's address: ${envelope.join(' | ')}`);
    for (const rcpt of ['bob@example.net', 'hidden@example.net']) {
      assert.ok(envelope.some((l) => l.startsWith(`RCPT <${rcpt}>`)),
        `${rcpt} in the envelope: ${envelope.join(' | ')}`);
    }
    const head = message.toString('utf8').split('\r\n\r\n')[0];
    assert.match(head, /^From: "?Erin Example"? <erin@junction\.test>\r?$/m,
      'From carries the display name');
    assert.doesNotMatch(head, /^Bcc:|hidden@example\.net/im, 'no trace of the Bcc in the headers');
    // The attachment, decoded by Python's email package, equals the file given to the form.
    const want = path.join(proxy.work, ATTACHMENT.name);
    fs.writeFileSync(want, ATTACHMENT.buffer);
    const check = spawnSync(env('DC_PY'), ['-c', `
import email, sys
from email import policy
m = email.message_from_binary_file(sys.stdin.buffer, policy=policy.default)
parts = [p for p in m.iter_attachments() if p.get_filename() == sys.argv[1]]
want = open(sys.argv[2], "rb").read()
if len(parts) != 1:
    sys.exit(f"{len(parts)} attachment(s) named {sys.argv[1]}")
got = parts[0].get_content()
sys.exit(0 if got == want else f"attachment differs: {len(got)} bytes, want {len(want)}")
`, ATTACHMENT.name, want], { input: message, encoding: 'utf8' });
    assert.equal(check.status, 0, `the captured attachment: ${check.stderr.trim()}`);
    assert.ok(message.toString('utf8').includes('the report is attached.'),
      'the captured message holds the text of "Message"');

    // Sent: one copy on disk, equal to the captured message, and listed by the API.
    const sent = await until(() => {
      const files = sentFilesWith(FIRST.subject);
      return files.length ? files : false;
    }, `a copy of "${FIRST.subject}" in the Sent folder on disk`, SHORT, () => sentFiles());
    assert.equal(sent.length, 1, `one copy in Sent: ${sent}`);
    assert.match(path.basename(sent[0]), /:2,[A-Z]*S/, 'the Sent copy is \\Seen');
    const same = smtp.compare(captures[0], sent[0]);
    assert.ok(same.same, `the captured message equals the Sent copy: ${same.how}`);
    console.log(`  capture vs Sent copy: ${same.how}`);
    assert.equal((await sentListed(FIRST.subject)).length, 1,
      'GET /api/mailbox/messages?folder=Sent lists the message once');
    await until(async () => /to every recipient/.test(await outboxRow(FIRST.subject).innerText()),
      'the Outbox row to say "Sent to every recipient" (the Sent copy saved)', SHORT,
      () => 'no');
    await screenshot(page, 'compose-outbox');
  });

let offlineSentAt = 0;

story.step('offline: the proxy stops, the app reopens offline, a message sent now waits in the ' +
  'Outbox', async () => {
  await proxy.stop();
  // The app, reloaded while the proxy is down (service worker, IndexedDB), still composes.
  await page.reload();
  await text(page.locator('#connection-state'), /Offline/, 'the "Offline" indicator after a ' +
    'reload with the proxy stopped', SHORT);
  await openCompose();
  await visible(outboxRow(FIRST.subject).and(page.locator('[data-state="sent"]')),
    'the first message, still "sent" in the Outbox of the offline app');
  await page.getByLabel('To', { exact: true }).fill(OFFLINE.to);
  await page.getByLabel('Subject', { exact: true }).fill(OFFLINE.subject);
  await page.getByLabel('Message', { exact: true }).fill(OFFLINE.text);
  offlineSentAt = Date.now();
  await page.getByRole('button', { name: 'Send', exact: true }).click();
  const result = await text(page.locator('#send-result'),
    /^(Sent|Not sent|Offline)\b|waits in the Outbox/, 'the send result while offline', LONG);
  console.log(`  offline: ${result}`);
  assert.match(result, /waits in the Outbox/, 'offline, the message waits in the Outbox');
  await visible(outboxRow(OFFLINE.subject).and(page.locator('[data-state="queued"]')),
    'the offline message in the Outbox with data-state="queued"');
  await sleep(2000);
  assert.equal(smtp.capturesWith(`Subject: ${OFFLINE.subject}`).length, 0,
    'nothing delivered while the proxy is down');
  await visible(outboxRow(OFFLINE.subject).and(page.locator('[data-state="queued"]')),
    'the offline message still queued 2 s later');
});

story.step('back online: the message is delivered by itself, exactly once', async () => {
  await proxy.start();
  const backAt = Date.now();
  await visible(outboxRow(OFFLINE.subject).and(page.locator('[data-state="sent"]')),
    'the offline message to turn data-state="sent" once the proxy is back', LONG);
  console.log(`  sent ${((Date.now() - backAt) / 1000).toFixed(1)} s after the proxy came back`);
  await gone(page.locator('#connection-state'), 'the "Offline" indicator', SHORT);
  const captures = await until(() => {
    const c = smtp.capturesWith(`Subject: ${OFFLINE.subject}`);
    return c.length ? c : false;
  }, `the capture to receive "${OFFLINE.subject}"`, 15_000, () => 'none');
  const messageId = messageIdOf(smtp.message(captures[0]));
  assert.ok(messageId, 'the captured offline message has a Message-ID');
  assert.ok(smtp.envelope(captures[0]).some((l) => l.startsWith('RCPT <carl@example.net>')),
    'carl@example.net in the envelope');
  await until(() => sentFilesWith(OFFLINE.subject).length > 0,
    `a copy of "${OFFLINE.subject}" in Sent`, SHORT, () => sentFiles());
  // Outlast the outbox's 30 s retry timer (set when the first attempt found the proxy gone),
  // then count: one delivery, one Sent copy; the first message was not sent again either.
  const wait = offlineSentAt + 36_000 - Date.now();
  if (wait > 0) await sleep(wait);
  assert.equal(smtp.capturesWith(`Subject: ${OFFLINE.subject}`).length, 1,
    'the offline message was captured exactly once');
  assert.equal(smtp.capturesWith(`Message-ID: ${messageId}`).length, 1,
    `exactly one capture with Message-ID ${messageId}`);
  assert.equal(smtp.capturesWith(`Subject: ${FIRST.subject}`).length, 1,
    'the first message is still captured once');
  assert.equal(sentFilesWith(OFFLINE.subject).length, 1, 'one Sent copy of the offline message');
  assert.equal(sentFilesWith(FIRST.subject).length, 1, 'one Sent copy of the first message');
  assert.equal((await sentListed(OFFLINE.subject)).length, 1,
    'GET /api/mailbox/messages?folder=Sent lists the offline message once');
  assert.equal(smtp.captures().length, 2, 'two captures in all');
  const sentRow = outboxRow(OFFLINE.subject);
  assert.equal(await sentRow.getAttribute('data-state'), 'sent', 'the Outbox row stays "sent"');
});
