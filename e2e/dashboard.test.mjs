// The dashboard and the exports: the numbers a manager sees are the API's,
// the charts move when a sweep marks a task missed, every control is
// reachable by keyboard, people can be brought back from it, a person's
// own page says how far they are from being paused, and each list page
// exports its rows as CSV.

import { readFile } from 'node:fs/promises';
import { scenario, check, until, sleep } from './harness.mjs';

const HOUR = 3_600_000;
// The sweeps of these tests deactivate at three counted misses, as the
// server's own rule (its --missed-threshold) says.
const THRESHOLD = ['--missed-threshold', '3'];

// missSoon makes tasks due in two seconds, waits for them to pass and
// sweeps, so that they are missed.
async function missSoon(server, list) {
  const due = new Date(Date.now() + 2000).toISOString();
  for (const [user, title] of list) await server.createTask({ assignee: user, title, deadline: due });
  await sleep(2300);
  return server.sweep(...THRESHOLD);
}

const rate = (r) => (r === null ? '—' : `${Math.round(r * 100)}%`);

// seed makes a team: maria manages; alice has done well, bob has missed
// once, dana twice (at risk), erik three times (deactivated by the sweep),
// lena is a manager deactivated by hand.
async function seed(server) {
  const maria = await server.createUser({ username: 'maria', role: 'manager' });
  const alice = await server.createUser({ username: 'alice' });
  const bob = await server.createUser({ username: 'bob' });
  const dana = await server.createUser({ username: 'dana' });
  const erik = await server.createUser({ username: 'erik' });
  const lena = await server.createUser({ username: 'lena', role: 'manager' });
  for (const [user, title, ms, status] of [
    [alice, 'Write the report', 2 * HOUR, 'completed'],
    [alice, 'Review the budget', 5 * HOUR, 'in_progress'],
    [alice, 'Plan the offsite', 30 * HOUR, null],
    [bob, 'Renew the certificates', 20 * HOUR, 'in_progress'],
    [dana, 'Draft the agenda', 3 * HOUR, null],
  ]) {
    const task = await server.createTask({ assignee: user, title, dueInMs: ms });
    if (status) {
      await server.must(200, 'PATCH', `/api/task/tasks/${task.id}/update_status/`, { token: await server.token(user.username), body: { status } });
    }
  }
  const swept = await missSoon(server, [[bob, 'Call the courier'], [dana, 'Send the invoice'], [dana, 'Book the room'],
    [erik, 'Archive the tickets'], [erik, 'Order the desks'], [erik, 'Check the backups']]);
  check(swept.tasks_missed === 6 && swept.users_deactivated === 1, `the sweep answered ${JSON.stringify(swept)}`);
  await server.must(200, 'POST', `/api/user/users/${lena.id}/deactivate/`, { token: await server.adminToken() });
  return { maria, alice, bob, dana, erik, lena };
}

// expectDashboard checks every number on the page against /api/stats/.
async function expectDashboard(page, stats) {
  const text = async (testid, scope = page) => (await scope.getByTestId(testid).textContent()).trim();
  const open = stats.tasks.pending + stats.tasks.in_progress;
  check(await text('tile-open-value') === String(open), `open tile: ${await text('tile-open-value')}, want ${open}`);
  check(await text('tile-due-soon-value') === String(stats.due_soon), `due-soon tile: ${await text('tile-due-soon-value')}, want ${stats.due_soon}`);
  const sum = (k) => stats.weeks.reduce((n, w) => n + w[k], 0);
  const done = sum('completed');
  const missed = sum('missed');
  const teamRate = done + missed ? sum('completed_on_time') / (done + missed) : null;
  check(await text('tile-on-time-value') === rate(teamRate), `on-time tile: ${await text('tile-on-time-value')}, want ${rate(teamRate)}`);
  const atRisk = stats.people.filter((p) => p.at_risk).length;
  const inactive = stats.people.filter((p) => !p.is_active).length;
  check(await text('tile-at-risk-value') === String(atRisk), `at-risk tile: ${await text('tile-at-risk-value')}, want ${atRisk}`);
  check(await text('tile-inactive-value') === String(inactive), `deactivated tile: ${await text('tile-inactive-value')}, want ${inactive}`);

  for (const [key, value] of Object.entries(stats.tasks)) {
    const bar = page.locator(`[data-testid="chart-status"] rect.bar[data-key="${key}"]`);
    check(await bar.getAttribute('data-value') === String(value), `status bar ${key}: ${await bar.getAttribute('data-value')}, want ${value}`);
  }
  const weeks = page.locator('[data-testid="chart-weeks"] g[data-category]');
  check(await weeks.count() === 12, `${await weeks.count()} weeks drawn, want 12`);
  for (const w of stats.weeks) {
    const col = page.locator(`[data-testid="chart-weeks"] g[data-category="${w.week_start}"]`);
    const want = { on_time: w.completed_on_time, late: w.completed - w.completed_on_time, missed: w.missed };
    for (const [series, value] of Object.entries(want)) {
      const got = await col.locator(`rect[data-series="${series}"]`).getAttribute('data-value');
      check(got === String(value), `week ${w.week_start} ${series}: ${got}, want ${value}`);
    }
  }
  // The table behind the weekly chart says the same, week by week.
  const cells = await page.locator('[data-testid="chart-weeks-table"] tbody tr').evaluateAll((rows) => rows.map((r) => [...r.cells].map((c) => c.textContent)));
  check(cells.length === 12 && cells.every((row, i) => row[3] === String(stats.weeks[i].missed)),
    `the weekly table: ${JSON.stringify(cells)}`);

  const rows = page.getByTestId('person-row');
  const shown = stats.people.slice(0, 10);
  check(await rows.count() === shown.length, `${await rows.count()} people shown, want ${shown.length}`);
  for (const [i, p] of shown.entries()) {
    const row = rows.nth(i);
    check(await row.getAttribute('data-user-id') === String(p.id), `row ${i} is user ${await row.getAttribute('data-user-id')}, want ${p.id} (${p.username})`);
    check(await text('person-open', row) === String(p.open), `${p.username} open: ${await text('person-open', row)}, want ${p.open}`);
    check(await text('person-missed', row) === `${p.missed_in_window} of ${stats.threshold}`, `${p.username} missed: ${await text('person-missed', row)}`);
    check(await text('person-rate', row) === rate(p.on_time_rate), `${p.username} rate: ${await text('person-rate', row)}, want ${rate(p.on_time_rate)}`);
    check(await row.getAttribute('data-at-risk') === String(p.at_risk), `${p.username} at risk: ${await row.getAttribute('data-at-risk')}`);
    check((await row.getAttribute('class') || '').includes('at-risk') === p.at_risk, `${p.username}'s row is highlighted: ${await row.getAttribute('class')}`);
  }
}

scenario('a manager lands on the dashboard, whose numbers are the API\'s, and a sweep moves its bars live', async ({ server, newPage, signIn }) => {
  const { bob } = await seed(server);
  const page = await newPage();
  await signIn(page, 'maria');
  check(new URL(page.url()).pathname === '/dashboard', `a manager starts on ${page.url()}, want /dashboard`);
  await page.locator('[data-testid="chart-weeks"] svg').waitFor();
  await page.locator('[data-testid="stream-status"][data-state="open"]').waitFor();
  const token = await server.token('maria');
  const before = await server.must(200, 'GET', '/api/stats/', { token });
  check(before.people.length === 7 && before.tasks.missed === 6, `stats: ${JSON.stringify(before)}`);
  await expectDashboard(page, before);
  // The charts are images with a title and a description.
  const label = await page.locator('[data-testid="chart-weeks"] svg').getAttribute('aria-labelledby');
  const desc = await page.locator(`[data-testid="chart-weeks"] svg desc`).textContent();
  check(label && desc.includes('6 missed'), `the weekly chart is labelled ${label}: ${desc}`);

  // A task of bob's is missed while maria watches: the bars move without a reload.
  await page.evaluate(() => {
    window.stillTheSamePage = true;
  });
  const thisWeek = before.weeks[11].week_start;
  const missedBar = page.locator(`[data-testid="chart-weeks"] g[data-category="${thisWeek}"] rect[data-series="missed"]`);
  check(await missedBar.getAttribute('data-value') === '6', 'this week does not show six misses');
  const swept = await missSoon(server, [[bob, 'Confirm the catering']]);
  check(swept.tasks_missed === 1, `the sweep answered ${JSON.stringify(swept)}`);
  await until('the missed bar to grow', async () => (await missedBar.getAttribute('data-value')) === '7', 10_000);
  check(await page.evaluate(() => window.stillTheSamePage === true), 'the page reloaded');
  const after = await server.must(200, 'GET', '/api/stats/', { token });
  check(after.weeks[11].missed === 7, `the API says ${after.weeks[11].missed} misses this week`);
  await expectDashboard(page, after);
}, { serve: THRESHOLD });

scenario('the people on the dashboard: at-risk rows stand out, a manager reactivates a user and opens a person\'s tasks', async ({ server, newPage, signIn }) => {
  const { dana, erik, lena } = await seed(server);
  const page = await newPage();
  await signIn(page, 'maria');
  const row = (u) => page.locator(`[data-testid="person-row"][data-user-id="${u.id}"]`);
  await row(dana).waitFor();
  check(await row(dana).getAttribute('data-at-risk') === 'true', 'dana is not at risk');
  check((await row(dana).getByTestId('person-status').textContent()) === 'At risk', 'dana is not marked At risk');
  check((await row(dana).locator('svg.meter').getAttribute('data-value')) === '2', 'dana\'s meter does not show 2');
  // A manager may bring back people of the user role, not a manager.
  check(await row(lena).getByTestId('person-reactivate').count() === 0, 'a manager is offered to reactivate a manager');
  check((await row(lena).getByTestId('person-status').textContent()) === 'Deactivated', 'lena is not shown as deactivated');
  await row(erik).getByTestId('person-reactivate').click();
  await page.getByTestId('flash').filter({ hasText: 'erik reactivated.' }).waitFor();
  await page.locator(`[data-testid="person-row"][data-user-id="${erik.id}"][data-active="true"]`).waitFor();
  const stored = await server.must(200, 'GET', `/api/user/users/${erik.id}/`, { token: await server.adminToken() });
  check(stored.is_active, 'erik is still inactive on the server');
  // Reactivation starts the count afresh.
  check((await row(erik).getByTestId('person-missed').textContent()) === '0 of 3', `erik's misses: ${await row(erik).getByTestId('person-missed').textContent()}`);

  // An admin may bring back the manager.
  const admin = await newPage();
  await signIn(admin, 'admin', server.adminPassword);
  check(new URL(admin.url()).pathname === '/dashboard', `an admin starts on ${admin.url()}`);
  await admin.locator(`[data-testid="person-row"][data-user-id="${lena.id}"] [data-testid="person-reactivate"]`).waitFor();

  // A person's tasks are all of them, her misses with her open work (task
  // lists open on open work alone).
  await row(dana).getByTestId('person-tasks').click();
  await until('dana\'s tasks', async () => new URL(page.url()).search === `?assigned_to=${dana.id}&status=all`);
  await page.getByTestId('task-row').nth(2).waitFor();
  const assignees = await page.getByTestId('task-assignee').allTextContents();
  check(assignees.length === 3 && assignees.every((a) => a === 'dana'), `dana's tasks page lists ${JSON.stringify(assignees)}`);
  const statuses = await page.getByTestId('task-row').evaluateAll((rows) => rows.map((r) => r.dataset.status).sort());
  check(JSON.stringify(statuses) === JSON.stringify(['missed', 'missed', 'pending']), `dana's tasks are ${JSON.stringify(statuses)}`);
  check((await page.getByTestId('filter-status').inputValue()) === 'all', 'the filter does not say all tasks');
}, { serve: THRESHOLD });

scenario('keyboard navigation reaches every control on the dashboard', async ({ server, newPage, signIn }) => {
  await seed(server);
  // More people than the first ten, so that the toggle is there too.
  for (let i = 0; i < 6; i++) await server.createUser({ username: `extra${i}` });
  const page = await newPage();
  await signIn(page, 'maria');
  await page.locator('[data-testid="chart-weeks"] svg').waitFor();
  await page.getByTestId('people-toggle').waitFor();
  const controls = await page.evaluate(() => {
    const all = [...document.querySelectorAll('a[href], button, summary, input, select, textarea, [tabindex]')]
      .filter((el) => !el.disabled && el.tabIndex >= 0 && el.getClientRects().length > 0);
    all.forEach((el, i) => el.setAttribute('data-kbd', String(i)));
    return all.map((el) => `${el.tagName.toLowerCase()} ${el.getAttribute('data-testid') || el.textContent.trim().slice(0, 30)}`);
  });
  check(controls.length > 20, `only ${controls.length} controls`);
  await page.evaluate(() => document.activeElement && document.activeElement.blur());
  const reached = new Set();
  for (let i = 0; i < controls.length + 5; i++) {
    await page.keyboard.press('Tab');
    const at = await page.evaluate(() => (document.activeElement ? document.activeElement.getAttribute('data-kbd') : null));
    if (at !== null) reached.add(Number(at));
  }
  const missing = controls.filter((_, i) => !reached.has(i));
  check(missing.length === 0, `Tab never reaches: ${JSON.stringify(missing)}`);

  // And the keyboard works them: a chart's table opens, the people list grows.
  await page.getByTestId('chart-weeks-table-toggle').focus();
  await page.keyboard.press('Enter');
  await page.getByTestId('chart-weeks-table').waitFor();
  await page.getByTestId('people-toggle').focus();
  await page.keyboard.press('Enter');
  await until('every person listed', async () => (await page.getByTestId('person-row').count()) === 13);
  check(await page.evaluate(() => document.activeElement.getAttribute('data-testid')) === 'people-toggle', 'focus left the toggle');
}, { serve: THRESHOLD });

scenario('a user\'s own page says their on-time rate, their misses against the threshold and what is due next', async ({ server, newPage, signIn }) => {
  const { dana } = await seed(server);
  const page = await newPage();
  await signIn(page, 'dana');
  check(new URL(page.url()).pathname === '/my-tasks', `a user starts on ${page.url()}`);
  const summary = page.getByTestId('my-summary');
  await summary.getByTestId('my-misses-text').waitFor();
  const stats = await server.must(200, 'GET', '/api/stats/', { token: await server.token('dana') });
  check(!('people' in stats) && stats.me.id === dana.id, `a user's stats: ${JSON.stringify(stats)}`);
  check((await summary.getByTestId('my-misses-text').textContent()) === '2 of 3 — 1 more and your account is paused',
    `misses: ${await summary.getByTestId('my-misses-text').textContent()}`);
  check(await summary.getByTestId('my-misses').getAttribute('data-at-risk') === 'true', 'dana is not shown at risk');
  check((await summary.getByTestId('my-on-time').textContent()) === `${rate(stats.me.on_time_rate)} done by the deadline`,
    `on time: ${await summary.getByTestId('my-on-time').textContent()} (rate ${stats.me.on_time_rate})`);
  check((await summary.getByTestId('my-next-title').textContent()) === 'Draft the agenda', 'another task is due next');
  check((await summary.getByTestId('my-next-due').textContent()).startsWith('due in'), 'the next task has no time left');

  const alice = await newPage();
  await signIn(alice, 'alice');
  await alice.getByTestId('my-misses-text').waitFor();
  check((await alice.getByTestId('my-misses-text').textContent()) === '0 of 3 — 3 more and your account is paused', 'alice\'s misses');
  check((await alice.getByTestId('my-on-time').textContent()) === '100% done by the deadline', 'alice\'s rate');
  check((await alice.getByTestId('my-next-title').textContent()) === 'Review the budget', 'alice\'s next task');
}, { serve: THRESHOLD });

// readDownload waits for the download that click starts and reads it.
async function readDownload(page, click) {
  const [download] = await Promise.all([page.waitForEvent('download'), click()]);
  return { name: download.suggestedFilename(), text: await readFile(await download.path(), 'utf8') };
}

scenario('each list page exports its rows, with its filters, as CSV', async ({ server, newPage, signIn }) => {
  const { alice } = await seed(server);
  await server.createTask({ assignee: alice, title: '=HYPERLINK("http://example.com","x")', description: 'a, "quoted"\nsecond line', dueInMs: 4 * HOUR });
  const today = new Date().toISOString().slice(0, 10);
  const page = await newPage();
  await signIn(page, 'maria');

  // The list opens on alice's open work, and so does its export: the same
  // rows in the same order as the page and the API with the page's filters.
  const token = await server.token('maria');
  await page.goto(`${server.url}/tasks?assigned_to=${alice.id}`);
  await page.getByTestId('task-row').nth(2).waitFor();
  const tasks = await readDownload(page, () => page.getByTestId('export-csv').click());
  check(tasks.name === `tasks-${today}.csv`, `file name ${tasks.name}`);
  const lines = tasks.text.trimEnd().split('\n');
  check(lines[0] === 'id,title,description,deadline,status,assigned_to,assigned_to_username,created_by,created_at,updated_at,completed_at,missed_at', `header ${lines[0]}`);
  const exportedIDs = (csv) => csv.split('\n').slice(1).map((l) => l.split(',')[0]).filter((id) => /^[0-9a-f-]{36}$/.test(id));
  const shownIDs = () => page.getByTestId('task-row').evaluateAll((rows) => rows.map((r) => r.dataset.taskId));
  const open = await server.must(200, 'GET', `/api/task/tasks/?assigned_to=${alice.id}&status=pending,in_progress&ordering=deadline`, { token });
  const ids = exportedIDs(tasks.text);
  const shown = await shownIDs();
  check(open.length === 3 && JSON.stringify(ids) === JSON.stringify(open.map((t) => t.id)) && JSON.stringify(ids) === JSON.stringify(shown),
    `exported ${JSON.stringify(ids)}, shown ${JSON.stringify(shown)}, listed ${JSON.stringify(open.map((t) => t.id))}`);
  check(tasks.text.includes(`,"'=HYPERLINK(""http://example.com"",""x"")","a, ""quoted""\nsecond line",`), `the formula is not defused or quoted: ${tasks.text}`);

  // Shown every status, the list and its export hold her completed task too.
  await page.getByTestId('filter-status').selectOption('all');
  await page.getByTestId('task-row').nth(3).waitFor();
  const all = await readDownload(page, () => page.getByTestId('export-csv').click());
  const every = await server.must(200, 'GET', `/api/task/tasks/?assigned_to=${alice.id}&ordering=deadline`, { token });
  const allIDs = exportedIDs(all.text);
  const allShown = await shownIDs();
  check(every.length === 4 && JSON.stringify(allIDs) === JSON.stringify(every.map((t) => t.id)) && JSON.stringify(allIDs) === JSON.stringify(allShown),
    `with every status exported ${JSON.stringify(allIDs)}, shown ${JSON.stringify(allShown)}, listed ${JSON.stringify(every.map((t) => t.id))}`);

  await page.getByTestId('nav-missed').click();
  await page.getByTestId('missed-row').first().waitFor();
  const missed = await readDownload(page, () => page.getByTestId('export-csv').click());
  check(missed.name === `missed-${today}.csv` && missed.text.trimEnd().split('\n').length === 7, `missed export ${missed.name}: ${missed.text}`);

  const admin = await newPage();
  await signIn(admin, 'admin', server.adminPassword);
  await admin.goto(`${server.url}/audit?action=user.deactivate`);
  await admin.getByTestId('audit-row').first().waitFor();
  const audit = await readDownload(admin, () => admin.getByTestId('export-csv').click());
  const auditLines = audit.text.trimEnd().split('\n');
  check(audit.name === `audit-${today}.csv` && auditLines[0] === 'id,at,actor_id,actor_username,action,target_type,target_id,details' &&
    auditLines.length === 3 && auditLines.slice(1).every((l) => l.includes(',user.deactivate,')), `audit export: ${audit.text}`);
}, { serve: THRESHOLD });
