// What a manager does every day: assign work, watch deadlines being missed
// live, and bring deactivated people back.

import { scenario, check, until, sleep } from './harness.mjs';

scenario('a manager creates and assigns a task, then sees a missed-task alert arrive live and acknowledges it', async ({ server, newPage, signIn }) => {
  const manager = await server.createUser({ username: 'maria', role: 'manager', first_name: 'Maria', last_name: 'Lopez' });
  const dana = await server.createUser({ username: 'dana', first_name: 'Dana', last_name: 'Kim' });
  await server.createUser({ username: 'erik' });

  // New York: the offset in July (EDT, -4) differs from the one in winter
  // (EST, -5), so converting with today's offset instead of the chosen
  // date's would be caught.
  const page = await newPage({ timezoneId: 'America/New_York' });
  await signIn(page, 'maria');
  check(new URL(page.url()).pathname === '/dashboard', `a manager starts on ${page.url()}, want /dashboard`);

  await page.getByTestId('nav-tasks').click();
  await page.getByTestId('new-task').click();
  await page.getByTestId('task-form').waitFor();
  const year = new Date().getUTCFullYear() + 1;
  await page.getByTestId('task-title-input').fill('Prepare the July stock count');
  await page.getByTestId('task-description-input').fill('Count the warehouse shelves A to F.');
  await page.getByTestId('task-deadline-input').fill(`${year}-07-15T09:30`);
  const hint = await page.locator('[data-testid="task-deadline-input"] ~ .hint').textContent();
  check(hint.includes('America/New_York'), `the deadline hint does not name the viewer's zone: ${hint}`);
  await page.getByTestId('task-assignee-input').selectOption({ label: 'dana — Dana Kim' });
  await page.getByTestId('task-save').click();

  await page.getByTestId('task-detail').waitFor();
  await page.getByTestId('flash').filter({ hasText: 'Task created.' }).waitFor();
  const id = await page.getByTestId('task-detail').getAttribute('data-task-id');
  check(new URL(page.url()).pathname === `/tasks/${id}`, `after create the page is ${page.url()}`);
  const stored = await server.must(200, 'GET', `/api/task/tasks/${id}/`, { token: await server.adminToken() });
  check(Date.parse(stored.deadline) === Date.parse(`${year}-07-15T13:30:00Z`),
    `09:30 in New York in July was stored as ${stored.deadline}, want ${year}-07-15T13:30:00Z`);
  check(stored.deadline.endsWith('Z'), `deadline not in UTC: ${stored.deadline}`);
  check(stored.assigned_to === dana.id && stored.created_by === manager.id && stored.status === 'pending',
    `stored ${JSON.stringify(stored)}`);
  // The form shows the deadline back in local time.
  check((await page.getByTestId('task-deadline-input').inputValue()) === `${year}-07-15T09:30`, 'the edit form shows another deadline');

  await page.getByTestId('back').click();
  const row = page.locator(`[data-testid="task-row"][data-task-id="${id}"]`);
  await row.waitFor();
  check((await row.getByTestId('task-title').textContent()) === 'Prepare the July stock count', 'the list shows another title');
  check((await row.getByTestId('task-assignee').textContent()) === 'dana', 'the list shows another assignee');
  check((await row.getByTestId('task-status').textContent()) === 'Pending', 'the list shows another status');

  // A task due in about 2 s; the manager watches the alerts screen.
  const dueAt = Date.now() + 2000;
  const soon = await server.createTask({ assignee: dana, title: 'Send the signed contract', deadline: new Date(dueAt).toISOString() });
  await page.getByTestId('nav-alerts').click();
  await page.getByTestId('alerts').waitFor();
  await page.locator('[data-testid="stream-status"][data-state="open"]').waitFor();
  await page.getByTestId('empty').waitFor();
  check(await page.getByTestId('alerts-badge').isHidden(), 'the unread badge shows before any alert');
  // Anything that reloads the page would drop this marker.
  await page.evaluate(() => {
    window.stillTheSamePage = true;
  });

  await sleep(Math.max(0, dueAt - Date.now() + 300));
  const swept = await server.sweep();
  check(swept.tasks_missed === 1 && swept.users_deactivated === 0, `the sweep answered ${JSON.stringify(swept)}`);

  const alertRow = page.locator('[data-testid="alert-row"][data-kind="task_missed"]');
  await alertRow.waitFor({ timeout: 10_000 });
  check(await page.evaluate(() => window.stillTheSamePage === true), 'the page reloaded to show the alert');
  check((await alertRow.getByTestId('alert-task').textContent()) === 'Send the signed contract', 'the alert names another task');
  check((await alertRow.getAttribute('class')).includes('fresh'), 'the live alert is not marked new');
  const text = await alertRow.textContent();
  check(text.includes('assigned to dana') && text.includes('missed its deadline'), `alert text: ${text}`);
  await until('the unread count to say 1', async () => (await page.getByTestId('alerts-badge').isVisible()) && (await page.getByTestId('alerts-badge').textContent()) === '1');

  await alertRow.getByTestId('alert-ack').click();
  await page.locator('[data-testid="alert-row"][data-acknowledged="true"]').getByTestId('alert-acknowledged').waitFor();
  await until('the unread badge to clear', async () => page.getByTestId('alerts-badge').isHidden());

  const alerts = await server.must(200, 'GET', '/api/alerts/', { token: await server.adminToken() });
  check(alerts.length === 1, `${alerts.length} alerts`);
  check(alerts[0].task.id === soon.id && alerts[0].acknowledged_at && alerts[0].acknowledged_by,
    `the alert on the server: ${JSON.stringify(alerts[0])}`);
  const ackBy = typeof alerts[0].acknowledged_by === 'object' ? alerts[0].acknowledged_by.id : alerts[0].acknowledged_by;
  check(ackBy === manager.id, `acknowledged by ${JSON.stringify(alerts[0].acknowledged_by)}, want ${manager.id}`);

  // The missed task shows as final in the missed list.
  await page.getByTestId('nav-missed').click();
  const missedRow = page.locator(`[data-testid="missed-row"][data-task-id="${soon.id}"]`);
  await missedRow.waitFor();
  check((await page.getByTestId('missed-row').count()) === 1, 'the missed list has other tasks');
});

scenario('a manager reactivates a deactivated user, who then signs in', async ({ server, newPage, signIn, expectConsole }) => {
  await server.createUser({ username: 'maria', role: 'manager' });
  const frank = await server.createUser({ username: 'frank', first_name: 'Frank', last_name: 'Osei' });
  await server.must(200, 'POST', `/api/user/users/${frank.id}/deactivate/`, { token: await server.adminToken() });

  // Deactivated, frank is refused with words that say why it may be.
  // (The browser itself logs the refused request as a console error.)
  expectConsole(/status of 401/);
  const frankPage = await newPage();
  await frankPage.goto(`${server.url}/login`);
  await frankPage.getByTestId('login-username').fill('frank');
  await frankPage.getByTestId('login-password').fill('correct-horse-42');
  await frankPage.getByTestId('login-submit').click();
  const refused = frankPage.getByTestId('login-error');
  await refused.waitFor();
  check((await refused.textContent()).includes('paused'), `the refusal does not say the account is paused: ${await refused.textContent()}`);

  const page = await newPage();
  await signIn(page, 'maria');
  await page.getByTestId('nav-users').click();
  const row = page.locator(`[data-testid="user-row"][data-user-id="${frank.id}"]`);
  await row.waitFor();
  check((await row.getAttribute('data-active')) === 'false', 'frank shows as active');
  check((await row.getByTestId('user-status').textContent()) === 'Deactivated', 'frank is not shown as Deactivated');
  check((await row.getByTestId('user-deactivation-reason').textContent()) === 'deactivated by hand', 'the reason is not shown');
  await row.getByTestId('user-deactivated-at').waitFor();

  await row.getByTestId('user-reactivate').click();
  await page.getByTestId('confirm-dialog').waitFor();
  await page.getByTestId('confirm-ok').click();
  const active = page.locator(`[data-testid="user-row"][data-user-id="${frank.id}"][data-active="true"]`);
  await active.waitFor();
  check((await active.getByTestId('user-status').textContent()) === 'Active', 'frank is not shown as Active');
  check((await active.getByTestId('user-reactivate').count()) === 0, 'the Reactivate button is still there');
  const stored = await server.must(200, 'GET', `/api/user/users/${frank.id}/`, { token: await server.adminToken() });
  check(stored.is_active === true && stored.deactivated_at === null, `the server holds ${JSON.stringify(stored)}`);

  await signIn(frankPage, 'frank');
  check(new URL(frankPage.url()).pathname === '/my-tasks', `frank is on ${frankPage.url()}`);
  await frankPage.getByTestId('empty').filter({ hasText: 'You have no tasks yet.' }).waitFor();
});

scenario('a manager is offered no reactivation of a deactivated admin or manager', async ({ server, newPage, signIn }) => {
  await server.createUser({ username: 'maria', role: 'manager' });
  const gina = await server.createUser({ username: 'gina', role: 'admin' });
  const hugo = await server.createUser({ username: 'hugo', role: 'manager' });
  const ivan = await server.createUser({ username: 'ivan' });
  for (const u of [gina, hugo, ivan]) {
    await server.must(200, 'POST', `/api/user/users/${u.id}/deactivate/`, { token: await server.adminToken() });
  }

  const page = await newPage();
  await signIn(page, 'maria');
  await page.getByTestId('nav-users').click();
  const row = (u) => page.locator(`[data-testid="user-row"][data-user-id="${u.id}"]`);
  await row(ivan).getByTestId('user-reactivate').waitFor();
  for (const u of [gina, hugo]) {
    check((await row(u).getAttribute('data-active')) === 'false', `${u.username} shows as active`);
    check((await row(u).getByTestId('user-reactivate').count()) === 0, `the list offers to reactivate ${u.username}`);
  }

  // Nor does the user's own page.
  for (const u of [gina, hugo]) {
    await page.goto(`${server.url}/users/${u.id}`);
    await page.locator(`[data-testid="user-detail"][data-user-id="${u.id}"]`).waitFor();
    check((await page.getByTestId('user-status').textContent()) === 'Deactivated', `${u.username} is not shown as Deactivated`);
    check((await page.getByTestId('user-reactivate').count()) === 0, `${u.username}'s page offers to reactivate them`);
  }
  await page.goto(`${server.url}/users/${ivan.id}`);
  await page.locator(`[data-testid="user-detail"][data-user-id="${ivan.id}"]`).getByTestId('user-reactivate').waitFor();
});
