// Tasks: my tasks with one-click status changes, the managers' list with
// filters and paging, the missed list, and the create/edit form.

import * as api from '../api.js';
import {
  h, replace, field, errorBox, setError, showErrors, clearErrors, errorText, loading, empty, failure,
  pageHeader, pager, confirmDialog, deadlineTime, agoTime, exact, statusBadge, toLocalInput, fromLocalInput,
  STATUS_LABELS, setFlash, takeFlash, filterBox,
} from '../dom.js';
import { navigate, withQuery } from '../router.js';
import * as session from '../session.js';
import { markReminders } from './inbox.js';

const STATUSES = ['pending', 'in_progress', 'completed', 'missed'];
const SETTABLE = ['pending', 'in_progress', 'completed'];
const PAGE = 50;

// ---- shared pieces ----------------------------------------------------------------

let usersCache = null;

// assignees lists every user for pickers and filters; cached briefly since
// forms and filters on one screen all need it.
async function assignees(signal) {
  if (usersCache && Date.now() - usersCache.at < 60_000) return usersCache.users;
  const users = await api.fetchAll('/api/user/users/', {}, signal);
  users.sort((a, b) => a.username.localeCompare(b.username));
  usersCache = { at: Date.now(), users };
  return users;
}

function userLabel(u) {
  const full = [u.first_name, u.last_name].filter(Boolean).join(' ');
  return `${u.username}${full ? ` — ${full}` : ''}${u.is_active ? '' : ' (inactive)'}`;
}

function offsetOf(query) {
  const n = Number(query.get('offset'));
  return Number.isInteger(n) && n > 0 ? n : 0;
}

function hasFilters(query, names) {
  return names.some((n) => query.get(n));
}

function queryObject(query) {
  return Object.fromEntries(query.entries());
}

// statusControls: the one-click status buttons, or why there are none.
function statusControls(task, onChanged) {
  const staff = session.hasRole('admin', 'manager');
  const passed = new Date(task.deadline).getTime() <= Date.now();
  if (task.status === 'missed') {
    return h('span', { class: 'final', 'data-testid': 'task-final' }, 'Missed — final');
  }
  if (passed && !staff) {
    return h('span', { class: 'final', 'data-testid': 'task-final' }, 'Deadline passed — locked');
  }
  const error = h('span', { class: 'field-error', role: 'alert', 'data-testid': 'task-error' });
  const group = h('div', { class: 'status-buttons', role: 'group', 'aria-label': `Status of ${task.title}` });
  for (const status of SETTABLE) {
    const current = task.status === status;
    const btn = h('button', {
      type: 'button',
      class: current ? 'seg current' : 'seg',
      'aria-pressed': current ? 'true' : 'false',
      'data-testid': `status-btn-${status}`,
      disabled: current,
    }, STATUS_LABELS[status]);
    btn.addEventListener('click', async () => {
      for (const b of group.querySelectorAll('button')) b.disabled = true;
      error.textContent = '';
      try {
        const { data } = await api.patch(`/api/task/tasks/${encodeURIComponent(task.id)}/update_status/`, { status });
        onChanged(data);
      } catch (err) {
        error.textContent = errorText(err);
        for (const b of group.querySelectorAll('button')) b.disabled = b.getAttribute('aria-pressed') === 'true';
      }
    });
    group.appendChild(btn);
  }
  return h('div', { class: 'status-control' }, group, error);
}

function taskLink(task) {
  return h('a', { href: `/tasks/${encodeURIComponent(task.id)}`, 'data-testid': 'task-title' }, task.title);
}

// statusFilter: one checkbox per status; "checked" is the current list.
function statusFilter(checked, statuses, onChange) {
  const box = h('fieldset', { class: 'status-filter' }, h('legend', {}, 'Status'));
  for (const s of statuses) {
    const id = `status-filter-${s}`;
    const input = h('input', { type: 'checkbox', id, name: 'status', value: s, checked: checked.includes(s), 'data-testid': `filter-status-${s}` });
    if (onChange) input.addEventListener('change', onChange);
    box.appendChild(h('span', { class: 'check' }, input, h('label', { for: id }, STATUS_LABELS[s])));
  }
  return box;
}

function checkedStatuses(form) {
  return [...form.querySelectorAll('input[name="status"]:checked')].map((i) => i.value);
}

// ---- My tasks ------------------------------------------------------------------------

export function myTasks(ctx) {
  const me = session.currentUser();
  const statuses = (ctx.query.get('status') || '').split(',').filter((s) => STATUSES.includes(s));
  const offset = offsetOf(ctx.query);
  const area = h('div', {});
  const form = h('form', { class: 'filters', 'data-testid': 'my-tasks-filter' });
  form.appendChild(statusFilter(statuses, STATUSES, () => {
    navigate(withQuery({ status: checkedStatuses(form) }));
  }));
  form.addEventListener('submit', (e) => e.preventDefault());

  replace(ctx.main, h('section', { 'data-testid': 'my-tasks' },
    pageHeader('My tasks'), takeFlash(), form, area));

  async function load() {
    replace(area, loading());
    const query = { ordering: 'deadline', status: statuses, limit: 100, offset };
    // Managers and admins see every task in the list, so ask for their own.
    if (session.hasRole('admin', 'manager')) query.assigned_to = me.id;
    let res;
    try {
      res = await api.get('/api/task/tasks/', query, ctx.signal);
    } catch (err) {
      if (err.name !== 'AbortError') replace(area, failure(err, load));
      return;
    }
    const { data, total } = res;
    if (!data.length) {
      replace(area, empty(statuses.length ? 'No tasks with the chosen status.' : 'You have no tasks.'));
      return;
    }
    const list = h('ul', { class: 'task-list', 'data-testid': 'task-list' });
    for (const task of data) list.appendChild(myTaskItem(task));
    ctx.onCleanup(markReminders(list, ctx.signal));
    replace(area, list, pager(offset, 100, total, data.length, (o) => navigate(withQuery({ ...queryObject(ctx.query), offset: o }))));
  }
  load();
}

function myTaskItem(task) {
  const li = h('li', { class: `task-item status-${task.status}`, 'data-testid': 'task-row', 'data-task-id': task.id, 'data-status': task.status },
    h('div', { class: 'task-main' },
      h('h2', { class: 'task-heading' }, taskLink(task)),
      task.description ? h('p', { class: 'task-desc' }, task.description) : null),
    h('div', { class: 'task-meta' },
      statusBadge(task.status), ' ', deadlineTime(task.deadline, task.status)),
    statusControls(task, (updated) => li.replaceWith(myTaskItem(updated))));
  return li;
}

// ---- All tasks (managers) ----------------------------------------------------------------

export async function allTasks(ctx) {
  const q = ctx.query;
  const offset = offsetOf(q);
  const statuses = (q.get('status') || '').split(',').filter((s) => STATUSES.includes(s));
  const area = h('div', {});
  const assignee = field({ label: 'Assignee', name: 'assigned_to', type: 'select', options: [{ value: '', label: 'Anyone' }], testid: 'filter-assignee' });
  const after = field({ label: 'Deadline after', name: 'deadline_after', type: 'datetime-local', value: toLocalInput(q.get('deadline_after')), testid: 'filter-deadline-after' });
  const before = field({ label: 'Deadline before', name: 'deadline_before', type: 'datetime-local', value: toLocalInput(q.get('deadline_before')), testid: 'filter-deadline-before' });
  const search = field({ label: 'Search', name: 'search', type: 'search', value: q.get('search') || '', testid: 'filter-search', placeholder: 'Title or description' });
  const ordering = field({
    label: 'Order by', name: 'ordering', type: 'select', testid: 'filter-ordering', value: q.get('ordering') || 'deadline',
    options: [
      { value: 'deadline', label: 'Deadline, soonest first' }, { value: '-deadline', label: 'Deadline, latest first' },
      { value: '-created_at', label: 'Newest first' }, { value: 'created_at', label: 'Oldest first' },
      { value: 'title', label: 'Title A–Z' }, { value: '-title', label: 'Title Z–A' },
    ],
  });
  const form = h('form', { class: 'filters', 'data-testid': 'tasks-filter', role: 'search' },
    statusFilter(statuses, STATUSES), assignee, after, before, search, ordering,
    h('div', { class: 'filter-actions' },
      h('button', { type: 'submit', class: 'primary', 'data-testid': 'filter-apply' }, 'Apply'),
      h('a', { href: '/tasks', class: 'button', 'data-testid': 'filter-reset' }, 'Reset')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    navigate(withQuery({
      status: checkedStatuses(form),
      assigned_to: assignee.control.value,
      deadline_after: fromLocalInput(after.control.value),
      deadline_before: fromLocalInput(before.control.value),
      search: search.control.value.trim(),
      ordering: ordering.control.value === 'deadline' ? '' : ordering.control.value,
    }));
  });

  replace(ctx.main, h('section', { 'data-testid': 'all-tasks' },
    pageHeader('Tasks', h('a', { href: '/tasks/new', class: 'button primary', 'data-testid': 'new-task' }, 'New task')),
    takeFlash(), filterBox(form, hasFilters(q, ['status', 'assigned_to', 'deadline_after', 'deadline_before', 'search', 'ordering'])), area));

  assignees(ctx.signal).then((users) => {
    for (const u of users) assignee.control.appendChild(h('option', { value: String(u.id) }, userLabel(u)));
    assignee.control.value = q.get('assigned_to') || '';
  }, (err) => {
    if (err.name !== 'AbortError') setError(assignee.querySelector('.field-error'), `Could not load users: ${errorText(err)}`);
  });

  async function load() {
    replace(area, loading());
    const query = {
      status: statuses, assigned_to: q.get('assigned_to'), deadline_after: q.get('deadline_after'),
      deadline_before: q.get('deadline_before'), search: q.get('search'), ordering: q.get('ordering') || 'deadline',
      limit: PAGE, offset,
    };
    let res;
    try {
      res = await api.get('/api/task/tasks/', query, ctx.signal);
    } catch (err) {
      if (err.name !== 'AbortError') replace(area, failure(err, load));
      return;
    }
    const { data, total } = res;
    if (!data.length) {
      replace(area, empty(offset ? 'No more tasks.' : 'No tasks match these filters.'));
      return;
    }
    replace(area, taskTable(data, { actions: true, reload: load }),
      pager(offset, PAGE, total, data.length, (o) => navigate(withQuery({ ...queryObject(q), offset: o }))));
  }
  load();
}

function taskTable(tasks, { actions = false, missed = false, reload } = {}) {
  const head = ['Title', 'Assignee', 'Deadline', missed ? 'Missed at' : 'Status'];
  if (actions) head.push('Actions');
  return h('table', { class: 'data', 'data-testid': missed ? 'missed-table' : 'task-table' },
    h('thead', {}, h('tr', {}, head.map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, tasks.map((task) => {
      const cells = [
        h('td', { 'data-label': 'Title' }, taskLink(task)),
        h('td', { 'data-label': 'Assignee', 'data-testid': 'task-assignee' }, task.assigned_to_username || `#${task.assigned_to}`),
        h('td', { 'data-label': 'Deadline' }, deadlineTime(task.deadline, task.status)),
        missed
          ? h('td', { 'data-label': 'Missed at' }, task.missed_at ? agoTime(task.missed_at, 'task-missed-at') : '—')
          : h('td', { 'data-label': 'Status' }, statusBadge(task.status)),
      ];
      if (actions) cells.push(h('td', { 'data-label': 'Actions' }, rowActions(task, reload)));
      return h('tr', { 'data-testid': missed ? 'missed-row' : 'task-row', 'data-task-id': task.id, 'data-status': task.status }, cells);
    })));
}

function rowActions(task, reload) {
  const error = h('span', { class: 'field-error', role: 'alert', 'data-testid': 'task-error' });
  const del = h('button', { type: 'button', class: 'danger small', 'data-testid': 'task-delete' }, 'Delete');
  del.addEventListener('click', async () => {
    error.textContent = '';
    if (!(await deleteTask(task, error))) return;
    setFlash(`Task "${task.title}" deleted.`);
    reload();
  });
  return h('div', { class: 'row-actions' },
    h('a', { href: `/tasks/${encodeURIComponent(task.id)}`, class: 'button small', 'data-testid': 'task-edit' }, 'Edit'),
    del, error);
}

async function deleteTask(task, errorSlot) {
  const yes = await confirmDialog({
    title: 'Delete this task?',
    message: `"${task.title}", assigned to ${task.assigned_to_username || 'someone'}, will be deleted for good.`,
    confirmLabel: 'Delete task',
  });
  if (!yes) return false;
  try {
    await api.del(`/api/task/tasks/${encodeURIComponent(task.id)}/`);
    return true;
  } catch (err) {
    errorSlot.textContent = errorText(err);
    return false;
  }
}

// ---- Missed ---------------------------------------------------------------------------------

export function missed(ctx) {
  const q = ctx.query;
  const offset = offsetOf(q);
  const area = h('div', {});
  const assignee = field({ label: 'Assignee', name: 'assigned_to', type: 'select', options: [{ value: '', label: 'Anyone' }], testid: 'filter-assignee' });
  const search = field({ label: 'Search', name: 'search', type: 'search', value: q.get('search') || '', testid: 'filter-search' });
  const form = h('form', { class: 'filters', role: 'search', 'data-testid': 'missed-filter' }, assignee, search,
    h('div', { class: 'filter-actions' },
      h('button', { type: 'submit', class: 'primary', 'data-testid': 'filter-apply' }, 'Apply'),
      h('a', { href: '/missed', class: 'button', 'data-testid': 'filter-reset' }, 'Reset')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    navigate(withQuery({ assigned_to: assignee.control.value, search: search.control.value.trim() }));
  });
  replace(ctx.main, h('section', { 'data-testid': 'missed' },
    pageHeader('Missed tasks'),
    h('p', { class: 'hint' }, 'Most recently missed first. Open a task to give it a new deadline, which re-opens it.'),
    filterBox(form, hasFilters(q, ['assigned_to', 'search'])), area));

  assignees(ctx.signal).then((users) => {
    for (const u of users) assignee.control.appendChild(h('option', { value: String(u.id) }, userLabel(u)));
    assignee.control.value = q.get('assigned_to') || '';
  }, (err) => {
    if (err.name !== 'AbortError') setError(assignee.querySelector('.field-error'), `Could not load users: ${errorText(err)}`);
  });

  async function load() {
    replace(area, loading());
    let res;
    try {
      res = await api.get('/api/task/tasks/missed/', { assigned_to: q.get('assigned_to'), search: q.get('search'), limit: PAGE, offset }, ctx.signal);
    } catch (err) {
      if (err.name !== 'AbortError') replace(area, failure(err, load));
      return;
    }
    const { data, total } = res;
    if (!data.length) {
      replace(area, empty('No missed tasks.'));
      return;
    }
    replace(area, taskTable(data, { missed: true }),
      pager(offset, PAGE, total, data.length, (o) => navigate(withQuery({ ...queryObject(q), offset: o }))));
  }
  load();
}

// ---- Create, view, edit -----------------------------------------------------------------------

function taskForm(task, users) {
  const editing = !!task;
  const options = users.filter((u) => u.is_active || (task && u.id === task.assigned_to))
    .map((u) => ({ value: String(u.id), label: userLabel(u) }));
  const fields = {
    title: field({ label: 'Title', name: 'title', required: true, maxlength: 100, value: task ? task.title : '', testid: 'task-title-input' }),
    description: field({ label: 'Description', name: 'description', type: 'textarea', maxlength: 10000, rows: 5, value: task ? task.description : '', testid: 'task-description-input' }),
    deadline: field({
      label: 'Deadline', name: 'deadline', type: 'datetime-local', required: true, step: 60,
      value: task ? toLocalInput(task.deadline) : '', testid: 'task-deadline-input',
      hint: `Your local time (${Intl.DateTimeFormat().resolvedOptions().timeZone}). Must be in the future.`,
    }),
    assigned_to: field({
      label: 'Assignee', name: 'assigned_to', type: 'select', required: true, testid: 'task-assignee-input',
      options: [{ value: '', label: 'Choose a person…', disabled: true }, ...options], value: task ? String(task.assigned_to) : '',
    }),
  };
  if (editing) {
    const statusOptions = SETTABLE.map((s) => ({ value: s, label: STATUS_LABELS[s] }));
    if (task.status === 'missed') statusOptions.unshift({ value: 'missed', label: 'Missed (set by the system)', disabled: true });
    fields.status = field({ label: 'Status', name: 'status', type: 'select', options: statusOptions, value: task.status, testid: 'task-status-input' });
  }
  const initial = Object.fromEntries(Object.entries(fields).map(([k, f]) => [k, f.control.value]));
  const errors = errorBox();
  const submit = h('button', { type: 'submit', class: 'primary', 'data-testid': 'task-save' }, editing ? 'Save changes' : 'Create task');
  const form = h('form', { class: 'card', 'data-testid': 'task-form' }, Object.values(fields), errors, h('div', { class: 'actions' }, submit));

  // body holds what to send: everything on create, only what changed on edit
  // (so an unchanged past deadline is not re-validated as a new one).
  form.body = () => {
    const out = {};
    for (const [k, f] of Object.entries(fields)) {
      const v = f.control.value;
      if (editing && v === initial[k]) continue;
      if (k === 'deadline') out.deadline = fromLocalInput(v);
      else if (k === 'assigned_to') out.assigned_to = v ? Number(v) : null;
      else if (k === 'title') out.title = v.trim();
      else out[k] = v;
    }
    return out;
  };
  form.submitButton = submit;
  form.errors = errors;
  return form;
}

export async function taskNew(ctx) {
  replace(ctx.main, h('section', {}, pageHeader('New task'), loading()));
  let users;
  try {
    users = await assignees(ctx.signal);
  } catch (err) {
    if (err.name !== 'AbortError') replace(ctx.main, h('section', {}, pageHeader('New task'), failure(err, () => taskNew(ctx))));
    return;
  }
  const form = taskForm(null, users);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    form.submitButton.disabled = true;
    try {
      const { data } = await api.post('/api/task/tasks/', form.body());
      setFlash('Task created.');
      navigate(`/tasks/${encodeURIComponent(data.id)}`);
    } catch (err) {
      showErrors(form, err);
    } finally {
      form.submitButton.disabled = false;
    }
  });
  replace(ctx.main, h('section', { 'data-testid': 'task-new' }, pageHeader('New task'), form));
}

export async function taskDetail(ctx) {
  const id = ctx.params.id;
  replace(ctx.main, h('section', {}, pageHeader('Task'), loading()));
  const staff = session.hasRole('admin', 'manager');
  let task;
  let users = [];
  try {
    [task, users] = await Promise.all([
      api.get(`/api/task/tasks/${encodeURIComponent(id)}/`, null, ctx.signal).then((r) => r.data),
      staff ? assignees(ctx.signal) : Promise.resolve([]),
    ]);
  } catch (err) {
    if (err.name === 'AbortError') return;
    const text = err.status === 404 ? 'This task does not exist, or it is not yours to see.' : errorText(err);
    replace(ctx.main, h('section', { 'data-testid': 'task-detail' }, pageHeader('Task'),
      err.status === 404 ? h('p', { role: 'alert', 'data-testid': 'task-not-found' }, text) : failure(err, () => taskDetail(ctx))));
    return;
  }
  renderDetail(ctx, task, users, takeFlash());
}

function renderDetail(ctx, task, users, flash) {
  const staff = session.hasRole('admin', 'manager');
  const facts = h('dl', { class: 'facts', 'data-testid': 'task-facts' },
    h('dt', {}, 'Status'), h('dd', {}, statusBadge(task.status)),
    h('dt', {}, 'Deadline'), h('dd', {}, deadlineTime(task.deadline, task.status), h('span', { class: 'muted' }, ` (${exact(task.deadline)})`)),
    h('dt', {}, 'Assignee'), h('dd', { 'data-testid': 'task-assignee' }, task.assigned_to_username || `#${task.assigned_to}`),
    h('dt', {}, 'Created'), h('dd', {}, agoTime(task.created_at, 'task-created')),
    task.completed_at ? [h('dt', {}, 'Completed'), h('dd', {}, agoTime(task.completed_at, 'task-completed'))] : null,
    task.missed_at ? [h('dt', {}, 'Missed'), h('dd', {}, agoTime(task.missed_at, 'task-missed-at'))] : null);
  const description = h('p', { class: 'task-desc full', 'data-testid': 'task-description' }, task.description || 'No description.');
  const back = h('a', { href: staff ? '/tasks' : '/my-tasks', 'data-testid': 'back' }, staff ? '‹ All tasks' : '‹ My tasks');

  if (!staff) {
    replace(ctx.main, h('section', { 'data-testid': 'task-detail', 'data-task-id': task.id, 'data-status': task.status },
      back, pageHeader(task.title), flash, facts, description,
      h('h2', {}, 'Status'), statusControls(task, (updated) => renderDetail(ctx, updated, users, null))));
    return;
  }

  const form = taskForm(task, users);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    const body = form.body();
    if (!Object.keys(body).length) {
      setError(form.errors, 'Nothing has changed.');
      return;
    }
    form.submitButton.disabled = true;
    try {
      const { data } = await api.patch(`/api/task/tasks/${encodeURIComponent(task.id)}/`, body);
      renderDetail(ctx, data, users, h('p', { class: 'success', role: 'status', 'data-testid': 'task-saved' }, 'Changes saved.'));
    } catch (err) {
      form.submitButton.disabled = false;
      showErrors(form, err);
    }
  });
  const delError = h('span', { class: 'field-error', role: 'alert', 'data-testid': 'task-delete-error' });
  const del = h('button', { type: 'button', class: 'danger', 'data-testid': 'task-delete' }, 'Delete task');
  del.addEventListener('click', async () => {
    delError.textContent = '';
    if (!(await deleteTask(task, delError))) return;
    setFlash(`Task "${task.title}" deleted.`);
    navigate('/tasks');
  });
  replace(ctx.main, h('section', { 'data-testid': 'task-detail', 'data-task-id': task.id, 'data-status': task.status },
    back, pageHeader(task.title), flash, facts, description,
    h('h2', {}, 'Edit'), form,
    h('h2', {}, 'Delete'), h('div', { class: 'card danger-zone' }, h('p', {}, 'Deleting a task removes it for good.'), del, delError)));
}
