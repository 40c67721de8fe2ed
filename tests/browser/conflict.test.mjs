// An offline edit that meets a newer server version (web/sync.js): the page edits a task
// while its network is cut; meanwhile the same account changes the task through the API.
// Back online, the page must show #conflict instead of silently overwriting either side,
// and "Keep mine" / "Use theirs" must decide what the server keeps.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  JunctionProxy, Story, LONG, ports, launchBrowser, signIn, api, visible, gone, until, taskRow,
  fillTaskForm, clickInTaskForm, account,
} from './lib/harness.mjs';

const story = new Story(import.meta.filename ?? new URL(import.meta.url).pathname);
const proxy = new JunctionProxy('conflict');
const USER = 'carol';
const PASSWORD = 'carol-browser-pw-1';
const SERVER = '127.0.0.1';
let context;
let page;
let taskId;

story.step('setup: a signed-in page with one task', async () => {
  proxy.addUser(USER, PASSWORD);
  await proxy.start();
  story.onCleanup(() => proxy.stop());
  const profile = path.join(proxy.work, 'profile');
  fs.mkdirSync(profile);
  ({ context, page } = await launchBrowser(profile));
  story.page = page;
  story.onCleanup(() => context.close());
  await signIn(page, proxy.url, USER, PASSWORD);
  await visible(page.getByRole('heading', { name: 'Email Retrieval' }), 'the Connectivity page');
  const task = { type: 'pop3', server: SERVER, port: ports.pop3, encryption: 'none',
    username: 'nobody-here', password: 'source-pw-1', destination_folder: 'INBOX' };
  const put = await api(context, proxy.url, 'PUT', '/api/account',
    { body: { retrieval_tasks: [task] }, headers: { 'If-Match': '0' } });
  assert.equal(put.status, 200,
    `PUT /api/account with the task: ${put.status} ${put.text.slice(0, 200)}`);
  taskId = put.data.retrieval_tasks[0].id;
  await page.reload();
  await visible(taskRow(page, SERVER), `the task on ${SERVER} (written through the API)`);
});

// Edits the task's Destination Folder in the page while offline and, meanwhile, through the
// API; then goes back online and waits for #conflict.
async function conflictingEdits(mine, theirs) {
  await context.setOffline(true);
  await taskRow(page, SERVER).getByRole('button', { name: 'Edit' }).click();
  await visible(page.getByRole('heading', { name: 'Edit Retrieval Task' }),
    'the heading "Edit Retrieval Task"');
  await fillTaskForm(page, { 'Destination Folder': mine });
  await clickInTaskForm(page, 'Save');
  await gone(page.getByRole('heading', { name: 'Edit Retrieval Task' }),
    'the form after Save (offline)');
  // The API is reached from node, not through the page: the page's network is off.
  const current = await account(context, proxy.url);
  const tasks = current.retrieval_tasks.map(
    (t) => (t.id === taskId ? { ...t, destination_folder: theirs } : t));
  const put = await api(context, proxy.url, 'PUT', '/api/account',
    { body: { retrieval_tasks: tasks }, headers: { 'If-Match': String(current.revision) } });
  assert.equal(put.status, 200,
    `the API's edit (destination "${theirs}"): ${put.status} ${put.text.slice(0, 200)}`);
  const serverHas = (await account(context, proxy.url)).retrieval_tasks[0].destination_folder;
  assert.equal(serverHas, theirs,
    'the page\'s offline edit must not have reached the server while offline');
  await context.setOffline(false);
  const conflict = await visible(page.locator('#conflict'),
    'the conflict notice #conflict once back online', LONG);
  assert.equal(await conflict.getAttribute('role'), 'alert', '#conflict has role=alert');
  return conflict;
}

story.step('offline edit vs. an API edit: #conflict, "Keep mine" wins', async () => {
  const conflict = await conflictingEdits('Mine', 'Theirs');
  await conflict.getByRole('button', { name: 'Keep mine' }).click();
  await gone(page.locator('#conflict'), '#conflict after "Keep mine"');
  await until(async () =>
    (await account(context, proxy.url)).retrieval_tasks[0].destination_folder === 'Mine',
    'the server to hold the page\'s version (destination "Mine") after "Keep mine"', LONG,
    () => 'a different destination_folder');
});

story.step('again: "Use theirs" keeps the server\'s version and shows it', async () => {
  const conflict = await conflictingEdits('Mine again', 'Theirs again');
  await conflict.getByRole('button', { name: 'Use theirs' }).click();
  await gone(page.locator('#conflict'), '#conflict after "Use theirs"');
  // Give a wrong implementation time to push the page's version anyway.
  await new Promise((resolve) => setTimeout(resolve, 3000));
  const folder = (await account(context, proxy.url)).retrieval_tasks[0].destination_folder;
  assert.equal(folder, 'Theirs again', 'the server keeps its version after "Use theirs"');
  await taskRow(page, SERVER).getByRole('button', { name: 'Edit' }).click();
  const field = page.getByLabel('Destination Folder', { exact: true });
  await visible(field, 'the field "Destination Folder"');
  assert.equal(await field.inputValue(), 'Theirs again', 'the form shows the server\'s version');
  await clickInTaskForm(page, 'Cancel');
});
