// Junction's web app: sign-in, Settings › Connectivity (Email Retrieval, SMTP Accounts),
// Compose with its Outbox, and a read-only mailbox view. Protocols run in the WASM core
// (core.js, retrieval.js, outbox.js); the account lives in IndexedDB (db.js, sync.js) so the
// app opens and accepts edits without the server.
'use strict';

import { call, errorText, isOnline, onReachability, encodeSegment } from './api.js';
import { loadCore } from './core.js';
import * as db from './db.js';
import * as outbox from './outbox.js';
import { retrieveNow, runJob, testConnection } from './retrieval.js';
import * as sync from './sync.js';

// Every element with an id, also while it is detached (see present()).
const byId = new Map(Array.from(document.querySelectorAll('[id]'), (n) => [n.id, n]));
const $ = (id) => document.getElementById(id) || byId.get(id) || null;
const placeholders = new WeakMap();

// Forms that are not in use leave the document, so their fields do not answer to the same
// labels as the form in use (the sign-in "Password" and the task's "Password").
function present(node, wanted) {
  let mark = placeholders.get(node);
  if (!mark) {
    mark = document.createComment(node.id);
    placeholders.set(node, mark);
  }
  if (wanted && !node.isConnected && mark.isConnected) mark.replaceWith(node);
  if (!wanted && node.isConnected) node.replaceWith(mark);
}
const SECTIONS = ['loading', 'signin', 'change-password', 'connectivity', 'mailbox', 'compose'];
const OFFLINE_RETRY_MS = 3000;

let session = null;  // {user, user_id, device_id}
let core = null;
let editing = null;  // {id, isNew, portTouched}
let running = null;  // task id of the page's own run
let events = null;
let offlineTimer = null;

// ---------------------------------------------------------------- small helpers

function show(id) {
  for (const s of SECTIONS) $(s).hidden = s !== id;
  present($('signin'), id === 'signin');
  present($('change-password'), id === 'change-password');
  const inApp = id === 'connectivity' || id === 'mailbox' || id === 'compose';
  $('main-nav').hidden = !inApp;
  $('signout').hidden = !inApp;
  $('signed-in-as').hidden = !inApp;
  for (const [link, section] of [['nav-connectivity', 'connectivity'], ['nav-mailbox', 'mailbox'],
    ['nav-compose', 'compose']]) {
    if (id === section) $(link).setAttribute('aria-current', 'page');
    else $(link).removeAttribute('aria-current');
  }
}

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') node.className = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null) node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

function when(seconds) {
  if (!seconds) return '—';
  return new Date(seconds * 1000).toLocaleString(undefined, {
    dateStyle: 'medium', timeStyle: 'short',
  });
}

function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

function runSummaryText(ok, message, folders) {
  if (!ok) return `Failed: ${message}`;
  let fresh = 0;
  let had = 0;
  let deleted = 0;
  for (const f of folders || []) {
    fresh += f.new_messages ?? f.new ?? 0;
    had += f.already_had ?? 0;
    deleted += f.deleted ?? 0;
  }
  let text = `Done: ${plural(fresh, 'new message', 'new messages')}, ${had} already had`;
  if (deleted) text += `, ${deleted} deleted from the server`;
  return text;
}

const TYPE_NAMES = { pop3: 'POP3', imap: 'IMAP' };

// ---------------------------------------------------------------- reachability

function setOfflineBanner(offline) {
  const badge = $('connection-state');
  badge.hidden = !offline;
  badge.textContent = offline ? 'Offline' : '';
  badge.title = offline ? 'The Junction server cannot be reached. This device shows what it ' +
    'saved; changes and messages are sent when the server is back.' : '';
}

onReachability(async (online) => {
  setOfflineBanner(!online);
  if (online) {
    clearTimeout(offlineTimer);
    offlineTimer = null;
    if (session) {
      const outcome = await sync.refresh();
      if (outcome === 'unauthenticated') return signedOut();
      startEvents();
      outbox.kick(getCore);
      route();
    }
  } else {
    scheduleReachabilityCheck();
  }
});

function scheduleReachabilityCheck() {
  if (offlineTimer) return;
  offlineTimer = setTimeout(async () => {
    offlineTimer = null;
    const r = await call('GET', '/api/session', { timeoutMs: 5000 });
    if (r.offline) scheduleReachabilityCheck();
    // Otherwise onReachability already fired.
  }, OFFLINE_RETRY_MS);
}

function startEvents() {
  if (events || typeof EventSource !== 'function') return;
  events = new EventSource('/api/events');
  events.onmessage = (m) => handleEvent(m.data);
  for (const type of ['run_started', 'progress', 'run_finished', 'account_changed']) {
    events.addEventListener(type, (m) => handleEvent(m.data));
  }
  events.onerror = () => {
    if (events && events.readyState === EventSource.CLOSED) {
      events = null;
      call('GET', '/api/session', { timeoutMs: 5000 });  // notices offline, if it is
    }
  };
}

function stopEvents() {
  if (events) events.close();
  events = null;
}

function handleEvent(text) {
  let e = null;
  try {
    e = JSON.parse(text);
  } catch (err) {
    return;
  }
  if (e.type === 'account_changed') {
    sync.refresh();
  } else if (e.type === 'run_finished' || e.type === 'run_started') {
    refreshStatus(e.task_id);
    if (e.type === 'run_finished' && location.hash.startsWith('#/mailbox')) renderMailbox();
  } else if (e.type === 'progress' && e.task_id !== running) {
    const row = document.querySelector(`tr[data-task="${CSS.escape(e.task_id)}"]`);
    if (row) row.children[3].textContent = `running: ${e.folder} ${e.done} of ${e.total}`;
  }
}

// ---------------------------------------------------------------- session

async function signedIn(info) {
  const previous = await db.get('kv', 'session');
  if (previous && previous.user !== info.user) {
    await db.wipe();  // another person's data must not show
  }
  session = { user: info.user, user_id: info.user_id, device_id: info.device_id };
  await db.put('kv', session, 'session');
  await sync.load();
  $('signed-in-as').textContent = session.user;
  const outcome = await sync.refresh();
  if (outcome === 'unauthenticated') return signedOut();
  startEvents();
  outbox.kick(getCore);
  if (!location.hash || location.hash === '#' || location.hash === '#/') {
    location.hash = '#/settings/connectivity';
  }
  route();
}

async function signedOut() {
  session = null;
  stopEvents();
  $('password').value = '';
  show('signin');
}

$('signin').addEventListener('submit', async (event) => {
  event.preventDefault();
  $('signin-error').textContent = '';
  const r = await call('POST', '/api/session', {
    body: {
      username: $('username').value,
      password: $('password').value,
      device_name: navigator.userAgent.includes('Mobile') ? 'Phone browser' : 'Browser',
    },
  });
  if (r.status === 200) {
    if (r.data && r.data.must_change_password) return show('change-password');
    const who = await call('GET', '/api/session');
    return signedIn(who.data || { user: $('username').value });
  }
  $('signin-error').textContent = r.offline ? errorText(r) :
    r.status === 429 ? 'Too many failed sign-ins. Wait a few minutes and try again.' :
      r.status === 401 ? 'The username or password is not right.' : errorText(r, 'Sign-in failed');
});

$('change-password').addEventListener('submit', async (event) => {
  event.preventDefault();
  const r = await call('POST', '/api/password', {
    body: { old: $('password').value, new: $('new-password').value },
  });
  if (r.status === 204 || r.status === 200) {
    const who = await call('GET', '/api/session');
    return signedIn(who.data);
  }
  $('password-error').textContent = errorText(r, 'The password could not be changed');
});

$('signout').addEventListener('click', async () => {
  await call('DELETE', '/api/session');
  stopEvents();
  await db.wipe();  // every byte of the account on this device
  session = null;
  location.hash = '';
  signedOut();
});

// ---------------------------------------------------------------- routing

function route() {
  if (!session) return;
  const hash = location.hash || '#/settings/connectivity';
  if (hash.startsWith('#/mailbox')) {
    show('mailbox');
    renderMailbox();
  } else if (hash.startsWith('#/compose')) {
    show('compose');
    renderCompose();
  } else {
    show('connectivity');
    renderConnectivity();
  }
}
window.addEventListener('hashchange', route);

// ---------------------------------------------------------------- Email Retrieval list

sync.onChange(() => {
  if (session && !$('connectivity').hidden) renderConnectivity();
});

function renderConflict() {
  const s = sync.state();
  $('conflict').hidden = !s.conflict;
  if (s.conflict) {
    const names = s.conflict.ids.map((id) => {
      const t = (s.conflict.theirs.retrieval_tasks || []).find((x) => x.id === id) ||
        sync.findTask(id);
      return t ? `${TYPE_NAMES[t.type] || t.type} ${t.server}` : id;
    });
    $('conflict-text').textContent = `Another device changed ${names.join(', ')} while this ` +
      'device was offline, and this device changed it too. Which version should be kept?';
  }
  $('push-error').hidden = !s.error;
  if (s.error) {
    const list = Array.isArray(s.error) ? s.error.map((e) => `${e.field}: ${e.message}`) : [s.error];
    $('push-error-text').textContent = `The server refused a change made on this device: ${list.join('; ')}`;
  }
  $('pending-note').hidden = !(s.pending && !s.conflict && !s.error);
}

$('keep-mine').addEventListener('click', () => sync.resolve('mine'));
$('use-theirs').addEventListener('click', () => sync.resolve('theirs'));
$('discard-edit').addEventListener('click', () => sync.discard());

function renderConnectivity() {
  renderConflict();
  const tasks = sync.document().retrieval_tasks || [];
  const body = $('tasks');
  body.replaceChildren();
  $('no-tasks').hidden = tasks.length > 0;
  $('task-table').hidden = tasks.length === 0;
  for (const task of tasks) {
    const label = `${TYPE_NAMES[task.type] || task.type} ${task.server}`;
    const row = el('tr', { 'data-task': task.id },
      el('td', {}, TYPE_NAMES[task.type] || task.type),
      el('td', {}, `${task.server}${task.username ? ` (${task.username})` : ''}`),
      el('td', {}, task.method === 'automatic' ? 'Automatic' : 'Manual'),
      el('td', {}, '…'),
      el('td', {}, task.method === 'automatic' ? '…' : '—'),
      el('td', { class: 'actions' },
        el('button', { type: 'button', onclick: () => runTask(task.id) }, 'Retrieve Messages Now'),
        el('button', { type: 'button', onclick: () => openForm(task.id) }, 'Edit'),
        el('button', { type: 'button', onclick: () => confirmDelete(task.id, label) }, 'Delete')));
    body.append(row);
    showStatus(task.id);
  }
  for (const id of tasks.map((t) => t.id)) refreshStatus(id);
  renderSmtpAccounts();
}

async function showStatus(id) {
  const s = await db.get('kv', `status:${id}`);
  const row = document.querySelector(`tr[data-task="${CSS.escape(id)}"]`);
  if (!row) return;
  const task = sync.findTask(id);
  if (!s) {
    row.children[3].textContent = isOnline() ? '…' : 'not known offline';
    return;
  }
  const last = s.last_run;
  row.children[3].textContent = s.running ? 'running…' :
    last ? `${when(last.finished_at)}: ${runSummaryText(last.ok, last.message, last.folders)}` :
      'never';
  row.children[4].textContent = task && task.method === 'automatic' && s.next_run_at ?
    when(s.next_run_at) : '—';
}

async function refreshStatus(id) {
  if (!id || !isOnline()) return;
  const r = await call('GET', `/api/tasks/${encodeSegment(id)}/status`);
  if (r.status === 200 && r.data) {
    await db.put('kv', r.data, `status:${id}`);
  }
  if (!r.offline) showStatus(id);
}

// ---------------------------------------------------------------- Retrieve Messages Now

async function runTask(id) {
  const task = sync.findTask(id);
  if (!task || running) return;
  const panel = $('run-panel');
  panel.hidden = false;
  $('run-title').textContent = `Retrieving from ${task.server}`;
  $('run-summary').textContent = '';
  $('run-progress').textContent = 'Connecting…';
  $('run-bar').hidden = false;
  $('run-bar').removeAttribute('value');  // indeterminate until the first count
  if (!isOnline() || sync.state().pending) {
    const pushed = await sync.push();
    if (pushed === 'offline') {
      $('run-bar').hidden = true;
      $('run-progress').textContent = '';
      $('run-summary').textContent = 'Failed: the Junction server cannot be reached. ' +
        'Retrieval needs it; try again when you are online.';
      return;
    }
  }
  if (sync.state().pending) {
    $('run-bar').hidden = true;
    $('run-progress').textContent = '';
    $('run-summary').textContent = 'Failed: this task has a change that is not saved on the ' +
      'server yet; resolve it first.';
    return;
  }
  running = id;
  try {
    if (!core) core = await loadCore();
    const password = await sync.passwordOf(id);
    if (password === null) {
      $('run-summary').textContent = 'Failed: the task could not be read from the Junction ' +
        'server. Try again in a moment.';
      return;
    }
    if (password === '') {
      $('run-summary').textContent = 'Failed: no password is stored for this task (its server, port, user name or ' +
        'encryption changed, so the old one was dropped). Edit the task and type the password.';
      return;
    }
    const result = await retrieveNow(core, {
      task: { ...task, password }, userId: session.user_id,
      onProgress: (folder, done, total) => {
        const bar = $('run-bar');
        bar.max = Math.max(total, 1);
        bar.value = Math.min(done, bar.max);
        $('run-progress').textContent =
          `${folder}: ${done} of ${plural(total, 'message', 'messages')}`;
      },
    });
    $('run-summary').textContent = result.summary ?
      runSummaryText(result.ok, result.message, result.summary.folders) :
      `Failed: ${result.message}`;
  } catch (e) {
    $('run-summary').textContent = `Failed: ${e.message || e}`;
  } finally {
    running = null;
    $('run-bar').hidden = true;
    refreshStatus(id);
  }
}

// ---------------------------------------------------------------- the task form

const FIELD_INPUTS = {
  type: 'f-type', server: 'f-server', port: 'f-port', username: 'f-username',
  password: 'f-password', encryption: 'f-encryption', method: 'f-method',
  destination_folder: 'f-destination', apop: 'f-apop', leave_on_server: 'f-leave',
  filtering: 'f-filtering', folder_transfer: 'f-transfer', 'folder_transfer.mode': 'f-transfer',
  'folder_transfer.parent': 'f-parent',
};

const FORM_ERRORS = { 'task-form': 'form-error', 'smtp-form': 'smtp-form-error' };

function clearFieldErrors(form = 'task-form') {
  for (const node of document.querySelectorAll(`#${form} .field-error`)) node.remove();
  for (const node of document.querySelectorAll(`#${form} [aria-invalid]`)) {
    node.removeAttribute('aria-invalid');
    node.removeAttribute('aria-describedby');
  }
  $(FORM_ERRORS[form]).textContent = '';
}

function showFieldErrors(errors, form = 'task-form', inputs = FIELD_INPUTS) {
  clearFieldErrors(form);
  const general = [];
  for (const e of errors) {
    const field = String(e.field || '').replace(/^retrieval_tasks\[\d+\]\.?/, '');
    const input = $(inputs[field] || '');
    if (!input || input.closest('.field').hidden) {
      general.push(field ? `${field}: ${e.message}` : e.message);
      continue;
    }
    const id = `${input.id}-error`;
    if ($(id)) continue;
    const note = el('p', { class: 'field-error', id }, e.message);
    input.setAttribute('aria-invalid', 'true');
    input.setAttribute('aria-describedby', id);
    input.closest('.field').append(note);
  }
  $(FORM_ERRORS[form]).textContent = general.join('; ');
  const first = document.querySelector(`#${form} [aria-invalid="true"]`);
  if (first) first.focus();
}

function defaultPort() {
  const type = $('f-type').value;
  const encryption = $('f-encryption').value;
  if (core) return core.defaultPort(type, encryption);
  const ssl = encryption === 'ssl';
  return type === 'imap' ? (ssl ? 993 : 143) : (ssl ? 995 : 110);
}

function updateFormVisibility() {
  const imap = $('f-type').value === 'imap';
  for (const node of document.querySelectorAll('#task-form .pop3-only')) node.hidden = imap;
  for (const node of document.querySelectorAll('#task-form .imap-only')) node.hidden = !imap;
  if (imap && $('f-transfer').value !== 'subfolder') {
    for (const node of document.querySelectorAll('#task-form .subfolder-only')) node.hidden = true;
  }
  if (editing && !editing.portTouched) $('f-port').value = String(defaultPort());
}

for (const id of ['f-type', 'f-encryption', 'f-transfer']) {
  $(id).addEventListener('change', updateFormVisibility);
}
$('f-port').addEventListener('input', () => {
  if (editing) editing.portTouched = $('f-port').value.trim() !== '';
});

function openForm(id) {
  const task = id ? sync.findTask(id) : null;
  editing = { id: task ? task.id : null, isNew: !task, portTouched: !!(task && task.port) };
  clearFieldErrors();
  $('test-result').textContent = '';
  $('task-form-title').textContent = task ? 'Edit Retrieval Task' : 'New Retrieval Task';
  const t = task || {};
  $('f-type').value = t.type || 'pop3';
  $('f-server').value = t.server || '';
  $('f-username').value = t.username || '';
  $('f-password').value = '';
  $('f-password').placeholder = !task ? '' : (task.password_set ? 'unchanged' : 'none stored');
  $('f-encryption').value = t.encryption || 'ssl';
  $('f-method').value = t.method || 'manual';
  $('f-destination').value = t.destination_folder || 'INBOX';
  $('f-apop').checked = !!t.apop;
  $('f-leave').checked = !!t.leave_on_server;
  $('f-filtering').checked = !!t.filtering;
  $('f-transfer').value = (t.folder_transfer && t.folder_transfer.mode) || 'root';
  $('f-parent').value = (t.folder_transfer && t.folder_transfer.parent) || '';
  $('f-port').value = t.port ? String(t.port) : '';
  present($('task-form'), true);
  updateFormVisibility();
  $('task-form').hidden = false;
  $('retrieval').hidden = true;
  $('f-server').focus();
}

function closeForm() {
  editing = null;
  $('task-form').hidden = true;
  present($('task-form'), false);
  $('retrieval').hidden = false;
}

$('new-task').addEventListener('click', () => openForm(null));
$('cancel-task').addEventListener('click', closeForm);

// The task the form describes (the stored one's other members kept).
function formTask() {
  const stored = editing && editing.id ? sync.findTask(editing.id) : null;
  const task = stored ? JSON.parse(JSON.stringify(stored)) : {};
  task.type = $('f-type').value;
  task.server = $('f-server').value.trim();
  const portText = $('f-port').value.trim();
  if (!editing.portTouched || portText === '') {
    task.port = 0;  // the default for the type and encryption, also after they change
  } else {
    task.port = /^\d+$/.test(portText) ? Number(portText) : portText;
  }
  task.username = $('f-username').value;
  if ($('f-password').value !== '' || !stored) task.password = $('f-password').value;
  task.encryption = $('f-encryption').value;
  task.method = $('f-method').value;
  if (!task.interval_minutes) task.interval_minutes = 10;
  task.filtering = $('f-filtering').checked;
  if (task.type === 'pop3') {
    task.destination_folder = $('f-destination').value.trim();
    task.apop = $('f-apop').checked;
    task.leave_on_server = $('f-leave').checked;
  } else {
    task.folder_transfer = { ...(task.folder_transfer || {}), mode: $('f-transfer').value };
    if (task.folder_transfer.mode === 'subfolder') {
      task.folder_transfer.parent = $('f-parent').value.trim();
    } else {
      delete task.folder_transfer.parent;
    }
  }
  return task;
}

// {ok, task} or shows the errors and returns {ok:false}.
async function checkedFormTask() {
  const task = formTask();
  if (typeof task.port === 'string') {
    showFieldErrors([{ field: 'port', message: 'must be a number from 1 to 65535' }]);
    return { ok: false };
  }
  try {
    if (!core) core = await loadCore();
  } catch (e) {
    $('form-error').textContent = 'The app could not load its engine (junction-core). Reload ' +
      'the page; if this persists, the installation is incomplete.';
    return { ok: false };
  }
  const stored = editing && editing.id ? sync.findTask(editing.id) : null;
  if (!('password' in task) && !sync.samePlace(task, stored)) {
    // The stored password goes only where it was given for: the proxy drops it on save.
    showFieldErrors([{ field: 'password', message: 'type the password again: the server, ' +
      'port, user name or encryption changed' }]);
    return { ok: false };
  }
  const forCheck = { ...task };
  if (!('password' in forCheck)) forCheck.password = 'unchanged';  // stored one kept on save
  delete forCheck.id;
  const v = core.validateTask(JSON.stringify(forCheck));
  if (!v.ok) {
    showFieldErrors(v.errors);
    return { ok: false };
  }
  clearFieldErrors();
  return { ok: true, task };
}

$('test-connection').addEventListener('click', async () => {
  const checked = await checkedFormTask();
  if (!checked.ok) return;
  const task = { ...checked.task };
  if (!('password' in task)) {
    const stored = await sync.passwordOf(editing.id);
    if (stored === null || stored === '') {
      $('test-result').className = 'error';
      $('test-result').textContent = stored === '' ?
        'Connection failed: no password is stored for this task. Type the password.' :
        'Connection failed: the stored password could not be read ' +
        'from the Junction server. Type the password, or try again when online.';
      return;
    }
    task.password = stored;
  }
  const result = $('test-result');
  result.className = '';
  result.textContent = `Testing the connection to ${task.server}…`;
  $('test-connection').disabled = true;
  try {
    const r = await testConnection(core, task);
    result.className = r.ok ? 'ok' : 'error';
    result.textContent = r.ok ? `Connection OK: ${r.message}` :
      `Connection failed: ${r.message.replace(/[.\s]+$/, '')}${adviceFor(r.failure)}`;
  } catch (e) {
    result.className = 'error';
    result.textContent = `Connection failed: ${e.message || e}`;
  } finally {
    $('test-connection').disabled = false;
  }
});

function adviceFor(failure) {
  switch (failure) {
    case 'login': return '. Check the username and password.';
    case 'dns': return '. Check the server address.';
    case 'refused': return '. Check the server address and port; the server may not allow ' +
      'this connection.';
    case 'certificate': return '. The server\'s certificate is not trusted for this name.';
    case 'encryption_required': return '. Choose another encryption or ask the provider.';
    case 'timeout': return '. The server did not answer in time; try again later.';
    default: return '';
  }
}

$('task-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const checked = await checkedFormTask();
  if (!checked.ok) return;
  const task = checked.task;
  if (editing.isNew) task.id = sync.newTaskId();
  const outcome = await sync.edit((doc) => {
    doc.retrieval_tasks = doc.retrieval_tasks || [];
    const at = doc.retrieval_tasks.findIndex((t) => t.id === task.id);
    if (at >= 0) doc.retrieval_tasks[at] = task;
    else doc.retrieval_tasks.push(task);
  });
  if (outcome === 'invalid') {
    const s = sync.state();
    if (Array.isArray(s.error)) showFieldErrors(s.error);
    else $('form-error').textContent = `The server refused the task: ${s.error}`;
    await sync.discard();
    return;
  }
  closeForm();
  renderConnectivity();
});

// ---------------------------------------------------------------- delete

// Asks before deleting; runs `remove` only when the person confirms.
function confirmDialog(question, detail, remove) {
  const dialog = $('delete-dialog');
  $('delete-question').textContent = question;
  $('delete-detail').textContent = detail;
  dialog.returnValue = '';
  dialog.onclose = async () => {
    if (dialog.returnValue === 'delete') await remove();
  };
  dialog.showModal();
}

function confirmDelete(id, label) {
  confirmDialog('Delete this retrieval task?',
    `${label}. Messages already retrieved stay in the mailbox.`, async () => {
      await sync.edit((doc) => {
        doc.retrieval_tasks = (doc.retrieval_tasks || []).filter((t) => t.id !== id);
      });
      await db.remove('kv', `status:${id}`);
      await db.remove('state', id);
      renderConnectivity();
    });
}

// ---------------------------------------------------------------- SMTP Accounts

const ENCRYPTION_NAMES = { none: 'None', starttls: 'STARTTLS', ssl: 'SSL/TLS' };
let editingSmtp = null;  // {id, isNew, portTouched}

function smtpLabel(a) {
  return a.display_name ? `${a.display_name} <${a.email}>` : a.email;
}

function renderSmtpAccounts() {
  const accounts = sync.document().smtp_accounts || [];
  $('no-smtp').hidden = accounts.length > 0;
  $('smtp-table').hidden = accounts.length === 0;
  $('smtp-accounts').replaceChildren(...accounts.map((a) => el('tr', { 'data-smtp': a.id },
    el('td', {}, a.display_name || '—'),
    el('td', {}, a.email),
    el('td', {}, `${a.server}:${a.port || 25}`),
    el('td', {}, ENCRYPTION_NAMES[a.encryption || 'none'] || a.encryption),
    el('td', { class: 'actions' },
      el('button', { type: 'button', onclick: () => openSmtpForm(a.id) }, 'Edit'),
      el('button', {
        type: 'button',
        onclick: () => confirmDialog('Delete this SMTP account?',
          `${smtpLabel(a)}. Messages already sent stay in Sent.`, async () => {
            await sync.edit((doc) => {
              doc.smtp_accounts = (doc.smtp_accounts || []).filter((x) => x.id !== a.id);
            });
            renderConnectivity();
          }),
      }, 'Delete')))));
}

function smtpDefaultPort() {
  const encryption = $('s-encryption').value;
  if (core) return core.defaultSmtpPort(encryption);
  return { none: 25, starttls: 587, ssl: 465 }[encryption] || 25;
}

function updateSmtpForm() {
  const auth = $('s-auth').checked;
  for (const node of document.querySelectorAll('#smtp-form .auth-only')) node.hidden = !auth;
  $('s-username').placeholder = $('s-email').value || 'the email address';
  if (editingSmtp && !editingSmtp.portTouched) $('s-port').value = String(smtpDefaultPort());
}

$('s-encryption').addEventListener('change', updateSmtpForm);
$('s-auth').addEventListener('change', updateSmtpForm);
$('s-email').addEventListener('input', updateSmtpForm);
$('s-port').addEventListener('input', () => {
  if (editingSmtp) editingSmtp.portTouched = $('s-port').value.trim() !== '';
});

function openSmtpForm(id) {
  const a = id ? sync.findSmtpAccount(id) : null;
  editingSmtp = { id: a ? a.id : null, isNew: !a, portTouched: !!a };
  present($('smtp-form'), true);
  clearFieldErrors('smtp-form');
  $('smtp-test-result').textContent = '';
  $('smtp-form-title').textContent = a ? 'Edit SMTP Account' : 'New SMTP Account';
  $('s-name').value = a ? a.display_name || '' : '';
  $('s-server').value = a ? a.server : '';
  // A new account proposes implicit TLS (RFC 8314); a stored one shows what it has.
  $('s-encryption').value = a ? a.encryption || 'none' : 'ssl';
  $('s-port').value = a ? String(a.port || 25) : '';
  $('s-email').value = a ? a.email : '';
  $('s-auth').checked = a ? a.auth !== false : true;
  $('s-username').value = a && a.username !== a.email ? a.username || '' : '';
  $('s-password').value = '';
  $('s-password').placeholder = !a ? '' : (a.password_set ? 'unchanged' : 'none stored');
  updateSmtpForm();
  $('smtp-form').hidden = false;
  $('retrieval').hidden = true;
  $('smtp').hidden = true;
  $('s-name').focus();
}

function closeSmtpForm() {
  editingSmtp = null;
  $('smtp-form').hidden = true;
  present($('smtp-form'), false);
  $('retrieval').hidden = false;
  $('smtp').hidden = false;
}

$('new-smtp').addEventListener('click', () => openSmtpForm(null));
$('cancel-smtp').addEventListener('click', closeSmtpForm);

function smtpFormAccount() {
  const stored = editingSmtp && editingSmtp.id ? sync.findSmtpAccount(editingSmtp.id) : null;
  const a = stored ? JSON.parse(JSON.stringify(stored)) : {};
  a.display_name = $('s-name').value.trim();
  a.server = $('s-server').value.trim();
  a.encryption = $('s-encryption').value;
  const portText = $('s-port').value.trim();
  a.port = portText === '' ? smtpDefaultPort() :
    (/^\d+$/.test(portText) ? Number(portText) : portText);
  a.email = $('s-email').value.trim();
  a.auth = $('s-auth').checked;
  a.username = $('s-username').value.trim() || a.email;
  if ($('s-password').value !== '' || !stored) a.password = $('s-password').value;
  if (!a.auth && !stored) a.password = '';
  return a;
}

const SMTP_FIELDS = {
  display_name: 's-name', server: 's-server', port: 's-port', encryption: 's-encryption',
  email: 's-email', auth: 's-auth', username: 's-username', password: 's-password',
};

async function checkedSmtpAccount() {
  const a = smtpFormAccount();
  if (typeof a.port === 'string') {
    showFieldErrors([{ field: 'port', message: 'must be a number from 1 to 65535' }],
      'smtp-form', SMTP_FIELDS);
    return null;
  }
  try {
    if (!core) core = await loadCore();
  } catch (e) {
    $('smtp-form-error').textContent = 'The app could not load its engine (junction-core).';
    return null;
  }
  const stored = editingSmtp && editingSmtp.id ? sync.findSmtpAccount(editingSmtp.id) : null;
  if (!('password' in a) && a.auth !== false && !sync.samePlace(a, stored, 'smtp_accounts')) {
    // The stored password goes only where it was given for: the proxy drops it on save.
    showFieldErrors([{ field: 'password', message: 'type the password again: the server, ' +
      'port, user name or encryption changed' }], 'smtp-form', SMTP_FIELDS);
    return null;
  }
  const forCheck = { ...a };
  if (!('password' in forCheck)) forCheck.password = 'unchanged';
  delete forCheck.id;
  const v = core.validateSmtpAccount(JSON.stringify(forCheck));
  if (!v.ok) {
    showFieldErrors(v.errors, 'smtp-form', SMTP_FIELDS);
    return null;
  }
  clearFieldErrors('smtp-form');
  return a;
}

$('test-smtp').addEventListener('click', async () => {
  const a = await checkedSmtpAccount();
  if (!a) return;
  const result = $('smtp-test-result');
  if (!('password' in a)) {
    const stored = a.auth === false ? '' : await sync.passwordOf(editingSmtp.id, 'smtp_accounts');
    if (stored === null || (stored === '' && a.auth !== false)) {
      result.className = 'error';
      result.textContent = stored === '' ?
        'Connection failed: no password is stored for this account. Type the password.' :
        'Connection failed: the stored password could not be read from the ' +
        'Junction server. Type the password, or try again when online.';
      return;
    }
    a.password = stored;
  }
  result.className = '';
  result.textContent = `Testing the connection to ${a.server}…`;
  $('test-smtp').disabled = true;
  try {
    const created = core.createSendJob(JSON.stringify(a), [], true);
    if (!created.ok) {
      result.className = 'error';
      result.textContent = `Connection failed: ${created.errors.map((e) => e.message).join('; ')}`;
      return;
    }
    let summary;
    try {
      summary = await runJob(created.job, { pin: a.pinned_cert_sha256 });
    } finally {
      created.job.delete();
    }
    result.className = summary.ok ? 'ok' : 'error';
    result.textContent = summary.ok ?
      `Connection OK: ${summary.message.replace(/^connection OK:\s*/i, '')}` :
      `Connection failed: ${summary.message.replace(/[.\s]+$/, '')}${adviceFor(summary.failure)}`;
  } finally {
    $('test-smtp').disabled = false;
  }
});

$('smtp-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const a = await checkedSmtpAccount();
  if (!a) return;
  if (editingSmtp.isNew) a.id = sync.newTaskId().replace(/^t/, 's');
  const outcome = await sync.edit((doc) => {
    doc.smtp_accounts = doc.smtp_accounts || [];
    const at = doc.smtp_accounts.findIndex((x) => x.id === a.id);
    if (at >= 0) doc.smtp_accounts[at] = a;
    else doc.smtp_accounts.push(a);
  });
  if (outcome === 'invalid') {
    const st = sync.state();
    if (Array.isArray(st.error)) {
      showFieldErrors(st.error.map((e) => ({
        ...e, field: String(e.field).replace(/^smtp_accounts\[\d+\]\.?/, ''),
      })), 'smtp-form', SMTP_FIELDS);
    } else {
      $('smtp-form-error').textContent = `The server refused the account: ${st.error}`;
    }
    await sync.discard();
    return;
  }
  closeSmtpForm();
  renderConnectivity();
});

// ---------------------------------------------------------------- Compose and the Outbox

// "Jane <jane@example.com>, bob@example.org" → [{name, email}]. Commas inside quotes or
// angle brackets do not split.
function parseAddresses(text) {
  const parts = [];
  let current = '';
  let quoted = false;
  let angle = false;
  for (const ch of text) {
    if (ch === '"') quoted = !quoted;
    else if (ch === '<' && !quoted) angle = true;
    else if (ch === '>' && !quoted) angle = false;
    if ((ch === ',' || ch === ';') && !quoted && !angle) {
      parts.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  parts.push(current);
  const out = [];
  for (const part of parts.map((p) => p.trim()).filter(Boolean)) {
    const m = /^(.*?)\s*<([^<>]+)>$/.exec(part);
    if (m) out.push({ name: m[1].replace(/^"(.*)"$/, '$1').trim(), email: m[2].trim() });
    else out.push({ name: '', email: part });
  }
  return out;
}

function renderCompose() {
  const accounts = sync.document().smtp_accounts || [];
  const from = $('c-from');
  const chosen = from.value;
  from.replaceChildren(...accounts.map((a) => el('option', { value: a.id }, smtpLabel(a))));
  if (accounts.some((a) => a.id === chosen)) from.value = chosen;
  $('c-no-account').hidden = accounts.length > 0;
  $('send').disabled = accounts.length === 0;
  renderOutbox();
}

const OUTBOX_STATES = {
  queued: 'Waiting to be sent',
  sending: 'Sending…',
  sent: 'Sent',
  failed: 'Not sent',
  interrupted: 'Interrupted',
};

async function renderOutbox() {
  const items = await outbox.list();
  $('outbox-empty').hidden = items.length > 0;
  $('outbox-table').hidden = items.length === 0;
  $('outbox').replaceChildren(...items.map((item) => {
    let status = OUTBOX_STATES[item.state] || item.state;
    if (item.state === 'sent' && item.result) {
      const refused = (item.result.recipients || []).filter((r) => !r.accepted);
      status += refused.length ?
        ` (refused for ${refused.map((r) => `${r.address}: ${r.code} ${r.text}`).join('; ')})` :
        ' to every recipient';
      if (!item.copied) status += '; the copy in Sent is still to be saved';
    } else if (item.error) {
      status += `: ${item.error}`;
    }
    const actions = el('td', { class: 'actions' });
    if (item.state === 'failed' || item.state === 'interrupted') {
      actions.append(el('button', {
        type: 'button',
        onclick: async () => {
          await outbox.retry(item.id);
          outbox.kick(getCore);
        },
      }, 'Send again'));
    }
    if (item.state !== 'sending') {
      actions.append(el('button', { type: 'button', onclick: () => outbox.remove(item.id) },
        item.state === 'sent' ? 'Remove' : 'Delete'));
    }
    return el('tr', { 'data-outbox': item.id, 'data-state': item.state },
      el('td', {}, item.to), el('td', {}, item.subject || '(no subject)'),
      el('td', {}, status), actions);
  }));
}

outbox.onChange(() => {
  if (session && !$('compose').hidden) renderOutbox();
});

function getCore() {
  if (core) return Promise.resolve(core);
  return loadCore().then((c) => (core = c));
}

function readFile(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(new Uint8Array(reader.result));
    reader.onerror = () => reject(reader.error);
    reader.readAsArrayBuffer(file);
  });
}

$('compose-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  $('compose-error').textContent = '';
  $('send-result').textContent = '';
  const account = sync.findSmtpAccount($('c-from').value);
  if (!account) {
    $('compose-error').textContent = 'Choose the account to send from (From).';
    return;
  }
  const to = parseAddresses($('c-to').value);
  const cc = parseAddresses($('c-cc').value);
  const bcc = parseAddresses($('c-bcc').value);
  if (to.length + cc.length + bcc.length === 0) {
    $('compose-error').textContent = 'Add at least one recipient (To, Cc or Bcc).';
    $('c-to').focus();
    return;
  }
  const attachments = [];
  for (const file of $('c-attach').files) {
    attachments.push({
      filename: file.name, content_type: file.type || 'application/octet-stream',
      data: await readFile(file),
    });
  }
  let item;
  try {
    item = await outbox.queue(await getCore(), {
      account, to, cc, bcc, subject: $('c-subject').value, text: $('c-body').value, attachments,
    });
  } catch (e) {
    $('compose-error').textContent = `The message could not be written: ${e.message || e}`;
    return;
  }
  $('compose-form').reset();
  renderCompose();
  $('send-result').textContent = isOnline() ? 'Sending…' :
    'Offline: the message waits in the Outbox and is sent when the server can be reached.';
  await outbox.kick(getCore);
  const done = (await outbox.list()).find((x) => x.id === item.id);
  if (done) $('send-result').textContent = sendResultText(done);
});

function sendResultText(item) {
  if (item.state === 'sent') {
    const r = item.result || { recipients: [] };
    const lines = (r.recipients || []).map((x) => (x.accepted ? `${x.address}: accepted` :
      `${x.address}: refused (${x.code} ${x.enhanced_code || ''} ${x.text})`.replace(/\s+\)/, ')')));
    return `Sent. ${lines.join('; ')}`;
  }
  if (item.state === 'queued') {
    return 'Not sent yet: the message waits in the Outbox and is sent when the server can be reached.';
  }
  return `Not sent: ${item.error}`;
}

// ---------------------------------------------------------------- mailbox view

function currentFolder() {
  const m = /^#\/mailbox\/(.+)$/.exec(location.hash);
  return m ? decodeURIComponent(m[1]) : 'INBOX';
}

async function renderMailbox() {
  const folder = currentFolder();
  $('folder-title').textContent = folder;
  $('message-view').hidden = true;
  let folders = null;
  const f = await call('GET', '/api/mailbox/folders');
  if (f.status === 200 && Array.isArray(f.data)) {
    folders = f.data;
    await db.replaceAll('folders', folders);
  } else {
    folders = await db.all('folders');
  }
  $('folders').replaceChildren(...folders.map((x) => el('li', {},
    el('a', {
      href: `#/mailbox/${encodeURIComponent(x.name)}`,
      'aria-current': x.name === folder ? 'page' : undefined,
    }, `${x.name} (${x.total}${x.unseen ? `, ${x.unseen} unread` : ''})`))));

  let messages = null;
  const r = await call('GET', `/api/mailbox/messages?folder=${encodeSegment(folder)}&page=0`);
  if (r.status === 200 && r.data) {
    messages = r.data.messages || [];
    await db.replaceFolderMessages(folder, messages);
    $('mailbox-note').hidden = r.data.total <= messages.length;
    $('mailbox-note').textContent = `Showing the newest ${messages.length} of ${r.data.total}.`;
  } else {
    messages = (await db.byIndex('messages', 'folder', folder))
      .sort((a, b) => (b.date_unix || 0) - (a.date_unix || 0));
    $('mailbox-note').hidden = !r.offline;
    $('mailbox-note').textContent = 'Offline: the list as this device last saw it.';
  }
  $('no-messages').hidden = messages.length > 0;
  $('messages').replaceChildren(...messages.map((m) => {
    const row = el('tr', { tabindex: '0', 'data-id': m.id, class: m.flags && m.flags.includes('\\Seen') ? '' : 'unread' },
      el('td', {}, m.from || '(unknown sender)'),
      el('td', {}, m.subject || '(no subject)'),
      el('td', {}, m.date_unix ? when(m.date_unix) : (m.date || '')));
    const open = () => openMessage(m);
    row.addEventListener('click', open);
    row.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') open();
    });
    return row;
  }));
}

async function openMessage(m) {
  const view = $('message-view');
  view.hidden = false;
  $('message-headers').replaceChildren();
  $('message-attachments').replaceChildren();
  $('message-text').textContent = 'Loading…';
  let raw = null;
  const r = await call('GET', `/api/mailbox/messages/${encodeSegment(m.id)}/raw`, { raw: true });
  if (r.status === 200 && r.data) {
    raw = new Uint8Array(r.data);
    await db.put('bodies', raw, m.id);
  } else {
    raw = await db.get('bodies', m.id);
  }
  if (!raw) {
    $('message-text').textContent = r.offline ?
      'This message was not opened on this device before, so it is not available offline.' :
      errorText(r, 'The message could not be loaded');
    return;
  }
  try {
    if (!core) core = await loadCore();
  } catch (e) {
    $('message-text').textContent = new TextDecoder().decode(raw);
    return;
  }
  const v = core.viewMessage(raw);
  if (!v.ok) {
    $('message-text').textContent = `This message could not be read: ${v.error}`;
    return;
  }
  const rows = [['From', v.from], ['To', v.to], ['Cc', v.cc], ['Subject', v.subject],
    ['Date', v.date ? when(v.date) : '']];
  $('message-headers').replaceChildren(...rows.filter(([, value]) => value).flatMap(([name, value]) =>
    [el('dt', {}, name), el('dd', {}, value)]));
  $('message-text').textContent = v.text + (v.text_truncated ? '\n[… the rest is not shown]' : '');
  $('message-attachments').replaceChildren(...v.attachments.map((a) =>
    el('li', {}, `${a.filename || '(unnamed)'} — ${a.content_type}, ${a.size} bytes`)));
  view.scrollIntoView({ block: 'nearest' });
}

// ---------------------------------------------------------------- start

async function start() {
  present($('task-form'), false);
  present($('smtp-form'), false);
  outbox.recover();
  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('sw.js').catch(() => {
      // Without it the app still works online.
    });
  }
  loadCore().then((c) => {
    core = c;
    if (editing && !editing.portTouched) updateFormVisibility();
  }).catch(() => {
    // Reported where the core is needed.
  });
  const r = await call('GET', '/api/session', { timeoutMs: 5000 });
  if (r.status === 200 && r.data && r.data.must_change_password) {
    // Signed in with the one-time password but not past choosing one's own (a reload):
    // the server allows nothing else, and the form needs the one-time password again.
    await call('DELETE', '/api/session');
    return signedOut();
  }
  if (r.status === 200 && r.data) return signedIn(r.data);
  if (r.offline) {
    setOfflineBanner(true);
    scheduleReachabilityCheck();
    const saved = await db.get('kv', 'session');
    if (saved) {
      session = saved;
      $('signed-in-as').textContent = session.user;
      await sync.load();
      route();
      return;
    }
    show('signin');
    $('signin-error').textContent = errorText(r);
    return;
  }
  signedOut();
}

start();
