// Alerts: the list with filters, new alerts arriving live from the stream,
// and acknowledging them one by one or all those on screen at once.

import * as api from '../api.js';
import {
  h, replace, field, errorText, loading, empty, failure, pageHeader, pager, agoTime, zoned,
  pageSize, pageOffset, keepFocus, focusFirst, liveFilters, errorBox, setError,
} from '../dom.js';
import { setQuery } from '../router.js';
import * as session from '../session.js';

const STREAM_WORDS = { open: 'Live', connecting: 'Connecting…', retrying: 'Reconnecting…', closed: 'Not live' };
const KIND_LABELS = { task_missed: 'Task missed', user_deactivated: 'User deactivated', user_at_risk: 'User at risk' };

function who(u) {
  if (!u) return 'someone';
  if (typeof u === 'object') return u.username || `#${u.id}`;
  return `#${u}`;
}

function alertMessage(alert) {
  const user = alert.user || {};
  if (alert.kind === 'task_missed' && alert.task) {
    return [h('a', { href: `/tasks/${encodeURIComponent(alert.task.id)}`, 'data-testid': 'alert-task' }, alert.task.title),
      ` (assigned to ${user.username || alert.task.assigned_to_username || 'someone'}) missed its deadline of ${zoned(alert.task.deadline)}.`];
  }
  if (alert.kind === 'user_deactivated') {
    return [h('a', { href: `/users/${encodeURIComponent(user.id)}`, 'data-testid': 'alert-user' }, user.username || `#${user.id}`),
      ` was deactivated for missing too many deadlines, ${zoned(alert.created_at)}.`];
  }
  if (alert.kind === 'user_at_risk') {
    return [h('a', { href: `/users/${encodeURIComponent(user.id)}`, 'data-testid': 'alert-user' }, user.username || `#${user.id}`),
      ` was one missed deadline away from deactivation, ${zoned(alert.created_at)}.`];
  }
  return [`${alert.kind}: ${user.username || ''}`];
}

// alertItem draws one alert; onAcknowledged(alert) hears when its button
// acknowledged it.
function alertItem(alert, { fresh = false, onAcknowledged } = {}) {
  const acked = !!alert.acknowledged_at;
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
        onAcknowledged(data, li);
        session.recountSoon();
      } catch (err) {
        action.disabled = false;
        error.textContent = errorText(err);
        action.focus();
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
  h('p', { class: 'alert-text' }, alertMessage(alert)),
  h('div', { class: 'alert-actions' }, action, error));
  return li;
}

export function alerts(ctx) {
  const q = ctx.query;
  const state = {
    offset: pageOffset(q),
    limit: pageSize(q),
    ack: ['true', 'any'].includes(q.get('acknowledged')) ? q.get('acknowledged') : 'false',
    kind: Object.keys(KIND_LABELS).includes(q.get('kind')) ? q.get('kind') : '',
  };

  const show = field({
    label: 'Show', name: 'acknowledged', type: 'select', value: state.ack, testid: 'alerts-filter-acknowledged',
    options: [{ value: 'false', label: 'Unacknowledged' }, { value: 'true', label: 'Acknowledged' }, { value: 'any', label: 'All' }],
  });
  const kinds = field({
    label: 'Kind', name: 'kind', type: 'select', value: state.kind, testid: 'alerts-filter-kind',
    options: [{ value: '', label: 'Any kind' }, ...Object.entries(KIND_LABELS).map(([value, label]) => ({ value, label }))],
  });
  const form = h('form', { class: 'filters', 'data-testid': 'alerts-filter' }, show, kinds);
  const query = () => ({ acknowledged: state.ack === 'false' ? '' : state.ack, kind: state.kind, offset: state.offset || '', limit: state.limit === 50 ? '' : state.limit });
  liveFilters(form, () => {
    state.ack = show.control.value;
    state.kind = kinds.control.value;
    state.offset = 0;
    setQuery(query());
    load();
  });

  const live = h('span', { class: 'stream-status', 'data-testid': 'stream-status', role: 'status' });
  ctx.onCleanup(session.onStreamState((s) => {
    live.textContent = STREAM_WORDS[s] || s;
    live.dataset.state = s;
  }));
  const ackAll = h('button', { type: 'button', 'data-testid': 'alerts-ack-all', disabled: true }, 'Acknowledge all shown');
  const ackAllError = errorBox('alerts-ack-all-error');
  const heading = pageHeader('Alerts', live, ackAll);
  const note = h('div', { 'aria-live': 'polite' });
  const area = h('div', {});
  const pagerArea = h('div', {});
  replace(ctx.main, h('section', { 'data-testid': 'alerts' }, heading, note, ackAllError, form, area, pagerArea));

  let list = null;
  const unacknowledged = () => (list ? [...list.querySelectorAll('[data-testid="alert-row"][data-acknowledged="false"]')] : []);
  const syncAckAll = () => {
    ackAll.disabled = unacknowledged().length === 0;
  };

  // After an acknowledgement focus moves on to the next alert still
  // waiting for one (or the one before), never to the page.
  function acknowledged(data, li) {
    const rows = list ? [...list.children] : [];
    const at = rows.indexOf(li);
    const fresh = alertItem(data, { onAcknowledged: acknowledged });
    li.replaceWith(fresh);
    const waiting = (r) => r.querySelector('[data-testid="alert-ack"]:not(:disabled)');
    const next = rows.slice(at + 1).map(waiting).find(Boolean) || rows.slice(0, at).reverse().map(waiting).find(Boolean);
    syncAckAll();
    focusFirst(next, ackAll, heading.querySelector('h1'));
  }

  ackAll.addEventListener('click', async () => {
    const rows = unacknowledged();
    ackAll.disabled = true;
    setError(ackAllError, '');
    const failed = [];
    await Promise.all(rows.map(async (li) => {
      try {
        const { data } = await api.post(`/api/alerts/${encodeURIComponent(li.dataset.alertId)}/acknowledge/`);
        li.replaceWith(alertItem(data, { onAcknowledged: acknowledged }));
      } catch (err) {
        failed.push(errorText(err));
      }
    }));
    session.recountSoon();
    const done = rows.length - failed.length;
    replace(note, h('p', { class: 'success', role: 'status', 'data-testid': 'flash' }, `${done} ${done === 1 ? 'alert' : 'alerts'} acknowledged.`));
    if (failed.length) setError(ackAllError, `${failed.length} could not be acknowledged: ${failed.join(' ')}`);
    syncAckAll();
    focusFirst(unacknowledged().map((li) => li.querySelector('[data-testid="alert-ack"]')), heading.querySelector('h1'));
  });

  // New alerts from the stream join the top of the first page when they
  // match the filters.
  ctx.onCleanup(session.onAlert((alert) => {
    if (state.offset || (state.kind && alert.kind !== state.kind)) return;
    if (state.ack === 'true' && !alert.acknowledged_at) return;
    if (state.ack === 'false' && alert.acknowledged_at) return;
    if (!list) {
      list = h('ul', { class: 'alert-list', 'data-testid': 'alert-list' });
      replace(area, list);
    }
    // The stream announces alerts as they are made; one the page already
    // lists (loaded after it was made) is no news, and the list's copy may
    // be newer (acknowledged since).
    if (list.querySelector(`[data-alert-id="${CSS.escape(alert.id)}"]`)) return;
    list.insertBefore(alertItem(alert, { fresh: true, onAcknowledged: acknowledged }), list.firstChild);
    syncAckAll();
  }));

  async function load() {
    replace(area, loading());
    list = null;
    syncAckAll();
    let res;
    try {
      res = await api.get('/api/alerts/', { acknowledged: state.ack === 'any' ? '' : state.ack, kind: state.kind, limit: state.limit, offset: state.offset }, ctx.signal);
    } catch (err) {
      if (err.name !== 'AbortError') replace(area, failure(err, load));
      return;
    }
    const { data, total } = res;
    await keepFocus(pagerArea, () => replace(pagerArea, data.length || state.offset
      ? pager({ offset: state.offset, limit: state.limit, total, count: data.length, go }) : ''));
    if (!data.length) {
      replace(area, empty(state.offset ? 'Nothing on this page: there are fewer alerts.' : state.ack === 'false' ? 'No unacknowledged alerts.' : 'No alerts.'));
      return;
    }
    list = h('ul', { class: 'alert-list', 'data-testid': 'alert-list' }, data.map((a) => alertItem(a, { onAcknowledged: acknowledged })));
    replace(area, list);
    syncAckAll();
  }

  function go(offset, limit) {
    state.offset = offset;
    state.limit = limit;
    setQuery(query());
    load();
  }
  load();
}
