// Users: the list with search and filters and one-click reactivation
// (admins of anyone, managers of accounts with the user role), a person's
// page with their work and their missed
// deadlines against the threshold, and for admins creating, editing,
// deactivating, password resets and deleting.

import * as api from '../api.js';
import {
  h, replace, field, errorBox, setError, showErrors, clearErrors, errorText, loading, empty, failure,
  pageHeader, pager, confirmDialog, agoTime, exact, setFlash, takeFlash, actionButton, deadlineTime, statusBadge,
  overdueBadge, pageSize, pageOffset, keepFocus, focusFirst, liveFilters, filterBox, dueDate,
} from '../dom.js';
import { navigate, setQuery } from '../router.js';
import * as session from '../session.js';
import { userTokens } from './tokens.js';

const REASONS = { missed_deadlines: 'missed deadlines', manual: 'deactivated by hand' };
const DEFAULT_ROLES = [{ id: 1, name: 'admin' }, { id: 2, name: 'manager' }, { id: 3, name: 'user' }];

async function roles(signal) {
  try {
    const { data } = await api.get('/api/user/roles/', null, signal);
    return Array.isArray(data) && data.length ? data : DEFAULT_ROLES;
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    return DEFAULT_ROLES;
  }
}

function fullName(u) {
  return [u.first_name, u.last_name].filter(Boolean).join(' ');
}

function statusCell(u) {
  if (u.is_active) return h('span', { class: 'badge active', 'data-testid': 'user-status' }, 'Active');
  return h('span', { class: 'inactive-info' },
    h('span', { class: 'badge inactive', 'data-testid': 'user-status' }, 'Deactivated'), ' ',
    h('span', { 'data-testid': 'user-deactivation-reason' }, REASONS[u.deactivation_reason] || u.deactivation_reason || 'reason not recorded'),
    u.deactivated_at ? [', ', agoTime(u.deactivated_at, 'user-deactivated-at')] : null);
}

// reactivate asks first, then reactivates u and acknowledges the open
// "deactivated" alerts about u, which the reactivation answers; it answers
// the user as they now are, or null when the person changed their mind.
async function reactivate(u) {
  const yes = await confirmDialog({
    title: `Reactivate ${u.username}?`,
    message: `${u.username} can sign in again at once, and their count of missed deadlines starts afresh.`,
    details: ['The open alert about their deactivation is acknowledged.'],
    confirmLabel: 'Reactivate',
    tone: 'primary',
  });
  if (!yes) return null;
  await api.post(`/api/user/users/${u.id}/reactivate/`);
  const open = await api.fetchAll('/api/alerts/', { kind: 'user_deactivated', acknowledged: 'false' });
  await Promise.all(open.filter((a) => a.user && a.user.id === u.id)
    .map((a) => api.post(`/api/alerts/${encodeURIComponent(a.id)}/acknowledge/`)));
  session.recountSoon();
  const { data } = await api.get(`/api/user/users/${u.id}/`);
  return data;
}

// mayReactivate mirrors the server's rule, so that no one is offered a
// button the server would refuse: admins reactivate anyone, managers only
// accounts with the user role.
function mayReactivate(u) {
  return session.hasRole('admin') || (session.hasRole('manager') && !!u.role && u.role.name === 'user');
}

function reactivateButton(u, onDone, errorSlot) {
  return actionButton('Reactivate', { class: 'small', 'data-testid': 'user-reactivate', 'aria-label': `Reactivate ${u.username}` }, async (btn) => {
    errorSlot.textContent = '';
    try {
      const fresh = await reactivate(u);
      if (fresh) onDone(fresh);
      else btn.focus();
    } catch (err) {
      errorSlot.textContent = errorText(err);
    }
  });
}

// ---- list -------------------------------------------------------------------------------------

export function userList(ctx) {
  const q = ctx.query;
  const state = {
    offset: pageOffset(q), limit: pageSize(q), search: q.get('search') || '',
    role: ['admin', 'manager', 'user'].includes(q.get('role')) ? q.get('role') : '',
    is_active: ['true', 'false'].includes(q.get('is_active')) ? q.get('is_active') : '',
  };
  const admin = session.hasRole('admin');
  const search = field({ label: 'Search', name: 'search', type: 'search', value: state.search, testid: 'users-filter-search', placeholder: 'Username, name or email' });
  const role = field({
    label: 'Role', name: 'role', type: 'select', value: state.role, testid: 'users-filter-role',
    options: [{ value: '', label: 'Any role' }, { value: 'admin', label: 'Admins' }, { value: 'manager', label: 'Managers' }, { value: 'user', label: 'Users' }],
  });
  const active = field({
    label: 'Status', name: 'is_active', type: 'select', value: state.is_active, testid: 'users-filter-active',
    options: [{ value: '', label: 'Active and deactivated' }, { value: 'true', label: 'Active' }, { value: 'false', label: 'Deactivated' }],
  });
  const form = h('form', { class: 'filters', role: 'search', 'data-testid': 'users-filter' }, search, role, active,
    h('div', { class: 'filter-actions' }, h('a', { href: '/users', class: 'button', 'data-testid': 'filter-reset' }, 'Reset')));
  const filtered = () => !!(state.search || state.role || state.is_active);
  const query = () => ({ search: state.search, role: state.role, is_active: state.is_active, offset: state.offset || '', limit: state.limit === 50 ? '' : state.limit });
  const heading = pageHeader('Users', admin ? h('a', { href: '/users/new', class: 'button primary', 'data-testid': 'new-user' }, 'New user') : null);
  const area = h('div', {});
  const pagerArea = h('div', {});
  replace(ctx.main, h('section', { 'data-testid': 'users' }, heading, takeFlash(), filterBox(form, filtered()), area, pagerArea));

  let tbody = null;
  // After a reactivation focus goes to the next person still waiting for
  // one, or stays on the row.
  function reactivated(tr, fresh) {
    const rows = [...tbody.children];
    const at = rows.indexOf(tr);
    const row = userRow(fresh);
    tr.replaceWith(row);
    const waiting = (r) => r.querySelector('[data-testid="user-reactivate"]');
    focusFirst(rows.slice(at + 1).map(waiting).find(Boolean), row.querySelector('[data-testid="user-link"]'));
  }

  function userRow(u) {
    const error = h('span', { class: 'field-error', role: 'alert', 'data-testid': 'user-error' });
    const tr = h('tr', { 'data-testid': 'user-row', 'data-user-id': String(u.id), 'data-active': u.is_active ? 'true' : 'false' },
      h('td', { 'data-label': 'Username' }, h('a', { href: `/users/${u.id}`, 'data-testid': 'user-link' }, u.username)),
      h('td', { 'data-label': 'Name' }, fullName(u)),
      h('td', { 'data-label': 'Email' }, u.email || ''),
      h('td', { 'data-label': 'Role', 'data-testid': 'user-role' }, u.role ? u.role.name : ''),
      h('td', { 'data-label': 'Status' }, statusCell(u)),
      h('td', { 'data-label': 'Actions' }, u.is_active || !mayReactivate(u) ? null : reactivateButton(u, (fresh) => reactivated(tr, fresh), error), error));
    return tr;
  }

  async function load() {
    replace(area, loading());
    let res;
    try {
      res = await api.get('/api/user/users/', { search: state.search, role: state.role, is_active: state.is_active, limit: state.limit, offset: state.offset }, ctx.signal);
    } catch (err) {
      if (err.name !== 'AbortError') replace(area, failure(err, load));
      return;
    }
    const { data, total } = res;
    await keepFocus(pagerArea, () => replace(pagerArea, data.length || state.offset
      ? pager({ offset: state.offset, limit: state.limit, total, count: data.length, go }) : ''));
    if (!data.length) {
      replace(area, empty(state.offset ? 'Nothing on this page: there are fewer people.' : filtered() ? 'Nobody matches these filters.' : 'No users.'));
      return;
    }
    tbody = h('tbody', {}, data.map(userRow));
    replace(area, h('table', { class: 'data', 'data-testid': 'user-table' },
      h('thead', {}, h('tr', {}, ['Username', 'Name', 'Email', 'Role', 'Status', 'Actions'].map((t) => h('th', { scope: 'col' }, t)))),
      tbody));
  }

  function go(offset, limit) {
    state.offset = offset;
    state.limit = limit;
    setQuery(query());
    load();
  }

  liveFilters(form, (typing) => {
    state.search = search.control.value.trim();
    state.role = role.control.value;
    state.is_active = active.control.value;
    state.offset = 0;
    setQuery(query(), { replace: typing });
    load();
  });
  load();
}

// ---- create ---------------------------------------------------------------------------------------

export async function userNew(ctx) {
  replace(ctx.main, h('section', {}, pageHeader('New user'), loading()));
  const roleList = await roles(ctx.signal);
  const fields = [
    field({ label: 'Username', name: 'username', required: true, maxlength: 150, autocomplete: 'off', autocapitalize: 'none', testid: 'user-username-input', hint: 'Letters, digits and @ . + - _' }),
    field({ label: 'Password', name: 'password', type: 'password', required: true, minlength: 8, autocomplete: 'new-password', testid: 'user-password-input', hint: 'At least 8 characters, not all digits, not the username.' }),
    field({ label: 'Email', name: 'email', type: 'email', autocomplete: 'off', testid: 'user-email-input' }),
    field({ label: 'First name', name: 'first_name', autocomplete: 'off', testid: 'user-first-name-input' }),
    field({ label: 'Last name', name: 'last_name', autocomplete: 'off', testid: 'user-last-name-input' }),
    field({ label: 'Role', name: 'role', type: 'select', value: 'user', testid: 'user-role-input', options: roleList.map((r) => ({ value: r.name, label: r.name })) }),
  ];
  const errors = errorBox();
  const submit = h('button', { type: 'submit', class: 'primary', 'data-testid': 'user-save' }, 'Create user');
  const form = h('form', { class: 'card', 'data-testid': 'user-form' }, fields, errors, h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    const body = {};
    for (const f of fields) body[f.control.name] = f.control.name === 'password' ? f.control.value : f.control.value.trim();
    submit.disabled = true;
    try {
      const { data } = await api.post('/api/user/users/', body);
      setFlash(`User ${data.username} created.`);
      navigate(`/users/${data.id}`);
    } catch (err) {
      showErrors(form, err);
    } finally {
      submit.disabled = false;
    }
  });
  replace(ctx.main, h('section', { 'data-testid': 'user-new' }, pageHeader('New user'), form));
}

// ---- one user -----------------------------------------------------------------------------------------

export async function userDetail(ctx) {
  replace(ctx.main, h('section', {}, pageHeader('User'), loading()));
  let user;
  let roleList;
  try {
    [user, roleList] = await Promise.all([
      api.get(`/api/user/users/${encodeURIComponent(ctx.params.id)}/`, null, ctx.signal).then((r) => r.data),
      session.hasRole('admin') ? roles(ctx.signal) : Promise.resolve(DEFAULT_ROLES),
    ]);
  } catch (err) {
    if (err.name === 'AbortError') return;
    replace(ctx.main, h('section', { 'data-testid': 'user-detail' }, pageHeader('User'),
      err.status === 404 ? h('p', { role: 'alert', 'data-testid': 'user-not-found' }, 'There is no such user.') : failure(err, () => userDetail(ctx))));
    return;
  }
  renderUser(ctx, user, roleList, takeFlash());
}

function renderUser(ctx, user, roleList, flash) {
  const admin = session.hasRole('admin');
  const self = session.currentUser() && session.currentUser().id === user.id;
  const again = async (message) => {
    const { data } = await api.get(`/api/user/users/${user.id}/`);
    renderUser(ctx, data, roleList, h('p', { class: 'success', role: 'status', 'data-testid': 'flash' }, message));
  };

  const facts = h('dl', { class: 'facts', 'data-testid': 'user-facts' },
    h('dt', {}, 'Username'), h('dd', { 'data-testid': 'user-username' }, user.username),
    h('dt', {}, 'Name'), h('dd', {}, fullName(user) || '—'),
    h('dt', {}, 'Email'), h('dd', {}, user.email || '—'),
    h('dt', {}, 'Role'), h('dd', { 'data-testid': 'user-role' }, user.role ? user.role.name : ''),
    h('dt', {}, 'Status'), h('dd', {}, statusCell(user)),
    user.deactivated_at ? [h('dt', {}, 'Deactivated at'), h('dd', {}, exact(user.deactivated_at))] : null,
    h('dt', {}, 'Joined'), h('dd', {}, user.date_joined ? exact(user.date_joined) : '—'));

  const accountError = h('span', { class: 'field-error', role: 'alert', 'data-testid': 'user-account-error' });
  const toggle = user.is_active
    ? (admin ? actionButton('Deactivate', { class: 'danger', 'data-testid': 'user-deactivate' }, async () => {
      accountError.textContent = '';
      const yes = await confirmDialog({
        title: `Deactivate ${user.username}?`,
        message: self
          ? 'This is your own account: you will be signed out at once and cannot sign in again until someone reactivates you.'
          : `${user.username} will be signed out at once and cannot sign in until reactivated. Their tasks stay as they are.`,
        confirmLabel: 'Deactivate',
      });
      if (!yes) return;
      try {
        await api.post(`/api/user/users/${user.id}/deactivate/`);
        await again(`${user.username} deactivated.`);
      } catch (err) {
        accountError.textContent = errorText(err);
      }
    }) : null)
    : (mayReactivate(user) ? actionButton('Reactivate', { class: 'primary', 'data-testid': 'user-reactivate' }, async (btn) => {
      accountError.textContent = '';
      try {
        if (!(await reactivate(user))) {
          btn.focus();
          return;
        }
        await again(`${user.username} reactivated. Their missed-deadline count starts afresh.`);
      } catch (err) {
        accountError.textContent = errorText(err);
      }
    }) : null);

  const parts = [
    h('a', { href: '/users', 'data-testid': 'back' }, '‹ Users'),
    pageHeader(user.username), flash, facts,
    toggle ? h('div', { class: 'card' }, h('h2', {}, user.is_active ? 'Account' : 'Reactivate'), toggle, ' ', accountError) : null,
    userWork(ctx, user),
  ];
  if (admin) parts.push(editForm(user, roleList, self, again), passwordForm(user, self, again), userTokens(user), deleteSection(user));
  replace(ctx.main, h('section', { 'data-testid': 'user-detail', 'data-user-id': String(user.id) }, parts));
}

const WORK_ROWS = 10;

// userWork shows what a person has on their plate and how near they are
// to being deactivated: their misses counted as the sweep counts them,
// their open tasks, soonest first, and their missed tasks, latest first.
function userWork(ctx, user) {
  const standing = h('div', { 'data-testid': 'user-standing' }, loading('Counting missed deadlines…'));
  const open = h('div', { 'data-testid': 'user-open-tasks' }, loading());
  const missed = h('div', { 'data-testid': 'user-missed-tasks' }, loading());
  const taskList = (tasks, total, testid, more) => {
    if (!tasks.length) return empty(testid === 'user-open-task' ? 'No open tasks.' : 'No missed tasks.');
    return [h('ul', { class: 'plain-list' }, tasks.map((t) => h('li', { 'data-testid': testid, 'data-task-id': t.id },
      h('a', { href: `/tasks/${encodeURIComponent(t.id)}` }, t.title), ' ', statusBadge(t.status), ' ', overdueBadge(t), ' ',
      deadlineTime(t.deadline, t.status)))),
    total > tasks.length ? h('p', {}, h('a', { href: more }, `All ${total}`)) : null];
  };
  const fail = (area, err) => {
    if (err.name !== 'AbortError') replace(area, failure(err, () => renderAgain()));
  };
  const renderAgain = () => userDetail(ctx);

  api.get(`/api/user/users/${user.id}/standing/`, null, ctx.signal).then(({ data }) => replace(standing, standingText(user, data)), (err) => fail(standing, err));
  api.get('/api/task/tasks/', { assigned_to: user.id, status: ['pending', 'in_progress'], ordering: 'deadline', limit: WORK_ROWS }, ctx.signal)
    .then(({ data, total }) => replace(open, taskList(data, total, 'user-open-task', `/tasks?assigned_to=${user.id}`)), (err) => fail(open, err));
  api.get('/api/task/tasks/missed/', { assigned_to: user.id, limit: WORK_ROWS }, ctx.signal)
    .then(({ data, total }) => replace(missed, taskList(data, total, 'user-missed-task', `/missed?assigned_to=${user.id}`)), (err) => fail(missed, err));
  return h('div', { class: 'card', 'data-testid': 'user-work' },
    h('h2', {}, 'Missed deadlines'), standing,
    h('h2', {}, 'Open tasks'), open,
    h('h2', {}, 'Missed tasks'), missed);
}

function nearness(left) {
  if (left <= 0) return h('strong', {}, 'The next sweep deactivates this account.');
  if (left === 1) return h('strong', {}, 'One more deactivates this account.');
  return `${left} more would deactivate this account.`;
}

function standingText(user, st) {
  const days = Math.round(st.window_seconds / 86400);
  const window = days >= 1 && st.window_seconds % 86400 === 0 ? `${days} ${days === 1 ? 'day' : 'days'}` : `${Math.round(st.window_seconds / 3600)} hours`;
  const since = `since ${dueDate(st.counted_since)}`;
  if (st.threshold === null) {
    return h('p', {}, h('strong', { 'data-testid': 'user-missed-count' }, `${st.missed_in_window} missed`), ` in the last ${window}. Admins are never deactivated for missed deadlines.`);
  }
  const left = st.threshold - st.missed_in_window;
  const rule = `The sweep deactivates anyone with ${st.threshold} missed deadlines within ${window}; a reactivation starts the count afresh.`;
  return [
    h('p', { class: left <= 1 && user.is_active ? 'notice' : null },
      h('strong', { 'data-testid': 'user-missed-count' }, `${st.missed_in_window} of ${st.threshold}`),
      ` missed deadlines counted (${since}). `,
      user.is_active ? nearness(left) : null),
    h('p', { class: 'hint' }, rule)];
}

function editForm(user, roleList, self, again) {
  const fields = [
    field({ label: 'Email', name: 'email', type: 'email', value: user.email || '', testid: 'user-email-input' }),
    field({ label: 'First name', name: 'first_name', value: user.first_name || '', testid: 'user-first-name-input' }),
    field({ label: 'Last name', name: 'last_name', value: user.last_name || '', testid: 'user-last-name-input' }),
    field({
      label: 'Role', name: 'role', type: 'select', value: user.role ? user.role.name : 'user', testid: 'user-role-input',
      options: roleList.map((r) => ({ value: r.name, label: r.name })),
      hint: self ? 'Changing your own role signs you out.' : 'Changing the role signs the user out of every device.',
    }),
  ];
  const initial = fields.map((f) => f.control.value);
  const errors = errorBox();
  const submit = h('button', { type: 'submit', class: 'primary', 'data-testid': 'user-save' }, 'Save changes');
  const form = h('form', { class: 'card', 'data-testid': 'user-form' }, h('h2', {}, 'Edit'), fields, errors, h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    const body = {};
    fields.forEach((f, i) => {
      if (f.control.value !== initial[i]) body[f.control.name] = f.control.value.trim();
    });
    if (!Object.keys(body).length) {
      setError(errors, 'Nothing has changed.');
      return;
    }
    submit.disabled = true;
    try {
      await api.patch(`/api/user/users/${user.id}/`, body);
      await again('Changes saved.');
    } catch (err) {
      submit.disabled = false;
      showErrors(form, err);
    }
  });
  return form;
}

function passwordForm(user, self, again) {
  const pw = field({ label: 'New password', name: 'password', type: 'password', required: true, minlength: 8, autocomplete: 'new-password', testid: 'user-reset-password-input', hint: 'At least 8 characters, not all digits, not the username.' });
  const errors = errorBox();
  const submit = h('button', { type: 'submit', 'data-testid': 'user-reset-password-submit' }, 'Set password');
  const form = h('form', { class: 'card', 'data-testid': 'user-reset-password-form' },
    h('h2', {}, 'Reset password'),
    h('p', { class: 'hint' }, self ? 'This is your own account: setting a password here signs you out.' : `${user.username} will be signed out of every device.`),
    pw, errors, h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    submit.disabled = true;
    try {
      await api.post(`/api/user/users/${user.id}/password/`, { password: pw.control.value });
      await again(`Password for ${user.username} has been reset.`);
    } catch (err) {
      submit.disabled = false;
      showErrors(form, err);
    }
  });
  return form;
}

function deleteSection(user) {
  const error = h('p', { class: 'error-box', role: 'alert', 'data-testid': 'user-delete-error', hidden: true });
  const del = actionButton('Delete user', { class: 'danger', 'data-testid': 'user-delete' }, async () => {
    setError(error, '');
    const yes = await confirmDialog({
      title: `Delete ${user.username}?`,
      message: 'The account is removed for good. The server refuses when:',
      details: [
        'the user still has tasks — reassign or delete their tasks first, or deactivate the user instead;',
        'the user is the last active admin.',
      ],
      confirmLabel: 'Delete user',
    });
    if (!yes) return;
    try {
      await api.del(`/api/user/users/${user.id}/`);
      setFlash(`User ${user.username} deleted.`);
      navigate('/users');
    } catch (err) {
      setError(error, errorText(err));
    }
  });
  return h('div', { class: 'card danger-zone' },
    h('h2', {}, 'Delete'),
    h('p', {}, 'A user who still has tasks, or the last active admin, cannot be deleted. Deactivating keeps the history and can be undone.'),
    del, error);
}
