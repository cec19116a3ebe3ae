// Visits every main screen with realistic data and takes the pictures shown
// in the README. They are written to docs/screenshots/ only when
// TASKTRACK_E2E_SCREENSHOTS names that folder (scripts/browser-tests.sh
// --update-screenshots); otherwise to a temporary folder, so a plain run
// still checks that every screen renders without errors but leaves the
// working tree alone.

import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { scenario, check, sleep, ROOT, DESKTOP, PHONE } from './harness.mjs';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const PNG_SIGNATURE = '89504e470d0a1a0a';

// pictures runs take(dir, shot) with a folder for the pictures: shot(page,
// name, size) takes one, checks it and counts it.
async function pictures(take) {
  const wanted = process.env.TASKTRACK_E2E_SCREENSHOTS;
  const dir = wanted ? path.resolve(ROOT, wanted) : await mkdtemp(path.join(tmpdir(), 'tasktrack-shots-'));
  await mkdir(dir, { recursive: true });
  const taken = [];
  async function shot(page, name, size) {
    // Fonts and layout settle before the picture; the caret would blink.
    await page.evaluate(() => document.fonts.ready);
    const file = path.join(dir, `${name}.png`);
    await page.screenshot({ path: file, caret: 'hide', animations: 'disabled' });
    const png = await readFile(file);
    check(png.subarray(0, 8).toString('hex') === PNG_SIGNATURE, `${file} is not a PNG`);
    const width = png.readUInt32BE(16);
    const height = png.readUInt32BE(20);
    check(width === size.width && height === size.height, `${name}.png is ${width}x${height}, want ${size.width}x${size.height}`);
    taken.push(file);
  }
  try {
    await take(shot);
  } finally {
    if (!wanted) await rm(dir, { recursive: true, force: true });
  }
  return taken.length;
}

scenario('screenshots of the main screens', async ({ server, newPage: newContextPage, signIn }) => {
  // The pictures show times in a named zone rather than UTC.
  const newPage = (options = {}) => newContextPage({ timezoneId: 'Europe/Paris', ...options });
  const n = await pictures((shot) => takeAll(shot, { server, newPage, signIn }));
  check(n === 11, `${n} screenshots taken`);
}, { timeout: 90_000 });

async function takeAll(shot, { server, newPage, signIn }) {
  // ---- people and work ----
  await server.createUser({ username: 'maria', role: 'manager', first_name: 'Maria', last_name: 'Lopez', email: 'maria@example.com' });
  const alice = await server.createUser({ username: 'alice', first_name: 'Alice', last_name: 'Moreau', email: 'alice@example.com' });
  const bob = await server.createUser({ username: 'bob', first_name: 'Bob', last_name: 'Chen', email: 'bob@example.com' });
  const dana = await server.createUser({ username: 'dana', first_name: 'Dana', last_name: 'Kim', email: 'dana@example.com' });
  const erik = await server.createUser({ username: 'erik', first_name: 'Erik', last_name: 'Larsen', email: 'erik@example.com' });
  const frank = await server.createUser({ username: 'frank', first_name: 'Frank', last_name: 'Osei', email: 'frank@example.com' });

  // Tasks due in two seconds, missed by the sweep below.
  const soon = Date.now() + 2000;
  const due = (ms) => new Date(Date.now() + ms).toISOString();
  const missing = [
    [alice, 'Send the signed contract to Nordwind', 'Scan and email the countersigned copy.'],
    [dana, 'Call back the courier about the lost parcel', ''],
    [erik, 'Reconcile the March invoices', ''],
    [erik, 'Archive last year’s support tickets', ''],
  ];
  for (const [user, title, description] of missing) {
    await server.createTask({ assignee: user, title, description, deadline: new Date(soon).toISOString() });
  }
  const plan = [
    [alice, 'Review the onboarding checklist', 'Check every step against the new HR policy.', 2 * HOUR, 'in_progress'],
    [alice, 'Water the office plants', 'The ficus by the window needs it most.', 5 * HOUR, 'pending'],
    [alice, 'Update the supplier contact list', '', 20 * HOUR, 'completed'],
    [alice, 'Book a venue for the team offsite', 'Around 25 people, with a room for talks.', 3 * DAY, 'pending'],
    [alice, 'Write the release notes for 2.4', '', 6 * DAY, 'pending'],
    [bob, 'Renew the TLS certificates', 'Both load balancers.', 20 * HOUR, 'in_progress'],
    [bob, 'Prepare the July stock count', 'Warehouse shelves A to F.', 6 * DAY, 'pending'],
    [dana, 'Draft the Q3 budget', '', 2 * DAY, 'pending'],
    [dana, 'Interview the backend candidates', 'Three interviews, 45 minutes each.', 4 * DAY, 'completed'],
    [frank, 'Migrate the wiki to the new server', '', 9 * DAY, 'pending'],
  ];
  for (const [user, title, description, ms, status] of plan) {
    const task = await server.createTask({ assignee: user, title, description, deadline: due(ms) });
    if (status !== 'pending') {
      await server.must(200, 'PATCH', `/api/task/tasks/${task.id}/update_status/`, { token: await server.token(user.username), body: { status } });
    }
  }
  await sleep(Math.max(0, soon - Date.now() + 300));
  // A threshold of 2 lets erik's two misses deactivate him, as five would
  // in a real week.
  const swept = await server.sweep('--missed-threshold', '2');
  check(swept.tasks_missed === 4 && swept.users_deactivated === 1, `the sweep answered ${JSON.stringify(swept)}`);
  await server.must(200, 'POST', `/api/user/users/${frank.id}/deactivate/`, { token: await server.adminToken() });

  // ---- sign in ----
  const visitor = await newPage();
  await visitor.goto(`${server.url}/login`);
  await visitor.getByTestId('login-username').fill('alice');
  await visitor.getByTestId('login-password').fill('correct-horse-42');
  await visitor.getByTestId('login-username').focus();
  await shot(visitor, 'sign-in', DESKTOP);

  // ---- a user's day ----
  const user = await newPage();
  await signIn(user, 'alice');
  await user.getByTestId('task-row').nth(3).waitFor();
  await user.getByTestId('my-misses-text').waitFor();
  await user.mouse.move(0, 0);
  await shot(user, 'my-tasks', DESKTOP);

  const phone = await newPage({ viewport: PHONE, isMobile: true, hasTouch: true });
  await signIn(phone, 'alice');
  await phone.getByTestId('task-row').nth(3).waitFor();
  await phone.getByTestId('my-misses-text').waitFor();
  const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 0, `My tasks is ${overflow} px wider than a phone screen`);
  await shot(phone, 'my-tasks-phone', PHONE);

  // Her inbox from the bell: the assignments, the sweep's reminders, the
  // miss and the warning that one more pauses her account.
  await user.getByTestId('nav-inbox').click();
  await user.getByTestId('notice-row').nth(5).waitFor();
  await user.mouse.move(0, 0);
  await shot(user, 'inbox', DESKTOP);

  // Her tokens: one for a nightly script, one for a calendar app, and the
  // calendar address.
  const aliceToken = await server.token('alice');
  for (const [name, scopes] of [['nightly report', ['read']], ['phone calendar', ['calendar']]]) {
    await server.must(201, 'POST', '/api/user/me/tokens/', { token: aliceToken, body: { name, scopes } });
  }
  // Tall enough for the form, the list and the calendar panel.
  const tall = { width: DESKTOP.width, height: 1200 };
  await user.setViewportSize(tall);
  await user.getByTestId('nav-tokens').click();
  await user.getByTestId('token-row').nth(1).waitFor();
  await user.getByTestId('calendar-url').waitFor();
  await user.mouse.move(0, 0);
  await shot(user, 'tokens', tall);

  // ---- a manager's day ----
  const manager = await newPage();
  await signIn(manager, 'maria');
  await manager.getByTestId('nav-tasks').click();
  await manager.getByTestId('task-row').nth(7).waitFor();
  await manager.locator('[data-testid="filter-assignee"] option').nth(6).waitFor({ state: 'attached' });
  await shot(manager, 'tasks', DESKTOP);

  await manager.getByTestId('new-task').click();
  await manager.getByTestId('task-title-input').fill('Order the new standing desks');
  await manager.getByTestId('task-description-input').fill('Four desks for the design team; compare at least two suppliers.');
  const friday = new Date(Date.now() + 5 * DAY);
  const local = `${friday.getUTCFullYear()}-${String(friday.getUTCMonth() + 1).padStart(2, '0')}-${String(friday.getUTCDate()).padStart(2, '0')}T16:00`;
  await manager.getByTestId('task-deadline-input').fill(local);
  await manager.getByTestId('task-assignee-input').selectOption({ label: 'bob — Bob Chen' });
  await manager.evaluate(() => document.activeElement && document.activeElement.blur());
  await shot(manager, 'task-form', DESKTOP);

  // A live alert: the manager watches while a deadline passes and a sweep
  // runs elsewhere.
  await manager.getByTestId('nav-alerts').click();
  await manager.locator('[data-testid="stream-status"][data-state="open"]').waitFor();
  await manager.getByTestId('alert-row').nth(4).waitFor();
  const liveDue = Date.now() + 2000;
  await server.createTask({ assignee: bob, title: 'Confirm the catering order', deadline: new Date(liveDue).toISOString() });
  await sleep(Math.max(0, liveDue - Date.now() + 300));
  await server.sweep();
  await manager.locator('[data-testid="alert-row"].fresh').waitFor({ timeout: 10_000 });
  // Eight unacknowledged: four misses, erik's deactivation, alice and dana
  // one miss away from it (at a threshold of 2), and the live miss.
  await manager.locator('[data-testid="alerts-badge"]:not([hidden])').filter({ hasText: '8' }).waitFor();
  await shot(manager, 'alerts', DESKTOP);

  // A manager's preferences hold the choice of alert emails too.
  await manager.getByTestId('nav-preferences').click();
  await manager.getByTestId('pref-alerts').waitFor();
  await manager.mouse.move(0, 0);
  await shot(manager, 'preferences', DESKTOP);

  // ---- an admin's screens ----
  const admin = await newPage();
  await signIn(admin, 'admin', server.adminPassword);
  await admin.getByTestId('nav-users').click();
  await admin.getByTestId('user-row').nth(6).waitFor();
  await shot(admin, 'users', DESKTOP);

  await admin.getByTestId('nav-audit').click();
  await admin.getByTestId('audit-row').nth(10).waitFor();
  // Names and actions never break inside a word, however wide the table.
  const broken = await admin.evaluate(() => [...document.querySelectorAll('[data-testid="audit-action"] code')]
    .filter((code) => code.getClientRects().length > 1).map((code) => code.textContent));
  check(broken.length === 0, `audit actions broken across lines: ${JSON.stringify(broken)}`);
  await shot(admin, 'audit-log', DESKTOP);
}

// The dashboard over twelve weeks of history: the demo's people and tasks,
// and a few people of our own who are slipping.
scenario('screenshots of the dashboard', async ({ server, newPage: newContextPage, signIn }) => {
  const newPage = (options = {}) => newContextPage({ timezoneId: 'Europe/Paris', ...options });
  await server.demo('--users', '9', '--tasks', '700', '--days', '84', '--overdue', '0', '--seed', '11');
  await server.createUser({ username: 'maria', role: 'manager', first_name: 'Maria', last_name: 'Lopez' });
  const dana = await server.createUser({ username: 'dana', first_name: 'Dana', last_name: 'Kim' });
  const erik = await server.createUser({ username: 'erik', first_name: 'Erik', last_name: 'Larsen' });
  const alice = await server.createUser({ username: 'alice', first_name: 'Alice', last_name: 'Moreau' });
  await server.createTask({ assignee: dana, title: 'Draft the Q3 budget', dueInMs: 5 * HOUR });
  await server.createTask({ assignee: alice, title: 'Review the onboarding checklist', dueInMs: 2 * HOUR });
  const soon = new Date(Date.now() + 2000).toISOString();
  for (const [user, title] of [[alice, 'Send the signed contract'], [dana, 'Call back the courier'], [dana, 'Book the venue'],
    [erik, 'Reconcile the March invoices'], [erik, 'Archive the tickets'], [erik, 'Renew the certificates']]) {
    await server.createTask({ assignee: user, title, deadline: soon });
  }
  await sleep(2300);
  const swept = await server.sweep('--missed-threshold', '3');
  check(swept.tasks_missed === 6 && swept.users_deactivated === 1, `the sweep answered ${JSON.stringify(swept)}`);

  // Tall enough on a desktop for the whole page; on a phone, the weeks.
  const tall = { width: DESKTOP.width, height: 1520 };
  const n = await pictures(async (shot) => {
    for (const [name, options, size] of [
      ['dashboard', { viewport: tall }, tall],
      ['dashboard-dark', { viewport: tall, colorScheme: 'dark' }, tall],
      ['dashboard-phone', { viewport: PHONE, isMobile: true, hasTouch: true }, PHONE],
    ]) {
      const page = await newPage(options);
      await signIn(page, 'maria');
      await page.locator('[data-testid="chart-weeks"] svg').waitFor();
      await page.getByTestId('person-row').nth(9).waitFor();
      await page.getByTestId('due-row').nth(1).waitFor();
      await page.mouse.move(0, 0);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      check(overflow <= 0, `the dashboard is ${overflow} px wider than the screen (${name})`);
      if (size === PHONE) await page.getByTestId('chart-weeks').evaluate((el) => el.scrollIntoView());
      await shot(page, name, size);
    }
  });
  check(n === 3, `${n} screenshots taken`);
}, { timeout: 90_000, serve: ['--missed-threshold', '3'] });
