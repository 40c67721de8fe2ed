// Sign-in through the page: a wrong password keeps the form and says so, the right one
// opens the Email Retrieval page, the session survives a reload, and Sign out ends it.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  JunctionProxy, Story, launchBrowser, signIn, signInForm, api, visible, text, until,
} from './lib/harness.mjs';

const story = new Story(import.meta.filename ?? new URL(import.meta.url).pathname);
const proxy = new JunctionProxy('signin');
const USER = 'alice';
const PASSWORD = 'alice-browser-pw-1';
let context;
let page;

story.step('junction-proxy serve starts with the web app', async () => {
  proxy.addUser(USER, PASSWORD);
  await proxy.start();
  story.onCleanup(() => proxy.stop());
  const index = await fetch(`${proxy.url}/`);
  assert.equal(index.status, 200,
    `GET / should serve the web app's index.html (HTTP ${index.status})`);
  const profile = path.join(proxy.work, 'profile');
  fs.mkdirSync(profile);
  ({ context, page } = await launchBrowser(profile));
  story.page = page;
  story.onCleanup(() => context.close());
});

story.step('a wrong password keeps the sign-in form and shows an error', async () => {
  await signIn(page, proxy.url, USER, 'not-the-password');
  await text(page.getByRole('alert'), /\S/, 'an error message (role=alert) after a wrong password');
  assert.ok(await signInForm(page).getByRole('button', { name: 'Sign in' }).isVisible(),
    'the "Sign in" button should still be there after a wrong password');
  assert.equal(await page.getByRole('button', { name: 'Sign out' }).isVisible(), false,
    'a wrong password must not sign in (a "Sign out" button is visible)');
  const { status } = await api(context, proxy.url, 'GET', '/api/session');
  assert.equal(status, 401, `no session after a wrong password (GET /api/session → ${status})`);
});

story.step('the right password opens the Email Retrieval page', async () => {
  await signInForm(page).getByLabel('Password', { exact: true }).fill(PASSWORD);
  await signInForm(page).getByRole('button', { name: 'Sign in' }).click();
  await visible(page.getByRole('heading', { name: 'Email Retrieval' }),
    'the heading "Email Retrieval" after signing in');
  await visible(page.getByRole('button', { name: 'Sign out' }), 'the button "Sign out"');
  assert.equal(await signInForm(page).isVisible(), false,
    'the sign-in form should be gone once signed in');
  const { status, data } = await api(context, proxy.url, 'GET', '/api/session');
  assert.equal(status, 200, `the browser holds a session (GET /api/session → ${status})`);
  assert.ok(data && typeof data === 'object', 'GET /api/session answers JSON');
});

story.step('the session survives a reload', async () => {
  await page.reload();
  await visible(page.getByRole('heading', { name: 'Email Retrieval' }),
    'the heading "Email Retrieval" after a reload (no second sign-in)');
  assert.equal(await signInForm(page).isVisible(), false,
    'the sign-in form should not be shown again after a reload');
});

// The names of the page's IndexedDB databases.
const databases = () => page.evaluate(async () => (await indexedDB.databases()).map((d) => d.name));

story.step('Sign out returns to the sign-in form, ends the session and erases the data', async () => {
  assert.ok((await databases()).includes('junction'),
    'while signed in, the account is kept in the IndexedDB database "junction"');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await visible(signInForm(page).getByLabel('Username', { exact: true }),
    'the sign-in field "Username" after Sign out');
  await until(async () => (await api(context, proxy.url, 'GET', '/api/session')).status === 401,
    'GET /api/session with the old cookie to answer 401 after Sign out');
  await until(async () => !(await databases()).includes('junction'),
    'the IndexedDB database "junction" to be deleted by Sign out');
});

story.step('first start: the one-time password from its 0600 file, then one of my own', async () => {
  const first = new JunctionProxy('signin-first');
  await first.start();  // no users: serve creates "admin"
  story.onCleanup(() => first.stop());
  const file = path.join(first.data, 'initial-password');
  assert.equal(fs.statSync(file).mode & 0o777, 0o600, `${file} is readable by its owner only`);
  const oneTime = fs.readFileSync(file, 'utf8').trim();
  const printed = fs.readFileSync(`${first.log}.out`, 'utf8');
  assert.ok(printed.includes(file), `serve says where the one-time password is: ${printed}`);
  assert.equal(printed.includes(oneTime), false, 'serve does not print the one-time password');
  await signIn(page, first.url, 'admin', oneTime);
  await visible(page.getByRole('heading', { name: 'Choose your password' }),
    'the form "Choose your password" after signing in with the one-time password');
  const refused = await api(context, first.url, 'GET', '/api/account');
  assert.deepEqual([refused.status, refused.data && refused.data.code],
    [403, 'password_change_required'], 'the server refuses the account until then');
  await page.getByLabel('New password', { exact: true }).fill('admin-own-password-1');
  await page.locator('#change-password').getByRole('button', { name: 'Save' }).click();
  await visible(page.getByRole('heading', { name: 'Email Retrieval' }),
    'the heading "Email Retrieval" once the password is chosen');
  assert.equal((await api(context, first.url, 'GET', '/api/account')).status, 200,
    'the account opens with the new password chosen');
  assert.equal(fs.existsSync(file), false, 'the one-time password\'s file is gone');
});
