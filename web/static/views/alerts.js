// Alerts: the list with filters, new alerts arriving live from the stream,
// and acknowledging.

import * as api from '../api.js';
import { h, replace, field, errorText, loading, empty, failure, pageHeader, pager, agoTime, short } from '../dom.js';
import { navigate, withQuery } from '../router.js';
import * as session from '../session.js';

const PAGE = 50;
const STREAM_WORDS = { open: 'Live', connecting: 'Connecting…', retrying: 'Reconnecting…', closed: 'Not live' };
const KIND_LABELS = { task_missed: 'Task missed', user_deactivated: 'User deactivated', user_at_risk: 'User at risk' };

function who(u) {
  if (!u) return 'someone';
  if (typeof u === 'object') return u.username || `#${u.id}`;
  return `#${u}`;
}

function alertItem(alert, { fresh = false } = {}) {
  const acked = !!alert.acknowledged_at;
  const user = alert.user || {};
  const message = alert.kind === 'task_missed' && alert.task
    ? [h('a', { href: `/tasks/${encodeURIComponent(alert.task.id)}`, 'data-testid': 'alert-task' }, alert.task.title),
      ` (assigned to ${user.username || alert.task.assigned_to_username || 'someone'}) missed its deadline of ${short(alert.task.deadline)}.`]
    : alert.kind === 'user_deactivated'
      ? [h('a', { href: `/users/${encodeURIComponent(user.id)}`, 'data-testid': 'alert-user' }, user.username || `#${user.id}`),
        ' was deactivated for missing too many deadlines.']
      : alert.kind === 'user_at_risk'
        ? [h('a', { href: `/users/${encodeURIComponent(user.id)}`, 'data-testid': 'alert-user' }, user.username || `#${user.id}`),
          ' is one missed deadline away from deactivation.']
        : [`${alert.kind}: ${user.username || ''}`];
  const error = h('span', { class: 'field-error', role: 'alert', 'data-testid': 'alert-error' });
  let action;
  if (acked) {
    action = h('span', { class: 'muted', 'data-testid': 'alert-acknowledged' },
      'Acknowledged ', agoTime(alert.acknowledged_at, 'alert-acknowledged-at'),
      alert.acknowledged_by ? ` by ${who(alert.acknowledged_by)}` : '');
  } else {
    action = h('button', { type: 'button', class: 'small', 'data-testid': 'alert-ack' }, 'Acknowledge');
    action.addEventListener('click', async () => {
      action.disabled = true;
      error.textContent = '';
      try {
        const { data } = await api.post(`/api/alerts/${encodeURIComponent(alert.id)}/acknowledge/`);
        li.replaceWith(alertItem(data));
        session.recountSoon();
      } catch (err) {
        action.disabled = false;
        error.textContent = errorText(err);
      }
    });
  }
  const li = h('li', {
    class: `alert-item kind-${alert.kind}${acked ? ' acked' : ''}${fresh ? ' fresh' : ''}`,
    'data-testid': 'alert-row', 'data-alert-id': alert.id, 'data-kind': alert.kind, 'data-acknowledged': acked ? 'true' : 'false',
  },
  h('div', { class: 'alert-head' },
    h('span', { class: 'badge' }, KIND_LABELS[alert.kind] || alert.kind),
    ' ', agoTime(alert.created_at, 'alert-created'), fresh ? h('span', { class: 'badge new' }, 'New') : null),
  h('p', { class: 'alert-text' }, message),
  h('div', { class: 'alert-actions' }, action, error));
  return li;
}

export function alerts(ctx) {
  const q = ctx.query;
  const offset = Number(q.get('offset')) > 0 ? Number(q.get('offset')) : 0;
  const ack = ['true', 'any'].includes(q.get('acknowledged')) ? q.get('acknowledged') : 'false';
  const kind = Object.keys(KIND_LABELS).includes(q.get('kind')) ? q.get('kind') : '';

  const show = field({
    label: 'Show', name: 'acknowledged', type: 'select', value: ack, testid: 'alerts-filter-acknowledged',
    options: [{ value: 'false', label: 'Unacknowledged' }, { value: 'true', label: 'Acknowledged' }, { value: 'any', label: 'All' }],
  });
  const kinds = field({
    label: 'Kind', name: 'kind', type: 'select', value: kind, testid: 'alerts-filter-kind',
    options: [{ value: '', label: 'Any kind' }, ...Object.entries(KIND_LABELS).map(([value, label]) => ({ value, label }))],
  });
  const apply = () => navigate(withQuery({ acknowledged: show.control.value === 'false' ? '' : show.control.value, kind: kinds.control.value }));
  show.control.addEventListener('change', apply);
  kinds.control.addEventListener('change', apply);
  const form = h('form', { class: 'filters', 'data-testid': 'alerts-filter' }, show, kinds);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    apply();
  });

  const live = h('span', { class: 'stream-status', 'data-testid': 'stream-status', role: 'status' });
  ctx.onCleanup(session.onStreamState((state) => {
    live.textContent = STREAM_WORDS[state] || state;
    live.dataset.state = state;
  }));
  const area = h('div', {});
  replace(ctx.main, h('section', { 'data-testid': 'alerts' }, pageHeader('Alerts', live), form, area));

  let list = null;
  // New alerts from the stream join the top of the first page when they
  // match the filters.
  ctx.onCleanup(session.onAlert((alert) => {
    if (offset || (kind && alert.kind !== kind)) return;
    if (ack === 'true' && !alert.acknowledged_at) return;
    if (ack === 'false' && alert.acknowledged_at) return;
    if (!list) {
      list = h('ul', { class: 'alert-list', 'data-testid': 'alert-list' });
      replace(area, list);
    }
    const old = list.querySelector(`[data-alert-id="${CSS.escape(alert.id)}"]`);
    if (old) old.remove();
    list.insertBefore(alertItem(alert, { fresh: true }), list.firstChild);
  }));

  async function load() {
    replace(area, loading());
    list = null;
    let res;
    try {
      res = await api.get('/api/alerts/', { acknowledged: ack === 'any' ? '' : ack, kind, limit: PAGE, offset }, ctx.signal);
    } catch (err) {
      if (err.name !== 'AbortError') replace(area, failure(err, load));
      return;
    }
    const { data, total } = res;
    if (!data.length) {
      replace(area, empty(ack === 'false' ? 'No unacknowledged alerts.' : 'No alerts.'));
      return;
    }
    list = h('ul', { class: 'alert-list', 'data-testid': 'alert-list' }, data.map((a) => alertItem(a)));
    replace(area, list, pager(offset, PAGE, total, data.length, (o) => navigate(withQuery({ ...Object.fromEntries(q.entries()), offset: o }))));
  }
  load();
}
