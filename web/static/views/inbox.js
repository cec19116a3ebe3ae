// The inbox: the signed-in person's own notifications, newest first, new
// ones arriving live; read one, or all at once.

import * as api from '../api.js';
import { h, replace, field, errorText, loading, empty, failure, pageHeader, pager, agoTime, deadlineTime, actionButton, isOpen } from '../dom.js';
import { navigate, withQuery } from '../router.js';
import * as notices from '../notices.js';

const PAGE = 50;
const KIND_LABELS = {
  task_assigned: 'Assigned', task_changed: 'Changed', task_reminder: 'Reminder',
  task_missed: 'Missed', at_risk: 'At risk', reactivated: 'Reactivated',
};

// noticeItem shows one notification; a reminder's task shows the time
// left as it is now ("due in 50 min"), not as it was.
function noticeItem(n, { fresh = false } = {}) {
  const read = !!n.read_at;
  const error = h('span', { class: 'field-error', role: 'alert', 'data-testid': 'notice-error' });
  let action;
  if (read) {
    action = h('span', { class: 'muted', 'data-testid': 'notice-read' }, 'Read ', agoTime(n.read_at, 'notice-read-at'));
  } else {
    action = actionButton('Mark read', { class: 'small', 'data-testid': 'notice-mark-read' }, async () => {
      error.textContent = '';
      try {
        const { data } = await api.post(`/api/notifications/${encodeURIComponent(n.id)}/read/`);
        li.replaceWith(noticeItem(data));
        notices.recountSoon();
      } catch (err) {
        error.textContent = errorText(err);
      }
    });
  }
  const li = h('li', {
    class: `alert-item notice-item kind-${n.kind}${read ? ' acked' : ''}${fresh ? ' fresh' : ''}`,
    'data-testid': 'notice-row', 'data-notice-id': n.id, 'data-kind': n.kind, 'data-read': read ? 'true' : 'false',
  },
  h('div', { class: 'alert-head' },
    h('span', { class: 'badge' }, KIND_LABELS[n.kind] || n.kind),
    ' ', agoTime(n.created_at, 'notice-created'), fresh ? h('span', { class: 'badge new' }, 'New') : null),
  h('p', { class: 'alert-text', 'data-testid': 'notice-message' }, n.message),
  n.task ? h('p', { class: 'notice-task' },
    h('a', { href: `/tasks/${encodeURIComponent(n.task.id)}`, 'data-testid': 'notice-task' }, n.task.title),
    ' · ', deadlineTime(n.task.deadline, n.task.status, 'notice-due')) : null,
  h('div', { class: 'alert-actions' }, action, error));
  return li;
}

export function inbox(ctx) {
  const q = ctx.query;
  const offset = Number(q.get('offset')) > 0 ? Number(q.get('offset')) : 0;
  const unreadOnly = q.get('unread') === 'true';

  const show = field({
    label: 'Show', name: 'unread', type: 'select', value: unreadOnly ? 'true' : '', testid: 'notices-filter-unread',
    options: [{ value: '', label: 'All' }, { value: 'true', label: 'Unread' }],
  });
  show.control.addEventListener('change', () => navigate(withQuery({ unread: show.control.value })));
  const form = h('form', { class: 'filters', 'data-testid': 'notices-filter' }, show);
  form.addEventListener('submit', (e) => e.preventDefault());
  const status = h('span', { class: 'muted', role: 'status', 'data-testid': 'notices-status' });
  const readAll = actionButton('Mark all read', { 'data-testid': 'notices-read-all' }, async () => {
    status.textContent = '';
    try {
      const { data } = await api.post('/api/notifications/read-all/');
      status.textContent = data.marked === 1 ? '1 marked read' : `${data.marked} marked read`;
      notices.recountSoon();
      await load();
    } catch (err) {
      status.textContent = errorText(err);
    }
  });
  const area = h('div', {});
  replace(ctx.main, h('section', { 'data-testid': 'inbox' },
    pageHeader('Inbox', status, readAll), form, area));

  let list = null;
  // New notifications join the top of the first page.
  ctx.onCleanup(notices.onNotification((n) => {
    if (offset) return;
    if (!list) {
      list = h('ul', { class: 'alert-list', 'data-testid': 'notice-list' });
      replace(area, list);
    }
    const old = list.querySelector(`[data-notice-id="${CSS.escape(n.id)}"]`);
    if (old) old.remove();
    list.insertBefore(noticeItem(n, { fresh: true }), list.firstChild);
  }));

  async function load() {
    replace(area, loading());
    list = null;
    let res;
    try {
      res = await api.get('/api/notifications/', { unread: unreadOnly ? 'true' : '', limit: PAGE, offset }, ctx.signal);
    } catch (err) {
      if (err.name !== 'AbortError') replace(area, failure(err, load));
      return;
    }
    const { data, total } = res;
    if (!data.length) {
      replace(area, empty(unreadOnly ? 'Nothing unread.' : 'Nothing here yet: what happens to your tasks will show here.'));
      return;
    }
    list = h('ul', { class: 'alert-list', 'data-testid': 'notice-list' }, data.map((n) => noticeItem(n)));
    replace(area, list, pager(offset, PAGE, total, data.length, (o) => navigate(withQuery({ ...Object.fromEntries(q.entries()), offset: o }))));
  }
  load();
}

// markReminders shows, on the rows of a task list, the reminders of the
// tasks they hold ("Reminder: due in 50 min · Fri, Dec 4, 5:00 PM"), those
// read already and those arriving live, and again on a row the list draws
// anew (a live list redraws a row whose task changed); it returns the
// function that stops it. A row is marked as it stands, not as the task was
// when reminded: only while the task is open and its deadline is the one
// the reminder was for (a moved deadline gets reminders of its own).
export function markReminders(list, signal) {
  const reminders = new Map(); // task id -> its latest reminder
  const markRow = (row) => {
    const n = reminders.get(row.dataset.taskId);
    const due = row.querySelector('[data-testid="task-due"]');
    if (!n || !due || row.querySelector('[data-testid="task-reminder"]')) return;
    const status = row.dataset.status;
    if (!isOpen(status) || Date.parse(due.getAttribute('datetime')) !== Date.parse(n.task.deadline)) return;
    const meta = row.querySelector('.task-meta') || row;
    meta.appendChild(h('span', { class: 'badge reminder', 'data-testid': 'task-reminder' },
      'Reminder: ', deadlineTime(n.task.deadline, status, 'task-reminder-due')));
  };
  const markAll = () => list.querySelectorAll('[data-testid="task-row"][data-task-id]').forEach(markRow);
  // The list comes newest first, and a reminder heard live is newer than
  // any in it: the first one known of a task is kept, except a live one.
  const remember = (n, live) => {
    if (n.kind !== 'task_reminder' || !n.task || (!live && reminders.has(n.task.id))) return;
    reminders.set(n.task.id, n);
    markAll();
  };
  const observer = new MutationObserver(markAll);
  observer.observe(list, { childList: true, subtree: true });
  api.get('/api/notifications/', { kind: 'task_reminder', limit: 100 }, signal)
    .then(({ data }) => data.forEach((n) => remember(n, false)), () => {});
  const stop = notices.onNotification((n) => remember(n, true));
  return () => {
    observer.disconnect();
    stop();
  };
}
