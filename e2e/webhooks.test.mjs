// Webhooks through the admin's UI, against a real receiver on 127.0.0.1
// (so the server runs with --webhook-allow-private): an endpoint added with
// its secret shown once, a test event delivered, signed and logged, a
// failing receiver's attempt logged with its code and next attempt, the
// secret rotated (both secrets sign), a delivery sent again with the same
// webhook-id, the log filtered, the endpoint edited, disabled and deleted;
// the page on a phone; and managers kept out.

import { createServer } from 'node:http';
import { createHmac } from 'node:crypto';
import { scenario, check, until, PHONE } from './harness.mjs';

const CLIPBOARD = { permissions: ['clipboard-read', 'clipboard-write'] };
const SERVE = ['--webhook-allow-private'];

// receiver starts an HTTP server on 127.0.0.1 that records every request
// and answers with receiver.status (200 unless a test changes it).
async function receiver() {
  const got = [];
  const self = { got, status: 200 };
  const srv = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => {
      got.push({ method: req.method, path: req.url, headers: req.headers, body });
      res.writeHead(self.status, { 'Content-Type': 'text/plain' });
      res.end(self.status === 200 ? 'ok' : 'receiver says no');
    });
  });
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
  self.url = `http://127.0.0.1:${srv.address().port}/hook`;
  self.close = () => new Promise((resolve) => {
    srv.closeAllConnections();
    srv.close(resolve);
  });
  return self;
}

// signedBy checks a request's Standard Webhooks v1 signature against one
// secret, written from the specification rather than taken from the server:
// base64 HMAC-SHA256 of "id.timestamp.body", keyed by the base64 part of
// the whsec_ secret, one of the space-separated "v1,<sig>" entries.
function signedBy(secret, req) {
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const sig = createHmac('sha256', key).update(`${req.headers['webhook-id']}.${req.headers['webhook-timestamp']}.${req.body}`).digest('base64');
  return (req.headers['webhook-signature'] || '').split(' ').includes(`v1,${sig}`);
}

function checkSecret(secret) {
  check(/^whsec_[A-Za-z0-9+/]+={0,2}$/.test(secret), `the secret shown: ${secret}`);
  check(Buffer.from(secret.slice('whsec_'.length), 'base64').length >= 24, `the secret is short: ${secret}`);
}

scenario('an admin adds an endpoint, tests it, rotates its secret, redelivers, edits, disables and deletes it', async ({ server, newPage, signIn, a11y, expectConsole }) => {
  // The bad URLs are refused on purpose; the browser logs the 400s.
  expectConsole(/status of 400/);
  const hook = await receiver();
  try {
    const page = await newPage(CLIPBOARD);
    await signIn(page, 'admin', server.adminPassword);
    await page.getByTestId('nav-webhooks').click();
    await page.getByTestId('webhook-form').waitFor();
    await page.getByTestId('empty').filter({ hasText: 'No endpoints yet' }).waitFor();
    await a11y(page, 'the empty webhooks page');

    // No event chosen: said next to the events, and nothing is sent.
    await page.getByTestId('webhook-url-input').fill(hook.url);
    await page.getByTestId('webhook-create').click();
    await until('the events error', async () => (await page.getByTestId('error-events').textContent()).includes('at least one event'));
    // A URL that is not http or https: the server's reason next to the URL.
    await page.getByTestId('webhook-url-input').fill('ftp://example.com/hook');
    await page.getByTestId('webhook-event-task.missed').check();
    await page.getByTestId('webhook-create').click();
    await until('the URL error', async () => (await page.getByTestId('error-url').textContent()).length > 0);
    check((await page.getByTestId('webhook-url-input').getAttribute('aria-invalid')) === 'true', 'the URL field is not marked invalid');
    check((await page.getByTestId('error-events').textContent()) === '', 'the events error stayed');
    await a11y(page, 'the form with a field error');
    const none = await server.must(200, 'GET', '/api/webhooks/', { token: await server.adminToken() });
    check(none.length === 0, `refused forms made endpoints: ${JSON.stringify(none)}`);

    // "All events" includes every single one and sets them aside.
    await page.getByTestId('webhook-url-input').fill(hook.url);
    await page.getByTestId('webhook-event-all').check();
    check(await page.getByTestId('webhook-event-user.created').isDisabled(), 'a single event is still open beside All events');
    await page.getByTestId('webhook-format-input').selectOption('standard');
    await page.getByTestId('webhook-description-input').fill('CI receiver');
    await page.getByTestId('webhook-create').click();

    // The secret, once, copied; focus on its Copy button.
    const panel = page.getByTestId('webhook-secret-panel');
    await panel.waitFor();
    const secret = await page.getByTestId('webhook-secret').inputValue();
    checkSecret(secret);
    check(await page.getByTestId('webhook-secret-copy').evaluate((el) => el === document.activeElement), 'focus is not on Copy');
    await page.getByTestId('webhook-secret-copy').click();
    await page.getByTestId('webhook-secret-copied').filter({ hasText: 'Copied.' }).waitFor();
    check((await page.evaluate(() => navigator.clipboard.readText())) === secret, 'the clipboard does not hold the secret');
    await a11y(page, 'the new secret');

    const row = page.getByTestId('webhook-row');
    await row.waitFor();
    check((await row.getByTestId('webhook-link').textContent()) === hook.url, 'the row shows another URL');
    check((await row.getByTestId('webhook-events').textContent()).trim() === 'All events', `events ${await row.getByTestId('webhook-events').textContent()}`);
    check((await row.getByTestId('webhook-format').textContent()) === 'Standard', 'the row shows another format');
    check((await row.getByTestId('webhook-status').textContent()) === 'Active', 'the row is not active');
    check((await row.getByTestId('webhook-description').textContent()) === 'CI receiver', 'the row shows another description');
    const id = await row.getAttribute('data-webhook-id');
    const listed = await server.must(200, 'GET', '/api/webhooks/', { token: await server.adminToken() });
    check(listed.length === 1 && listed[0].id === id && listed[0].events.join() === '*' && !JSON.stringify(listed).includes(secret),
      `the server lists ${JSON.stringify(listed)}`);

    await page.getByTestId('webhook-secret-done').click();
    check(await row.getByTestId('webhook-link').evaluate((el) => el === document.activeElement), 'focus did not go to the new endpoint');
    await page.reload();
    await page.getByTestId('webhook-row').waitFor();
    check(!(await page.content()).includes(secret), 'the secret is in the page after a reload');

    // Send test: queued, delivered, signed, logged.
    await page.getByTestId('webhook-link').click();
    const detail = page.getByTestId('webhook-detail');
    await detail.waitFor();
    check((await detail.getAttribute('data-webhook-id')) === id, 'the detail is of another endpoint');
    await page.getByTestId('empty').filter({ hasText: 'Nothing sent yet' }).waitFor();
    await a11y(page, 'an endpoint with no deliveries');
    await page.getByTestId('webhook-test').click();
    await page.getByTestId('webhook-action-result').filter({ hasText: 'Test event queued' }).waitFor();
    const delivered = page.locator('[data-testid="delivery-row"][data-status="delivered"]');
    await delivered.first().waitFor({ timeout: 20_000 });
    check(hook.got.length === 1, `the receiver got ${hook.got.length} requests`);
    const ping = hook.got[0];
    check(ping.method === 'POST' && ping.path === '/hook', `the receiver got ${ping.method} ${ping.path}`);
    check(signedBy(secret, ping), `the ping is not signed by the secret: ${JSON.stringify(ping.headers)}`);
    check(JSON.parse(ping.body).type === 'ping', `the ping's body: ${ping.body}`);
    check((await delivered.getAttribute('data-event-id')) === ping.headers['webhook-id'], 'the log shows another event id');
    check((await delivered.getByTestId('delivery-event').textContent()) === 'ping', 'the log shows another event type');
    check((await delivered.getByTestId('delivery-status').textContent()) === 'Delivered', 'the status is not Delivered');
    check((await delivered.getByTestId('delivery-attempt').textContent()) === '1', 'the attempt is not the first');
    check((await delivered.getByTestId('delivery-response').textContent()) === '200', 'the response code is not 200');
    check(/^\d+ ms$/.test(await delivered.getByTestId('delivery-duration').textContent()), 'the duration is not shown');
    check((await delivered.getByTestId('delivery-next').textContent()) === '—', 'a delivered attempt has a next attempt');
    await a11y(page, 'the delivery log');

    // A receiver that fails: the attempt is logged with its code, the
    // error and when the next one is due.
    hook.status = 500;
    await page.getByTestId('webhook-test').click();
    const retrying = page.locator('[data-testid="delivery-row"][data-status="retrying"]');
    await retrying.first().waitFor({ timeout: 20_000 });
    check((await retrying.first().getByTestId('delivery-response').textContent()) === '500', 'the failed attempt shows another code');
    await retrying.first().getByTestId('delivery-next-at').waitFor();
    hook.status = 200;

    // The log filtered by status, in the URL.
    await page.getByTestId('deliveries-filter-status').selectOption('failed');
    await until('the failed filter in the URL', async () => new URL(page.url()).searchParams.get('status') === 'failed');
    await page.getByTestId('empty').filter({ hasText: 'No deliveries with this status.' }).waitFor();
    await page.getByTestId('deliveries-filter-status').selectOption('delivered');
    await until('only delivered attempts', async () => {
      const statuses = await page.getByTestId('delivery-row').evaluateAll((rows) => rows.map((r) => r.dataset.status));
      return statuses.length > 0 && statuses.every((s) => s === 'delivered');
    });
    await page.getByTestId('deliveries-filter-status').selectOption('');

    // Rotate: a new secret, once; for 24 hours both sign.
    await page.getByTestId('webhook-rotate').click();
    await page.getByTestId('confirm-dialog').filter({ hasText: '24 hours' }).waitFor();
    await page.getByTestId('confirm-ok').click();
    await page.getByTestId('webhook-secret-panel').waitFor();
    const rotated = await page.getByTestId('webhook-secret').inputValue();
    checkSecret(rotated);
    check(rotated !== secret, 'the rotated secret is the old one');
    await a11y(page, 'the rotated secret');
    await page.getByTestId('webhook-secret-done').click();
    check(await page.getByTestId('webhook-rotate').evaluate((el) => el === document.activeElement), 'focus did not go back to Rotate');

    // Redeliver the first ping: the same webhook-id, signed by both secrets.
    const first = page.locator(`[data-testid="delivery-row"][data-event-id="${ping.headers['webhook-id']}"]`);
    const samePing = () => hook.got.filter((r) => r.headers['webhook-id'] === ping.headers['webhook-id']);
    await first.first().getByTestId('delivery-redeliver').click();
    await until('the redelivery', async () => samePing().length === 2, 20_000);
    const again = samePing()[1];
    check(again.headers['webhook-id'] === ping.headers['webhook-id'], `the redelivery has another webhook-id: ${again.headers['webhook-id']}`);
    check(signedBy(secret, again) && signedBy(rotated, again), `the redelivery is not signed by both secrets: ${again.headers['webhook-signature']}`);
    await until('the redelivery in the log', async () => (await first.count()) === 2, 20_000);

    // Edit: two events, Slack, a new description, paused.
    const form = page.getByTestId('webhook-edit-form');
    await form.getByTestId('webhook-save').click();
    await form.getByTestId('form-error').filter({ hasText: 'Nothing has changed.' }).waitFor();
    await form.getByTestId('webhook-url-input').fill('gopher://example.com/');
    await form.getByTestId('webhook-save').click();
    await until('the edit URL error', async () => (await form.getByTestId('error-url').textContent()).length > 0);
    await form.getByTestId('webhook-url-input').fill(hook.url);
    await form.getByTestId('webhook-event-all').uncheck();
    for (const name of ['task.created', 'task.updated', 'task.deleted', 'task.status_changed', 'task.reminder', 'user.created', 'user.reactivated', 'user.at_risk', 'alert.acknowledged', 'ping']) {
      await form.getByTestId(`webhook-event-${name}`).uncheck();
    }
    await form.getByTestId('webhook-format-input').selectOption('slack');
    await form.getByTestId('webhook-description-input').fill('team channel');
    await form.getByTestId('webhook-active-input').uncheck();
    await form.getByTestId('webhook-save').click();
    await page.getByTestId('flash').filter({ hasText: 'Changes saved.' }).waitFor();
    const facts = page.getByTestId('webhook-facts');
    check((await facts.getByTestId('webhook-status').textContent()) === 'Disabled', 'the endpoint is not shown disabled');
    check((await facts.getByTestId('webhook-format').textContent()) === 'Slack', 'the format is not Slack');
    check((await facts.getByTestId('webhook-events').textContent()).trim() === 'task.missed user.deactivated', `events ${await facts.getByTestId('webhook-events').textContent()}`);
    const saved = await server.must(200, 'GET', `/api/webhooks/${id}/`, { token: await server.adminToken() });
    check(!saved.is_active && saved.format === 'slack' && saved.description === 'team channel' && [...saved.events].sort().join() === 'task.missed,user.deactivated',
      `the server has ${JSON.stringify(saved)}`);
    await a11y(page, 'a disabled endpoint');

    // Delete: asked first; Cancel keeps it.
    await page.getByTestId('webhook-delete').click();
    await page.getByTestId('confirm-cancel').click();
    await server.must(200, 'GET', `/api/webhooks/${id}/`, { token: await server.adminToken() });
    await page.getByTestId('webhook-delete').click();
    await page.getByTestId('confirm-ok').click();
    await page.getByTestId('webhooks').waitFor();
    await page.getByTestId('flash').filter({ hasText: 'deleted' }).waitFor();
    await page.getByTestId('empty').filter({ hasText: 'No endpoints yet' }).waitFor();
    const gone = await server.api('GET', `/api/webhooks/${id}/`, { token: await server.adminToken() });
    check(gone.status === 404, `the deleted endpoint answers ${gone.status}`);
  } finally {
    await hook.close();
  }
}, { timeout: 120_000, serve: SERVE });

scenario('the webhooks pages fit a phone', async ({ server, newPage, signIn, a11y }) => {
  const made = await server.must(201, 'POST', '/api/webhooks/', {
    token: await server.adminToken(),
    body: { url: 'http://127.0.0.1:9/a-rather-long-path/that-goes/on-and-on?with=a&query=string', events: ['task.missed', 'user.at_risk'], format: 'discord', description: 'night shift' },
  });
  const page = await newPage({ viewport: PHONE, hasTouch: true, isMobile: true });
  await signIn(page, 'admin', server.adminPassword);
  const fits = () => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
  await page.goto(`${server.url}/webhooks`);
  await page.getByTestId('webhook-row').waitFor();
  check(await fits(), 'the list is wider than the phone');
  await a11y(page, 'the list on a phone');
  await page.getByTestId('webhook-link').click();
  await page.getByTestId('webhook-detail').waitFor();
  check((await page.getByTestId('webhook-detail').getAttribute('data-webhook-id')) === made.id, 'the detail is of another endpoint');
  await page.getByTestId('webhook-test').click();
  await page.getByTestId('delivery-row').first().waitFor({ timeout: 20_000 });
  check(await fits(), 'the endpoint page is wider than the phone');
  await a11y(page, 'an endpoint and its log on a phone');
}, { timeout: 90_000, serve: SERVE });

scenario('a manager has no webhooks page, and the API refuses them', async ({ server, newPage, signIn }) => {
  await server.createUser({ username: 'grace', role: 'manager' });
  const made = await server.must(201, 'POST', '/api/webhooks/', {
    token: await server.adminToken(), body: { url: 'http://127.0.0.1:9/managers-keep-out', events: ['*'], format: 'standard' },
  });
  const page = await newPage();
  await signIn(page, 'grace');
  check((await page.getByTestId('nav-webhooks').count()) === 0, 'a manager is offered Webhooks');
  for (const url of ['/webhooks', `/webhooks/${made.id}`]) {
    await page.goto(server.url + url);
    await page.getByTestId('forbidden').waitFor();
    const heading = await page.locator('main h1').textContent();
    check(heading === 'Not allowed', `${url}: heading ${heading}`);
    check(!(await page.content()).includes('managers-keep-out'), `${url} shows an endpoint`);
  }
  const res = await server.api('GET', '/api/webhooks/', { token: await server.token('grace') });
  check(res.status === 403, `the API answers a manager ${res.status}`);
}, { serve: SERVE });
