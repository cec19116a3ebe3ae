// Personal access tokens and the calendar address, through the UI: made
// and copied once, used, seen with their last use, revoked; the calendar
// address copied and rotated; an admin revoking a user's token.

import { scenario, check, until } from './harness.mjs';

const CLIPBOARD = { permissions: ['clipboard-read', 'clipboard-write'] };

scenario('a person makes a token, copies it once, uses it and revokes it', async ({ server, newPage, signIn }) => {
  await server.createUser({ username: 'alice' });
  const page = await newPage(CLIPBOARD);
  await signIn(page, 'alice');
  await page.getByTestId('nav-tokens').click();
  await page.getByTestId('token-form').waitFor();
  await page.getByTestId('empty').filter({ hasText: 'You have no tokens.' }).waitFor();

  // Write needs read: ticking write ticks read.
  await page.getByTestId('token-scope-read').uncheck();
  await page.getByTestId('token-scope-write').check();
  check(await page.getByTestId('token-scope-read').isChecked(), 'ticking write left read unticked');
  await page.getByTestId('token-name-input').fill('nightly report');
  await page.getByTestId('token-expiry-input').selectOption('never');
  await page.getByTestId('token-create').click();

  await page.getByTestId('token-secret-panel').waitFor();
  const token = await page.getByTestId('token-secret').inputValue();
  check(/^tt_pat_[A-Za-z0-9_-]{43}$/.test(token), `the token shown: ${token}`);
  await page.getByTestId('token-secret-copy').click();
  await page.getByTestId('token-secret-copied').filter({ hasText: 'Copied.' }).waitFor();
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  check(copied === token, `the clipboard holds ${copied}`);

  // The token works, as alice, within its scopes.
  const me = await server.must(200, 'GET', '/api/user/me/', { token });
  check(me.username === 'alice', `the token is ${JSON.stringify(me)}`);
  const row = page.getByTestId('token-row');
  await row.waitFor();
  check((await row.getByTestId('token-name').textContent()) === 'nightly report', 'the row names another token');
  check((await row.getByTestId('token-scopes').textContent()).trim() === 'read write', `scopes ${await row.getByTestId('token-scopes').textContent()}`);

  // Shown once: after a reload the secret is nowhere, and the last use is.
  await page.reload();
  await page.getByTestId('token-row').waitFor();
  check((await page.getByTestId('token-secret-panel').count()) === 0, 'the secret panel is back after a reload');
  check(!(await page.content()).includes(token), 'the secret is in the page after a reload');
  await page.getByTestId('token-last-used-at').waitFor();

  await page.getByTestId('token-revoke').click();
  await page.getByTestId('confirm-ok').click();
  await page.getByTestId('empty').filter({ hasText: 'You have no tokens.' }).waitFor();
  const after = await server.api('GET', '/api/user/me/', { token });
  check(after.status === 401, `the revoked token answers ${after.status}`);
});

scenario('a token needs a name and a scope, and says why', async ({ server, newPage, signIn, expectConsole }) => {
  expectConsole(/status of 400/);
  await server.createUser({ username: 'bob' });
  const page = await newPage();
  await signIn(page, 'bob');
  await page.goto(`${server.url}/tokens`);
  await page.getByTestId('token-name-input').fill('no scopes');
  await page.getByTestId('token-scope-read').uncheck();
  await page.getByTestId('token-create').click();
  const error = page.getByTestId('error-scopes');
  await until('the scopes error', async () => (await error.textContent()).includes('at least one scope'));
  check((await page.getByTestId('token-secret-panel').count()) === 0, 'a secret was shown for a refused token');
  const list = await server.must(200, 'GET', '/api/user/me/tokens/', { token: await server.token('bob') });
  check(list.length === 0, `bob has ${list.length} tokens`);
});

scenario('the calendar address is copied and rotated', async ({ server, newPage, signIn }) => {
  const alice = await server.createUser({ username: 'alice' });
  await server.createTask({ assignee: alice, title: 'Quarterly report, final; really' });
  const page = await newPage(CLIPBOARD);
  await signIn(page, 'alice');
  await page.getByTestId('nav-tokens').click();
  const panel = page.getByTestId('calendar-panel');
  await panel.getByTestId('calendar-url').waitFor();
  const url = await panel.getByTestId('calendar-url').inputValue();
  check(url.startsWith(`${server.url}/api/calendar/`) && url.endsWith('/tasks.ics'), `the calendar address ${url}`);
  await panel.getByTestId('calendar-url-copy').click();
  await panel.getByTestId('calendar-url-copied').filter({ hasText: 'Copied.' }).waitFor();
  check((await page.evaluate(() => navigator.clipboard.readText())) === url, 'the clipboard does not hold the address');

  const feed = await fetch(url);
  const body = await feed.text();
  check(feed.status === 200 && feed.headers.get('content-type') === 'text/calendar; charset=utf-8', `the feed: ${feed.status} ${feed.headers.get('content-type')}`);
  check(body.includes('SUMMARY:Quarterly report\\, final\\; really\r\n'), `the feed's event:\n${body}`);

  await panel.getByTestId('calendar-rotate').click();
  await page.getByTestId('confirm-ok').click();
  await panel.getByTestId('calendar-rotated').waitFor();
  const rotated = await panel.getByTestId('calendar-url').inputValue();
  check(rotated !== url && rotated.endsWith('/tasks.ics'), `after rotating: ${rotated}`);
  check((await fetch(url)).status === 404, 'the old address still answers');
  check((await fetch(rotated)).status === 200, 'the new address does not answer');
});

scenario('an admin sees and revokes a user\'s token on the user\'s page', async ({ server, newPage, signIn }) => {
  const carol = await server.createUser({ username: 'carol' });
  const made = await server.must(201, 'POST', '/api/user/me/tokens/', {
    token: await server.token('carol'), body: { name: 'old laptop script', scopes: ['read'] },
  });
  const page = await newPage();
  await signIn(page, 'admin', server.adminPassword);
  await page.goto(`${server.url}/users/${carol.id}`);
  const section = page.getByTestId('user-tokens');
  const row = section.getByTestId('token-row');
  await row.waitFor();
  check((await row.getAttribute('data-token-id')) === made.id, 'the row is of another token');
  check((await row.getByTestId('token-name').textContent()) === 'old laptop script', 'the row names another token');
  await row.getByTestId('token-revoke').click();
  await page.getByTestId('confirm-ok').click();
  await section.getByTestId('empty').filter({ hasText: 'carol has no tokens.' }).waitFor();
  const res = await server.api('GET', '/api/user/me/', { token: made.token });
  check(res.status === 401, `carol's revoked token answers ${res.status}`);
});
