// The dashboard (managers and admins): tasks by status, twelve weeks of
// completions and misses, people by risk with reactivation, and what is due
// in the next 24 hours, from GET /api/stats/; it refreshes when an alert
// arrives. Also a person's own summary on My tasks, and the export button
// of the list pages.

import * as api from '../api.js';
import { h, replace, loading, failure, pageHeader, deadlineTime, errorText, actionButton, empty } from '../dom.js';
import { barChart, stackedBars, meter } from '../chart.js';
import * as session from '../session.js';

const DAY = 86_400_000;
const PEOPLE_SHOWN = 10;
const STREAM_WORDS = { open: 'Live', connecting: 'Connecting…', retrying: 'Reconnecting…', closed: 'Not live' };
const percent = new Intl.NumberFormat(undefined, { style: 'percent', maximumFractionDigits: 0 });
const number = new Intl.NumberFormat();
const weekShort = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', timeZone: 'UTC' });
const weekLong = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'long', day: 'numeric', timeZone: 'UTC' });

function rateText(rate) {
  return rate === null || rate === undefined ? '—' : percent.format(rate);
}

// windowText says the sweep's window in words: "7 days", "36 hours".
function windowText(hours) {
  if (hours % 24 === 0) return hours === 24 ? 'day' : `${hours / 24} days`;
  return hours === 1 ? 'hour' : `${number.format(hours)} hours`;
}

// pausedText: "2 of 5 — 3 more and your account is paused".
function pausedText(missed, threshold, whose = 'your') {
  const left = threshold - missed;
  const tail = left > 0
    ? `${left} more and ${whose} account is paused`
    : `${whose} account is paused at the next deadline check`;
  return `${missed} of ${threshold} — ${tail}`;
}

function weekParts(st) {
  const sum = (k) => st.weeks.reduce((n, w) => n + w[k], 0);
  const completed = sum('completed');
  const onTime = sum('completed_on_time');
  const missed = sum('missed');
  return { completed, onTime, late: completed - onTime, missed, rate: completed + missed ? onTime / (completed + missed) : null };
}

function tile(label, value, testid, detail, cls = '') {
  return h('div', { class: `tile ${cls}`, 'data-testid': testid },
    h('span', { class: 'tile-label' }, label),
    h('span', { class: 'tile-value', 'data-testid': `${testid}-value` }, value),
    detail ? h('span', { class: 'tile-detail' }, detail) : null);
}

function statusChart(st) {
  return barChart({
    testid: 'chart-status',
    title: 'Tasks by status',
    items: [
      { key: 'pending', label: 'Pending', value: st.tasks.pending, cls: 'c-pending' },
      { key: 'in_progress', label: 'In progress', value: st.tasks.in_progress, cls: 'c-progress' },
      { key: 'completed', label: 'Completed', value: st.tasks.completed, cls: 'c-ontime' },
      { key: 'missed', label: 'Missed', value: st.tasks.missed, cls: 'c-missed' },
    ],
  });
}

function weeksChart(st) {
  const w = weekParts(st);
  const last = st.weeks[st.weeks.length - 1];
  return stackedBars({
    testid: 'chart-weeks',
    title: 'Completed and missed, last 12 weeks',
    summary: `Over the last 12 weeks, ${w.onTime} tasks were completed on time, ${w.late} late, and ${w.missed} missed. `
      + `This week so far: ${last.completed_on_time} on time, ${last.completed - last.completed_on_time} late, ${last.missed} missed.`,
    categories: st.weeks.map((wk) => {
      const d = new Date(`${wk.week_start}T00:00:00Z`);
      return { key: wk.week_start, label: weekShort.format(d), long: `Week of ${weekLong.format(d)}` };
    }),
    series: [
      { key: 'on_time', label: 'On time', cls: 'c-ontime', values: st.weeks.map((wk) => wk.completed_on_time) },
      { key: 'late', label: 'Late', cls: 'c-late', values: st.weeks.map((wk) => wk.completed - wk.completed_on_time) },
      { key: 'missed', label: 'Missed', cls: 'c-missed', values: st.weeks.map((wk) => wk.missed) },
    ],
  });
}

// mayReactivate: admins bring anyone back; managers people of the user role.
function mayReactivate(person) {
  if (person.is_active) return false;
  return session.hasRole('admin') || (session.hasRole('manager') && person.role && person.role.name === 'user');
}

function personStatus(p) {
  if (!p.is_active) return h('span', { class: 'badge inactive', 'data-testid': 'person-status' }, 'Deactivated');
  if (p.at_risk) return h('span', { class: 'badge risk', 'data-testid': 'person-status' }, 'At risk');
  return h('span', { class: 'badge active', 'data-testid': 'person-status' }, 'Active');
}

function peopleTable(st, { showAll, onToggle, onChanged }) {
  const days = windowText(st.window_hours);
  const rows = showAll ? st.people : st.people.slice(0, PEOPLE_SHOWN);
  const table = h('table', { class: 'data people', 'data-testid': 'people-table' },
    h('caption', { class: 'visually-hidden' }, `People, most at risk first. Misses are counted as the deadline check counts them: in the last ${days}, since any reactivation; at ${st.threshold} an account is paused.`),
    h('thead', {}, h('tr', {}, ['Person', 'Open', `Missed, last ${days}`, 'On time, 12 weeks', 'Status', 'Action'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, rows.map((p) => {
      const error = h('span', { class: 'field-error', role: 'alert', 'data-testid': 'person-error' });
      const action = mayReactivate(p)
        ? actionButton('Reactivate', { class: 'small', 'data-testid': 'person-reactivate', 'aria-label': `Reactivate ${p.username}` }, async () => {
          error.textContent = '';
          try {
            await api.post(`/api/user/users/${p.id}/reactivate/`);
            onChanged(`${p.username} reactivated. Their missed-deadline count starts afresh.`);
          } catch (err) {
            error.textContent = errorText(err);
          }
        })
        : null;
      const cls = [p.at_risk ? 'at-risk' : '', p.is_active ? '' : 'inactive'].filter(Boolean).join(' ');
      return h('tr', {
        class: cls || null, 'data-testid': 'person-row', 'data-user-id': String(p.id),
        'data-at-risk': p.at_risk ? 'true' : 'false', 'data-active': p.is_active ? 'true' : 'false',
      },
      h('th', { scope: 'row', 'data-label': 'Person' },
        // Every status: the row is about their misses as much as their
        // open work, and task lists open on open work alone.
        h('a', { href: `/tasks?${new URLSearchParams({ assigned_to: p.id, status: 'all' })}`, 'data-testid': 'person-tasks', 'aria-label': `Tasks of ${p.username}` }, p.username)),
      h('td', { 'data-label': 'Open', 'data-testid': 'person-open' }, number.format(p.open)),
      h('td', { 'data-label': `Missed, last ${days}` },
        h('span', { class: 'misses' },
          meter({ value: p.missed_in_window, max: st.threshold, label: `${p.missed_in_window} of ${st.threshold} misses`, cls: p.at_risk || !p.is_active ? 'hot' : '' }),
          h('span', { 'data-testid': 'person-missed' }, `${p.missed_in_window} of ${st.threshold}`))),
      h('td', { 'data-label': 'On time, 12 weeks', 'data-testid': 'person-rate' }, rateText(p.on_time_rate)),
      h('td', { 'data-label': 'Status' }, personStatus(p)),
      h('td', { 'data-label': 'Action' }, action, error));
    })));
  const more = st.people.length > PEOPLE_SHOWN
    ? h('button', { type: 'button', class: 'small', 'data-testid': 'people-toggle', onclick: onToggle },
      showAll ? 'Show the first ten' : `Show all ${number.format(st.people.length)} people`)
    : null;
  return [table, more];
}

// noneDue says why nothing is due: on a team without a single task yet, how
// to start, as the task lists do.
function noneDue(st) {
  if (Object.values(st.tasks).some((n) => n > 0)) return empty('Nothing is due in the next 24 hours.');
  return empty('No tasks yet — ', h('a', { href: '/tasks/new', 'data-testid': 'empty-create' }, 'create one'), '.');
}

function dueList(st, due) {
  const now = Date.now();
  const more = st.due_soon - due.data.length;
  const query = new URLSearchParams({
    status: 'pending,in_progress', deadline_after: new Date(now).toISOString(), deadline_before: new Date(now + DAY).toISOString(),
  });
  return h('div', { 'data-testid': 'due-soon' },
    due.data.length
      ? h('ul', { class: 'due-list' }, due.data.map((t) => h('li', { 'data-testid': 'due-row', 'data-task-id': t.id },
        h('a', { href: `/tasks/${encodeURIComponent(t.id)}`, 'data-testid': 'due-title' }, t.title),
        h('span', { class: 'muted' }, ` · ${t.assigned_to_username || `#${t.assigned_to}`} · `),
        deadlineTime(t.deadline, t.status))))
      : noneDue(st),
    more > 0 ? h('a', { href: `/tasks?${query}`, 'data-testid': 'due-more' }, `and ${number.format(more)} more`) : null);
}

export function dashboard(ctx) {
  const live = h('span', { class: 'stream-status', 'data-testid': 'stream-status', role: 'status' });
  ctx.onCleanup(session.onStreamState((state) => {
    live.textContent = STREAM_WORDS[state] || state;
    live.dataset.state = state;
  }));
  const area = h('div', { class: 'dashboard' }, loading());
  const notice = h('p', { class: 'success', role: 'status', 'data-testid': 'flash', hidden: true });
  replace(ctx.main, h('section', { 'data-testid': 'dashboard' }, pageHeader('Dashboard', live), notice, area));

  let showAll = false;
  let timer = null;
  let last = null;

  function draw(st, due) {
    // A redraw keeps what the person had open and where their focus was.
    const open = [...area.querySelectorAll('details[open] > summary')].map((s) => s.getAttribute('data-testid'));
    const focus = area.contains(document.activeElement) ? document.activeElement.getAttribute('data-testid') : null;
    const focusRow = focus && document.activeElement.closest('[data-user-id]');
    const w = weekParts(st);
    const atRisk = st.people.filter((p) => p.at_risk).length;
    const inactive = st.people.filter((p) => !p.is_active).length;
    replace(area,
      h('p', { class: 'muted', 'data-testid': 'dashboard-generated' }, 'Figures as of ',
        h('time', { datetime: st.generated_at }, new Date(st.generated_at).toLocaleTimeString())),
      h('div', { class: 'tiles' },
        tile('Open tasks', number.format(st.tasks.pending + st.tasks.in_progress), 'tile-open',
          `${number.format(st.tasks.pending)} pending, ${number.format(st.tasks.in_progress)} in progress`),
        tile('Due in 24 hours', number.format(st.due_soon), 'tile-due-soon'),
        tile('On time, 12 weeks', rateText(w.rate), 'tile-on-time', `${number.format(w.onTime)} of ${number.format(w.completed + w.missed)} done by the deadline`),
        tile('At risk', number.format(atRisk), 'tile-at-risk', 'one miss from being paused', atRisk ? 'warn' : ''),
        tile('Deactivated', number.format(inactive), 'tile-inactive', 'accounts paused', inactive ? 'bad' : '')),
      h('div', { class: 'charts' }, statusChart(st), weeksChart(st)),
      h('section', { class: 'panel', 'aria-labelledby': 'people-heading' },
        h('h2', { id: 'people-heading' }, 'People'),
        h('p', { class: 'hint' }, `Most at risk first. Misses count as the deadline check counts them: in the last ${windowText(st.window_hours)}, since any reactivation. At ${st.threshold} an account is paused.`),
        peopleTable(st, {
          showAll,
          onToggle: () => {
            showAll = !showAll;
            draw(st, due);
            area.querySelector('[data-testid="people-toggle"]').focus();
          },
          onChanged: (message) => {
            notice.textContent = message;
            notice.hidden = false;
            load();
          },
        })),
      h('section', { class: 'panel', 'aria-labelledby': 'due-heading' },
        h('h2', { id: 'due-heading' }, `Due in the next 24 hours (${number.format(st.due_soon)})`),
        dueList(st, due)));
    for (const id of open) {
      const summary = area.querySelector(`summary[data-testid="${CSS.escape(id)}"]`);
      if (summary) summary.parentElement.open = true;
    }
    if (focus) {
      const scope = focusRow ? area.querySelector(`[data-user-id="${CSS.escape(focusRow.getAttribute('data-user-id'))}"]`) : area;
      const again = scope && scope.querySelector(`[data-testid="${CSS.escape(focus)}"]`);
      if (again) again.focus();
    }
  }

  async function load() {
    const now = Date.now();
    let st;
    let due;
    try {
      [st, due] = await Promise.all([
        api.get('/api/stats/', null, ctx.signal).then((r) => r.data),
        api.get('/api/task/tasks/', {
          status: ['pending', 'in_progress'], deadline_after: new Date(now).toISOString(),
          deadline_before: new Date(now + DAY).toISOString(), ordering: 'deadline', limit: 10,
        }, ctx.signal),
      ]);
    } catch (err) {
      if (err.name !== 'AbortError' && ctx.isCurrent() && !last) replace(area, failure(err, load));
      return;
    }
    if (!ctx.isCurrent()) return;
    last = st;
    draw(st, due);
  }

  // A new alert means a miss or a deactivation: the figures have moved.
  ctx.onCleanup(session.onAlert(() => {
    clearTimeout(timer);
    timer = setTimeout(load, 300);
  }));
  ctx.onCleanup(() => clearTimeout(timer));
  load();
}

// mySummary is a person's own standing, for the top of My tasks: their
// on-time rate, their misses against the threshold, and what is due next.
export function mySummary(ctx) {
  const box = h('section', { class: 'card my-summary', 'data-testid': 'my-summary', 'aria-label': 'Your standing' }, loading('Loading your figures…'));
  (async () => {
    const me = session.currentUser();
    let st;
    let next;
    try {
      [st, next] = await Promise.all([
        api.get('/api/stats/', null, ctx.signal).then((r) => r.data),
        api.get('/api/task/tasks/', {
          status: ['pending', 'in_progress'], deadline_after: new Date().toISOString(), ordering: 'deadline', limit: 1,
          assigned_to: session.hasRole('admin', 'manager') ? me.id : undefined,
        }, ctx.signal).then((r) => r.data[0]),
      ]);
    } catch (err) {
      if (err.name !== 'AbortError') replace(box, failure(err));
      return;
    }
    const mine = st.me;
    const exempt = session.hasRole('admin');
    const facts = h('dl', { class: 'summary-facts' },
      h('div', { class: 'fact' },
        h('dt', {}, 'On time, last 12 weeks'),
        h('dd', { 'data-testid': 'my-on-time' }, mine.on_time_rate === null
          ? 'Nothing completed or missed yet'
          : `${rateText(mine.on_time_rate)} done by the deadline`)),
      exempt ? null : h('div', { class: `fact${mine.at_risk ? ' risk' : ''}`, 'data-testid': 'my-misses', 'data-at-risk': mine.at_risk ? 'true' : 'false' },
        h('dt', {}, `Missed deadlines, last ${windowText(st.window_hours)}`),
        h('dd', {},
          meter({ value: mine.missed_in_window, max: st.threshold, label: `${mine.missed_in_window} of ${st.threshold} misses`, cls: mine.at_risk ? 'hot' : '' }),
          ' ', h('span', { 'data-testid': 'my-misses-text' }, pausedText(mine.missed_in_window, st.threshold)))),
      h('div', { class: 'fact' },
        h('dt', {}, 'Due next'),
        h('dd', { 'data-testid': 'my-next' }, next
          ? [h('a', { href: `/tasks/${encodeURIComponent(next.id)}`, 'data-testid': 'my-next-title' }, next.title), ' ', deadlineTime(next.deadline, next.status, 'my-next-due')]
          : 'Nothing is due')));
    replace(box, facts);
  })();
  return box;
}

// exportButton downloads the list at path, with the page's filters, as CSV.
export function exportButton(path, query) {
  const error = h('span', { class: 'field-error', role: 'alert', 'data-testid': 'export-error' });
  const btn = actionButton('Export CSV', { class: 'small', 'data-testid': 'export-csv' }, async () => {
    error.textContent = '';
    // The list's filters as they are when the button is pressed: lists
    // apply their filters as people type, without rendering anew.
    const q = typeof query === 'function' ? query() : query;
    const entries = q instanceof URLSearchParams ? [...q.entries()] : Object.entries(q);
    const filters = Object.fromEntries(entries.filter(([k, v]) => k !== 'offset' && k !== 'limit' && v !== '' && v != null));
    try {
      await api.download(path, filters);
    } catch (err) {
      error.textContent = errorText(err);
    }
  });
  return h('span', { class: 'export' }, btn, error);
}
