// Users: the list with one-click reactivation (admins of anyone, managers of
// accounts with the user role), and for admins creating, editing,
// deactivating, password resets and deleting.

import * as api from '../api.js';
import {
  h, replace, field, errorBox, setError, showErrors, clearErrors, errorText, loading, empty, failure,
  pageHeader, pager, confirmDialog, agoTime, exact, setFlash, takeFlash, actionButton,
} from '../dom.js';
import { navigate, withQuery } from '../router.js';
import * as session from '../session.js';
import { userTokens } from './tokens.js';

const PAGE = 50;
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

// mayReactivate mirrors the server's rule, so that no one is offered a
// button the server would refuse: admins reactivate anyone, managers only
// accounts with the user role.
function mayReactivate(u) {
  return session.hasRole('admin') || (session.hasRole('manager') && !!u.role && u.role.name === 'user');
}

function reactivateButton(u, onDone, errorSlot) {
  return actionButton('Reactivate', { class: 'small', 'data-testid': 'user-reactivate' }, async () => {
    errorSlot.textContent = '';
    try {
      await api.post(`/api/user/users/${u.id}/reactivate/`);
      const { data } = await api.get(`/api/user/users/${u.id}/`);
      onDone(data);
    } catch (err) {
      errorSlot.textContent = errorText(err);
    }
  });
}

// ---- list -------------------------------------------------------------------------------------

export function userList(ctx) {
  const offset = Number(ctx.query.get('offset')) > 0 ? Number(ctx.query.get('offset')) : 0;
  const admin = session.hasRole('admin');
  const area = h('div', {});
  replace(ctx.main, h('section', { 'data-testid': 'users' },
    pageHeader('Users', admin ? h('a', { href: '/users/new', class: 'button primary', 'data-testid': 'new-user' }, 'New user') : null),
    takeFlash(), area));

  function row(u) {
    const error = h('span', { class: 'field-error', role: 'alert', 'data-testid': 'user-error' });
    const tr = h('tr', { 'data-testid': 'user-row', 'data-user-id': String(u.id), 'data-active': u.is_active ? 'true' : 'false' },
      h('td', { 'data-label': 'Username' }, h('a', { href: `/users/${u.id}`, 'data-testid': 'user-link' }, u.username)),
      h('td', { 'data-label': 'Name' }, fullName(u)),
      h('td', { 'data-label': 'Email' }, u.email || ''),
      h('td', { 'data-label': 'Role', 'data-testid': 'user-role' }, u.role ? u.role.name : ''),
      h('td', { 'data-label': 'Status' }, statusCell(u)),
      h('td', { 'data-label': 'Actions' }, u.is_active || !mayReactivate(u) ? null : reactivateButton(u, (fresh) => tr.replaceWith(row(fresh)), error), error));
    return tr;
  }

  async function load() {
    replace(area, loading());
    let res;
    try {
      res = await api.get('/api/user/users/', { limit: PAGE, offset }, ctx.signal);
    } catch (err) {
      if (err.name !== 'AbortError') replace(area, failure(err, load));
      return;
    }
    const { data, total } = res;
    if (!data.length) {
      replace(area, empty('No users.'));
      return;
    }
    replace(area,
      h('table', { class: 'data', 'data-testid': 'user-table' },
        h('thead', {}, h('tr', {}, ['Username', 'Name', 'Email', 'Role', 'Status', 'Actions'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, data.map(row))),
      pager(offset, PAGE, total, data.length, (o) => navigate(withQuery({ offset: o }))));
  }
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
    : (mayReactivate(user) ? actionButton('Reactivate', { class: 'primary', 'data-testid': 'user-reactivate' }, async () => {
      accountError.textContent = '';
      try {
        await api.post(`/api/user/users/${user.id}/reactivate/`);
        await again(`${user.username} reactivated. Their missed-deadline count starts afresh.`);
      } catch (err) {
        accountError.textContent = errorText(err);
      }
    }) : null);

  const parts = [
    h('a', { href: '/users', 'data-testid': 'back' }, '‹ Users'),
    pageHeader(user.username), flash, facts,
    toggle ? h('div', { class: 'card' }, h('h2', {}, user.is_active ? 'Account' : 'Reactivate'), toggle, ' ', accountError) : null,
  ];
  if (admin) parts.push(editForm(user, roleList, self, again), passwordForm(user, self, again), userTokens(user), deleteSection(user));
  replace(ctx.main, h('section', { 'data-testid': 'user-detail', 'data-user-id': String(user.id) }, parts));
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
