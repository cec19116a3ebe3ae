// What a person with the "user" role does: sign in and work through their
// own tasks; and what they cannot do.

import { scenario, check, until } from './harness.mjs';

scenario('a user signs in and completes a task in one click', async ({ server, newPage, signIn }) => {
  const alice = await server.createUser({ username: 'alice', first_name: 'Alice', last_name: 'Moreau' });
  const task = await server.createTask({ assignee: alice, title: 'Water the office plants', description: 'The ficus too.', dueInMs: 3 * 3_600_000 });
  await server.createTask({ assignee: alice, title: 'File the expense report', dueInMs: 26 * 3_600_000 });

  const page = await newPage();
  await page.goto(server.url);
  // No session: the start page sends the visitor to sign in.
  await page.getByTestId('login-form').waitFor();
  await signIn(page, 'alice');
  check(new URL(page.url()).pathname === '/my-tasks', `after sign-in the user is on ${page.url()}, want /my-tasks`);

  const row = page.locator(`[data-testid="task-row"][data-task-id="${task.id}"]`);
  await row.waitFor();
  const titles = await page.getByTestId('task-title').allTextContents();
  check(JSON.stringify(titles) === JSON.stringify(['Water the office plants', 'File the expense report']),
    `My tasks lists ${JSON.stringify(titles)}, want soonest deadline first`);
  const due = await row.getByTestId('task-due').textContent();
  check(due.startsWith('due in 3 h · '), `time left: ${due}`);
  check((await row.getByTestId('task-status').textContent()) === 'Pending', 'the task does not show as Pending');

  // No token is ever written to Web Storage.
  const stored = await page.evaluate(() => JSON.stringify(localStorage) + JSON.stringify(sessionStorage));
  check(!stored.includes('eyJ'), `Web Storage holds a token: ${stored}`);

  await row.getByTestId('status-btn-completed').click();
  const done = page.locator(`[data-testid="task-row"][data-task-id="${task.id}"][data-status="completed"]`);
  await done.waitFor();
  check((await done.getByTestId('task-status').textContent()) === 'Completed', 'the row does not say Completed');
  check(await done.getByTestId('status-btn-completed').isDisabled(), 'the Completed button is still enabled');
  check((await done.getByTestId('status-btn-completed').getAttribute('aria-pressed')) === 'true', 'the Completed button is not pressed');

  const stored2 = await server.must(200, 'GET', `/api/task/tasks/${task.id}/`, { token: await server.adminToken() });
  check(stored2.status === 'completed' && stored2.completed_at, `the server holds ${stored2.status}, completed_at ${stored2.completed_at}`);

  // A reload keeps the session (the refresh cookie) and shows open work:
  // the completed task is behind the filter.
  await page.reload();
  await page.getByTestId('task-row').first().waitFor();
  const open = await page.getByTestId('task-title').allTextContents();
  check(JSON.stringify(open) === JSON.stringify(['File the expense report']), `after a reload My tasks lists ${JSON.stringify(open)}`);

  // The filter narrows the list at once, by URL.
  await page.getByTestId('filter-status').selectOption('completed');
  await until('the filter to apply', async () => new URL(page.url()).searchParams.get('status') === 'completed');
  await page.locator(`[data-testid="task-row"][data-task-id="${task.id}"][data-status="completed"]`).waitFor();
  await until('one completed task listed', async () => (await page.getByTestId('task-row').count()) === 1);
  await page.goBack();
  await until('the open task back', async () => (await page.getByTestId('task-title').allTextContents()).join() === 'File the expense report');
});

scenario('a user cannot reach manager screens, and the API refuses them anyway', async ({ server, newPage, signIn }) => {
  const bob = await server.createUser({ username: 'bob' });
  const task = await server.createTask({ assignee: bob, title: 'Bob’s task' });
  const page = await newPage();
  await signIn(page, 'bob');

  for (const link of ['nav-tasks', 'nav-missed', 'nav-alerts', 'nav-users', 'nav-audit']) {
    check((await page.getByTestId(link).count()) === 0, `the user's menu offers ${link}`);
  }
  check((await page.getByTestId('nav-my-tasks').count()) === 1, 'the user\'s menu lacks My tasks');

  for (const url of ['/tasks', '/tasks/new', '/missed', '/alerts', '/users', '/users/new', `/users/${bob.id}`, '/audit']) {
    await page.goto(server.url + url);
    await page.getByTestId('forbidden').waitFor();
    const heading = await page.locator('main h1').textContent();
    check(heading === 'Not allowed', `${url}: heading ${heading}`);
    check((await page.getByTestId('task-table').count()) === 0 && (await page.getByTestId('user-table').count()) === 0, `${url} shows data`);
  }
  // Their own task is still theirs to see.
  await page.goto(`${server.url}/tasks/${task.id}`);
  await page.getByTestId('task-detail').waitFor();
  check((await page.getByTestId('task-form').count()) === 0, 'the user is offered the edit form');

  const token = await server.token('bob');
  const attempts = [
    ['GET', '/api/user/users/'],
    ['POST', '/api/user/users/', { username: 'mallory', password: 'a-long-password' }],
    ['POST', '/api/task/tasks/', { title: 'x', deadline: new Date(Date.now() + 3_600_000).toISOString(), assigned_to: bob.id }],
    ['PATCH', `/api/task/tasks/${task.id}/`, { title: 'renamed' }],
    ['DELETE', `/api/task/tasks/${task.id}/`],
    ['GET', '/api/task/tasks/missed/'],
    ['GET', '/api/alerts/'],
    ['GET', '/api/audit/'],
    ['POST', `/api/user/users/${bob.id}/reactivate/`],
  ];
  for (const [method, url, body] of attempts) {
    const res = await server.api(method, url, { token, body });
    check(res.status === 403, `${method} ${url} as a user: status ${res.status}, want 403`);
  }
  const after = await server.must(200, 'GET', `/api/task/tasks/${task.id}/`, { token });
  check(after.title === 'Bob’s task', `the task was changed: ${after.title}`);
});

scenario('a task titled with markup renders as text', async ({ server, newPage, signIn }) => {
  const title = '<img src=x onerror=alert(1)>';
  const description = '<script>alert(2)</script><b>bold?</b>';
  const carol = await server.createUser({ username: 'carol' });
  await server.createUser({ username: 'maria', role: 'manager' });

  // The manager types the title into the task form.
  const manager = await newPage();
  await signIn(manager, 'maria');
  await manager.goto(`${server.url}/tasks/new`);
  await manager.getByTestId('task-title-input').fill(title);
  await manager.getByTestId('task-description-input').fill(description);
  const due = new Date(Date.now() + 2 * 86_400_000);
  await manager.getByTestId('task-deadline-input').fill(due.toISOString().slice(0, 16)); // the context runs in UTC
  await manager.getByTestId('task-assignee-input').selectOption({ label: 'carol' });
  await manager.getByTestId('task-save').click();
  await manager.getByTestId('task-detail').waitFor();
  const id = await manager.getByTestId('task-detail').getAttribute('data-task-id');

  const stored = await server.must(200, 'GET', `/api/task/tasks/${id}/`, { token: await server.adminToken() });
  check(stored.title === title && stored.description === description, `stored ${JSON.stringify(stored.title)} / ${JSON.stringify(stored.description)}`);
  check(stored.assigned_to === carol.id, `assigned to ${stored.assigned_to}`);

  check((await manager.getByTestId('page-title').textContent()) === title, 'the detail heading does not show the title as text');
  check((await manager.getByTestId('task-description').textContent()) === description, 'the description does not show as text');
  await noMarkup(manager, 'task detail');

  await manager.getByTestId('back').click();
  const row = manager.locator(`[data-testid="task-row"][data-task-id="${id}"]`);
  await row.waitFor();
  check((await row.getByTestId('task-title').textContent()) === title, 'the list does not show the title as text');
  await noMarkup(manager, 'all tasks');

  const user = await newPage();
  await signIn(user, 'carol');
  const mine = user.locator(`[data-testid="task-row"][data-task-id="${id}"]`);
  await mine.waitFor();
  check((await mine.getByTestId('task-title').textContent()) === title, 'My tasks does not show the title as text');
  check((await mine.locator('.task-desc').textContent()) === description, 'My tasks does not show the description as text');
  await noMarkup(user, 'my tasks');
  // Any alert() would have been recorded as an unexpected dialog by the harness.
});

// noMarkup checks that no element was made from the task's text.
async function noMarkup(page, where) {
  const counts = await page.evaluate(() => ({
    img: document.querySelectorAll('img').length,
    script: document.querySelectorAll('main script').length,
    b: document.querySelectorAll('main b').length,
  }));
  check(counts.img === 0 && counts.script === 0 && counts.b === 0, `${where}: markup became elements: ${JSON.stringify(counts)}`);
}
