// A small page for `junction-proxy serve`: sign in, see the retrieval tasks and run them.
'use strict';

const $ = (id) => document.getElementById(id);

async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: body ? { 'Content-Type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
    credentials: 'same-origin',
  });
  let data = null;
  try { data = await response.json(); } catch (e) { data = null; }
  return { status: response.status, data };
}

function show(id) {
  for (const section of ['signin', 'change-password', 'account']) $(section).hidden = section !== id;
  $('signout').hidden = id === 'signin';
}

function when(seconds) {
  return seconds ? new Date(seconds * 1000).toLocaleString() : '—';
}

async function loadAccount() {
  const { status, data } = await api('GET', '/api/account');
  if (status === 401) return show('signin');
  show('account');
  const tasks = (data && data.retrieval_tasks) || [];
  const body = $('tasks');
  body.replaceChildren();
  $('no-tasks').hidden = tasks.length > 0;
  for (const task of tasks) {
    const row = document.createElement('tr');
    const cells = [task.type || 'pop3', task.server || '', task.method || 'manual', '…', '…'];
    for (const text of cells) {
      const cell = document.createElement('td');
      cell.textContent = text;
      row.append(cell);
    }
    const action = document.createElement('td');
    const button = document.createElement('button');
    button.textContent = 'Retrieve Messages Now';
    button.addEventListener('click', async () => {
      const result = await api('POST', `/api/tasks/${encodeURIComponent(task.id)}/run`);
      button.textContent = result.status === 202 ? 'Started' :
        result.status === 409 ? 'Already running' : 'Could not start';
    });
    action.append(button);
    row.append(action);
    body.append(row);
    api('GET', `/api/tasks/${encodeURIComponent(task.id)}/status`).then(({ data: s }) => {
      if (!s) return;
      const last = s.last_run;
      row.children[3].textContent = s.running ? 'running…' :
        last ? `${when(last.finished_at)}: ${last.ok ? 'OK' : last.message}` : 'never';
      row.children[4].textContent = s.next_run_at ? when(s.next_run_at) : '—';
    });
  }
  const folders = await api('GET', '/api/mailbox/folders');
  $('folders').replaceChildren(...((folders.data || []).map((f) => {
    const item = document.createElement('li');
    item.textContent = `${f.name}: ${f.total} messages, ${f.unseen} unread`;
    return item;
  })));
}

$('signin').addEventListener('submit', async (event) => {
  event.preventDefault();
  $('signin-error').textContent = '';
  const { status, data } = await api('POST', '/api/session', {
    username: $('username').value,
    password: $('password').value,
    device_name: navigator.userAgent.includes('Mobile') ? 'Phone browser' : 'Browser',
  });
  if (status === 200) {
    if (data && data.must_change_password) return show('change-password');
    return loadAccount();
  }
  $('signin-error').textContent = status === 429 ?
    'Too many failed sign-ins. Wait a few minutes and try again.' :
    'The username or password is not right.';
});

$('change-password').addEventListener('submit', async (event) => {
  event.preventDefault();
  const { status, data } = await api('POST', '/api/password', {
    old: $('password').value, new: $('new-password').value,
  });
  if (status === 200) return loadAccount();
  $('password-error').textContent = (data && data.error) || 'The password could not be changed.';
});

$('signout').addEventListener('click', async () => {
  await api('DELETE', '/api/session');
  show('signin');
});

api('GET', '/api/session').then(({ status }) => (status === 200 ? loadAccount() : show('signin')));
