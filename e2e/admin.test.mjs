// What only an admin does, and the page's Content-Security-Policy.

import { scenario, check, until } from './harness.mjs';

scenario('an admin creates a manager through the UI', async ({ server, newPage, signIn, expectConsole }) => {
  // The first attempt is refused on purpose; the browser logs the 400.
  expectConsole(/status of 400/);
  const page = await newPage();
  await signIn(page, 'admin', server.adminPassword);
  await page.getByTestId('nav-users').click();
  await page.getByTestId('user-table').waitFor();
  await page.getByTestId('new-user').click();
  await page.getByTestId('user-form').waitFor();

  // A bad password is explained next to its field, and nothing is created.
  await page.getByTestId('user-username-input').fill('grace');
  await page.getByTestId('user-password-input').fill('12345678');
  await page.getByTestId('user-role-input').selectOption('manager');
  await page.getByTestId('user-save').click();
  const pwError = page.getByTestId('error-password');
  await until('the password error', async () => (await pwError.textContent()).length > 0);
  check((await page.getByTestId('user-password-input').getAttribute('aria-invalid')) === 'true', 'the password field is not marked invalid');

  await page.getByTestId('user-password-input').fill('a-good-password-7');
  await page.getByTestId('user-email-input').fill('grace@example.com');
  await page.getByTestId('user-first-name-input').fill('Grace');
  await page.getByTestId('user-last-name-input').fill('Hopper');
  await page.getByTestId('user-save').click();

  await page.getByTestId('user-detail').waitFor();
  await page.getByTestId('flash').filter({ hasText: 'User grace created.' }).waitFor();
  check((await page.getByTestId('user-role').textContent()) === 'manager', 'the new user is not shown as a manager');
  const id = Number(await page.getByTestId('user-detail').getAttribute('data-user-id'));

  const users = await server.must(200, 'GET', '/api/user/users/', { token: await server.adminToken() });
  const grace = users.find((u) => u.username === 'grace');
  check(grace && grace.id === id, `grace on the server: ${JSON.stringify(grace)}`);
  check(grace.role.name === 'manager' && grace.is_active && grace.email === 'grace@example.com' && grace.first_name === 'Grace' && grace.last_name === 'Hopper',
    `grace on the server: ${JSON.stringify(grace)}`);

  // The new manager signs in and has the manager's screens.
  const gracePage = await newPage();
  await signIn(gracePage, 'grace', 'a-good-password-7');
  check(new URL(gracePage.url()).pathname === '/dashboard', `the new manager starts on ${gracePage.url()}`);
  await gracePage.getByTestId('nav-alerts').waitFor();
  check((await gracePage.getByTestId('nav-audit').count()) === 0, 'a manager is offered the audit log');
});

scenario('the page refuses inline script and eval, and the tests notice', async ({ server, newPage, signIn, expectConsole }) => {
  // This test makes the violations itself, so it allows exactly those; every
  // other test fails on any.
  const seen = [];
  expectConsole({ test: (text) => /inline|unsafe-eval|script-src/.test(text) && seen.push(text) > 0 });
  const page = await newPage();
  await signIn(page, 'admin', server.adminPassword);

  const res = await page.request.get(`${server.url}/`);
  const csp = res.headers()['content-security-policy'] || '';
  check(/script-src 'self'(;|$)/.test(csp) && !csp.includes('unsafe'), `Content-Security-Policy: ${csp}`);

  // The attempts run in a later task of the page, not inside the debugger's
  // own evaluation (which the browser exempts from the policy).
  const outcome = await page.evaluate(() => new Promise((resolve) => {
    setTimeout(() => {
      window.injected = false;
      const s = document.createElement('script');
      s.textContent = 'window.injected = true';
      document.head.appendChild(s);
      let evalRan;
      try {
        evalRan = window.eval('1 + 1') === 2;
      } catch {
        evalRan = false;
      }
      let fnRan;
      try {
        fnRan = new Function('return 1')() === 1;
      } catch {
        fnRan = false;
      }
      resolve({ inline: window.injected, evalRan, fnRan });
    }, 0);
  }));
  check(!outcome.inline, 'an injected inline script ran');
  check(!outcome.evalRan && !outcome.fnRan, `eval or Function ran: ${JSON.stringify(outcome)}`);
  await until('the violations to be reported', async () => seen.some((t) => t.includes('blocked inline'))
    && seen.filter((t) => t.includes('blocked eval')).length === 2);
});
