// The audit log (admins): filters by action, actor and target, with paging.

import * as api from '../api.js';
import { h, replace, field, loading, empty, failure, pageHeader, pager, exact, short, filterBox } from '../dom.js';
import { navigate, withQuery } from '../router.js';
import { exportButton } from './dashboard.js';

const PAGE = 50;

function detailsText(details) {
  if (details === null || details === undefined) return '';
  if (typeof details !== 'object') return String(details);
  return Object.entries(details)
    .map(([k, v]) => `${k}: ${v !== null && typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join('; ');
}

function target(entry) {
  if (!entry.target_type) return '';
  const id = entry.target_id === null || entry.target_id === undefined ? '' : String(entry.target_id);
  if (entry.target_type === 'task' && id) return h('a', { href: `/tasks/${encodeURIComponent(id)}` }, `task ${id}`);
  if (entry.target_type === 'user' && id) return h('a', { href: `/users/${encodeURIComponent(id)}` }, `user ${id}`);
  return `${entry.target_type} ${id}`.trim();
}

export function audit(ctx) {
  const q = ctx.query;
  const offset = Number(q.get('offset')) > 0 ? Number(q.get('offset')) : 0;
  const action = field({ label: 'Action', name: 'action', value: q.get('action') || '', testid: 'audit-filter-action', placeholder: 'e.g. task.status', autocapitalize: 'none' });
  const actor = field({ label: 'Actor (user id)', name: 'actor', value: q.get('actor') || '', testid: 'audit-filter-actor', inputmode: 'numeric' });
  const targetId = field({ label: 'Target id', name: 'target_id', value: q.get('target_id') || '', testid: 'audit-filter-target' });
  const form = h('form', { class: 'filters', role: 'search', 'data-testid': 'audit-filter' }, action, actor, targetId,
    h('div', { class: 'filter-actions' },
      h('button', { type: 'submit', class: 'primary', 'data-testid': 'filter-apply' }, 'Apply'),
      h('a', { href: '/audit', class: 'button', 'data-testid': 'filter-reset' }, 'Reset')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    navigate(withQuery({ action: action.control.value.trim(), actor: actor.control.value.trim(), target_id: targetId.control.value.trim() }));
  });
  const area = h('div', {});
  replace(ctx.main, h('section', { 'data-testid': 'audit' }, pageHeader('Audit log', exportButton('/api/audit/', q)), filterBox(form, ['action', 'actor', 'target_id'].some((n) => q.get(n))), area));

  async function load() {
    replace(area, loading());
    let res;
    try {
      res = await api.get('/api/audit/', { action: q.get('action'), actor: q.get('actor'), target_id: q.get('target_id'), limit: PAGE, offset }, ctx.signal);
    } catch (err) {
      if (err.name !== 'AbortError') replace(area, failure(err, load));
      return;
    }
    const { data, total } = res;
    if (!data.length) {
      replace(area, empty('No entries match these filters.'));
      return;
    }
    replace(area,
      h('table', { class: 'data', 'data-testid': 'audit-table' },
        h('thead', {}, h('tr', {}, ['When', 'Actor', 'Action', 'Target', 'Details'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, data.map((e) => h('tr', { 'data-testid': 'audit-row', 'data-action': e.action },
          h('td', { 'data-label': 'When' }, h('time', { datetime: e.at, title: exact(e.at), 'data-testid': 'audit-at' }, short(e.at))),
          h('td', { 'data-label': 'Actor', 'data-testid': 'audit-actor' }, e.actor ? e.actor.username : 'System'),
          h('td', { 'data-label': 'Action', 'data-testid': 'audit-action' }, h('code', {}, e.action)),
          h('td', { 'data-label': 'Target' }, target(e)),
          h('td', { 'data-label': 'Details', class: 'details' }, detailsText(e.details)))))),
      pager(offset, PAGE, total, data.length, (o) => navigate(withQuery({ ...Object.fromEntries(q.entries()), offset: o }))));
  }
  load();
}
