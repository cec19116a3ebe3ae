// Tasks: my tasks with one-click status changes, the managers' list with
// filters, paging and bulk actions, the missed list, and the task page with
// its history and the create/edit form. Lists open on open work, soonest
// deadline first, and stay live: a deadline that passes shows at once, and
// the list is asked again while it is on screen.

import * as api from '../api.js';
import {
  h, replace, field, errorBox, setError, showErrors, clearErrors, errorText, loading, empty, failure,
  pageHeader, pager, confirmDialog, deadlineTime, agoTime, exact, statusBadge, overdueBadge, toLocalInput, fromLocalInput,
  STATUS_LABELS, setFlash, takeFlash, filterBox, linkify, deadlinePassed, pageSize, pageOffset, keepFocus, focusFirst,
  liveFilters, dueDate,
} from '../dom.js';
import { navigate, setQuery } from '../router.js';
import { LiveRows, keepFresh } from '../live.js';
import * as session from '../session.js';
import { mySummary, exportButton } from './dashboard.js';
import { markReminders } from './inbox.js';

const SETTABLE = ['pending', 'in_progress', 'completed'];

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

// What a list shows, as the "Show" filter offers it. No status in the URL
// means open work; "all" means every status.
const SHOW = [
  { value: 'open', label: 'Open (pending, in progress)', statuses: ['pending', 'in_progress'] },
  { value: 'pending', label: 'Pending', statuses: ['pending'] },
  { value: 'in_progress', label: 'In progress', statuses: ['in_progress'] },
  { value: 'done', label: 'Done (completed, missed)', statuses: ['completed', 'missed'] },
  { value: 'completed', label: 'Completed', statuses: ['completed'] },
  { value: 'missed', label: 'Missed', statuses: ['missed'] },
  { value: 'all', label: 'All tasks', statuses: [] },
];

// readShow turns the URL's status into a "Show" choice; a list of statuses
// the choices do not name (an old link) is kept as a choice of its own.
function readShow(query) {
  const raw = query.get('status');
  if (raw === null || raw === '') return SHOW[0];
  if (raw === 'all') return SHOW[SHOW.length - 1];
  const statuses = raw.split(',').filter((st) => st in STATUS_LABELS);
  const key = [...statuses].sort().join(',');
  const known = SHOW.find((o) => o.statuses.length && [...o.statuses].sort().join(',') === key);
  if (known) return known;
  return { value: statuses.join(','), label: statuses.map((st) => STATUS_LABELS[st]).join(', '), statuses, custom: true };
}

function showParam(show) {
  return show.value === 'open' ? '' : show.value === 'done' ? 'completed,missed' : show.value;
}

function showField(show) {
  const options = SHOW.map((o) => ({ value: o.value, label: o.label }));
  if (show.custom) options.push({ value: show.value, label: show.label });
  return field({ label: 'Show', name: 'status', type: 'select', value: show.value, testid: 'filter-status', options });
}

// statusControls: the one-click status buttons, or why there are none.
function statusControls(task, onChanged) {
  const staff = session.hasRole('admin', 'manager');
  if (task.status === 'missed') {
    return h('span', { class: 'final', 'data-testid': 'task-final' }, 'Missed — final');
  }
  if (deadlinePassed(task) && !staff) {
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
        onChanged(data, `status-btn-${status}`);
      } catch (err) {
        error.textContent = errorText(err);
        for (const b of group.querySelectorAll('button')) b.disabled = b.getAttribute('aria-pressed') === 'true';
        btn.focus();
      }
    });
    group.appendChild(btn);
  }
  return h('div', { class: 'status-control' }, group, error);
}

function taskLink(task) {
  return h('a', { href: `/tasks/${encodeURIComponent(task.id)}`, 'data-testid': 'task-title' }, task.title);
}

// lookupTask reads a task again: null when it is gone (deleted, or no
// longer the caller's to see); as it was when it cannot be read now.
async function lookupTask(task) {
  try {
    return (await api.get(`/api/task/tasks/${encodeURIComponent(task.id)}/`)).data;
  } catch (err) {
    return err.status === 404 ? null : task;
  }
}

// rowKey changes whenever a row must be drawn again.
const rowKey = (task) => `${task.updated_at}|${task.status}|${task.assigned_to_username}`;

// emptyList says why a list is empty and how to go on: nothing at all yet,
// nothing open, nothing matching the filters, or a page past the end.
async function emptyList({ offset, filtered, show, allTotal, start, showAll }) {
  if (offset) return empty('Nothing on this page: there are fewer tasks.');
  if (filtered) return empty('No tasks match these filters. ', h('a', { href: location.pathname, 'data-testid': 'filter-reset-link' }, 'Clear the filters'));
  const total = await allTotal();
  if (total === 0) return empty(...start);
  if (show.value === 'open') return empty('Nothing open: every task is done or missed. ', h('a', { href: showAll, 'data-testid': 'show-all' }, 'Show all tasks'));
  return empty('No tasks match these filters.');
}

// listState reads a list's filters and page from the URL.
function listState(query, names) {
  const state = { show: readShow(query), offset: pageOffset(query), limit: pageSize(query) };
  for (const n of names) state[n] = query.get(n) || '';
  return state;
}

function stateQuery(state, names) {
  const out = { status: showParam(state.show) };
  for (const n of names) out[n] = state[n];
  out.offset = state.offset || '';
  out.limit = state.limit === 50 ? '' : state.limit;
  return out;
}

// ---- My tasks ------------------------------------------------------------------------

export function myTasks(ctx) {
  const me = session.currentUser();
  const staff = session.hasRole('admin', 'manager');
  const state = listState(ctx.query, []);
  const show = showField(state.show);
  const form = h('form', { class: 'filters', 'data-testid': 'my-tasks-filter', role: 'search' }, show);
  const listArea = h('div', {});
  const pagerArea = h('div', {});
  const heading = pageHeader('My tasks');
  replace(ctx.main, h('section', { 'data-testid': 'my-tasks' }, heading, takeFlash(), mySummary(ctx), form, listArea, pagerArea));

  const list = h('ul', { class: 'task-list', 'data-testid': 'task-list', 'aria-label': 'My tasks' });
  const rows = new LiveRows(list, {
    key: rowKey,
    build: (task) => myTaskItem(task, (updated, from) => rows.update(updated, { focusFrom: from })),
    onEmpty: () => heading.querySelector('h1'),
    onPass: () => fresh.hurry(),
  });
  ctx.onCleanup(() => rows.destroy());
  ctx.onCleanup(markReminders(list, ctx.signal));

  function apiQuery() {
    const q = { ordering: 'deadline', status: state.show.statuses, limit: state.limit, offset: state.offset };
    // Managers and admins see every task in the list, so ask for their own.
    if (staff) q.assigned_to = me.id;
    return q;
  }

  // load shows the list; quiet loads (polls) keep what is on screen and
  // only bring it up to date.
  async function load({ quiet = false } = {}) {
    if (!quiet) {
      replace(listArea, loading());
      rows.reset();
    }
    let res;
    try {
      res = await api.get('/api/task/tasks/', apiQuery(), ctx.signal);
    } catch (err) {
      if (err.name !== 'AbortError' && !quiet) replace(listArea, failure(err, () => load()));
      if (quiet) throw err;
      return;
    }
    const { total } = res;
    const data = quiet ? await rows.withVanished(res.data, lookupTask) : res.data;
    await keepFocus(pagerArea, () => replace(pagerArea, data.length || state.offset
      ? pager({ offset: state.offset, limit: state.limit, total, count: res.data.length, go }) : ''));
    if (!data.length) {
      rows.set([]);
      if (quiet && listArea.querySelector('[data-testid="empty"]')) return;
      replace(listArea, await emptyList({
        offset: state.offset, filtered: state.show.value !== 'open', show: state.show,
        allTotal: async () => (await api.get('/api/task/tasks/', { ...apiQuery(), status: [], limit: 1, offset: 0 }, ctx.signal)).total,
        start: [staff ? 'No tasks are assigned to you yet.' : 'You have no tasks yet. Your manager assigns them; they appear here.'],
        showAll: '/my-tasks?status=all',
      }));
      return;
    }
    if (list.parentNode !== listArea) replace(listArea, list);
    rows.set(data);
  }

  function go(offset, limit) {
    state.offset = offset;
    state.limit = limit;
    setQuery(stateQuery(state, []));
    load();
  }

  liveFilters(form, (typing) => {
    state.show = SHOW.find((o) => o.value === show.control.value) || state.show;
    state.offset = 0;
    setQuery(stateQuery(state, []), { replace: typing });
    load();
  });

  const fresh = keepFresh(ctx, () => load({ quiet: true }), { urgent: () => rows.urgent() });
  if (staff) {
    ctx.onCleanup(session.onAlert((alert) => {
      if (alert.task && rows.has(alert.task.id)) rows.update(alert.task);
      fresh.soon();
    }));
  }
  load();
}

function myTaskItem(task, onChanged) {
  return h('li', { class: `task-item status-${task.status}`, 'data-testid': 'task-row', 'data-task-id': task.id, 'data-status': task.status },
    h('div', { class: 'task-main' },
      h('h2', { class: 'task-heading' }, taskLink(task)),
      task.description ? h('p', { class: 'task-desc' }, linkify(task.description)) : null),
    h('div', { class: 'task-meta' },
      statusBadge(task.status), ' ', overdueBadge(task), ' ', deadlineTime(task.deadline, task.status)),
    statusControls(task, onChanged));
}

// ---- All tasks (managers) ----------------------------------------------------------------

const TASK_FILTERS = ['assigned_to', 'deadline_after', 'deadline_before', 'search', 'ordering'];

export async function allTasks(ctx) {
  const state = listState(ctx.query, TASK_FILTERS);
  const show = showField(state.show);
  const assignee = field({ label: 'Assignee', name: 'assigned_to', type: 'select', options: [{ value: '', label: 'Anyone' }], testid: 'filter-assignee' });
  const after = field({ label: 'Deadline after', name: 'deadline_after', type: 'datetime-local', value: toLocalInput(state.deadline_after), testid: 'filter-deadline-after' });
  const before = field({ label: 'Deadline before', name: 'deadline_before', type: 'datetime-local', value: toLocalInput(state.deadline_before), testid: 'filter-deadline-before' });
  const search = field({ label: 'Search', name: 'search', type: 'search', value: state.search, testid: 'filter-search', placeholder: 'Title, description or assignee' });
  const ordering = field({
    label: 'Order by', name: 'ordering', type: 'select', testid: 'filter-ordering', value: state.ordering || 'deadline',
    options: [
      { value: 'deadline', label: 'Deadline, soonest first' }, { value: '-deadline', label: 'Deadline, latest first' },
      { value: '-created_at', label: 'Newest first' }, { value: 'created_at', label: 'Oldest first' },
      { value: 'title', label: 'Title A–Z' }, { value: '-title', label: 'Title Z–A' },
    ],
  });
  const form = h('form', { class: 'filters', 'data-testid': 'tasks-filter', role: 'search' },
    show, assignee, after, before, search, ordering,
    h('div', { class: 'filter-actions' }, h('a', { href: '/tasks', class: 'button', 'data-testid': 'filter-reset' }, 'Reset')));
  const filtered = () => state.show.value !== 'open' || TASK_FILTERS.some((n) => n !== 'ordering' && state[n]);

  const heading = pageHeader('Tasks', exportButton('/api/task/tasks/', () => apiQuery()), h('a', { href: '/tasks/new', class: 'button primary', 'data-testid': 'new-task' }, 'New task'));
  const listArea = h('div', {});
  const pagerArea = h('div', {});
  const selected = new Set();
  const bulk = bulkBar(selected, { onDone: (message, deleted) => reloadAfterBulk(message, deleted) });
  const selectAll = h('input', { type: 'checkbox', id: 'select-all', 'data-testid': 'select-all' });
  const tools = h('div', { class: 'table-tools', hidden: true },
    h('span', { class: 'check' }, selectAll, h('label', { for: 'select-all' }, 'Select every task on this page')));
  replace(ctx.main, h('section', { 'data-testid': 'all-tasks' }, heading, takeFlash(),
    filterBox(form, filtered() || !!state.ordering), bulk.el, tools, listArea, pagerArea));

  selectAll.addEventListener('change', () => {
    for (const task of rows.items()) {
      if (selectAll.checked) selected.add(task.id);
      else selected.delete(task.id);
    }
    for (const box of tbody.querySelectorAll('[data-testid="task-select"]')) box.checked = selectAll.checked;
    syncSelection();
  });
  const tbody = h('tbody', {});
  const table = h('table', { class: 'data', 'data-testid': 'task-table' },
    h('caption', { class: 'visually-hidden' }, 'Tasks'),
    h('thead', {}, h('tr', {},
      h('th', { scope: 'col', class: 'select' }, h('span', { class: 'visually-hidden' }, 'Select')),
      ['Title', 'Assignee', 'Deadline', 'Status', 'Actions'].map((t) => h('th', { scope: 'col' }, t)))),
    tbody);
  const rows = new LiveRows(tbody, {
    key: (task) => `${rowKey(task)}|${selected.has(task.id)}`,
    build: (task) => taskRow(task, { selected, onSelect: syncSelection, onDeleted }),
    onEmpty: () => heading.querySelector('h1'),
    onPass: () => fresh.hurry(),
  });
  ctx.onCleanup(() => rows.destroy());

  function syncSelection() {
    const onPage = rows.items().map((t) => t.id);
    for (const id of [...selected]) if (!onPage.includes(id)) selected.delete(id);
    selectAll.checked = onPage.length > 0 && onPage.every((id) => selected.has(id));
    selectAll.indeterminate = !selectAll.checked && onPage.some((id) => selected.has(id));
    bulk.update(rows.items().filter((t) => selected.has(t.id)));
  }

  function onDeleted(task) {
    setFlashInline(`Task "${task.title}" deleted.`);
    selected.delete(task.id);
    rows.remove(task.id);
    syncSelection();
    fresh.soon();
  }

  function setFlashInline(message) {
    const old = ctx.main.querySelector('[data-testid="flash"]');
    const note = h('p', { class: 'success', role: 'status', 'data-testid': 'flash' }, message);
    if (old) old.replaceWith(note);
    else heading.after(note);
  }

  function apiQuery() {
    return {
      status: state.show.statuses, assigned_to: state.assigned_to, deadline_after: state.deadline_after,
      deadline_before: state.deadline_before, search: state.search, ordering: state.ordering || 'deadline',
      limit: state.limit, offset: state.offset,
    };
  }

  async function load({ quiet = false } = {}) {
    if (!quiet) {
      replace(listArea, loading());
      rows.reset();
    }
    let res;
    try {
      res = await api.get('/api/task/tasks/', apiQuery(), ctx.signal);
    } catch (err) {
      if (err.name !== 'AbortError' && !quiet) replace(listArea, failure(err, () => load()));
      if (quiet) throw err;
      return;
    }
    const { total } = res;
    const data = quiet ? await rows.withVanished(res.data, lookupTask) : res.data;
    await keepFocus(pagerArea, () => replace(pagerArea, data.length || state.offset
      ? pager({ offset: state.offset, limit: state.limit, total, count: res.data.length, go }) : ''));
    tools.hidden = !data.length;
    if (!data.length) {
      rows.set([]);
      syncSelection();
      if (quiet && listArea.querySelector('[data-testid="empty"]')) return;
      replace(listArea, await emptyList({
        offset: state.offset, filtered: filtered(), show: state.show,
        allTotal: async () => (await api.get('/api/task/tasks/', { limit: 1 }, ctx.signal)).total,
        start: ['No tasks yet — ', h('a', { href: '/tasks/new', 'data-testid': 'empty-create' }, 'create one'), '.'],
        showAll: '/tasks?status=all',
      }));
      return;
    }
    if (table.parentNode !== listArea) replace(listArea, table);
    rows.set(data);
    syncSelection();
  }

  async function reloadAfterBulk(message, deleted = []) {
    setFlashInline(message);
    selected.clear();
    for (const id of deleted) rows.remove(id);
    await load({ quiet: true }).catch(() => load());
    focusFirst(tbody.querySelector('[data-testid="task-select"]'), heading.querySelector('h1'));
  }

  function go(offset, limit) {
    state.offset = offset;
    state.limit = limit;
    selected.clear();
    setQuery(stateQuery(state, TASK_FILTERS));
    load();
  }

  liveFilters(form, (typing) => {
    state.show = SHOW.find((o) => o.value === show.control.value) || state.show;
    state.assigned_to = assignee.control.value;
    state.deadline_after = fromLocalInput(after.control.value);
    state.deadline_before = fromLocalInput(before.control.value);
    state.search = search.control.value.trim();
    state.ordering = ordering.control.value === 'deadline' ? '' : ordering.control.value;
    state.offset = 0;
    selected.clear();
    setQuery(stateQuery(state, TASK_FILTERS), { replace: typing });
    load();
  });

  assignees(ctx.signal).then((users) => {
    for (const u of users) assignee.control.appendChild(h('option', { value: String(u.id) }, userLabel(u)));
    assignee.control.value = state.assigned_to;
    bulk.setUsers(users);
  }, (err) => {
    if (err.name !== 'AbortError') setError(assignee.querySelector('.field-error'), `Could not load users: ${errorText(err)}`);
  });

  const fresh = keepFresh(ctx, () => load({ quiet: true }), { urgent: () => rows.urgent() });
  // The stream says at once when the sweep marks a task on screen missed.
  ctx.onCleanup(session.onAlert((alert) => {
    if (alert.task && rows.has(alert.task.id)) rows.update(alert.task);
  }));
  load();
}

function taskRow(task, { selected, onSelect, onDeleted }) {
  const box = h('input', { type: 'checkbox', 'data-testid': 'task-select', 'aria-label': `Select “${task.title}”`, checked: selected.has(task.id) });
  box.addEventListener('change', () => {
    if (box.checked) selected.add(task.id);
    else selected.delete(task.id);
    onSelect();
  });
  return h('tr', { 'data-testid': 'task-row', 'data-task-id': task.id, 'data-status': task.status },
    h('td', { 'data-label': 'Select', class: 'select' }, box),
    h('td', { 'data-label': 'Title' }, taskLink(task)),
    h('td', { 'data-label': 'Assignee', 'data-testid': 'task-assignee' }, task.assigned_to_username || `#${task.assigned_to}`),
    h('td', { 'data-label': 'Deadline' }, deadlineTime(task.deadline, task.status)),
    h('td', { 'data-label': 'Status' }, statusBadge(task.status), ' ', overdueBadge(task)),
    h('td', { 'data-label': 'Actions' }, rowActions(task, onDeleted)));
}

function rowActions(task, onDeleted) {
  const error = h('span', { class: 'field-error', role: 'alert', 'data-testid': 'task-error' });
  const del = h('button', { type: 'button', class: 'danger small', 'data-testid': 'task-delete', 'aria-label': `Delete “${task.title}”` }, 'Delete');
  del.addEventListener('click', async () => {
    error.textContent = '';
    if (await deleteTask(task, error)) onDeleted(task);
    else del.focus();
  });
  return h('div', { class: 'row-actions' },
    h('a', { href: `/tasks/${encodeURIComponent(task.id)}`, class: 'button small', 'data-testid': 'task-edit', 'aria-label': `Edit “${task.title}”` }, 'Edit'),
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

// forEachTask runs fn on each task, a few at a time, and answers the tasks
// it succeeded on, and why it failed on the others.
async function forEachTask(tasks, fn) {
  const ok = [];
  const failed = [];
  const queue = [...tasks];
  const worker = async () => {
    for (let task = queue.shift(); task; task = queue.shift()) {
      try {
        await fn(task);
        ok.push(task);
      } catch (err) {
        failed.push(`“${task.title}”: ${errorText(err)}`);
      }
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  return { ok, failed };
}

// bulkBar acts on the selected tasks: reassign them to one person, or
// delete them (after a confirmation that names them).
function bulkBar(selected, { onDone }) {
  let chosen = [];
  const count = h('span', { 'data-testid': 'bulk-count', 'aria-live': 'polite' });
  const to = field({ label: 'Reassign to', name: 'bulk_assignee', type: 'select', testid: 'bulk-assignee', options: [{ value: '', label: 'Choose a person…' }] });
  const reassign = h('button', { type: 'button', 'data-testid': 'bulk-reassign' }, 'Reassign');
  const del = h('button', { type: 'button', class: 'danger', 'data-testid': 'bulk-delete' }, 'Delete selected');
  const clear = h('button', { type: 'button', 'data-testid': 'bulk-clear' }, 'Clear selection');
  const error = errorBox('bulk-error');
  const el = h('div', { class: 'bulk-bar card', role: 'region', 'aria-label': 'Selected tasks', 'data-testid': 'bulk-bar', hidden: true },
    count, to, h('div', { class: 'actions' }, reassign, del, clear), error);

  const run = async (button, fn, done) => {
    setError(error, '');
    button.disabled = true;
    const { ok, failed } = await forEachTask(chosen, fn);
    button.disabled = false;
    if (failed.length) setError(error, `${failed.length} of ${chosen.length} could not be changed: ${failed.join('; ')}`);
    return { ok, message: failed.length ? `${done(ok.length)} (${failed.length} failed)` : done(ok.length) };
  };
  reassign.addEventListener('click', () => {
    const id = Number(to.control.value);
    if (!id) {
      setError(error, 'Choose the person to reassign the selected tasks to.');
      to.control.focus();
      return;
    }
    const name = to.control.selectedOptions[0].textContent;
    run(reassign, (task) => api.patch(`/api/task/tasks/${encodeURIComponent(task.id)}/`, { assigned_to: id }),
      (n) => `${n} ${n === 1 ? 'task' : 'tasks'} reassigned to ${name.split(' — ')[0]}.`).then(({ message }) => onDone(message));
  });
  del.addEventListener('click', async () => {
    const yes = await confirmDialog({
      title: `Delete ${chosen.length} ${chosen.length === 1 ? 'task' : 'tasks'}?`,
      message: 'These tasks will be deleted for good:',
      details: chosen.slice(0, 10).map((t) => `“${t.title}”, assigned to ${t.assigned_to_username}`).concat(chosen.length > 10 ? [`and ${chosen.length - 10} more`] : []),
      confirmLabel: 'Delete tasks',
    });
    if (!yes) {
      del.focus();
      return;
    }
    const { ok, message } = await run(del, (task) => api.del(`/api/task/tasks/${encodeURIComponent(task.id)}/`), (n) => `${n} ${n === 1 ? 'task' : 'tasks'} deleted.`);
    onDone(message, ok.map((t) => t.id));
  });
  clear.addEventListener('click', () => {
    selected.clear();
    onDone('Selection cleared.');
  });
  return {
    el,
    update(tasks) {
      chosen = tasks;
      count.textContent = `${tasks.length} selected`;
      el.hidden = tasks.length === 0;
    },
    setUsers(users) {
      for (const u of users.filter((x) => x.is_active)) to.control.appendChild(h('option', { value: String(u.id) }, userLabel(u)));
    },
  };
}

// ---- Missed ---------------------------------------------------------------------------------

const MISSED_FILTERS = ['assigned_to', 'search'];

export function missed(ctx) {
  const state = listState(ctx.query, MISSED_FILTERS);
  const listArea = h('div', {});
  const pagerArea = h('div', {});
  const assignee = field({ label: 'Assignee', name: 'assigned_to', type: 'select', options: [{ value: '', label: 'Anyone' }], testid: 'filter-assignee' });
  const search = field({ label: 'Search', name: 'search', type: 'search', value: state.search, testid: 'filter-search', placeholder: 'Title, description or assignee' });
  const form = h('form', { class: 'filters', role: 'search', 'data-testid': 'missed-filter' }, assignee, search,
    h('div', { class: 'filter-actions' }, h('a', { href: '/missed', class: 'button', 'data-testid': 'filter-reset' }, 'Reset')));
  replace(ctx.main, h('section', { 'data-testid': 'missed' },
    pageHeader('Missed tasks', exportButton('/api/task/tasks/missed/', () => ({ assigned_to: state.assigned_to, search: state.search }))),
    h('p', { class: 'hint' }, 'Most recently missed first. Open a task to give it a new deadline, which re-opens it.'),
    filterBox(form, MISSED_FILTERS.some((n) => state[n])), listArea, pagerArea));

  assignees(ctx.signal).then((users) => {
    for (const u of users) assignee.control.appendChild(h('option', { value: String(u.id) }, userLabel(u)));
    assignee.control.value = state.assigned_to;
  }, (err) => {
    if (err.name !== 'AbortError') setError(assignee.querySelector('.field-error'), `Could not load users: ${errorText(err)}`);
  });

  async function load() {
    replace(listArea, loading());
    let res;
    try {
      res = await api.get('/api/task/tasks/missed/', { assigned_to: state.assigned_to, search: state.search, limit: state.limit, offset: state.offset }, ctx.signal);
    } catch (err) {
      if (err.name !== 'AbortError') replace(listArea, failure(err, load));
      return;
    }
    const { data, total } = res;
    await keepFocus(pagerArea, () => replace(pagerArea, data.length || state.offset
      ? pager({ offset: state.offset, limit: state.limit, total, count: data.length, go }) : ''));
    if (!data.length) {
      replace(listArea, state.offset ? empty('Nothing on this page: there are fewer missed tasks.')
        : MISSED_FILTERS.some((n) => state[n]) ? empty('No missed tasks match these filters.') : empty('No missed tasks.'));
      return;
    }
    replace(listArea, missedTable(data));
  }

  function go(offset, limit) {
    state.offset = offset;
    state.limit = limit;
    setQuery(stateQuery(state, MISSED_FILTERS));
    load();
  }

  liveFilters(form, (typing) => {
    state.assigned_to = assignee.control.value;
    state.search = search.control.value.trim();
    state.offset = 0;
    setQuery(stateQuery(state, MISSED_FILTERS), { replace: typing });
    load();
  });
  load();
}

function missedTable(tasks) {
  return h('table', { class: 'data', 'data-testid': 'missed-table' },
    h('thead', {}, h('tr', {}, ['Title', 'Assignee', 'Deadline', 'Missed at'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, tasks.map((task) => h('tr', { 'data-testid': 'missed-row', 'data-task-id': task.id, 'data-status': task.status },
      h('td', { 'data-label': 'Title' }, taskLink(task)),
      h('td', { 'data-label': 'Assignee', 'data-testid': 'task-assignee' }, task.assigned_to_username || `#${task.assigned_to}`),
      h('td', { 'data-label': 'Deadline' }, deadlineTime(task.deadline, task.status)),
      h('td', { 'data-label': 'Missed at' }, task.missed_at ? agoTime(task.missed_at, 'task-missed-at') : '—')))));
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
    const hint = task.status === 'missed' ? 'Move the deadline into the future to re-open this task.' : undefined;
    fields.status = field({ label: 'Status', name: 'status', type: 'select', options: statusOptions, value: task.status, testid: 'task-status-input', hint });
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

// ---- history ----------------------------------------------------------------------------------

function who(actor) {
  return actor ? actor.username : 'tasktrack';
}

function assigneeName(e) {
  if (e.assignee) return e.assignee.username;
  const id = e.details && e.details.assigned_to;
  return id ? `user #${id}` : 'someone';
}

// eventText tells one history entry as a sentence, with names.
function eventText(e) {
  const d = e.details || {};
  switch (e.action) {
    case 'task.create':
      return `${who(e.actor)} created it for ${assigneeName(e)}${d.deadline ? `, due ${dueDate(d.deadline)}` : ''}.`;
    case 'task.update': {
      const parts = [];
      if ('title' in d) parts.push(`renamed it “${d.title}”`);
      if ('description' in d) parts.push('changed the description');
      if ('deadline' in d) parts.push(`moved the deadline to ${dueDate(d.deadline)}`);
      if ('assigned_to' in d) parts.push(`assigned it to ${assigneeName(e)}`);
      return `${who(e.actor)} ${parts.join(', ') || 'changed it'}.`;
    }
    case 'task.status':
      return `${who(e.actor)} moved it from ${STATUS_LABELS[d.from] || d.from} to ${STATUS_LABELS[d.to] || d.to}.`;
    case 'task.missed':
      return 'Its deadline passed: tasktrack marked it missed.';
    case 'task.reopen':
      return `${who(e.actor)} re-opened it with a new deadline.`;
    default:
      return `${who(e.actor)}: ${e.action}.`;
  }
}

// loadHistory reads the task's story from the audit log, oldest first.
async function loadHistory(task, signal) {
  return api.fetchAll(`/api/task/tasks/${encodeURIComponent(task.id)}/history/`, {}, signal);
}

function historyList(events) {
  if (!events.length) return empty('No history recorded for this task.');
  return h('ol', { class: 'history', 'data-testid': 'task-history' }, events.map((e) => h('li', { 'data-testid': 'history-entry', 'data-action': e.action },
    h('time', { datetime: e.at, 'data-testid': 'history-at' }, exact(e.at)), ' ',
    h('span', { 'data-testid': 'history-text' }, eventText(e)))));
}

function renderDetail(ctx, task, users, flash) {
  const staff = session.hasRole('admin', 'manager');
  const creator = h('dd', { 'data-testid': 'task-creator' }, '…');
  const historyArea = h('div', { 'data-testid': 'task-history-area' }, loading('Loading the history…'));
  const facts = h('dl', { class: 'facts', 'data-testid': 'task-facts' },
    h('dt', {}, 'Status'), h('dd', {}, statusBadge(task.status), ' ', overdueBadge(task)),
    h('dt', {}, 'Deadline'), h('dd', {}, deadlineTime(task.deadline, task.status), h('span', { class: 'muted' }, ` (${exact(task.deadline)})`)),
    h('dt', {}, 'Assignee'), h('dd', { 'data-testid': 'task-assignee' }, task.assigned_to_username || `#${task.assigned_to}`),
    h('dt', {}, 'Created by'), creator,
    h('dt', {}, 'Created'), h('dd', {}, agoTime(task.created_at, 'task-created')),
    task.completed_at ? [h('dt', {}, 'Completed'), h('dd', {}, agoTime(task.completed_at, 'task-completed'))] : null,
    task.missed_at ? [h('dt', {}, 'Missed'), h('dd', {}, agoTime(task.missed_at, 'task-missed-at'))] : null);
  const description = h('p', { class: 'task-desc full', 'data-testid': 'task-description' }, task.description ? linkify(task.description) : 'No description.');
  const back = h('a', { href: staff ? '/tasks' : '/my-tasks', 'data-testid': 'back' }, staff ? '‹ All tasks' : '‹ My tasks');
  const history = [h('h2', {}, 'History'), historyArea];
  // again draws the page anew; focus, if it was on what went away, goes to
  // the heading rather than to the page itself.
  const again = (updated, message) => {
    renderDetail(ctx, updated, users, message && h('p', { class: 'success', role: 'status', 'data-testid': 'task-saved' }, message));
    if (!ctx.main.contains(document.activeElement)) ctx.main.querySelector('h1').focus();
  };

  loadHistory(task, ctx.signal).then((events) => {
    const created = events.find((e) => e.action === 'task.create');
    creator.textContent = created ? who(created.actor) : 'not recorded';
    replace(historyArea, historyList(events));
  }, (err) => {
    if (err.name === 'AbortError') return;
    creator.textContent = 'unknown';
    replace(historyArea, failure(err, () => again(task)));
  });

  // The page turns as the deadline passes, like a row in a list.
  const ms = new Date(task.deadline).getTime() - Date.now();
  if (ms > 0 && ms < 2 ** 31 - 1 && (task.status === 'pending' || task.status === 'in_progress')) {
    const timer = setTimeout(() => {
      if (ctx.isCurrent() && ctx.main.querySelector(`[data-testid="task-detail"][data-task-id="${CSS.escape(task.id)}"]`)) again(task);
    }, ms + 20);
    ctx.onCleanup(() => clearTimeout(timer));
  }

  if (!staff) {
    replace(ctx.main, h('section', { 'data-testid': 'task-detail', 'data-task-id': task.id, 'data-status': task.status },
      back, pageHeader(task.title), flash, facts, description,
      h('h2', {}, 'Status'), statusControls(task, (updated, from) => {
        again(updated);
        focusFirst(ctx.main.querySelector('.status-buttons button:not(:disabled)'), ctx.main.querySelector(`[data-testid="${CSS.escape(from)}"]`));
      }),
      history));
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
      again(data, 'Changes saved.');
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
    history,
    h('h2', {}, 'Edit'), form,
    h('h2', {}, 'Delete'), h('div', { class: 'card danger-zone' }, h('p', {}, 'Deleting a task removes it for good.'), del, delError)));
}
