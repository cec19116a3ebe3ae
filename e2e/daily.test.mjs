// The web UI in daily use: what managers, users and admins meet every day,
// one scenario for each thing it must do (see README, Browser tests).

import { scenario, check, until, sleep, PASSWORD, PHONE } from './harness.mjs';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

// overdue creates a task whose deadline passes in a moment and waits until
// it has: the sweep has not marked it yet.
async function overdue(server, assignee, title) {
  const dueAt = Date.now() + 1500;
  const task = await server.createTask({ assignee, title, deadline: new Date(dueAt).toISOString() });
  await sleep(Math.max(0, dueAt - Date.now() + 200));
  return task;
}

async function titles(page) {
  return page.getByTestId('task-title').allTextContents();
}

async function sameTitles(page, want, what) {
  await until(`${what}: ${want.join(', ')}`, async () => JSON.stringify(await titles(page)) === JSON.stringify(want));
}

// openTasks goes from where a manager or admin lands (the dashboard) to
// the Tasks page.
async function openTasks(page) {
  await page.getByTestId('nav-tasks').click();
  await page.getByTestId('all-tasks').waitFor();
}

// focused describes the element that has focus.
async function focused(page) {
  return page.evaluate(() => {
    const el = document.activeElement;
    const row = el && el.closest('[data-task-id], [data-alert-id], [data-user-id]');
    return {
      tag: el ? el.tagName : null,
      testid: el ? el.getAttribute('data-testid') : null,
      row: row ? row.dataset.taskId || row.dataset.alertId || row.dataset.userId : null,
    };
  });
}

// 1. Open on what needs doing.
scenario('task lists open on open work, soonest deadline first, overdue work on top, done work behind the filter', async ({ server, newPage, signIn, a11y }) => {
  await server.createUser({ username: 'maria', role: 'manager' });
  const alice = await server.createUser({ username: 'alice' });
  const missed = await overdue(server, alice, 'Missed: send the contract');
  await server.sweep();
  const late = await overdue(server, alice, 'Overdue: call the courier');
  await server.createTask({ assignee: alice, title: 'Later: book the venue', dueInMs: DAY });
  await server.createTask({ assignee: alice, title: 'Soon: water the plants', dueInMs: 5 * HOUR });
  const done = await server.createTask({ assignee: alice, title: 'Done: update the contacts', dueInMs: 3 * HOUR });
  await server.must(200, 'PATCH', `/api/task/tasks/${done.id}/update_status/`, { token: await server.token('alice'), body: { status: 'completed' } });

  // A user's phone opens on what is left to do, the overdue task first.
  const phone = await newPage({ viewport: PHONE, isMobile: true, hasTouch: true });
  await signIn(phone, 'alice');
  await sameTitles(phone, ['Overdue: call the courier', 'Soon: water the plants', 'Later: book the venue'], 'My tasks on a phone');
  const lateRow = phone.locator(`[data-testid="task-row"][data-task-id="${late.id}"]`);
  check((await lateRow.getByTestId('task-overdue').textContent()) === 'Deadline passed', 'the overdue task is not marked');
  check((await lateRow.getByTestId('task-final').textContent()) === 'Deadline passed — locked', 'the overdue task is not locked');
  check((await phone.getByTestId('filter-status').inputValue()) === 'open', 'the filter does not say open work');

  // Done work is one choice away, and the choice is in the URL.
  await phone.getByTestId('filter-status').selectOption('done');
  await sameTitles(phone, ['Missed: send the contract', 'Done: update the contacts'], 'done work');
  check(new URL(phone.url()).searchParams.get('status') === 'completed,missed', `URL ${phone.url()}`);
  check((await phone.locator(`[data-task-id="${missed.id}"]`).getAttribute('data-status')) === 'missed', 'the missed task is not shown as missed');
  await a11y(phone, 'done work on a phone');

  // A manager lands on the dashboard; the Tasks list opens the same way,
  // with every status one choice away.
  const manager = await newPage();
  await signIn(manager, 'maria');
  check(new URL(manager.url()).pathname === '/dashboard', `a manager starts on ${manager.url()}`);
  await openTasks(manager);
  await sameTitles(manager, ['Overdue: call the courier', 'Soon: water the plants', 'Later: book the venue'], 'Tasks');
  await manager.getByTestId('filter-status').selectOption('all');
  await sameTitles(manager, ['Missed: send the contract', 'Overdue: call the courier', 'Done: update the contacts', 'Soon: water the plants', 'Later: book the venue'], 'all tasks');
  await a11y(manager, 'all tasks');
});

// 2. Stay signed in across tabs.
scenario('the session lives in an HttpOnly cookie that every tab shares; signing out signs every tab out', async ({ server, newPage, newTab, signIn, a11y }) => {
  const alice = await server.createUser({ username: 'alice' });
  const task = await server.createTask({ assignee: alice, title: 'Water the office plants' });
  const page = await newPage();
  await signIn(page, 'alice');

  const cookies = await page.context().cookies();
  const refresh = cookies.find((c) => c.name === 'tasktrack_refresh');
  check(refresh && refresh.httpOnly && refresh.sameSite === 'Strict' && refresh.path === '/api/token/' && !refresh.secure,
    `the refresh cookie: ${JSON.stringify(refresh)}`);
  const visible = await page.evaluate(() => `${document.cookie}|${JSON.stringify(localStorage)}|${JSON.stringify(sessionStorage)}`);
  check(!visible.includes('eyJ'), `a token is within the page's reach: ${visible}`);

  // Ctrl+click opens the task in a new tab, signed in.
  const [opened] = await Promise.all([
    page.context().waitForEvent('page'),
    page.locator(`[data-task-id="${task.id}"]`).getByTestId('task-title').click({ modifiers: ['Control'] }),
  ]);
  await opened.locator(`[data-testid="task-detail"][data-task-id="${task.id}"]`).waitFor();
  check((await opened.getByTestId('whoami').textContent()).startsWith('alice'), 'the new tab is not signed in as alice');
  await a11y(opened, 'a task opened in a new tab');

  // So does an address typed into another tab.
  const typed = await newTab(page);
  await typed.goto(`${server.url}/tasks/${task.id}`);
  await typed.locator(`[data-testid="task-detail"][data-task-id="${task.id}"]`).waitFor();
  // Three tabs refreshed the one cookie; none was taken for a thief.
  await typed.reload();
  await typed.locator(`[data-testid="task-detail"][data-task-id="${task.id}"]`).waitFor();
  await page.reload();
  await page.getByTestId('task-row').waitFor();

  // Signing out in one tab signs the others out at once, and the cookie
  // is gone.
  await page.getByTestId('nav-signout').click();
  await page.getByTestId('signed-out').waitFor();
  for (const other of [opened, typed]) {
    await other.getByTestId('login-form').waitFor();
    check((await other.getByTestId('session-message').textContent()) === 'You signed out in another tab.', 'the other tab does not say why');
  }
  await a11y(typed, 'a tab signed out by another');
  check(!(await page.context().cookies()).some((c) => c.name === 'tasktrack_refresh'), 'the refresh cookie outlived the sign-out');
  await typed.goto(`${server.url}/tasks/${task.id}`);
  await typed.getByTestId('login-form').waitFor();
});

// 3. Deadlines pass live.
scenario('a deadline that passes on screen shows at once, and the sweep’s miss arrives without a reload', async ({ server, newPage, signIn, a11y }) => {
  await server.createUser({ username: 'maria', role: 'manager' });
  const alice = await server.createUser({ username: 'alice' });
  await server.createTask({ assignee: alice, title: 'Later', dueInMs: DAY });
  const user = await newPage();
  await signIn(user, 'alice');
  const manager = await newPage();
  await signIn(manager, 'maria');
  await openTasks(manager);
  const dueAt = Date.now() + 5000;
  const soon = await server.createTask({ assignee: alice, title: 'Due in a moment', deadline: new Date(dueAt).toISOString() });
  await user.reload();
  await manager.reload();
  const userRow = user.locator(`[data-testid="task-row"][data-task-id="${soon.id}"]`);
  const managerRow = manager.locator(`[data-testid="task-row"][data-task-id="${soon.id}"]`);
  await userRow.getByTestId('status-btn-completed').waitFor();
  check(await userRow.getByTestId('status-btn-completed').isEnabled(), 'the buttons are off before the deadline');
  for (const page of [user, manager]) {
    await page.evaluate(() => {
      window.stillTheSamePage = true;
    });
  }

  // The deadline passes: both rows say so at that moment, and the user's
  // buttons are gone.
  await sleep(Math.max(0, dueAt - Date.now()));
  await userRow.getByTestId('task-overdue').waitFor({ timeout: 2000 });
  check((await userRow.getByTestId('task-final').textContent()) === 'Deadline passed — locked', 'the user can still change the task');
  check((await userRow.getByTestId('status-btn-completed').count()) === 0, 'the status buttons are still there');
  await managerRow.getByTestId('task-overdue').waitFor({ timeout: 2000 });
  await a11y(user, 'a deadline just passed');

  // The sweep marks it missed: the manager hears it on the alert stream,
  // the user's list (which asks again often while it shows such a task)
  // soon after.
  const swept = await server.sweep();
  check(swept.tasks_missed === 1, `the sweep answered ${JSON.stringify(swept)}`);
  await manager.locator(`[data-testid="task-row"][data-task-id="${soon.id}"][data-status="missed"]`).waitFor({ timeout: 5000 });
  check((await managerRow.getByTestId('task-status').textContent()) === 'Missed', 'the manager’s row does not say Missed');
  await user.locator(`[data-testid="task-row"][data-task-id="${soon.id}"][data-status="missed"]`).waitFor({ timeout: 12_000 });
  check((await userRow.getByTestId('task-final').textContent()) === 'Missed — final', 'the user’s row does not say Missed');
  for (const page of [user, manager]) {
    check(await page.evaluate(() => window.stillTheSamePage === true), `${page.url()} reloaded`);
  }
  await a11y(manager, 'a missed task on the managers’ list');
});

scenario('the managers’ list follows what others change, keeping the focus where it is', async ({ server, newPage, signIn }) => {
  await server.createUser({ username: 'maria', role: 'manager' });
  const alice = await server.createUser({ username: 'alice' });
  const bob = await server.createUser({ username: 'bob' });
  const moving = await server.createTask({ assignee: alice, title: 'Status changes', dueInMs: HOUR });
  const handed = await server.createTask({ assignee: alice, title: 'Handed over', dueInMs: 2 * HOUR });

  const page = await newPage();
  // The page's clock runs as usual; the test moves it to the next poll.
  await page.clock.install();
  await signIn(page, 'maria');
  await openTasks(page);
  await sameTitles(page, ['Status changes', 'Handed over'], 'Tasks');
  await page.evaluate(() => {
    window.stillTheSamePage = true;
  });
  await page.getByTestId('filter-ordering').focus();

  // Elsewhere: alice starts her task, another manager hands one to bob
  // and assigns alice a new one.
  await server.must(200, 'PATCH', `/api/task/tasks/${moving.id}/update_status/`, { token: await server.token('alice'), body: { status: 'in_progress' } });
  await server.must(200, 'PATCH', `/api/task/tasks/${handed.id}/`, { token: await server.adminToken(), body: { assigned_to: bob.id } });
  await server.createTask({ assignee: alice, title: 'Newly assigned', dueInMs: 3 * HOUR });

  await page.clock.fastForward(31_000);
  await sameTitles(page, ['Status changes', 'Handed over', 'Newly assigned'], 'the list after the poll');
  await until('the new status', async () => (await page.locator(`[data-task-id="${moving.id}"]`).getByTestId('task-status').textContent()) === 'In progress');
  check((await page.locator(`[data-task-id="${handed.id}"]`).getByTestId('task-assignee').textContent()) === 'bob', 'the new assignee is not shown');
  check(await page.evaluate(() => window.stillTheSamePage === true), 'the page reloaded');
  check((await focused(page)).testid === 'filter-ordering', `focus moved to ${JSON.stringify(await focused(page))}`);
});

// 4. Tell people the rule before it bites.
scenario('signing in to a paused account says so, after the right password only', async ({ server, newPage, expectConsole, a11y }) => {
  expectConsole(/status of 401/);
  const frank = await server.createUser({ username: 'frank' });
  await server.must(200, 'POST', `/api/user/users/${frank.id}/deactivate/`, { token: await server.adminToken() });
  const page = await newPage();
  await page.goto(`${server.url}/login`);
  const error = page.getByTestId('login-error');

  await page.getByTestId('login-username').fill('frank');
  await page.getByTestId('login-password').fill('not-his-password');
  await page.getByTestId('login-submit').click();
  await error.waitFor();
  const wrong = await error.textContent();
  check(wrong === 'No active account found with the given credentials. Check your username and password.', `wrong password: ${wrong}`);
  check(!/paus|deactivat/i.test(wrong), 'a wrong password hears that the account is paused');

  await page.getByTestId('login-password').fill(PASSWORD);
  await page.getByTestId('login-submit').click();
  await until('the paused message', async () => (await error.getAttribute('data-code')) === 'account_inactive');
  const paused = await error.textContent();
  check(paused.includes('Your account is paused') && paused.includes('Ask a manager to reactivate it'), `right password: ${paused}`);
  check((await page.evaluate(() => document.activeElement.getAttribute('data-testid'))) === 'login-password', 'focus left the password');
  await a11y(page, 'the paused account message');
});

// 5. Never lose typing.
scenario('when the session ends mid-form, signing in again in a dialog keeps the draft and sends it', async ({ server, newPage, signIn, expectConsole, a11y }) => {
  expectConsole(/status of (400|401)/);
  const maria = await server.createUser({ username: 'maria', role: 'manager' });
  const dana = await server.createUser({ username: 'dana' });
  const page = await newPage();
  await signIn(page, 'maria');
  await openTasks(page);
  await page.getByTestId('new-task').click();
  const due = new Date(Date.now() + 2 * DAY).toISOString().slice(0, 16);
  await page.getByTestId('task-title-input').fill('Draft typed before the session ended');
  await page.getByTestId('task-description-input').fill('Three paragraphs of careful instructions.');
  await page.getByTestId('task-deadline-input').fill(due);
  await page.getByTestId('task-assignee-input').selectOption({ label: 'dana' });

  // An admin sets maria's password (to the same one): every session of
  // hers ends at once, this one included.
  await server.must(204, 'POST', `/api/user/users/${maria.id}/password/`, { token: await server.adminToken(), body: { password: PASSWORD } });
  await page.getByTestId('task-save').click();
  const dialog = page.getByTestId('reauth-dialog');
  await dialog.waitFor();
  check((await page.getByTestId('reauth-username').inputValue()) === 'maria', 'the dialog does not name maria');
  check((await page.getByTestId('task-title-input').inputValue()) === 'Draft typed before the session ended', 'the draft is gone');
  await a11y(page, 'the sign-in-again dialog');

  await page.getByTestId('reauth-password').fill('a-wrong-password');
  await page.getByTestId('reauth-submit').click();
  await page.getByTestId('reauth-error').filter({ hasText: 'Check your username and password' }).waitFor();
  await page.getByTestId('reauth-password').fill(PASSWORD);
  await page.getByTestId('reauth-submit').click();

  // The save carries on as if nothing happened.
  await page.getByTestId('task-detail').waitFor();
  await page.getByTestId('flash').filter({ hasText: 'Task created.' }).waitFor();
  check(await dialog.count() === 0, 'the dialog stayed');
  const id = await page.getByTestId('task-detail').getAttribute('data-task-id');
  const stored = await server.must(200, 'GET', `/api/task/tasks/${id}/`, { token: await server.adminToken() });
  check(stored.title === 'Draft typed before the session ended' && stored.description === 'Three paragraphs of careful instructions.' &&
    stored.assigned_to === dana.id && stored.created_by === maria.id, `stored ${JSON.stringify(stored)}`);
});

// 6. Focus stays where the work is.
scenario('after a status change, delete, acknowledge or reactivate, focus goes to the next thing to do, never to the page', async ({ server, newPage, signIn, a11y }) => {
  await server.createUser({ username: 'maria', role: 'manager' });
  const alice = await server.createUser({ username: 'alice' });
  const first = await server.createTask({ assignee: alice, title: 'First', dueInMs: HOUR });
  const second = await server.createTask({ assignee: alice, title: 'Second', dueInMs: 2 * HOUR });
  const third = await server.createTask({ assignee: alice, title: 'Third', dueInMs: 3 * HOUR });

  // A user moves a task with the keyboard: focus goes to the row's next
  // button, and round to its first.
  const user = await newPage();
  await signIn(user, 'alice');
  const row = user.locator(`[data-testid="task-row"][data-task-id="${first.id}"]`);
  await row.getByTestId('status-btn-in_progress').focus();
  await user.keyboard.press('Enter');
  await until('focus on Completed', async () => JSON.stringify(await focused(user)) === JSON.stringify({ tag: 'BUTTON', testid: 'status-btn-completed', row: first.id }));
  await user.keyboard.press('Enter');
  await until('focus on Pending', async () => JSON.stringify(await focused(user)) === JSON.stringify({ tag: 'BUTTON', testid: 'status-btn-pending', row: first.id }));
  await a11y(user, 'My tasks after two status changes');

  // A manager deletes a task: focus goes to the next row's Delete.
  const manager = await newPage();
  await signIn(manager, 'maria');
  await openTasks(manager);
  await manager.locator(`[data-task-id="${second.id}"]`).getByTestId('task-delete').focus();
  await manager.keyboard.press('Enter');
  await manager.getByTestId('confirm-ok').click();
  await until('the row gone', async () => (await manager.locator(`[data-task-id="${second.id}"]`).count()) === 0);
  // (First is done, so off the open list: Third took Second's place.)
  const afterDelete = await focused(manager);
  check(afterDelete.testid === 'task-delete' && afterDelete.row === third.id, `after delete focus is on ${JSON.stringify(afterDelete)}`);
  await a11y(manager, 'Tasks after a delete');

  // Two missed tasks, two alerts: acknowledging one moves to the other;
  // acknowledging the last moves to the heading.
  await overdue(server, alice, 'Missed one');
  await overdue(server, alice, 'Missed two');
  await server.sweep();
  // The stream has brought both when the badge counts them.
  await manager.locator('[data-testid="alerts-badge"]:not([hidden])').filter({ hasText: '2' }).waitFor({ timeout: 10_000 });
  await manager.getByTestId('nav-alerts').click();
  await manager.getByTestId('alert-row').nth(1).waitFor();
  const alertIDs = await manager.getByTestId('alert-row').evaluateAll((rows) => rows.map((r) => r.dataset.alertId));
  await manager.locator(`[data-alert-id="${alertIDs[0]}"]`).getByTestId('alert-ack').focus();
  await manager.keyboard.press('Enter');
  await until('focus on the next alert', async () => JSON.stringify(await focused(manager)) === JSON.stringify({ tag: 'BUTTON', testid: 'alert-ack', row: alertIDs[1] }));
  await manager.keyboard.press('Enter');
  await until('focus on the heading', async () => (await focused(manager)).tag === 'H1');

  // Reactivating one of two deactivated people moves to the other.
  const ids = [];
  for (const name of ['pia', 'quinn']) {
    const u = await server.createUser({ username: name });
    await server.must(200, 'POST', `/api/user/users/${u.id}/deactivate/`, { token: await server.adminToken() });
    ids.push(String(u.id));
  }
  await manager.getByTestId('nav-users').click();
  await manager.locator(`[data-user-id="${ids[0]}"]`).getByTestId('user-reactivate').focus();
  await manager.keyboard.press('Enter');
  await manager.getByTestId('confirm-ok').click();
  await until('focus on the next Reactivate', async () => JSON.stringify(await focused(manager)) === JSON.stringify({ tag: 'BUTTON', testid: 'user-reactivate', row: ids[1] }));
  await a11y(manager, 'Users after a reactivation');
});

// 7. Big lists.
scenario('big lists: page sizes, page numbers, a jump, a pager on an empty page, and bulk reassign, delete and acknowledge', async ({ server, newPage, signIn, a11y }) => {
  await server.createUser({ username: 'maria', role: 'manager' });
  const alice = await server.createUser({ username: 'alice' });
  const bob = await server.createUser({ username: 'bob' });
  const token = await server.adminToken();
  const base = Date.now() + DAY;
  const made = [];
  for (let start = 0; start < 130; start += 10) {
    made.push(...await Promise.all(Array.from({ length: 10 }, (_, k) => server.must(201, 'POST', '/api/task/tasks/', {
      token, body: { title: `Task ${String(start + k + 1).padStart(3, '0')}`, assigned_to: alice.id, deadline: new Date(base + (start + k) * 60_000).toISOString() },
    }))));
  }
  const page = await newPage();
  await signIn(page, 'maria');
  await openTasks(page);
  const info = page.getByTestId('pager-info');
  await until('50 a page', async () => (await info.textContent()) === '1–50 of 130');
  check((await page.getByTestId('pager-page-3').textContent()) === '3', 'no button for page 3');

  await page.getByTestId('pager-size').selectOption('25');
  await until('25 a page', async () => (await info.textContent()) === '1–25 of 130' && (await page.getByTestId('task-row').count()) === 25);
  check(new URL(page.url()).searchParams.get('limit') === '25', `URL ${page.url()}`);
  await page.getByTestId('pager-jump-input').fill('6');
  await page.getByTestId('pager-jump-go').click();
  await until('the last page', async () => (await info.textContent()) === '126–130 of 130');
  await sameTitles(page, ['Task 126', 'Task 127', 'Task 128', 'Task 129', 'Task 130'], 'the last page');
  await a11y(page, 'the last page of 25');

  // A page past the end still has a pager, back to the last page.
  await page.goto(`${server.url}/tasks?offset=200&limit=25`);
  await page.getByTestId('empty').waitFor();
  check(await page.getByTestId('pager-prev').isEnabled(), 'no way back from an empty page');
  await a11y(page, 'an empty page past the end');
  await page.getByTestId('pager-prev').click();
  await until('back on the last page', async () => (await info.textContent()) === '126–130 of 130');

  // Bulk: three tasks to bob.
  await page.getByTestId('pager-page-1').click();
  await until('page 1', async () => (await info.textContent()) === '1–25 of 130');
  const rows = page.getByTestId('task-row');
  const chosen = [];
  for (const i of [0, 2, 4]) {
    await rows.nth(i).getByTestId('task-select').check();
    chosen.push(await rows.nth(i).getAttribute('data-task-id'));
  }
  check((await page.getByTestId('bulk-count').textContent()) === '3 selected', 'the selection is not counted');
  await page.getByTestId('bulk-assignee').selectOption({ label: 'bob' });
  await a11y(page, 'three tasks selected');
  await page.getByTestId('bulk-reassign').click();
  await page.getByTestId('flash').filter({ hasText: '3 tasks reassigned to bob.' }).waitFor();
  for (const id of chosen) {
    const t = await server.must(200, 'GET', `/api/task/tasks/${id}/`, { token });
    check(t.assigned_to === bob.id, `task ${id} is assigned to ${t.assigned_to}`);
  }
  check(await page.getByTestId('bulk-bar').isHidden(), 'the selection outlived the action');

  // Bulk: every task on the page deleted.
  await page.getByTestId('select-all').check();
  check((await page.getByTestId('bulk-count').textContent()) === '25 selected', 'select all did not select the page');
  await page.getByTestId('bulk-delete').click();
  await page.getByTestId('confirm-dialog').waitFor();
  await a11y(page, 'the bulk delete confirmation');
  await page.getByTestId('confirm-ok').click();
  await page.getByTestId('flash').filter({ hasText: '25 tasks deleted.' }).waitFor();
  await until('105 left', async () => (await info.textContent()) === '1–25 of 105');
  const left = await server.api('GET', '/api/task/tasks/?limit=1', { token });
  check(left.headers.get('X-Total-Count') === '105', `${left.headers.get('X-Total-Count')} tasks left`);

  // Alerts: acknowledge every one shown at once.
  for (const n of [1, 2, 3]) await overdue(server, alice, `Missed ${n}`);
  await server.sweep();
  await page.getByTestId('nav-alerts').click();
  await page.getByTestId('alert-row').nth(2).waitFor();
  await page.getByTestId('alerts-ack-all').click();
  await page.getByTestId('flash').filter({ hasText: '3 alerts acknowledged.' }).waitFor();
  const open = await server.api('GET', '/api/alerts/?acknowledged=false', { token });
  check(open.headers.get('X-Total-Count') === '0', `${open.headers.get('X-Total-Count')} alerts left unacknowledged`);
  await until('the badge to clear', async () => page.getByTestId('alerts-badge').isHidden());
  check(made.length === 130, 'not every task was made');
});

// 8. Context on a task.
scenario('a task page shows its creator, its history with names, and the links in its description', async ({ server, newPage, signIn, a11y }) => {
  const maria = await server.createUser({ username: 'maria', role: 'manager' });
  const alice = await server.createUser({ username: 'alice' });
  const bob = await server.createUser({ username: 'bob' });
  const description = 'Spec: https://example.com/spec?x=1&y=2. Old notes (http://intranet.example/notes), not javascript:alert(1) nor ftp://files.example/x <b>bold</b>';
  const mariaToken = await server.token('maria');
  const task = await server.must(201, 'POST', '/api/task/tasks/', {
    token: mariaToken, body: { title: 'Write the spec', description, assigned_to: alice.id, deadline: new Date(Date.now() + DAY).toISOString() },
  });
  await server.must(200, 'PATCH', `/api/task/tasks/${task.id}/`, {
    token: mariaToken, body: { assigned_to: bob.id, deadline: new Date(Date.now() + 2 * DAY).toISOString() },
  });
  await server.must(200, 'PATCH', `/api/task/tasks/${task.id}/update_status/`, { token: await server.token('bob'), body: { status: 'in_progress' } });

  for (const who of ['maria', 'bob']) {
    const page = await newPage();
    await signIn(page, who);
    await page.goto(`${server.url}/tasks/${task.id}`);
    await page.getByTestId('history-entry').nth(2).waitFor();
    check((await page.getByTestId('task-creator').textContent()) === 'maria', `${who} sees the creator as ${await page.getByTestId('task-creator').textContent()}`);
    const history = await page.getByTestId('history-text').allTextContents();
    check(history.length === 3 && history[0].startsWith('maria created it for alice, due ') &&
      /^maria moved the deadline to .+, assigned it to bob\.$/.test(history[1]) &&
      history[2] === 'bob moved it from Pending to In progress.', `${who} sees the history ${JSON.stringify(history)}`);
    check(!history.join(' ').includes('#'), 'the history shows ids rather than names');

    const links = await page.getByTestId('task-description').locator('a').evaluateAll((as) => as.map((a) => ({ href: a.getAttribute('href'), rel: a.rel, text: a.textContent })));
    check(JSON.stringify(links) === JSON.stringify([
      { href: 'https://example.com/spec?x=1&y=2', rel: 'noopener noreferrer', text: 'https://example.com/spec?x=1&y=2' },
      { href: 'http://intranet.example/notes', rel: 'noopener noreferrer', text: 'http://intranet.example/notes' },
    ]), `${who} sees the links ${JSON.stringify(links)}`);
    check((await page.getByTestId('task-description').textContent()) === description, 'the description reads differently');
    check((await page.locator('main b').count()) === 0, 'markup in the description became an element');
    await a11y(page, `the task page as ${who}`);
  }
  check((await server.must(200, 'GET', `/api/task/tasks/${task.id}/`, { token: mariaToken })).created_by === maria.id, 'maria did not create the task');
});

// 9. People.
scenario('a person’s page shows their work and misses; reactivation asks and clears the alert; the users list and the audit log filter by name', async ({ server, newPage, signIn, a11y }) => {
  await server.createUser({ username: 'maria', role: 'manager' });
  const erik = await server.createUser({ username: 'erik', first_name: 'Erik', last_name: 'Larsen' });
  await server.createUser({ username: 'erika', role: 'manager' });
  await server.createUser({ username: 'dana' });
  await server.createTask({ assignee: erik, title: 'Still open', dueInMs: DAY });
  await overdue(server, erik, 'Missed first');
  await overdue(server, erik, 'Missed second');
  // A threshold of 2 deactivates erik, as five would in a real week.
  const swept = await server.sweep('--missed-threshold', '2');
  check(swept.users_deactivated === 1, `the sweep answered ${JSON.stringify(swept)}`);

  const page = await newPage();
  await signIn(page, 'maria');
  await page.getByTestId('nav-users').click();
  await page.getByTestId('user-row').nth(3).waitFor();
  await page.getByTestId('users-filter-search').fill('eri');
  await until('two matches', async () => (await page.getByTestId('user-row').count()) === 2);
  await page.getByTestId('users-filter-role').selectOption('user');
  await until('erik alone', async () => (await page.getByTestId('user-link').allTextContents()).join() === 'erik');
  await page.getByTestId('users-filter-active').selectOption('false');
  await until('the filters in the URL', async () => new URL(page.url()).search === '?search=eri&role=user&is_active=false');
  await a11y(page, 'the users list filtered');

  await page.getByTestId('user-link').click();
  await page.getByTestId('user-missed-task').nth(1).waitFor();
  check((await page.getByTestId('user-missed-count').textContent()) === '2 of 5', `standing ${await page.getByTestId('user-missed-count').textContent()}`);
  check((await page.getByTestId('user-open-task').allTextContents()).length === 1, 'the open task is not listed');
  await a11y(page, 'erik’s page');

  await page.getByTestId('user-reactivate').click();
  await page.getByTestId('confirm-dialog').waitFor();
  await a11y(page, 'the reactivation question');
  await page.getByTestId('confirm-ok').click();
  await page.getByTestId('flash').filter({ hasText: 'erik reactivated.' }).waitFor();
  await until('the count afresh', async () => (await page.getByTestId('user-missed-count').textContent()) === '0 of 5');
  const token = await server.adminToken();
  const alerts = await server.must(200, 'GET', '/api/alerts/?kind=user_deactivated', { token });
  check(alerts.length === 1 && alerts[0].acknowledged_at, `the deactivation alert: ${JSON.stringify(alerts)}`);

  // The audit log, by the actor's name, with names for targets.
  const admin = await newPage();
  await signIn(admin, 'admin', server.adminPassword);
  await admin.getByTestId('nav-audit').click();
  await admin.getByTestId('audit-row').first().waitFor();
  await admin.getByTestId('audit-filter-actor').fill('Maria');
  await admin.getByTestId('audit-filter-actor').press('Enter');
  await until('maria’s entries', async () => {
    const actors = await admin.getByTestId('audit-actor').allTextContents();
    return actors.length > 0 && actors.every((a) => a === 'maria');
  });
  const actions = await admin.getByTestId('audit-action').allTextContents();
  check(actions.includes('user.reactivate') && actions.includes('alert.acknowledge'), `maria’s actions: ${actions}`);
  const reactivation = admin.locator('[data-testid="audit-row"][data-action="user.reactivate"]');
  check((await reactivation.getByTestId('audit-target').textContent()) === 'erik', 'the target is not named');
  await admin.reload();
  await until('the name back in the field', async () => (await admin.getByTestId('audit-filter-actor').inputValue()) === 'maria');
  await admin.getByTestId('audit-filter-actor').fill('nobody-here');
  await admin.getByTestId('audit-filter-actor').press('Enter');
  await admin.getByTestId('error-actor').filter({ hasText: 'Nobody is named “nobody-here”.' }).waitFor();
  await a11y(admin, 'the audit log with an unknown name');
});

// 10. Consistent filters and readable dates.
scenario('filters apply at once on every list; search finds the assignee; deadlines and alerts show their dates and zones', async ({ server, newPage, signIn, a11y }) => {
  await server.createUser({ username: 'maria', role: 'manager' });
  const dana = await server.createUser({ username: 'dana' });
  const erik = await server.createUser({ username: 'erik' });
  const deadline = new Date(Date.now() + 6 * DAY + 3 * HOUR);
  await server.createTask({ assignee: dana, title: 'Inventory', deadline: deadline.toISOString() });
  await server.createTask({ assignee: erik, title: 'Report', dueInMs: 2 * DAY });
  const gone = await overdue(server, erik, 'Late invoice');
  await server.sweep();

  const zone = 'America/New_York';
  const page = await newPage({ viewport: PHONE, isMobile: true, hasTouch: true, timezoneId: zone });
  await signIn(page, 'maria');
  await openTasks(page);
  await page.getByTestId('task-row').nth(1).waitFor();
  const dueText = await page.locator('[data-testid="task-row"]', { hasText: 'Inventory' }).getByTestId('task-due').textContent();
  const year = (d) => new Intl.DateTimeFormat('en-US', { timeZone: zone, year: 'numeric' }).format(d);
  const day = new Intl.DateTimeFormat('en-US', {
    timeZone: zone, weekday: 'short', month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit',
    year: year(deadline) === year(new Date()) ? undefined : 'numeric',
  }).format(deadline);
  check(dueText === `due in 6 d · ${day}`, `the deadline reads ${JSON.stringify(dueText)}, want ${JSON.stringify(`due in 6 d · ${day}`)}`);

  // Typing filters as one types: no button, the URL follows, focus stays.
  // (On a phone the filters are folded away until asked for.)
  await page.locator('[data-testid="filters"] > summary').click();
  check((await page.getByTestId('filter-apply').count()) === 0, 'there is still an Apply button');
  await page.getByTestId('filter-search').fill('dan');
  await sameTitles(page, ['Inventory'], 'searching an assignee’s name');
  check(new URL(page.url()).searchParams.get('search') === 'dan', `URL ${page.url()}`);
  await page.getByTestId('filter-search').press('End');
  await page.keyboard.type('a');
  await until('the URL to follow', async () => new URL(page.url()).searchParams.get('search') === 'dana');
  check((await focused(page)).testid === 'filter-search', 'focus left the search box');
  await page.getByTestId('filter-search').fill('');
  await page.getByTestId('filter-assignee').selectOption({ label: 'erik' });
  await sameTitles(page, ['Report'], 'an assignee chosen');
  await a11y(page, 'Tasks filtered on a phone');

  await page.getByTestId('nav-missed').click();
  await page.getByTestId('missed-row').waitFor();
  await page.locator('[data-testid="filters"] > summary').click();
  await page.getByTestId('filter-search').fill('dana');
  await until('no missed task of dana', async () => (await page.getByTestId('empty').count()) === 1);
  await page.getByTestId('filter-search').fill('erik');
  await page.locator(`[data-testid="missed-row"][data-task-id="${gone.id}"]`).waitFor();

  await page.getByTestId('nav-alerts').click();
  const alert = page.locator('[data-testid="alert-row"][data-kind="task_missed"]');
  await alert.waitFor();
  const zoneName = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'short' }).formatToParts(new Date(gone.deadline)).find((p) => p.type === 'timeZoneName').value;
  const text = await alert.locator('.alert-text').textContent();
  check(text.includes(zoneName), `the alert does not name the zone ${zoneName}: ${text}`);
  await page.getByTestId('alerts-filter-kind').selectOption('user_deactivated');
  await page.getByTestId('empty').filter({ hasText: 'No unacknowledged alerts.' }).waitFor();
  check(new URL(page.url()).searchParams.get('kind') === 'user_deactivated', `URL ${page.url()}`);
  await a11y(page, 'alerts filtered on a phone');
});

// 11. A newcomer's first minute.
scenario('an empty list says how to start, not that nothing matches', async ({ server, newPage, signIn, a11y }) => {
  const page = await newPage();
  await signIn(page, 'admin', server.adminPassword);
  // The first page, the dashboard, says so too.
  check(new URL(page.url()).pathname === '/dashboard', `an admin starts on ${page.url()}`);
  const start = page.getByTestId('empty');
  await start.waitFor();
  check((await start.textContent()) === 'No tasks yet — create one.', `an empty dashboard says ${JSON.stringify(await start.textContent())}`);
  check((await start.getByTestId('empty-create').getAttribute('href')) === '/tasks/new', 'the dashboard does not link to the task form');
  await openTasks(page);
  await start.waitFor();
  check((await start.textContent()) === 'No tasks yet — create one.', `an empty Tasks page says ${JSON.stringify(await start.textContent())}`);
  await page.getByTestId('nav-my-tasks').click();
  await page.getByTestId('empty').filter({ hasText: 'No tasks are assigned to you yet.' }).waitFor();
  await page.getByTestId('nav-tasks').click();
  await page.getByTestId('filter-search').fill('nothing like this');
  await page.getByTestId('empty').filter({ hasText: 'No tasks match these filters.' }).waitFor();
  await page.getByTestId('filter-reset').click();
  await page.getByTestId('empty-create').click();
  await page.getByTestId('task-form').waitFor();
  await a11y(page, 'the first task form');
});
