// The interactive API reference at /api/docs/ (Swagger UI, with our
// colours and labels): it renders the API's own document under the strict
// Content-Security-Policy, works, and passes axe-core in every state a
// reader meets.

import { scenario, check } from './harness.mjs';

scenario('the API docs page works and passes axe-core: the list, an operation, trying it out, a request body, the schemas, the Authorize dialog', async ({ server, newPage, expectConsole, a11y }) => {
  // Trying an operation without a token answers 401, which the browser logs.
  expectConsole(/status of 401/);
  const page = await newPage();
  await page.goto(`${server.url}/api/docs/`);
  await page.locator('.opblock').first().waitFor({ timeout: 15_000 });
  check((await page.locator('.opblock').count()) >= 30, `${await page.locator('.opblock').count()} operations shown`);
  await a11y(page, 'the docs page');

  // An operation with query parameters, some of them choices.
  const list = page.locator('#operations-tasks-tasksList');
  await list.locator('.opblock-summary-control').click();
  await list.locator('.opblock-body').waitFor();
  // Eight filters and pages, and the CSV format.
  check((await list.locator('tr[data-param-name]').count()) === 9, 'the task list does not show its 9 parameters');
  await a11y(page, 'an operation opened');

  await list.locator('.try-out__btn').click();
  await list.locator('.execute').click();
  await list.locator('.live-responses-table tbody .response-col_status').first().waitFor();
  check((await list.locator('.live-responses-table tbody .response-col_status').first().textContent()).trim() === '401', 'the call was not answered 401 without a token');
  await a11y(page, 'an operation tried out');

  // An operation with a request body.
  const login = page.locator('#operations-auth-tokenObtain');
  await login.locator('.opblock-summary-control').click();
  await login.locator('.try-out__btn').click();
  await login.locator('textarea.body-param__text').waitFor();
  await a11y(page, 'a request body being edited');

  // The schemas at the foot of the page, one of them unfolded.
  const models = page.locator('section.models');
  if (!(await models.getAttribute('class')).includes('is-open')) await models.locator('.models-control').click();
  const schema = models.locator('article.json-schema-2020-12', { has: page.locator('.json-schema-2020-12__title', { hasText: /^Task$/ }) }).first();
  await schema.locator('.json-schema-2020-12-expand-deep-button').first().click();
  await schema.locator('.json-schema-2020-12-accordion[aria-expanded="true"]').first().waitFor();
  await schema.locator('.json-schema-2020-12-property').first().waitFor();
  await a11y(page, 'the schemas, one unfolded');

  await page.locator('.btn.authorize').first().click();
  await page.locator('.modal-ux').waitFor();
  await a11y(page, 'the Authorize dialog');
  await page.locator('button.close-modal').click();
}, { timeout: 90_000 });
