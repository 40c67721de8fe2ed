// What every browser test file shares: the junction-proxy it starts and stops, the Dovecot
// that run.sh started, Chromium through playwright-core, and steps that stop at the first
// failure with a message saying what was expected, plus a screenshot.
//
// The environment comes from run.sh: JUNCTION_PROXY, JUNCTION_WWW, JUNCTION_BROWSER_WORK,
// JUNCTION_DOVECOT_LIB, JUNCTION_SCREENSHOTS, DC_DIR, DC_CA, DC_MANIFEST, DC_*_PORT.
import { test, after } from 'node:test';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

export function env(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run the browser tests through tests/browser/run.sh`);
  }
  return value;
}

export const ports = {
  get pop3() { return Number(env('DC_POP3_PORT')); },
  get pop3s() { return Number(env('DC_POP3S_PORT')); },
  get imap() { return Number(env('DC_IMAP_PORT')); },
  get imaps() { return Number(env('DC_IMAPS_PORT')); },
  get spare1() { return Number(env('DC_SPARE_PORT1')); },
  get spare2() { return Number(env('DC_SPARE_PORT2')); },
};

// The flags TOOLCHAIN-NOTES.md found to work with Debian's Chromium here.
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

// Every process spawned here (proxies, relays) dies with the test process; so do the
// daemons started through bash (smtp-sink, a Dovecot master), known by their pid only.
const liveChildren = new Set();
const livePids = new Set();

// Waits are bounded and say what they waited for; these are the usual limits (ms).
export const SHORT = 10_000;
export const LONG = 60_000;

// ---- Dovecot (the source servers) ----

// Runs bash with tests/integration/lib/dovecot.sh attached to run.sh's instance (and with
// lib/smtp.sh too when `smtp` is true; then all of dc_setup's variables are read at the top
// level, because dc_attach sources them inside a function, where `declare` makes them local).
export function dovecot(script, { smtp = false } = {}) {
  const lib = env('JUNCTION_DOVECOT_LIB');
  const smtpLib = smtp ? `source "${lib}/smtp.sh"; source "$DC_DIR/env.sh"; ` : '';
  const result = spawnSync('bash', ['-c',
    `set -euo pipefail; source "${lib}/dovecot.sh"; ${smtpLib}dc_attach "$DC_DIR"; ${script}`],
    { encoding: 'utf8' });
  if (result.status !== 0) {
    throw new Error(`dovecot helper failed (${script}): ${result.stderr || result.stdout}`);
  }
  return result.stdout.trim();
}

// Source accounts with generated messages (genmail.py; recorded in DC_MANIFEST, whose
// subjects read "Test message I of seed S (FOLDER)"). Each account: {user, password,
// folders: [[FOLDER, COUNT, SEED, ...genmail options]]}. All users are added before any is
// filled: Dovecot's auth process may not see a user added after it read its passwd-file.
export function sourceAccounts(accounts) {
  let script = '';
  for (const { user, password } of accounts) script += `dc_add_user '${user}' '${password}'; `;
  for (const { user, folders } of accounts) {
    for (const [folder, count, seed, ...options] of folders) {
      if (folder !== 'INBOX') script += `dc_create_folder '${user}' '${folder}'; `;
      script += `dc_fill '${user}' '${folder}' ${count} ${seed} ${options.join(' ')} >/dev/null; `;
    }
  }
  dovecot(script);
}

export function sourceCount(user, folder) {
  return Number(dovecot(`dc_count '${user}' '${folder}'`));
}

export function subjectOf(index, seed, folder) {
  return `Test message ${index} of seed ${seed} (${folder})`;
}

// A relay on 127.0.0.1:listenPort to Dovecot's targetPort that sends at most `rate` bytes a
// second to the client (cutproxy.py): a retrieval slow enough to watch its progress.
export async function slowRelay(listenPort, targetPort, rate) {
  const ready = path.join(env('JUNCTION_BROWSER_WORK'), `relay-${listenPort}.ready`);
  fs.rmSync(ready, { force: true });
  const relay = spawn(env('DC_PY'), [path.join(env('JUNCTION_DOVECOT_LIB'), 'cutproxy.py'),
    '--listen-port', String(listenPort), '--target-port', String(targetPort),
    '--rate', String(rate), '--lifetime', '600', '--ready-file', ready], { stdio: 'ignore' });
  liveChildren.add(relay);
  await until(() => fs.existsSync(ready) || relay.exitCode !== null,
    `the relay on port ${listenPort} to be ready`);
  if (relay.exitCode !== null) {
    throw new Error(`the relay on port ${listenPort} exited (${relay.exitCode})`);
  }
  return relay;
}

// checkmaildir.py over a Junction mailbox; throws with its FAIL lines.
export function checkMaildir(mailbox, args, label) {
  const result = spawnSync(env('DC_PY'), [
    path.join(env('JUNCTION_DOVECOT_LIB'), 'checkmaildir.py'), '--manifest', env('DC_MANIFEST'),
    '--mailbox', mailbox, '--label', label, ...args], { encoding: 'utf8' });
  const lines = (result.stdout + result.stderr).trim();
  if (result.status !== 0) throw new Error(`the messages on disk are not right:\n${lines}`);
  return lines;
}

// ---- SMTP peers (tests/integration/lib/smtp.sh) ----

// lib/smtp.sh's peers inside run.sh's Dovecot folder: smtp-sink "sink" (the capture: accepts
// everything, one file per mail transaction) and Dovecot's submission service relaying to it
// (STARTTLS on subPort, implicit TLS on subsPort, certificate for "localhost" from the tests'
// CA, AUTH against Dovecot's users as sourceAccounts adds them). start() once per test file;
// stop() stops both (a test process that dies kills them too).
export class SmtpPeers {
  async start() {
    // Two calls, so that the sink's pid is known (to stop it) even if the submission fails.
    const vars = parseVars(dovecot('sm_setup; sm_start sink; ' +
      'echo "SM_DIR=$SM_DIR SINK_PID=${SM_PIDS[0]} SINK_PORT=$SM_SINK_PORT ' +
      'SUB_PORT=$SM_SUB_PORT SUBS_PORT=$SM_SUBS_PORT"', { smtp: true }));
    this.dir = vars.SM_DIR;
    this.sinkPid = Number(vars.SINK_PID);
    livePids.add(this.sinkPid);
    this.sinkPort = Number(vars.SINK_PORT);
    this.subPort = Number(vars.SUB_PORT);
    this.subsPort = Number(vars.SUBS_PORT);
    // The Dovecot master keeps the standard output and error it was given: not this pipe.
    const sub = parseVars(dovecot('source "$DC_DIR/smtp/env.sh"; ' +
      'sm_start submission </dev/null >>"$SM_DIR/log/submission-start.log" 2>&1 || ' +
      '{ tail -20 "$SM_DIR/log/submission-start.log" >&2; exit 1; }; ' +
      'echo "SUB_PID=$(cat "$(dc_pidfile submission)")"', { smtp: true }));
    this.submissionPid = Number(sub.SUB_PID);
    livePids.add(this.submissionPid);
  }

  async stop() {
    if (this.submissionPid) {
      // dc_stop stops the instances named in DC_INSTANCES_STARTED (and waits for them).
      dovecot('DC_INSTANCES_STARTED=(submission); dc_stop');
      livePids.delete(this.submissionPid);
      this.submissionPid = 0;
    }
    if (this.sinkPid) {
      try { process.kill(this.sinkPid, 'SIGTERM'); } catch { /* gone already */ }
      livePids.delete(this.sinkPid);
      this.sinkPid = 0;
    }
  }

  // The capture files of the sink, oldest first.
  captures() {
    const dir = path.join(this.dir, 'sink');
    return fs.readdirSync(dir).map((name) => path.join(dir, name))
      .filter((file) => fs.statSync(file).isFile())
      .sort((a, b) => fs.statSync(a).mtimeMs - fs.statSync(b).mtimeMs || a.localeCompare(b));
  }

  // The capture files whose message has this header line (e.g. "Subject: X" or
  // "Message-ID: <x@y>"; compared case-insensitively in the header name only, the whole line).
  capturesWith(headerLine) {
    const [name, ...rest] = headerLine.split(':');
    const value = rest.join(':').trim();
    return this.captures().filter((file) => {
      const head = fs.readFileSync(file, 'latin1').split('\n\n')[0].split('\n');
      return head.some((line) => {
        const at = line.indexOf(':');
        return at > 0 && line.slice(0, at).toLowerCase() === name.toLowerCase() &&
          line.slice(at + 1).trim() === value;
      });
    });
  }

  // "MAIL <from> ..." and "RCPT <to> ..." lines of a capture (smtp-sink's envelope records).
  envelope(file) {
    return this.#run(`sm_capture_envelope '${file}'`).stdout.toString('utf8').trim().split('\n');
  }

  // The message of a capture, CRLF line ends, without the Received: headers on top.
  message(file) {
    return this.#run(`sm_capture_message '${file}'`).stdout;
  }

  // {same, how}: whether the captured message equals the file `sent` byte for byte.
  compare(file, sent) {
    const result = this.#run(`sm_compare_capture '${file}' '${sent}'`, false);
    return { same: result.status === 0, how: result.stdout.toString('utf8').trim() };
  }

  #run(script, check = true) {
    const lib = env('JUNCTION_DOVECOT_LIB');
    const result = spawnSync('bash', ['-c', `set -euo pipefail; source "${lib}/dovecot.sh"; ` +
      `source "${lib}/smtp.sh"; source "$DC_DIR/env.sh"; source "$DC_DIR/smtp/env.sh"; ` +
      `export SM_DIR; ${script}`]);
    if (check && result.status !== 0) {
      throw new Error(`smtp helper failed (${script}): ${result.stderr.toString('utf8')}`);
    }
    return result;
  }
}

function parseVars(text) {
  const vars = {};
  for (const m of text.matchAll(/([A-Z_]+)=(\S*)/g)) vars[m[1]] = m[2];
  return vars;
}

// ---- junction-proxy ----

let proxyCount = 0;

export class JunctionProxy {
  // One data dir and one port for the whole file, so that a restart finds the same data
  // and the browser the same origin.
  // `allow`: more ports of 127.0.0.1/localhost the bridge may reach (e.g. SmtpPeers'), beside
  // Dovecot's.
  constructor(name, { allow = [] } = {}) {
    this.work = fs.mkdtempSync(path.join(env('JUNCTION_BROWSER_WORK'), `${name}-`));
    this.data = path.join(this.work, 'data');
    this.port = 0;
    this.process = null;
    this.allowPorts = allow;
  }

  get url() { return `http://127.0.0.1:${this.port}`; }

  addUser(name, password) {
    // `user add` reads the password from standard input.
    const result = spawnSync(env('JUNCTION_PROXY'), ['user', 'add', '--data', this.data, name],
      { input: `${password}\n`, encoding: 'utf8' });
    if (result.status !== 0) {
      throw new Error(`junction-proxy user add ${name} failed (exit ${result.status}): ` +
        `${result.stderr.trim()}`);
    }
  }

  // The user's Maildir++ mailbox (one user per file: the only folder under users/).
  mailbox() {
    const users = path.join(this.data, 'users');
    const ids = fs.existsSync(users) ? fs.readdirSync(users) : [];
    if (ids.length !== 1) throw new Error(`expected one user folder in ${users}, found [${ids}]`);
    return path.join(users, ids[0], 'mailbox');
  }

  async start(extraArgs = []) {
    if (!this.port) this.port = await freePort();
    proxyCount += 1;
    const log = path.join(this.work, `proxy-${proxyCount}`);
    this.log = log;
    const allow = [];
    for (const host of ['127.0.0.1', 'localhost']) {
      for (const port of [ports.pop3, ports.pop3s, ports.imap, ports.imaps, ports.spare1,
        ports.spare2, ...this.allowPorts]) {
        allow.push('--allow', `${host}:${port}`);
      }
    }
    const args = ['serve', '--data', this.data, '--listen', `127.0.0.1:${this.port}`,
      '--web', env('JUNCTION_WWW'), ...allow, ...extraArgs];
    const out = fs.openSync(`${log}.out`, 'w');
    const err = fs.openSync(`${log}.err`, 'w');
    this.process = spawn(env('JUNCTION_PROXY'), args, {
      // The tests' Dovecot has a certificate from the tests' own CA.
      env: { ...process.env, SSL_CERT_FILE: env('DC_CA') },
      stdio: ['ignore', out, err],
    });
    fs.closeSync(out); // the child has its own copies
    fs.closeSync(err);
    liveChildren.add(this.process);
    const exited = new Promise((resolve) => this.process.once('exit', resolve));
    const deadline = Date.now() + SHORT;
    let last = 'no answer';
    while (Date.now() < deadline) {
      try {
        const response = await fetch(`${this.url}/api/account`);
        last = `HTTP ${response.status}`;
        if (response.status === 401) return;
      } catch (e) {
        last = e.cause ? e.cause.code || e.message : e.message;
      }
      const code = await Promise.race([exited, sleep(100).then(() => undefined)]);
      if (code !== undefined) break;
    }
    throw new Error(`junction-proxy serve did not start answering on ${this.url} (${last}); ` +
      `stderr:\n${tail(`${log}.err`)}`);
  }

  // SIGTERM (a clean stop) or SIGKILL; waits until the process is gone and its port closed.
  async stop(signal = 'SIGTERM') {
    const p = this.process;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((resolve) => p.once('exit', resolve));
    p.kill(signal);
    const timer = setTimeout(() => p.kill('SIGKILL'), SHORT);
    await exited;
    clearTimeout(timer);
    liveChildren.delete(p);
    this.process = null;
  }
}

function tail(file, lines = 20) {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

// A port nothing listens on now (the OS picks it, then it is closed again).
async function freePort() {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// A test process killed half-way must not leave a proxy or relay behind.
function killChildren() {
  for (const p of liveChildren) {
    try { p.kill('SIGKILL'); } catch { /* gone already */ }
  }
  for (const pid of livePids) {
    try { process.kill(pid, 'SIGKILL'); } catch { /* gone already */ }
  }
}
process.on('exit', killChildren);
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    killChildren();
    process.exit(130);
  });
}

// ---- the browser ----

// Chromium with a persistent profile in `dir` (a second launch with the same dir sees the
// same cookies, caches, IndexedDB and service worker).
export async function launchBrowser(dir) {
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 860 },
  });
  const page = context.pages()[0] || await context.newPage();
  page.on('pageerror', (error) => console.log(`  [page error] ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') console.log(`  [console.error] ${message.text()}`);
  });
  return { context, page };
}

// The sign-in form (web/index.html: fields "Username", "Password", button "Sign in"). Scoped, because
// the task form has fields with the same labels.
export function signInForm(page) {
  return page.locator('form').filter({ has: page.getByRole('button', { name: 'Sign in' }) });
}

export async function signIn(page, url, username, password) {
  await page.goto(url);
  const form = signInForm(page);
  await visible(form.getByLabel('Username', { exact: true }), 'the sign-in field "Username"');
  await form.getByLabel('Username', { exact: true }).fill(username);
  await form.getByLabel('Password', { exact: true }).fill(password);
  await form.getByRole('button', { name: 'Sign in' }).click();
}

// An API call with the browser's session cookie (HttpOnly, so read from the context) and
// the Origin the proxy requires on writes.
export async function api(context, base, method, route, { body, headers = {} } = {}) {
  const cookies = await context.cookies(base);
  const response = await fetch(base + route, {
    method,
    headers: {
      Cookie: cookies.map((c) => `${c.name}=${c.value}`).join('; '),
      Origin: base,
      ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
      ...headers,
    },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  let data = null;
  try { data = JSON.parse(text); } catch { data = null; }
  return { status: response.status, data, text };
}

// ---- waits that say what they expected ----

export async function visible(locator, what, timeout = SHORT) {
  try {
    await locator.first().waitFor({ state: 'visible', timeout });
  } catch {
    const count = await locator.count().catch(() => 0);
    throw new Error(`expected ${what} to be visible within ${timeout / 1000} s ` +
      `(${count} element(s) match ${locator})`);
  }
  return locator.first();
}

export async function gone(locator, what, timeout = SHORT) {
  try {
    await locator.first().waitFor({ state: 'hidden', timeout });
  } catch {
    throw new Error(`expected ${what} to disappear within ${timeout / 1000} s (${locator})`);
  }
}

// Waits until `locator` is visible and its text matches `pattern`; the error shows the last
// text seen.
export async function text(locator, pattern, what, timeout = SHORT) {
  let last = '(no such element)';
  const deadline = Date.now() + timeout;
  for (;;) {
    if (await locator.count() > 0) {
      const shown = await locator.first().isVisible().catch(() => false);
      last = (await locator.first().textContent().catch(() => '') || '').trim();
      if (shown && pattern.test(last)) return last;
      if (!shown) last = `(hidden) ${last}`;
    }
    if (Date.now() > deadline) break;
    await sleep(100);
  }
  throw new Error(`expected ${what} to match ${pattern} within ${timeout / 1000} s; ` +
    `last text: ${JSON.stringify(last.length > 300 ? `${last.slice(0, 300)}…` : last)}`);
}

// Polls fn() until it returns a truthy value; the error includes describe(last value).
export async function until(fn, what, timeout = SHORT, describe = (v) => JSON.stringify(v)) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = `error: ${e.message}`;
    }
    if (Date.now() > deadline) break;
    await sleep(250);
  }
  throw new Error(`expected ${what} within ${timeout / 1000} s; last seen: ${describe(last)}`);
}

// ---- steps ----

// The tests of one file form one story (each step builds on the ones before): after a failed
// step the rest are skipped, saying which one failed. A failed step leaves a screenshot.
export class Story {
  constructor(file) {
    this.name = path.basename(file).replace(/\.test\.mjs$/, '');
    // Failure screenshots of an earlier run of this file would mislead.
    const failures = path.join(env('JUNCTION_SCREENSHOTS'), 'failures');
    for (const old of fs.existsSync(failures) ? fs.readdirSync(failures) : []) {
      if (old.startsWith(`${this.name}--`)) fs.rmSync(path.join(failures, old));
    }
    this.failed = null;
    this.page = null;
    this.cleanups = [];
    after(async () => {
      for (const cleanup of this.cleanups.reverse()) {
        await cleanup().catch((e) => console.log(`  cleanup: ${e.message}`));
      }
    });
  }

  onCleanup(fn) { this.cleanups.push(fn); }

  step(title, fn, { timeout = 3 * LONG } = {}) {
    test(title, { timeout }, async (t) => {
      if (this.failed) {
        t.skip(`an earlier step failed: "${this.failed}"`);
        return;
      }
      try {
        await fn(t);
      } catch (error) {
        this.failed = title;
        if (this.page && !this.page.isClosed()) {
          const shot = path.join(env('JUNCTION_SCREENSHOTS'), 'failures',
            `${this.name}--${title.replace(/[^A-Za-z0-9]+/g, '-').slice(0, 60)}.png`);
          await this.page.screenshot({ path: shot, fullPage: true, timeout: 5000 })
            .then(() => console.log(`  screenshot of the failure: ${shot}`))
            .catch((e) => console.log(`  (no screenshot: ${e.message})`));
          console.log(`  page URL at the failure: ${this.page.url()}`);
        }
        throw error;
      }
    });
  }
}

// A documentation screenshot (the lead copies good ones into docs/).
export async function screenshot(page, name) {
  const file = path.join(env('JUNCTION_SCREENSHOTS'), `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`  screenshot: ${file}`);
  return file;
}

// ---- the web app's pages (web/index.html) ----

export function tasksTable(page) {
  return page.getByRole('table', { name: 'Retrieval tasks' });
}

// The row of the task whose Server column shows `server` (e.g. "127.0.0.1" or "localhost").
export function taskRow(page, server) {
  return tasksTable(page).getByRole('row').filter({ hasText: server });
}

// Opens the Connectivity page through the navigation link.
export async function openConnectivity(page) {
  await page.getByRole('link', { name: 'Connectivity' }).click();
  await visible(page.getByRole('heading', { name: 'Email Retrieval' }),
    'the heading "Email Retrieval" on the Connectivity page');
}

// The task form (a <form> with the heading "New Retrieval Task" or "Edit Retrieval Task").
export function taskForm(page) {
  return page.locator('form').filter({
    has: page.getByRole('heading', { name: /(New|Edit) Retrieval Task/ }),
  });
}

// Clicks one of the task form's buttons ("Save", "Cancel", "Test Connection").
export async function clickInTaskForm(page, name) {
  const button = taskForm(page).getByRole('button', { name, exact: true });
  await visible(button, `the button "${name}" in the task form`);
  await button.click();
}

// Fills the task form: `fields` maps the form's labels to values (select: option value; checkbox:
// boolean; text: string). Order matters (the Type and Encryption may change the Port), so
// it follows the object's order.
export async function fillTaskForm(page, fields) {
  const form = taskForm(page);
  await visible(form, 'the task form (a <form> with heading "New/Edit Retrieval Task")');
  for (const [label, value] of Object.entries(fields)) {
    const field = form.getByLabel(label, { exact: true });
    await visible(field, `the field "${label}" in the task form`);
    const tag = await field.evaluate((e) => `${e.tagName}:${e.type || ''}`);
    if (tag.startsWith('SELECT')) {
      await field.selectOption(String(value));
    } else if (tag === 'INPUT:checkbox') {
      await field.setChecked(Boolean(value));
    } else {
      await field.fill(String(value));
    }
  }
  return form;
}

// Clicks "Test Connection" and waits for #test-result to match `pattern`.
export async function testConnection(page, pattern, what) {
  const result = page.locator('#test-result');
  // A result from an earlier click may still be shown, and may even read like the expected
  // one: count the changes to #test-result from the click on (a MutationObserver sees a text
  // replaced by the same text too) and read the result only after one. No change is a
  // failure, never a reason to read the old result.
  const before = (await result.count()) ? (await result.innerText()).trim() : '';
  await page.evaluate(() => {
    const w = window.__junctionTestWatch || (window.__junctionTestWatch = {});
    w.changes = 0;
    if (w.observer) return;
    w.observer = new MutationObserver((records) => {
      const r = document.getElementById('test-result');
      if (!r) return;
      const touches = (m) => r.contains(m.target) ||
        [...m.addedNodes].some((n) => n === r || (n.contains && n.contains(r)));
      if (records.some(touches)) w.changes++;
    });
    w.observer.observe(document.body,
                       { subtree: true, childList: true, characterData: true, attributes: true });
  });
  await clickInTaskForm(page, 'Test Connection');
  if (before) {
    await until(() => page.evaluate(() => (window.__junctionTestWatch?.changes ?? 0) > 0),
                'the Test Connection result to be replaced after a new click', LONG);
  }
  return text(result, pattern, what, LONG);
}

// Records, from now on, what a retrieval shows: whether a <progress> (or role=progressbar)
// was visible, the texts of #run-progress, and every text written into #run-summary (even
// one equal to the last run's). A MutationObserver sees states too short for polling.
export async function watchRun(page) {
  await page.evaluate(() => {
    const w = window.__junctionRunWatch || (window.__junctionRunWatch = {});
    w.bar = false;
    w.progress = [];
    w.summaries = [];
    if (w.observer) return;
    const look = (records) => {
      const bar = document.querySelector('progress, [role=progressbar]');
      if (bar && bar.checkVisibility()) w.bar = true;
      const p = document.getElementById('run-progress');
      const t = p && p.checkVisibility() ? p.textContent.trim() : '';
      if (t && w.progress[w.progress.length - 1] !== t) w.progress.push(t);
      const s = document.getElementById('run-summary');
      if (s && records.some((r) => s.contains(r.target) || r.target.contains(s))) {
        w.summaries.push({ text: s.textContent.trim(), visible: s.checkVisibility() });
      }
    };
    w.observer = new MutationObserver(look);
    w.observer.observe(document.documentElement,
      { subtree: true, childList: true, attributes: true, characterData: true });
  });
}

export async function runSeen(page) {
  return page.evaluate(() => {
    const w = window.__junctionRunWatch || {};
    return { bar: Boolean(w.bar), progress: w.progress || [], summaries: w.summaries || [] };
  });
}

// The server's record of a task's runs (GET /api/tasks/{id}/status).
export async function taskStatus(context, base, taskId) {
  const { status, data } = await api(context, base, 'GET',
    `/api/tasks/${encodeURIComponent(taskId)}/status`);
  if (status !== 200) throw new Error(`GET /api/tasks/${taskId}/status → ${status}`);
  return data;
}

// Clicks "Retrieve Messages Now" in the task's row and waits until the run is over: the
// server has a new finished run of the task (a browser run is recorded with POST .../runs, a
// server run by the proxy), and the page wrote a final text into #run-summary after the
// click, which must match `summary`. Returns what was seen.
export async function retrieveNow(page, context, base, { server, taskId, summary }) {
  const before = JSON.stringify((await taskStatus(context, base, taskId)).last_run ?? null);
  await watchRun(page);
  const clickedAt = Math.floor(Date.now() / 1000);
  const row = taskRow(page, server);
  await visible(row, `the row of the task on ${server}`);
  await row.getByRole('button', { name: 'Retrieve Messages Now' }).click();
  const seen = await until(async () => {
    const s = await runSeen(page);
    return s.summaries.some((x) => /^(Done|Failed)\b/.test(x.text)) ? s : false;
  }, `a final "Done: …" or "Failed: …" written into #run-summary after "Retrieve Messages ` +
    `Now" on ${server}`, 2 * LONG, (v) => JSON.stringify(v).slice(0, 400));
  const final = seen.summaries.filter((x) => /^(Done|Failed)\b/.test(x.text)).pop();
  const status = await until(async () => {
    const s = await taskStatus(context, base, taskId);
    return s.last_run && JSON.stringify(s.last_run) !== before &&
      s.last_run.started_at >= clickedAt - 1 && !s.running ? s : false;
  }, `a new finished run of the task on ${server} recorded on the server ` +
    `(GET /api/tasks/{id}/status; before the click: ${before})`, LONG,
  (v) => JSON.stringify(v).slice(0, 400));
  if (!summary.test(final.text)) {
    throw new Error(`expected the run summary #run-summary after "Retrieve Messages Now" on ` +
      `${server} to match ${summary}; it said ${JSON.stringify(final.text)}`);
  }
  await visible(page.locator('#run-summary').filter({ hasText: final.text }),
    `the run summary "${final.text}"`);
  return { status, shown: final.text, seen: await runSeen(page) };
}

// The account document (GET /api/account) and its tasks. It holds no password: a stored one
// shows as "password_set": true (read it with storedPassword).
export async function account(context, base) {
  const { status, data, text: body } = await api(context, base, 'GET', '/api/account');
  if (status !== 200) throw new Error(`GET /api/account → ${status}: ${body.slice(0, 200)}`);
  const passwords = JSON.stringify(data).match(/"password"\s*:/g);
  if (passwords) throw new Error(`GET /api/account carries a password: ${body.slice(0, 300)}`);
  return data;
}

// The stored password of a task (list "retrieval_tasks") or SMTP account ("smtp_accounts"),
// from GET /api/account/{list}/{id}/secrets; undefined when none is stored.
export async function storedPassword(context, base, list, id) {
  const route = `/api/account/${list}/${encodeURIComponent(id)}/secrets`;
  const { status, data, text: body } = await api(context, base, 'GET', route);
  if (status !== 200) throw new Error(`GET ${route} → ${status}: ${body.slice(0, 200)}`);
  return data.secrets.password;
}
