// A person's own notifications in the browser: the bell's live count, a
// reminder arriving live in the inbox and in My tasks, reading, and the
// preferences page.

import { scenario, check, until } from './harness.mjs';

scenario('a reminder arrives live: the bell counts it, My tasks and the inbox show the time left', async ({ server, newPage, signIn }) => {
  const sam = await server.createUser({ username: 'sam', email: 'sam@example.com' });
  const task = await server.createTask({ assignee: sam, title: 'Water the plants', dueInMs: 50 * 60_000 + 20_000 });

  const page = await newPage();
  await signIn(page, 'sam');
  const badge = page.getByTestId('inbox-badge');
  // The assignment made by the admin is unread.
  await until('the bell to count the assignment', async () => (await badge.textContent()) === '1' && await badge.isVisible());
  const row = page.locator(`[data-testid="task-row"][data-task-id="${task.id}"]`);
  await row.waitFor();
  check((await row.getByTestId('task-reminder').count()) === 0, 'a reminder shows before any sweep');

  // The sweep, run by another process as cron would, makes the 1-hour
  // reminder; the page hears of it on its own.
  const res = await server.sweep();
  check(res.reminders === 1, `the sweep made ${res.reminders} reminders, want 1`);
  await until('the bell to count the reminder', async () => (await badge.textContent()) === '2', 10_000);
  await row.getByTestId('task-reminder').waitFor();
  // The time left, then the exact deadline, as the row's own deadline reads.
  const due = await row.getByTestId('task-reminder-due').textContent();
  const rowDue = await row.getByTestId('task-due').textContent();
  check(due.startsWith('due in 50 min · ') && due === rowDue, `My tasks says the reminder is ${due}, want due in 50 min · and the row's ${rowDue}`);

  // The inbox, from the bell: newest first, the reminder with the time left.
  await page.getByTestId('nav-inbox').click();
  await page.getByTestId('inbox').waitFor();
  await until('two notifications', async () => (await page.getByTestId('notice-row').count()) === 2);
  const first = page.getByTestId('notice-row').first();
  check((await first.getAttribute('data-kind')) === 'task_reminder', `the newest is ${await first.getAttribute('data-kind')}`);
  // Made 50 minutes before its deadline, inside the lead: due within it.
  check((await first.getByTestId('notice-message').textContent()) === '"Water the plants" is due within 1 hour',
    `message: ${await first.getByTestId('notice-message').textContent()}`);
  check((await first.getByTestId('notice-due').textContent()) === rowDue, `time left: ${await first.getByTestId('notice-due').textContent()}, want ${rowDue}`);

  // Read one: the bell counts one; read all: it is gone.
  await first.getByTestId('notice-mark-read').click();
  await page.locator('[data-testid="notice-row"][data-read="true"]').waitFor();
  await until('the bell to count one', async () => (await badge.textContent()) === '1');
  await page.getByTestId('notices-read-all').click();
  await until('the read-all status', async () => (await page.getByTestId('notices-status').textContent()) === '1 marked read');
  await until('the bell to go quiet', async () => !(await badge.isVisible()));
  check((await page.locator('[data-testid="notice-row"][data-read="false"]').count()) === 0, 'unread rows left after read-all');
  const api = await server.must(200, 'GET', '/api/notifications/?unread=true', { token: await server.token('sam') });
  check(api.length === 0, `the server still holds ${api.length} unread`);

  // A notification arriving while the inbox is open joins its top.
  await server.createTask({ assignee: sam, title: 'Order coffee', dueInMs: 30 * 3_600_000 });
  await until('the new one at the top', async () => (await page.getByTestId('notice-message').first().textContent()) === '"Order coffee" was assigned to you by admin');
});

scenario('a reminder stays on its row while the task is open, and leaves it once the task is done', async ({ server, newPage, signIn }) => {
  const sam = await server.createUser({ username: 'sam', email: 'sam@example.com' });
  const task = await server.createTask({ assignee: sam, title: 'Water the plants', dueInMs: 50 * 60_000 + 20_000 });
  const res = await server.sweep();
  check(res.reminders === 1, `the sweep made ${res.reminders} reminders, want 1`);

  const page = await newPage();
  await signIn(page, 'sam');
  const row = page.locator(`[data-testid="task-row"][data-task-id="${task.id}"]`);
  await row.getByTestId('task-reminder').waitFor();

  // Started: the row is drawn anew and still open, so the reminder is back.
  await row.getByTestId('status-btn-in_progress').click();
  const started = page.locator(`[data-testid="task-row"][data-task-id="${task.id}"][data-status="in_progress"]`);
  await started.getByTestId('task-reminder').waitFor();
  check((await started.getByTestId('task-reminder-due').getAttribute('data-status')) === 'in_progress',
    `the reminder reads the task as ${await started.getByTestId('task-reminder-due').getAttribute('data-status')}`);

  // Completed: nothing is due any more, so no reminder says it is.
  await started.getByTestId('status-btn-completed').click();
  const done = page.locator(`[data-testid="task-row"][data-task-id="${task.id}"][data-status="completed"]`);
  await done.waitFor();
  await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0))));
  const left = await done.getByTestId('task-reminder').allTextContents();
  check(left.length === 0, `a completed task shows ${JSON.stringify(left)}`);
});

scenario('preferences: a user turns an email off and picks a timezone; a manager chooses a daily digest', async ({ server, newPage, signIn }) => {
  await server.createUser({ username: 'sam', email: 'sam@example.com' });
  await server.createUser({ username: 'maria', role: 'manager', email: 'maria@example.com' });

  const page = await newPage();
  await signIn(page, 'sam');
  await page.getByTestId('nav-preferences').click();
  await page.getByTestId('preferences-form').waitFor();
  check((await page.getByTestId('pref-alerts').count()) === 0, 'a user is offered the alerts choice');
  check(await page.getByTestId('pref-task_reminder').isChecked(), 'reminder emails are off by default');
  await page.getByTestId('pref-task_reminder').uncheck();
  await page.getByTestId('pref-timezone').selectOption('Europe/Paris');
  await page.getByTestId('pref-save').click();
  await until('saved', async () => (await page.getByTestId('pref-saved').textContent()) === 'Saved.');
  const saved = await server.must(200, 'GET', '/api/user/me/preferences/', { token: await server.token('sam') });
  check(saved.email.task_reminder === false && saved.email.task_assigned === true && saved.timezone === 'Europe/Paris',
    `the server holds ${JSON.stringify(saved)}`);
  await page.reload();
  await page.getByTestId('preferences-form').waitFor();
  check(!(await page.getByTestId('pref-task_reminder').isChecked()), 'the choice is not kept');
  check((await page.getByTestId('pref-timezone').inputValue()) === 'Europe/Paris', 'the timezone is not kept');

  const manager = await newPage();
  await signIn(manager, 'maria');
  await manager.goto(`${server.url}/preferences`);
  await manager.getByTestId('pref-alerts').selectOption('daily');
  await manager.getByTestId('pref-save').click();
  await until('saved', async () => (await manager.getByTestId('pref-saved').textContent()) === 'Saved.');
  const mine = await server.must(200, 'GET', '/api/user/me/preferences/', { token: await server.token('maria') });
  check(mine.email.alerts === 'daily', `the manager's alerts are ${mine.email.alerts}`);
});
