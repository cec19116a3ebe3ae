// The audit log (admins): filters by action, actor (by username) and
// target, with paging; people and tasks are shown by name.

import * as api from '../api.js';
import {
  h, replace, field, loading, empty, failure, pageHeader, pager, exact, short, filterBox, setError,
  pageSize, pageOffset, keepFocus, liveFilters,
} from '../dom.js';
import { setQuery } from '../router.js';
import { exportButton } from './dashboard.js';

// names resolves user ids to usernames, a page at a time; an id that no
// longer names anyone stays an id.
async function names(ids, signal) {
  const out = new Map();
  await Promise.all([...ids].map(async (id) => {
    try {
      const { data } = await api.get(`/api/user/users/${encodeURIComponent(id)}/`, null, signal);
      out.set(String(id), data.username);
    } catch (err) {
      if (err.name === 'AbortError') throw err;
    }
  }));
  return out;
}

function userName(people, id) {
  return people.get(String(id)) || `user #${id}`;
}

function detailsText(details, people) {
  if (details === null || details === undefined) return '';
  if (typeof details !== 'object') return String(details);
  return Object.entries(details)
    .map(([k, v]) => {
      if (k === 'assigned_to' && v !== null) return `assigned to: ${userName(people, v)}`;
      return `${k}: ${v !== null && typeof v === 'object' ? JSON.stringify(v) : String(v)}`;
    })
    .join('; ');
}

function target(entry, people) {
  if (!entry.target_type) return '';
  const id = entry.target_id === null || entry.target_id === undefined ? '' : String(entry.target_id);
  if (entry.target_type === 'task' && id) {
    const title = entry.details && typeof entry.details.title === 'string' ? `“${entry.details.title}”` : `${id.slice(0, 8)}…`;
    return h('a', { href: `/tasks/${encodeURIComponent(id)}`, title: `task ${id}` }, `task ${title}`);
  }
  if (entry.target_type === 'user' && id) return h('a', { href: `/users/${encodeURIComponent(id)}`, 'data-testid': 'audit-target-user' }, userName(people, id));
  return `${entry.target_type} ${id}`.trim();
}

// userIDs are the people a page of entries names, besides the actors
// (whose names the entries carry).
function userIDs(entries) {
  const ids = new Set();
  for (const e of entries) {
    if (e.target_type === 'user' && e.target_id) ids.add(String(e.target_id));
    if (e.details && e.details.assigned_to) ids.add(String(e.details.assigned_to));
  }
  return ids;
}

// actorID finds the id of the user named username (case aside).
async function actorID(username, signal) {
  const { data } = await api.get('/api/user/users/', { search: username, limit: 100 }, signal);
  const found = data.find((u) => u.username.toLowerCase() === username.toLowerCase());
  return found ? String(found.id) : null;
}

export function audit(ctx) {
  const q = ctx.query;
  const state = {
    offset: pageOffset(q), limit: pageSize(q),
    action: q.get('action') || '', actor: q.get('actor') || '', target_id: q.get('target_id') || '',
  };
  const action = field({ label: 'Action', name: 'action', type: 'text', value: state.action, testid: 'audit-filter-action', placeholder: 'e.g. task.status', autocapitalize: 'none' });
  const actor = field({ label: 'Actor (username)', name: 'actor', type: 'text', value: '', testid: 'audit-filter-actor', autocapitalize: 'none', spellcheck: 'false', 'data-apply': 'change' });
  const targetId = field({ label: 'Target id', name: 'target_id', type: 'text', value: state.target_id, testid: 'audit-filter-target' });
  const form = h('form', { class: 'filters', role: 'search', 'data-testid': 'audit-filter' }, action, actor, targetId,
    h('div', { class: 'filter-actions' }, h('a', { href: '/audit', class: 'button', 'data-testid': 'filter-reset' }, 'Reset')));
  const actorError = actor.querySelector('.field-error');
  const query = () => ({ action: state.action, actor: state.actor, target_id: state.target_id, offset: state.offset || '', limit: state.limit === 50 ? '' : state.limit });
  const area = h('div', {});
  const pagerArea = h('div', {});
  replace(ctx.main, h('section', { 'data-testid': 'audit' }, pageHeader('Audit log', exportButton('/api/audit/', () => ({ action: state.action, actor: state.actor, target_id: state.target_id }))),
    filterBox(form, ['action', 'actor', 'target_id'].some((n) => state[n])), area, pagerArea));

  // The URL holds the actor's id, as the API takes it; the field shows
  // the name.
  if (state.actor) {
    names([state.actor], ctx.signal).then((found) => {
      if (!actor.control.value) actor.control.value = found.get(state.actor) || `#${state.actor}`;
    }, () => {});
  }

  liveFilters(form, async (typing) => {
    setError(actorError, '');
    actor.control.removeAttribute('aria-invalid');
    const name = actor.control.value.trim().replace(/^#/, '');
    let id = '';
    if (name) {
      try {
        id = /^\d+$/.test(name) && name === state.actor ? name : await actorID(name, ctx.signal);
      } catch (err) {
        if (err.name !== 'AbortError') setError(actorError, `Could not look the name up: ${err.message}`);
        return;
      }
      if (!id) {
        setError(actorError, `Nobody is named “${name}”.`);
        actor.control.setAttribute('aria-invalid', 'true');
        return;
      }
    }
    state.action = action.control.value.trim();
    state.actor = id;
    state.target_id = targetId.control.value.trim();
    state.offset = 0;
    setQuery(query(), { replace: typing });
    load();
  });

  async function load() {
    replace(area, loading());
    let res;
    let people;
    try {
      res = await api.get('/api/audit/', { action: state.action, actor: state.actor, target_id: state.target_id, limit: state.limit, offset: state.offset }, ctx.signal);
      people = await names(userIDs(res.data), ctx.signal);
    } catch (err) {
      if (err.name !== 'AbortError') replace(area, failure(err, load));
      return;
    }
    const { data, total } = res;
    await keepFocus(pagerArea, () => replace(pagerArea, data.length || state.offset
      ? pager({ offset: state.offset, limit: state.limit, total, count: data.length, go }) : ''));
    if (!data.length) {
      replace(area, empty(state.offset ? 'Nothing on this page: there are fewer entries.' : 'No entries match these filters.'));
      return;
    }
    replace(area,
      h('table', { class: 'data', 'data-testid': 'audit-table' },
        h('thead', {}, h('tr', {}, ['When', 'Actor', 'Action', 'Target', 'Details'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, data.map((e) => h('tr', { 'data-testid': 'audit-row', 'data-action': e.action },
          h('td', { 'data-label': 'When' }, h('time', { datetime: e.at, title: exact(e.at), 'data-testid': 'audit-at' }, short(e.at))),
          h('td', { 'data-label': 'Actor', 'data-testid': 'audit-actor' }, e.actor ? e.actor.username : 'System'),
          h('td', { 'data-label': 'Action', 'data-testid': 'audit-action' }, h('code', {}, e.action)),
          h('td', { 'data-label': 'Target', 'data-testid': 'audit-target' }, target(e, people)),
          h('td', { 'data-label': 'Details', class: 'details', 'data-testid': 'audit-details' }, detailsText(e.details, people)))))));
  }

  function go(offset, limit) {
    state.offset = offset;
    state.limit = limit;
    setQuery(query());
    load();
  }
  load();
}
