// Entry module: routes, navigation by role, and the session's life cycle.

import { hasSession, onSessionEnd, setReauth } from './api.js';
import { h, replace, loading, errorText, tickTimes } from './dom.js';
import { route, match, navigate, start, current } from './router.js';
import * as session from './session.js';
import * as auth from './views/auth.js';
import * as tasks from './views/tasks.js';
import * as alerts from './views/alerts.js';
import * as users from './views/users.js';
import * as audit from './views/audit.js';
import * as tokens from './views/tokens.js';
import * as dashboard from './views/dashboard.js';
import * as inbox from './views/inbox.js';
import * as preferences from './views/preferences.js';
import * as webhooks from './views/webhooks.js';
import * as notices from './notices.js';

const STAFF = ['admin', 'manager'];

route('/', { title: 'Home', view: () => navigate(session.homePath(), { replace: true }) });
route('/login', { title: 'Sign in', public: true, view: auth.login });
route('/logout', { title: 'Signed out', public: true, view: auth.logout });
route('/password', { title: 'Change password', view: auth.password });
route('/dashboard', { title: 'Dashboard', roles: STAFF, view: dashboard.dashboard });
route('/my-tasks', { title: 'My tasks', view: tasks.myTasks });
route('/tasks', { title: 'Tasks', roles: STAFF, view: tasks.allTasks });
route('/tasks/new', { title: 'New task', roles: STAFF, view: tasks.taskNew });
route('/tasks/:id', { title: 'Task', view: tasks.taskDetail });
route('/missed', { title: 'Missed tasks', roles: STAFF, view: tasks.missed });
route('/alerts', { title: 'Alerts', roles: STAFF, view: alerts.alerts });
route('/users', { title: 'Users', roles: STAFF, view: users.userList });
route('/users/new', { title: 'New user', roles: ['admin'], view: users.userNew });
route('/users/:id', { title: 'User', roles: STAFF, view: users.userDetail });
route('/audit', { title: 'Audit log', roles: ['admin'], view: audit.audit });
route('/webhooks', { title: 'Webhooks', roles: ['admin'], view: webhooks.webhooks });
route('/webhooks/:id', { title: 'Webhook', roles: ['admin'], view: webhooks.webhookDetail });
route('/tokens', { title: 'Tokens', view: tokens.tokens });
route('/inbox', { title: 'Inbox', view: inbox.inbox });
route('/preferences', { title: 'Preferences', view: preferences.preferences });

const header = document.getElementById('site-header');
const main = document.getElementById('main');
let active = null; // the rendered view's AbortController and clean-ups

// A session lost while someone works is renewed in a dialog over the page,
// so that a half-written form survives.
setReauth(auth.reauthenticate);

// The session ended for good (the person declined to sign in again, or
// signed out in another tab): forget the user and send them to sign in
// with the reason.
onSessionEnd((message) => {
  session.forgetMe();
  auth.setNotice(message);
  const back = location.pathname.startsWith('/login') ? '' : `?next=${encodeURIComponent(current())}`;
  navigate(`/login${back}`, { replace: true });
});

function nav() {
  const me = session.currentUser();
  if (!me) {
    return h('div', { class: 'bar' }, h('a', { href: '/', class: 'brand' }, 'tasktrack'));
  }
  const here = location.pathname;
  const link = (href, label, testid, extra) => h('a', {
    href,
    'data-testid': testid,
    'aria-current': here === href || (href !== '/' && here.startsWith(`${href}/`)) ? 'page' : null,
  }, label, extra);
  const staff = session.hasRole(...STAFF);
  const badge = h('span', { class: 'badge count', 'data-testid': 'alerts-badge', hidden: true });
  const items = [
    staff ? link('/dashboard', 'Dashboard', 'nav-dashboard') : null,
    staff ? link('/tasks', 'Tasks', 'nav-tasks') : null,
    link('/my-tasks', 'My tasks', 'nav-my-tasks'),
    staff ? link('/missed', 'Missed', 'nav-missed') : null,
    staff ? link('/alerts', 'Alerts', 'nav-alerts', badge) : null,
    staff ? link('/users', 'Users', 'nav-users') : null,
    session.hasRole('admin') ? link('/audit', 'Audit log', 'nav-audit') : null,
    session.hasRole('admin') ? link('/webhooks', 'Webhooks', 'nav-webhooks') : null,
  ];
  const unsubscribe = session.onUnread((n) => {
    badge.textContent = n ? String(n) : '';
    badge.hidden = !n;
    badge.setAttribute('aria-label', `${n} unacknowledged`);
  });
  active.cleanups.push(unsubscribe);
  // The bell: the unread notifications, live.
  const bellCount = h('span', { class: 'badge count', 'data-testid': 'inbox-badge', hidden: true });
  const bell = link('/inbox', h('span', { class: 'bell-icon', 'aria-hidden': 'true' }), 'nav-inbox', bellCount);
  bell.classList.add('bell');
  bell.setAttribute('aria-label', 'Inbox');
  active.cleanups.push(notices.onUnread((n) => {
    bellCount.textContent = n ? String(n) : '';
    bellCount.hidden = !n;
    bell.setAttribute('aria-label', n ? `Inbox, ${n} unread` : 'Inbox');
  }));
  return h('div', { class: 'bar' },
    h('a', { href: session.homePath(), class: 'brand' }, 'tasktrack'),
    h('nav', { 'aria-label': 'Main', 'data-testid': 'nav' }, h('ul', {}, items.filter(Boolean).map((a) => h('li', {}, a)))),
    h('div', { class: 'who' },
      bell,
      h('span', { 'data-testid': 'whoami' }, me.username, ' ', h('span', { class: 'role' }, me.role.name)),
      link('/tokens', 'Tokens', 'nav-tokens'),
      link('/preferences', 'Preferences', 'nav-preferences'),
      link('/password', 'Password', 'nav-password'),
      h('a', { href: '/logout', 'data-testid': 'nav-signout' }, 'Sign out')));
}

function simple(title, testid, ...body) {
  return h('section', { 'data-testid': testid }, h('h1', { tabindex: '-1' }, title), ...body);
}

let lastPath = null;

async function render() {
  // A change of query alone (a filter, a page) keeps focus on the control
  // that made it; a new page moves focus to its heading.
  const samePage = lastPath === location.pathname;
  const focused = samePage && document.activeElement ? document.activeElement.getAttribute('data-testid') : null;
  lastPath = location.pathname;
  if (active) {
    active.controller.abort();
    for (const fn of active.cleanups) fn();
  }
  const ctx = { controller: new AbortController(), cleanups: [] };
  active = ctx;
  const found = match(location.pathname);
  const spec = found ? found.route : null;

  if (spec && !spec.public && !hasSession()) {
    navigate(`/login?next=${encodeURIComponent(current())}`, { replace: true });
    return;
  }
  if (hasSession() && !session.currentUser() && (!spec || !spec.public)) {
    replace(main, loading());
    try {
      await session.loadMe();
    } catch (err) {
      if (active !== ctx) return;
      if (!hasSession()) return; // the session ended; its handler navigates
      replace(header, nav());
      replace(main, simple('Could not load your account', 'load-error',
        h('p', { role: 'alert' }, errorText(err)),
        h('button', { type: 'button', 'data-testid': 'retry', onclick: () => render() }, 'Try again')));
      return;
    }
    if (active !== ctx) return;
    session.startAlerts();
  }

  replace(header, nav());
  document.title = `${spec ? spec.title : 'Not found'} · tasktrack`;
  if (!spec) {
    replace(main, simple('Page not found', 'not-found', h('p', {}, 'There is nothing at this address. '), h('a', { href: '/' }, 'Go to the start page')));
  } else if (spec.roles && !session.hasRole(...spec.roles)) {
    replace(main, simple('Not allowed', 'forbidden',
      h('p', {}, 'Your role does not give access to this page.'),
      h('a', { href: session.homePath() }, 'Go to your start page')));
  } else {
    const view = {
      main,
      params: found.params,
      query: new URLSearchParams(location.search),
      signal: ctx.controller.signal,
      onCleanup: (fn) => ctx.cleanups.push(fn),
      isCurrent: () => active === ctx,
    };
    clearMain();
    try {
      await spec.view(view);
    } catch (err) {
      if (err && err.name === 'AbortError') return;
      if (active !== ctx) return;
      replace(main, simple('Something went wrong', 'view-error', h('p', { role: 'alert' }, errorText(err))));
    }
  }
  if (active !== ctx) return;
  if (spec && spec.public) replace(header, nav()); // signing in or out changed who is here
  const again = focused && main.querySelector(`[data-testid="${CSS.escape(focused)}"]`);
  if (again) again.focus();
  else focusHeading();
}

function clearMain() {
  replace(main);
}

function focusHeading() {
  const heading = main.querySelector('h1');
  if (heading && !main.contains(document.activeElement)) heading.focus({ preventScroll: true });
}

setInterval(() => tickTimes(main), 30_000);
start(render);
