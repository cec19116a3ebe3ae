// Shared pieces of the browser tests: a real `tasktrack serve` on a free
// port with a fresh SQLite database, a small HTTP API client for setting up
// data, Debian's Chromium driven by playwright-core, and `scenario`, which
// wraps node:test's `test` with the checks every test shares (no page
// errors, no Content-Security-Policy violations, no JavaScript dialogs, no
// request leaving the server, no token in a URL, no axe-core accessibility
// violation on any page state a test checks or leaves) and a screenshot of
// every open page on failure.

import { test, after } from 'node:test';
import { spawn, execFile } from 'node:child_process';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';

const run = promisify(execFile);

export const E2E_DIR = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.dirname(E2E_DIR);
export const FAILED_DIR = path.join(E2E_DIR, 'screenshots-failed');

export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic',
  '--no-first-run', '--disable-component-update', '--disable-sync',
];

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

// A password good enough for the server's rules, for every test user.
export const PASSWORD = 'correct-horse-42';

// ---- the binary ---------------------------------------------------------------

let built = null;

// binary returns the tasktrack binary: $TASKTRACK_BIN (scripts/browser-tests.sh
// builds it once), or one built here from the working tree.
export function binary() {
  if (process.env.TASKTRACK_BIN) return Promise.resolve(process.env.TASKTRACK_BIN);
  if (!built) {
    built = (async () => {
      const dir = await mkdtemp(path.join(tmpdir(), 'tasktrack-e2e-bin-'));
      const out = path.join(dir, 'tasktrack');
      await run('go', ['build', '-o', out, './cmd/tasktrack'], { cwd: ROOT });
      process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
      return out;
    })();
  }
  return built;
}

// The server's environment: ours, without any TASKTRACK_ setting that would
// point it at another database or change its behaviour.
function cleanEnv(extra) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('TASKTRACK_')) env[k] = v;
  return { ...env, ...extra };
}

// ---- the server ---------------------------------------------------------------

export class Server {
  constructor({ bin, dir, db, adminPassword, proc, url, log }) {
    Object.assign(this, { bin, dir, db, adminPassword, proc, url, log });
    this.tokens = new Map();
  }

  // api calls the HTTP API and answers {status, headers, body}.
  async api(method, urlPath, { token, body } = {}) {
    const headers = { Accept: 'application/json' };
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(this.url + urlPath, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    let parsed = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = text;
    }
    return { status: res.status, headers: res.headers, body: parsed };
  }

  // must is api that insists on one status.
  async must(status, method, urlPath, opts) {
    const res = await this.api(method, urlPath, opts);
    if (res.status !== status) {
      throw new Error(`${method} ${urlPath}: status ${res.status}, want ${status}: ${JSON.stringify(res.body)}`);
    }
    return res.body;
  }

  // token signs in through the API and caches the access token.
  async token(username, password = PASSWORD) {
    const key = `${username}\n${password}`;
    if (!this.tokens.has(key)) {
      const body = await this.must(200, 'POST', '/api/token/', { body: { username, password } });
      this.tokens.set(key, body.access);
    }
    return this.tokens.get(key);
  }

  adminToken() {
    return this.token('admin', this.adminPassword);
  }

  async createUser({ username, role = 'user', password = PASSWORD, ...rest }) {
    return this.must(201, 'POST', '/api/user/users/', {
      token: await this.adminToken(), body: { username, password, role, ...rest },
    });
  }

  // createTask creates a task as the admin; dueInMs sets the deadline from now.
  async createTask({ assignee, title, description = '', dueInMs = 86_400_000, deadline }) {
    return this.must(201, 'POST', '/api/task/tasks/', {
      token: await this.adminToken(),
      body: { title, description, assigned_to: assignee.id, deadline: deadline || new Date(Date.now() + dueInMs).toISOString() },
    });
  }

  // sweep runs `tasktrack sweep` in a process of its own against the same
  // database, as an operator or a cron job would; args are extra flags.
  async sweep(...args) {
    const { stdout } = await run(this.bin, ['sweep', '--database', this.db, '--json', ...args], { env: cleanEnv({}) });
    return JSON.parse(stdout);
  }

  // demo runs `tasktrack demo` against the same database; args are its flags.
  async demo(...args) {
    await run(this.bin, ['demo', '--database', this.db, ...args], { env: cleanEnv({}) });
  }

  async stop() {
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      const exited = new Promise((resolve) => this.proc.once('exit', resolve));
      this.proc.kill('SIGTERM');
      const timer = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}

// startServer starts `tasktrack serve` on a free port (the kernel picks it,
// the server logs it) with a fresh database, no in-process sweep and no
// metrics listener; args are more flags.
export async function startServer(args = []) {
  const bin = await binary();
  const dir = await mkdtemp(path.join(tmpdir(), 'tasktrack-e2e-'));
  const db = path.join(dir, 'tasktrack.db');
  const adminPassword = `admin-${Math.random().toString(36).slice(2)}-pw`;
  const proc = spawn(bin, ['serve', '--addr', '127.0.0.1:0', '--metrics-addr', '', '--database', db, '--sweep-interval', '0', '--log-format', 'text', ...args], {
    env: cleanEnv({ TASKTRACK_ADMIN_PASSWORD: adminPassword }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(proc);
  proc.once('exit', () => running.delete(proc));
  let log = '';
  const server = new Server({ bin, dir, db, adminPassword, proc, url: null, log: () => log });
  try {
    const addr = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`tasktrack serve did not start in 20 s:\n${log}`)), 20_000);
      const onData = (chunk) => {
        log += chunk;
        const m = /msg=serving addr=(\S+)/.exec(log);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      };
      proc.stdout.setEncoding('utf8').on('data', onData);
      proc.stderr.setEncoding('utf8').on('data', onData);
      proc.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`tasktrack serve exited with ${code}:\n${log}`));
      });
    });
    server.url = `http://${addr}`;
    for (let i = 0; ; i++) {
      const res = await fetch(`${server.url}/readyz`).catch(() => null);
      if (res && res.ok) break;
      if (i > 200) throw new Error(`tasktrack serve not ready in 10 s:\n${log}`);
      await sleep(50);
    }
  } catch (err) {
    await server.stop();
    throw err;
  }
  return server;
}

// Servers still running when the test file ends (a test that timed out
// leaves its own behind) are stopped, so that the file's process can exit.
const running = new Set();

process.on('exit', () => {
  for (const proc of running) proc.kill('SIGKILL');
});

// ---- the browser ----------------------------------------------------------------

// launchBrowser starts Debian's Chromium; playwright-core never downloads one.
export async function launchBrowser() {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium package`);
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

// ---- accessibility -----------------------------------------------------------------

// axe-core, pinned in package-lock.json, is evaluated in the page through
// the DevTools protocol, which the page's Content-Security-Policy does not
// govern (a <script> tag would be refused, as it should be).
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

// axeViolations runs every axe-core rule (WCAG 2.x A and AA, and best
// practices) on the page as it is now, and answers the violations, one line
// each, empty when there are none.
export async function axeViolations(page) {
  await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    const res = await axe.run(document, { resultTypes: ['violations'] });
    return res.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')) }));
  });
  return violations.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.length} node(s): ${v.nodes.slice(0, 5).join(', ')}`);
}

// ---- small helpers ----------------------------------------------------------------

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// until polls fn until it answers something truthy, and answers that; after
// timeout ms it fails with what, and the last value seen.
export async function until(what, fn, timeout = 5000) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
    await sleep(50);
  }
}

// check fails the test with a message when ok is false.
export function check(ok, message) {
  if (!ok) throw new Error(message);
}

// settle waits until nothing on the page says it is loading, so that a
// check sees the page's answer rather than its spinner.
export async function settle(page) {
  await page.waitForFunction(() => !document.querySelector('[data-testid="loading"]') && document.readyState === 'complete', null, { timeout: 5000 }).catch(() => {});
}

function slug(s) {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 80);
}

// ---- scenario ----------------------------------------------------------------------

// scenario(name, fn, {timeout, serve}) declares a test that runs against its
// own fresh server (serve: more flags for it).
// fn gets {server, browser, newPage, newTab, signIn, expectConsole, a11y}:
//   - newPage(options) opens a page in a new browser context (its own
//     cookies and storage, so its own signed-in user); options go to
//     browser.newContext (viewport, timezoneId, ...);
//   - newTab(page) opens another tab of page's browser context;
//   - signIn(page, username, password) signs in through the form;
//   - expectConsole(regexp) allows console errors matching it in this test
//     (for example the browser's own report of an expected 401);
//   - a11y(page, state) runs axe-core on the page as it is and fails the
//     test on any violation; signIn runs it on the sign-in form and on the
//     page it lands on, and every page still open when fn ends is checked
//     too.
// The browser is launched once per file and shared by its scenarios.
let sharedBrowser = null;

async function browserOnce() {
  if (!sharedBrowser) sharedBrowser = launchBrowser();
  return sharedBrowser;
}

after(async () => {
  for (const proc of running) proc.kill('SIGKILL');
  if (sharedBrowser) await (await sharedBrowser).close().catch(() => {});
});

export function scenario(name, fn, { timeout = 60_000, serve = [] } = {}) {
  test(name, { timeout }, async () => {
    const browser = await browserOnce();
    const server = await startServer(serve); // fails with the server's own log
    const contexts = [];
    const pages = [];
    const problems = [];
    const allowed = [];

    async function newPage(options = {}) {
      const context = await browser.newContext({
        viewport: DESKTOP, locale: 'en-US', timezoneId: 'UTC', colorScheme: 'light', ...options,
      });
      context.setDefaultTimeout(5000);
      contexts.push(context);
      // A violation of the page's Content-Security-Policy is reported by
      // Chromium on the console; this also reports it as a DOM event, so it
      // is caught whatever the console says.
      await context.addInitScript(() => {
        document.addEventListener('securitypolicyviolation', (e) => {
          console.error(`securitypolicyviolation: ${e.violatedDirective} blocked ${e.blockedURI || 'inline'}`);
        });
      });
      context.on('request', (req) => {
        const u = req.url();
        if (!u.startsWith(`${server.url}/`) && !u.startsWith('data:')) problems.push(`request to another host: ${u}`);
        if (/eyJ[\w-]+\.eyJ[\w-]+/.test(u)) problems.push(`token in a URL: ${u}`);
      });
      // Tabs the page opens itself (a Ctrl+click) are watched too.
      context.on('page', watch);
      return watch(await context.newPage());
    }

    function watch(page) {
      if (pages.includes(page)) return page;
      pages.push(page);
      page.on('pageerror', (err) => problems.push(`page error on ${page.url()}: ${err.message}`));
      page.on('crash', () => problems.push(`page crashed on ${page.url()}`));
      page.on('dialog', async (dialog) => {
        problems.push(`unexpected ${dialog.type()} dialog: ${dialog.message()}`);
        await dialog.dismiss().catch(() => {});
      });
      page.on('console', (msg) => {
        if (msg.type() !== 'error') return;
        const text = msg.text();
        if (allowed.some((re) => re.test(text))) return;
        problems.push(`console error on ${page.url()}: ${text}`);
      });
      return page;
    }

    // newTab opens another tab in the browser of page: same cookies and
    // local storage, its own memory.
    async function newTab(page) {
      return watch(await page.context().newPage());
    }

    async function a11y(page, state) {
      await settle(page);
      const found = await axeViolations(page);
      check(found.length === 0, `axe-core: ${found.length} violation(s) on ${state} (${page.url()}):\n  ${found.join('\n  ')}`);
    }

    async function signIn(page, username, password = PASSWORD) {
      await page.goto(`${server.url}/login`);
      await page.getByTestId('login-username').fill(username);
      await page.getByTestId('login-password').fill(password);
      await a11y(page, 'the sign-in form');
      await page.getByTestId('login-submit').click();
      await page.getByTestId('whoami').filter({ hasText: username }).waitFor();
      await a11y(page, `${username}'s first page`);
    }

    let failed = null;
    try {
      await fn({ server, browser, newPage, newTab, signIn, expectConsole: (re) => allowed.push(re), a11y });
      for (const page of pages) if (!page.isClosed()) await a11y(page, 'the page as the test left it');
      // Let late console messages and page errors arrive before judging.
      await sleep(100);
      check(problems.length === 0, `the pages reported problems:\n  ${problems.join('\n  ')}`);
    } catch (err) {
      failed = err;
      await mkdir(FAILED_DIR, { recursive: true });
      for (const [i, page] of pages.entries()) {
        if (page.isClosed()) continue;
        const file = path.join(FAILED_DIR, `${slug(name)}-${i + 1}.png`);
        await page.screenshot({ path: file, fullPage: true }).catch(() => {});
      }
      if (problems.length) err.message += `\nproblems reported by the pages:\n  ${problems.join('\n  ')}`;
      err.message += `\nscreenshots in ${path.relative(ROOT, FAILED_DIR)}/${slug(name)}-*.png\nserver log (tail):\n${server.log().split('\n').slice(-15).join('\n')}`;
    } finally {
      for (const context of contexts) await context.close().catch(() => {});
      await server.stop();
    }
    if (failed) throw failed;
  });
}
