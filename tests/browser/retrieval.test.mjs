// The Email Retrieval story in the browser, against real Dovecot accounts:
// create a POP3 and an IMAP task through the form (field errors, Test Connection with the
// right and a wrong password), Retrieve Messages Now with its progress and summary, the
// messages in the mailbox view and on disk, a second run that adds nothing, the POP3 source
// emptied; then the proxy stops: the app opens offline (after a reload and after a browser
// restart) with the tasks and the cached message list, a task is edited offline, and the
// edit reaches the server once the proxy is back; a task is deleted through the
// confirmation dialog.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  JunctionProxy, Story, LONG, ports, sourceAccounts, sourceCount, subjectOf, checkMaildir,
  slowRelay, launchBrowser, signIn, visible, gone, text, until, screenshot, tasksTable, taskRow,
  openConnectivity, taskForm, fillTaskForm, clickInTaskForm, testConnection, retrieveNow,
  account, storedPassword,
} from './lib/harness.mjs';

const story = new Story(import.meta.filename ?? new URL(import.meta.url).pathname);
const proxy = new JunctionProxy('retrieval');
const USER = 'bob';
const PASSWORD = 'bob-browser-pw-1';
// The POP3 source is reached through a relay that sends 300 KB/s, so that the run lasts a
// few seconds and its progress can be seen (and photographed).
const POP3 = { user: 'bpop', password: 'bpop-pw-1', count: 30, seed: 400 };
const IMAP = { user: 'bimap', password: 'bimap-pw-2', inbox: 4, work: 3, seed: 410 };
const POP3_SERVER = '127.0.0.1';
const IMAP_SERVER = 'localhost';
let context;
let page;
let pop3Id;
let imapId;

story.step('setup: source accounts, junction-proxy serve, Chromium', async () => {
  sourceAccounts([
    { user: POP3.user, password: POP3.password,
      folders: [['INBOX', POP3.count, POP3.seed, '--no-flags', '--big-every', '6']] },
    { user: IMAP.user, password: IMAP.password,
      folders: [['INBOX', IMAP.inbox, IMAP.seed], ['Work', IMAP.work, IMAP.seed + 1]] },
  ]);
  const relay = await slowRelay(ports.spare1, ports.pop3, 300_000);
  story.onCleanup(async () => relay.kill());
  proxy.addUser(USER, PASSWORD);
  await proxy.start();
  story.onCleanup(() => proxy.stop());
  const profile = path.join(proxy.work, 'profile');
  fs.mkdirSync(profile);
  ({ context, page } = await launchBrowser(profile));
  story.page = page;
  story.onCleanup(() => context.close());
});

story.step('sign in: the Connectivity page opens', async () => {
  await signIn(page, proxy.url, USER, PASSWORD);
  await visible(page.getByRole('heading', { name: 'Email Retrieval' }),
    'the heading "Email Retrieval" after signing in');
  await until(() => new URL(page.url()).hash === '#/settings/connectivity',
    'the route #/settings/connectivity after sign-in', 5000, () => page.url());
  await visible(page.getByRole('link', { name: 'Mailbox' }), 'the navigation link "Mailbox"');
});

story.step('create a POP3 task: Test Connection OK, a wrong password fails, Save', async () => {
  await page.getByRole('button', { name: 'New Retrieval Task' }).click();
  await visible(page.getByRole('heading', { name: 'New Retrieval Task' }),
    'the form heading "New Retrieval Task"');
  // Saving without a server is refused next to the field.
  await fillTaskForm(page, { 'Type': 'pop3', 'Server Address': '' });
  await clickInTaskForm(page, 'Save');
  const server = taskForm(page).getByLabel('Server Address', { exact: true });
  await until(async () => (await server.getAttribute('aria-invalid')) === 'true',
    '"Server Address" to get aria-invalid=true after Save with no server', 5000,
    () => 'no aria-invalid=true');
  await text(taskForm(page).locator('.field-error'), /\S/,
    'a .field-error message after Save with no server');
  const errorNextToField = await server.evaluate((input) => {
    // Right after the input, or in a wrapper that holds this one field and its error.
    if (input.nextElementSibling?.classList.contains('field-error')) return true;
    const wrapper = input.parentElement;
    return wrapper.querySelectorAll('input, select, textarea').length === 1 &&
      wrapper.querySelector('.field-error') !== null;
  });
  assert.ok(errorNextToField, 'the .field-error should sit right after "Server Address"');
  await fillTaskForm(page, {
    'Type': 'pop3',
    'Server Address': POP3_SERVER,
    'Encryption': 'none',
    'Port': ports.spare1,
    'Username': POP3.user,
    'Password': POP3.password,
    'Retrieval Method': 'manual',
    'Destination Folder': 'INBOX',
    'Leave messages on server': false,
  });
  await testConnection(page, /^Connection OK/, 'Test Connection with the right password');
  await fillTaskForm(page, { 'Password': 'wrong-password-1' });
  const failed = await testConnection(page, /^Connection failed/,
    'Test Connection with a wrong password');
  console.log(`  wrong password: ${failed}`);
  assert.match(failed, /log ?in|password|auth|credential/i,
    `the failure should say the login/password was refused: ${JSON.stringify(failed)}`);
  await fillTaskForm(page, { 'Password': POP3.password });
  await clickInTaskForm(page, 'Save');
  await gone(page.getByRole('heading', { name: 'New Retrieval Task' }), 'the task form after Save');
  await visible(taskRow(page, POP3_SERVER),
    `a row for the task on ${POP3_SERVER} in "Retrieval tasks"`);
  const doc = await until(async () => {
    const a = await account(context, proxy.url);
    return a.retrieval_tasks && a.retrieval_tasks.length === 1 ? a : false;
  }, 'the server\'s account document to hold the new task');
  const task = doc.retrieval_tasks[0];
  const want = { type: 'pop3', server: POP3_SERVER, port: ports.spare1, encryption: 'none',
    username: POP3.user, password_set: true };
  for (const [key, value] of Object.entries(want)) {
    assert.equal(task[key], value, `the saved POP3 task's ${key}`);
  }
  assert.equal(await storedPassword(context, proxy.url, 'retrieval_tasks', task.id), POP3.password,
    'the saved POP3 task\'s password (GET /api/account/retrieval_tasks/{id}/secrets)');
  assert.equal(task.leave_on_server ?? false, false, 'the saved POP3 task\'s leave_on_server');
  pop3Id = task.id;
});

story.step('create an IMAP task (TLS, subfolders of "Remote"): Test Connection, Save', async () => {
  await page.getByRole('button', { name: 'New Retrieval Task' }).click();
  await fillTaskForm(page, {
    'Type': 'imap',
    'Server Address': IMAP_SERVER,
    'Encryption': 'ssl',
    'Port': ports.imaps,
    'Username': IMAP.user,
    'Password': IMAP.password,
    'Folder Transfer Method': 'subfolder',
    'Parent Folder': 'Remote',
  });
  await testConnection(page, /^Connection OK/, 'Test Connection of the IMAP task (TLS, test CA)');
  await clickInTaskForm(page, 'Save');
  await gone(page.getByRole('heading', { name: 'New Retrieval Task' }), 'the task form after Save');
  await visible(taskRow(page, IMAP_SERVER), `a row for the task on ${IMAP_SERVER}`);
  const doc = await until(async () => {
    const a = await account(context, proxy.url);
    return a.retrieval_tasks && a.retrieval_tasks.length === 2 ? a : false;
  }, 'the server\'s account document to hold two tasks');
  const task = doc.retrieval_tasks.find((t) => t.type === 'imap');
  assert.ok(task, 'an IMAP task on the server');
  assert.deepEqual([task.server, task.port, task.encryption, task.username],
    [IMAP_SERVER, ports.imaps, 'ssl', IMAP.user], 'the saved IMAP task');
  assert.deepEqual(task.folder_transfer, { mode: 'subfolder', parent: 'Remote' },
    'the saved IMAP task\'s folder_transfer');
  imapId = task.id;
  const rows = tasksTable(page).getByRole('row')
    .filter({ has: page.getByRole('button', { name: 'Edit' }) });
  assert.equal(await rows.count(), 2, 'the table "Retrieval tasks" shows two task rows');
});

story.step('Retrieve Messages Now (POP3): progress, then "Done: 30 new"', async () => {
  const progressShot = (async () => {
    // The documentation shot of a running retrieval: once some messages are counted.
    await page.waitForFunction(() => {
      const bar = document.querySelector('progress');
      const p = document.getElementById('run-progress');
      return bar && bar.checkVisibility() && p && /\b[1-9]\d* of \d+/.test(p.textContent);
    }, null, { timeout: LONG, polling: 50 });
    await screenshot(page, 'retrieval-running');
  })().catch((e) => e);
  const { shown, seen } = await retrieveNow(page, context, proxy.url,
    { server: POP3_SERVER, taskId: pop3Id, summary: new RegExp(`^Done: ${POP3.count} new`) });
  console.log(`  summary: ${shown}; progress texts seen: ` +
    `${JSON.stringify(seen.progress.slice(0, 5))}…`);
  // The relay makes this run last about 4 seconds: both must have been on screen.
  assert.ok(seen.bar, 'a <progress> bar should have been visible during the run');
  assert.ok(seen.progress.some((t) => /\b[1-9]\d* of \d+/.test(t)),
    `#run-progress should have read like "INBOX: 3 of 10 messages" during the run; it showed ` +
    `${JSON.stringify(seen.progress)}`);
  const shot = await progressShot;
  if (shot instanceof Error) console.log(`  (no screenshot of the progress bar: ${shot.message})`);
});

story.step('the POP3 messages are on disk, and the POP3 source is empty', async () => {
  checkMaildir(proxy.mailbox(), ['--expect', `INBOX=${POP3.user}:INBOX`], 'after the POP3 run');
  await until(() => sourceCount(POP3.user, 'INBOX') === 0,
    'the POP3 source INBOX to be empty (Leave messages on server is off)', 10_000,
    () => `${sourceCount(POP3.user, 'INBOX')} messages left`);
});

story.step('Retrieve Messages Now (IMAP): "Done: 7 new"; every message on disk once', async () => {
  await retrieveNow(page, context, proxy.url, { server: IMAP_SERVER, taskId: imapId,
    summary: new RegExp(`^Done: ${IMAP.inbox + IMAP.work} new`) });
  checkMaildir(proxy.mailbox(), ['--exact', '--expect', `INBOX=${POP3.user}:INBOX`,
    '--expect', `Remote/INBOX=${IMAP.user}:INBOX`, '--expect', `Remote/Work=${IMAP.user}:Work`],
  'after both runs');
  await screenshot(page, 'connectivity-two-tasks');
});

// Rows of the message list whose text matches `re`.
function messageRows(re) {
  return page.getByRole('table', { name: 'Messages' }).getByRole('row').filter({ hasText: re });
}

story.step('the mailbox view lists the messages and shows one', async () => {
  await page.getByRole('link', { name: 'Mailbox' }).click();
  await until(() => new URL(page.url()).hash.startsWith('#/mailbox'), 'the route #/mailbox',
    5000, () => page.url());
  const folders = await visible(page.getByRole('navigation', { name: 'Folders' }),
    'the folder list (navigation "Folders")');
  await visible(folders.getByRole('link', { name: /INBOX/ }), 'a folder link "INBOX"');
  await visible(page.getByRole('table', { name: 'Messages' }),
    'the message list (table "Messages")');
  const inbox = new RegExp(`Test message \\d+ of seed ${POP3.seed} \\(INBOX\\)`);
  await visible(messageRows(inbox), `rows with the POP3 messages' subjects (${inbox})`);
  await folders.getByRole('link', { name: /Work/ }).first().click();
  const work = subjectOf(0, IMAP.seed + 1, 'Work');
  await visible(messageRows(work), `the subject "${work}" after clicking the folder Remote/Work`);
  const rows = messageRows(/Test message \d+ of seed/);
  assert.equal(await rows.count(), IMAP.work, `Remote/Work lists its ${IMAP.work} messages`);
  await messageRows(work).first().click();
  const view = await visible(page.locator('#message-view'), 'the message view #message-view');
  await text(view, new RegExp(work.replace(/[()]/g, '\\$&')),
    'the message view to show the subject');
  await text(view, /tester@junction\.test/, 'the message view to show the To: address');
  // genmail.py's bodies are lines of NATO alphabet words.
  await text(view.locator('pre').first(),
    /\b(alpha|bravo|charlie|delta|echo|foxtrot|golf|hotel|kilo|lima|tango|zulu) [a-z]+/,
    'the message text in a <pre>');
  await screenshot(page, 'mailbox');
});

story.step('a second run of each task adds nothing ("Done: 0 new")', async () => {
  await openConnectivity(page);
  await retrieveNow(page, context, proxy.url,
    { server: POP3_SERVER, taskId: pop3Id, summary: /^Done: 0 new/ });
  await retrieveNow(page, context, proxy.url,
    { server: IMAP_SERVER, taskId: imapId, summary: /^Done: 0 new/ });
  checkMaildir(proxy.mailbox(), ['--exact', '--expect', `INBOX=${POP3.user}:INBOX`,
    '--expect', `Remote/INBOX=${IMAP.user}:INBOX`, '--expect', `Remote/Work=${IMAP.user}:Work`],
  'after the second runs');
});

story.step('a task moved to another server asks for its password again', async () => {
  await openConnectivity(page);
  await taskRow(page, IMAP_SERVER).getByRole('button', { name: 'Edit' }).click();
  await visible(page.getByRole('heading', { name: 'Edit Retrieval Task' }),
    'the heading "Edit Retrieval Task"');
  await fillTaskForm(page, { 'Server Address': 'elsewhere.invalid' });
  await clickInTaskForm(page, 'Test Connection');
  const field = taskForm(page).getByLabel('Password', { exact: true });
  await until(async () => (await field.getAttribute('aria-invalid')) === 'true',
    'the Password field marked invalid after Test Connection with a changed server');
  await text(taskForm(page), /type the password again/i,
    'the form to ask for the password again (the stored one is not sent to a new server)');
  await clickInTaskForm(page, 'Save');
  await visible(page.getByRole('heading', { name: 'Edit Retrieval Task' }),
    'the task form still open: Save without the password is refused');
  await clickInTaskForm(page, 'Cancel');
  await gone(page.getByRole('heading', { name: 'Edit Retrieval Task' }), 'the form after Cancel');
  const task = (await account(context, proxy.url)).retrieval_tasks.find((t) => t.id === imapId);
  assert.equal(task.server, IMAP_SERVER, 'the server still has the task where it was');
  assert.equal(await storedPassword(context, proxy.url, 'retrieval_tasks', imapId), IMAP.password,
    'and its password');
});

story.step('the page\'s IndexedDB copy of the account holds the tasks but no password', async () => {
  const stored = await page.evaluate(() => new Promise((resolve, reject) => {
    const open = indexedDB.open('junction');
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const get = open.result.transaction('kv').objectStore('kv').get('account');
      get.onsuccess = () => resolve(get.result || null);
      get.onerror = () => reject(get.error);
    };
  }));
  assert.ok(stored && stored.document, 'IndexedDB "junction", store "kv", key "account" exists');
  const ids = (stored.document.retrieval_tasks || []).map((t) => t.id).sort();
  assert.deepEqual(ids, [pop3Id, imapId].sort(), 'the stored copy lists both tasks');
  for (const t of stored.document.retrieval_tasks) {
    assert.equal('password' in t, false, `task ${t.id}: no password kept in the browser`);
  }
});

story.step('proxy stopped: a reload opens the app offline with tasks and messages', async () => {
  await proxy.stop();
  const down = await fetch(proxy.url).then((r) => `HTTP ${r.status}`, () => 'refused');
  assert.equal(down, 'refused', `nothing should answer on ${proxy.url} once the proxy is stopped`);
  try {
    await page.reload();
  } catch (e) {
    throw new Error(`the app did not load with the proxy stopped (a service worker should ` +
      `serve it): ${e.message.split('\n')[0]}`);
  }
  await visible(
    page.getByRole('status').filter({ hasText: 'Offline' }).and(page.locator('#connection-state')),
    'the status #connection-state (role=status) saying "Offline"');
  if (!new URL(page.url()).hash.startsWith('#/settings/connectivity')) await openConnectivity(page);
  await visible(taskRow(page, POP3_SERVER), `the task on ${POP3_SERVER} while offline`);
  await visible(taskRow(page, IMAP_SERVER), `the task on ${IMAP_SERVER} while offline`);
  await page.getByRole('link', { name: 'Mailbox' }).click();
  await visible(page.getByRole('table', { name: 'Messages' }), 'the message list while offline');
  const inbox = new RegExp(`Test message \\d+ of seed ${POP3.seed} \\(INBOX\\)`);
  await visible(messageRows(inbox), 'the cached INBOX subjects while offline');
});

story.step('Chromium restarted while the proxy is down: the app still opens offline', async () => {
  await context.close();
  ({ context, page } = await launchBrowser(path.join(proxy.work, 'profile')));
  story.page = page;
  try {
    await page.goto(proxy.url);
  } catch (e) {
    throw new Error(`after a browser restart the app did not load with the proxy stopped: ` +
      `${e.message.split('\n')[0]}`);
  }
  await visible(
    page.getByRole('status').filter({ hasText: 'Offline' }).and(page.locator('#connection-state')),
    'the status "Offline" after the browser restart');
  await visible(taskRow(page, POP3_SERVER), `the task on ${POP3_SERVER} after the browser restart`);
  await visible(taskRow(page, IMAP_SERVER), `the task on ${IMAP_SERVER} after the browser restart`);
});

story.step('edit a task offline; the edit reaches the server when the proxy is back', async () => {
  await openConnectivity(page);
  await taskRow(page, POP3_SERVER).getByRole('button', { name: 'Edit' }).click();
  await visible(page.getByRole('heading', { name: 'Edit Retrieval Task' }),
    'the heading "Edit Retrieval Task"');
  await fillTaskForm(page, { 'Retrieval Method': 'automatic', 'Destination Folder': 'Fetched' });
  await clickInTaskForm(page, 'Save');
  await gone(page.getByRole('heading', { name: 'Edit Retrieval Task' }),
    'the task form after Save (offline)');
  await text(taskRow(page, POP3_SERVER), /automatic/i,
    'the task row to show the new method while offline');
  await proxy.start();
  const task = await until(async () => {
    const a = await account(context, proxy.url);
    const t = a.retrieval_tasks.find((x) => x.id === pop3Id);
    return t && t.method === 'automatic' && t.destination_folder === 'Fetched' ? t : false;
  }, 'the offline edit (method automatic, destination folder "Fetched") on the server', LONG,
  (v) => JSON.stringify(v).slice(0, 300));
  assert.equal(task.password_set, true, 'the edit keeps the task\'s password');
  assert.equal(await storedPassword(context, proxy.url, 'retrieval_tasks', pop3Id), POP3.password,
    'the edit keeps the task\'s password');
  await until(async () => !(await page.locator('#connection-state').isVisible()) ||
    !/Offline/.test(await page.locator('#connection-state').innerText()),
  'the "Offline" status to go away once the proxy is back', LONG);
});

story.step('delete a task: Cancel keeps it, Delete removes it', async () => {
  await taskRow(page, IMAP_SERVER).getByRole('button', { name: 'Delete' }).click();
  const question = page.getByRole('dialog').filter({ hasText: 'Delete this retrieval task?' });
  let dialog = await visible(question, 'the dialog "Delete this retrieval task?"');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await gone(page.getByRole('dialog'), 'the dialog after Cancel');
  await visible(taskRow(page, IMAP_SERVER), 'the task after Cancel');
  await taskRow(page, IMAP_SERVER).getByRole('button', { name: 'Delete' }).click();
  dialog = await visible(question, 'the dialog "Delete this retrieval task?" again');
  await dialog.getByRole('button', { name: 'Delete' }).click();
  await gone(taskRow(page, IMAP_SERVER), `the row of the task on ${IMAP_SERVER} after Delete`);
  await until(async () => {
    const a = await account(context, proxy.url);
    return a.retrieval_tasks.length === 1 && a.retrieval_tasks[0].id === pop3Id;
  }, 'the server\'s account to hold only the POP3 task');
  await visible(taskRow(page, POP3_SERVER), 'the other task still listed');
});
