// Webhooks (admins): the endpoints that receive tasktrack's events, made
// with a signing secret shown once, edited, tested, their secret rotated,
// deleted; and each endpoint's delivery log, with a redeliver button per
// attempt.

import * as api from '../api.js';
import {
  h, replace, field, errorBox, setError, showErrors, clearErrors, errorText, loading, empty, failure,
  pageHeader, pager, confirmDialog, agoTime, exact, setFlash, takeFlash, actionButton, pageSize, pageOffset,
  keepFocus, focusFirst, liveFilters, loadInto, showSecret,
} from '../dom.js';
import { navigate, setQuery } from '../router.js';
import { keepFresh } from '../live.js';

const EVENTS = [
  { value: 'task.created', hint: 'a task is made' },
  { value: 'task.updated', hint: 'a task’s title, description, deadline or assignee changes' },
  { value: 'task.deleted', hint: 'a task is deleted' },
  { value: 'task.status_changed', hint: 'a task is started, completed or reopened' },
  { value: 'task.reminder', hint: 'an open task reaches a reminder before its deadline' },
  { value: 'task.missed', hint: 'the sweep marks a task missed' },
  { value: 'user.created', hint: 'an account is made' },
  { value: 'user.deactivated', hint: 'an account is deactivated' },
  { value: 'user.reactivated', hint: 'an account is reactivated' },
  { value: 'user.at_risk', hint: 'one more missed deadline would deactivate someone' },
  { value: 'alert.acknowledged', hint: 'an alert is acknowledged' },
  { value: 'ping', hint: 'a test event; Send test sends one whatever is chosen here' },
];
const ALL = '*';

const FORMATS = [
  { value: 'standard', label: 'Standard Webhooks (signed JSON)' },
  { value: 'slack', label: 'Slack (incoming webhook)' },
  { value: 'discord', label: 'Discord (channel webhook)' },
];
const FORMAT_NAMES = { standard: 'Standard', slack: 'Slack', discord: 'Discord' };

const DELIVERY_STATUSES = [
  { value: 'delivered', label: 'Delivered' },
  { value: 'retrying', label: 'Retrying' },
  { value: 'failed', label: 'Failed' },
];

// After a test or a redelivery, the log is watched closely this long for
// its attempt to show.
const WATCH_MS = 60_000;

const hookPath = (id) => `/api/webhooks/${encodeURIComponent(id)}/`;

function eventBadges(events) {
  const list = events && events.includes(ALL) ? ['All events'] : events || [];
  return h('span', { class: 'webhook-events', 'data-testid': 'webhook-events' }, list.map((e) => [h('span', { class: 'badge' }, e), ' ']));
}

function statusCell(w) {
  if (w.is_active) return h('span', { class: 'badge active', 'data-testid': 'webhook-status' }, 'Active');
  return h('span', {},
    h('span', { class: 'badge inactive', 'data-testid': 'webhook-status' }, 'Disabled'), ' ',
    h('span', { 'data-testid': 'webhook-disabled-reason' }, w.disabled_reason || 'turned off by an admin'));
}

// showHookSecret shows a signing secret once in area, to copy; done runs
// when the person has finished with it.
function showHookSecret(area, { title, lead, value, done }) {
  showSecret(area, {
    testid: 'webhook-secret', title, lead, label: 'The signing secret', value, done,
    note: h('p', { class: 'hint' }, 'Receivers verify each request with it: the ', h('code', {}, 'webhook-signature'),
      ' header is an HMAC-SHA256 of ', h('code', {}, 'webhook-id.webhook-timestamp.body'),
      ', keyed by the part after ', h('code', {}, 'whsec_'), ' (Standard Webhooks v1; its libraries do this for you).'),
  });
}

// ---- the form, for making and editing ------------------------------------------------------------

let formCount = 0;

// webhookForm builds the fields of an endpoint; hook is the endpoint to
// edit, or null for a new one. It answers the form's parts and body(),
// which reads what the person chose (null for events when none is).
function webhookForm(hook) {
  const prefix = `wh${++formCount}`;
  const url = field({
    label: 'URL', name: 'url', type: 'url', required: true, maxlength: 2048, autocomplete: 'off', spellcheck: 'false',
    value: hook ? hook.url : '', testid: 'webhook-url-input',
    hint: 'Where events are POSTed: an http or https address, such as a chat’s incoming-webhook URL. Redirects are not followed.',
  });
  const chosen = new Set(hook ? hook.events : []);
  const errId = `${prefix}-events-error`;
  const all = h('input', { type: 'checkbox', id: `${prefix}-event-all`, name: 'events', value: ALL, checked: chosen.has(ALL), 'data-testid': 'webhook-event-all' });
  const boxes = EVENTS.map((e) => h('input', {
    type: 'checkbox', id: `${prefix}-event-${e.value.replace('.', '-')}`, name: 'events', value: e.value,
    checked: chosen.has(e.value), 'data-testid': `webhook-event-${e.value}`,
  }));
  const events = h('fieldset', { class: 'webhook-event-list', 'data-testid': 'webhook-events-input', 'aria-describedby': errId },
    h('legend', {}, 'Events'),
    h('span', { class: 'check' }, all, h('label', { for: all.id }, h('strong', {}, 'All events'), ' — including kinds added later')),
    EVENTS.map((e, i) => h('span', { class: 'check' }, boxes[i], h('label', { for: boxes[i].id }, h('code', {}, e.value), ` — ${e.hint}`))),
    h('span', { id: errId, class: 'field-error', 'data-error-for': 'events', 'data-testid': 'error-events', 'aria-live': 'polite' }));
  // "All events" stands for every one, so the single ones are set aside
  // (and shown as included) while it is ticked. Unticking it brings back
  // the single ones chosen before, or leaves them all ticked to untick
  // what is not wanted.
  const syncAll = () => {
    for (const b of boxes) {
      b.disabled = all.checked;
      if (all.checked) b.checked = true;
    }
  };
  all.addEventListener('change', () => {
    const singles = boxes.some((b) => chosen.has(b.value));
    if (!all.checked && singles) for (const b of boxes) b.checked = chosen.has(b.value);
    syncAll();
  });
  for (const b of boxes) {
    b.addEventListener('change', () => {
      if (b.checked) chosen.add(b.value);
      else chosen.delete(b.value);
    });
  }
  syncAll();

  const format = field({
    label: 'Format', name: 'format', type: 'select', value: hook ? hook.format : 'standard', testid: 'webhook-format-input', options: FORMATS,
    hint: 'Standard posts the event as JSON; Slack and Discord post one readable line with a link. Every format is signed.',
  });
  const description = field({
    label: 'Description', name: 'description', type: 'textarea', rows: 2, value: hook ? hook.description : '',
    testid: 'webhook-description-input', hint: 'Optional: who receives it and why.',
  });
  const active = hook ? field({
    label: 'Active: send events to this endpoint', name: 'is_active', type: 'checkbox', value: hook.is_active, testid: 'webhook-active-input',
    hint: hook.is_active ? 'Untick to pause deliveries; events meanwhile are not kept for it.'
      : `Disabled${hook.disabled_reason ? `: ${hook.disabled_reason}` : ''}. Tick to send events again.`,
  }) : null;

  function body() {
    const picked = all.checked ? [ALL] : boxes.filter((b) => b.checked).map((b) => b.value);
    const out = {
      url: url.control.value.trim(),
      events: picked.length ? picked : null,
      format: format.control.value,
      description: description.control.value.trim(),
    };
    if (active) out.is_active = active.control.checked;
    return out;
  }
  return { fields: [url, events, format, description, active], body, focusUrl: () => url.control.focus() };
}

function sameEvents(a, b) {
  return a.length === b.length && [...a].sort().join(',') === [...b].sort().join(',');
}

// ---- the list ------------------------------------------------------------------------------------

export function webhooks(ctx) {
  const listArea = h('div', { 'data-testid': 'webhook-list' });
  const shown = h('div', {});

  const loadList = () => loadInto(listArea, () => api.fetchAll('/api/webhooks/', {}, ctx.signal),
    (data) => (data.length ? webhookTable(data) : empty('No endpoints yet: nothing is sent.')), ctx.isCurrent);

  replace(ctx.main, h('section', { 'data-testid': 'webhooks' },
    pageHeader('Webhooks'),
    takeFlash(),
    h('p', {}, 'tasktrack POSTs its events (tasks made, changed or missed, people deactivated, …) to these addresses: ',
      'your chat, an automation tool or your own script. Each request is signed with the endpoint’s secret; ',
      'failed deliveries are retried for hours and logged on the endpoint’s page.'),
    shown,
    h('h2', {}, 'Endpoints'),
    listArea,
    createForm(shown, loadList)));
  loadList();
}

function webhookTable(hooks) {
  const row = (w) => h('tr', { 'data-testid': 'webhook-row', 'data-webhook-id': w.id, 'data-active': w.is_active ? 'true' : 'false' },
    h('td', { 'data-label': 'URL', class: 'details' }, h('a', { href: `/webhooks/${encodeURIComponent(w.id)}`, 'data-testid': 'webhook-link' }, w.url)),
    h('td', { 'data-label': 'Events' }, eventBadges(w.events)),
    h('td', { 'data-label': 'Format', 'data-testid': 'webhook-format' }, FORMAT_NAMES[w.format] || w.format),
    h('td', { 'data-label': 'Status' }, statusCell(w)),
    h('td', { 'data-label': 'Description', class: 'details', 'data-testid': 'webhook-description' }, w.description || ''));
  return h('table', { class: 'data', 'data-testid': 'webhook-table' },
    h('thead', {}, h('tr', {}, ['URL', 'Events', 'Format', 'Status', 'Description'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, hooks.map(row)));
}

function createForm(shown, reload) {
  const parts = webhookForm(null);
  const errors = errorBox();
  const submit = h('button', { type: 'submit', class: 'primary', 'data-testid': 'webhook-create' }, 'Add endpoint');
  const form = h('form', { class: 'card webhook-form', 'data-testid': 'webhook-form', novalidate: true },
    h('h2', {}, 'New endpoint'), parts.fields, errors, h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    const body = parts.body();
    if (!body.events) {
      showErrors(form, { status: 400, body: { events: ['Choose at least one event, or All events.'] } });
      return;
    }
    submit.disabled = true;
    try {
      const { data } = await api.post('/api/webhooks/', body);
      form.replaceWith(createForm(shown, reload));
      showHookSecret(shown, {
        title: `Endpoint added: ${data.url}`,
        lead: 'It cannot be shown again; if you lose it, rotate it on the endpoint’s page.',
        value: data.secret,
        done: () => {
          replace(shown);
          focusFirst(document.querySelector(`[data-webhook-id="${CSS.escape(data.id)}"] [data-testid="webhook-link"]`), document.querySelector('main h1'));
        },
      });
      await reload();
    } catch (err) {
      showErrors(form, err);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

// ---- one endpoint --------------------------------------------------------------------------------

export async function webhookDetail(ctx) {
  replace(ctx.main, h('section', {}, pageHeader('Webhook'), loading()));
  let hook;
  try {
    ({ data: hook } = await api.get(hookPath(ctx.params.id), null, ctx.signal));
  } catch (err) {
    if (err.name === 'AbortError') return;
    replace(ctx.main, h('section', { 'data-testid': 'webhook-detail' }, pageHeader('Webhook'),
      err.status === 404 ? h('p', { role: 'alert', 'data-testid': 'webhook-not-found' }, 'There is no such endpoint.') : failure(err, () => webhookDetail(ctx))));
    return;
  }
  renderHook(ctx, hook, takeFlash());
}

function renderHook(ctx, hook, flash) {
  const again = async (message) => {
    const { data } = await api.get(hookPath(hook.id));
    renderHook(ctx, data, h('p', { class: 'success', role: 'status', 'data-testid': 'flash' }, message));
    focusFirst(ctx.main.querySelector('h1'));
  };
  const facts = h('dl', { class: 'facts', 'data-testid': 'webhook-facts' },
    h('dt', {}, 'URL'), h('dd', { 'data-testid': 'webhook-url' }, hook.url),
    h('dt', {}, 'Events'), h('dd', {}, eventBadges(hook.events)),
    h('dt', {}, 'Format'), h('dd', { 'data-testid': 'webhook-format' }, FORMAT_NAMES[hook.format] || hook.format),
    h('dt', {}, 'Status'), h('dd', {}, statusCell(hook)),
    h('dt', {}, 'Description'), h('dd', { 'data-testid': 'webhook-description' }, hook.description || '—'),
    h('dt', {}, 'Added'), h('dd', {}, hook.created_at ? exact(hook.created_at) : '—'));

  const deliveries = deliveryLog(ctx, hook);
  const shown = h('div', {});
  const actionResult = h('p', { class: 'hint', role: 'status', 'data-testid': 'webhook-action-result' });
  const actionError = h('span', { class: 'field-error', role: 'alert', 'data-testid': 'webhook-action-error' });
  const test = actionButton('Send test', { 'data-testid': 'webhook-test' }, async () => {
    actionResult.textContent = '';
    actionError.textContent = '';
    try {
      await api.post(`${hookPath(hook.id)}test/`);
      actionResult.textContent = 'Test event queued: a ping is on its way, and its delivery shows in the log below.';
      deliveries.watch();
    } catch (err) {
      actionError.textContent = errorText(err);
    }
  });
  const rotate = actionButton('Rotate secret', { 'data-testid': 'webhook-rotate' }, async () => {
    actionResult.textContent = '';
    actionError.textContent = '';
    const yes = await confirmDialog({
      title: 'Make a new signing secret?',
      message: 'A new secret is made and shown once. The old one keeps signing beside it for 24 hours, so receivers can switch over without missing an event; then only the new one signs.',
      confirmLabel: 'Rotate secret',
      tone: 'primary',
    });
    if (!yes) return;
    try {
      const { data } = await api.post(`${hookPath(hook.id)}rotate-secret/`);
      showHookSecret(shown, {
        title: 'The new signing secret',
        lead: 'For the next 24 hours each request carries two signatures, one by the old secret and one by this; give this one to the receiver now.',
        value: data.secret,
        done: () => {
          replace(shown);
          rotate.focus();
        },
      });
    } catch (err) {
      actionError.textContent = errorText(err);
    }
  });

  replace(ctx.main, h('section', { 'data-testid': 'webhook-detail', 'data-webhook-id': hook.id },
    h('a', { href: '/webhooks', 'data-testid': 'back' }, '‹ Webhooks'),
    h('div', { class: 'page-header' }, h('h1', { tabindex: '-1', 'data-testid': 'page-title', class: 'webhook-title' }, hook.url)),
    flash, facts,
    h('div', { class: 'card' },
      h('h2', {}, 'Try it'),
      h('p', { class: 'hint' }, 'Send test posts a ping event to this endpoint through the same queue as real events.'),
      h('div', { class: 'actions' }, test, rotate), actionResult, actionError),
    shown,
    deliveries.section,
    editForm(hook, again),
    deleteSection(hook)));
}

function editForm(hook, again) {
  const parts = webhookForm(hook);
  const errors = errorBox();
  const submit = h('button', { type: 'submit', class: 'primary', 'data-testid': 'webhook-save' }, 'Save changes');
  const form = h('form', { class: 'card webhook-form', 'data-testid': 'webhook-edit-form', novalidate: true },
    h('h2', {}, 'Edit'), parts.fields, errors, h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    const now = parts.body();
    if (!now.events) {
      showErrors(form, { status: 400, body: { events: ['Choose at least one event, or All events.'] } });
      return;
    }
    const body = {};
    for (const key of ['url', 'format', 'description', 'is_active']) if (now[key] !== hook[key]) body[key] = now[key];
    if (!sameEvents(now.events, hook.events || [])) body.events = now.events;
    if (!Object.keys(body).length) {
      setError(errors, 'Nothing has changed.');
      return;
    }
    submit.disabled = true;
    try {
      await api.patch(hookPath(hook.id), body);
      await again('Changes saved.');
    } catch (err) {
      submit.disabled = false;
      showErrors(form, err);
    }
  });
  return form;
}

function deleteSection(hook) {
  const error = h('p', { class: 'error-box', role: 'alert', 'data-testid': 'webhook-delete-error', hidden: true });
  const del = actionButton('Delete endpoint', { class: 'danger', 'data-testid': 'webhook-delete' }, async () => {
    setError(error, '');
    const yes = await confirmDialog({
      title: 'Delete this endpoint?',
      message: `${hook.url} stops receiving events at once. Deliveries still waiting to be sent to it are dropped, and its delivery log goes with it. This cannot be undone.`,
      confirmLabel: 'Delete endpoint',
    });
    if (!yes) return;
    try {
      await api.del(hookPath(hook.id));
      setFlash(`Endpoint ${hook.url} deleted.`);
      navigate('/webhooks');
    } catch (err) {
      setError(error, errorText(err));
    }
  });
  return h('div', { class: 'card danger-zone' },
    h('h2', {}, 'Delete'),
    h('p', {}, 'To pause an endpoint and keep its log, untick Active above instead.'),
    del, error);
}

// ---- the delivery log ----------------------------------------------------------------------------

// deliveryLog lists the endpoint's delivery attempts, newest first, with a
// status filter and pages in the URL. It keeps itself fresh like the task
// lists (live.js), polling often for a minute after a test or a
// redelivery and while a retry is due within a minute, and redraws only
// when something changed, keeping the focus on the same control of the
// same attempt.
function deliveryLog(ctx, hook) {
  const q = ctx.query;
  const state = {
    offset: pageOffset(q), limit: pageSize(q, 25),
    status: DELIVERY_STATUSES.some((s) => s.value === q.get('status')) ? q.get('status') : '',
  };
  const status = field({
    label: 'Status', name: 'status', type: 'select', value: state.status, testid: 'deliveries-filter-status',
    options: [{ value: '', label: 'Any status' }, ...DELIVERY_STATUSES],
  });
  const refresh = h('button', { type: 'button', class: 'small', 'data-testid': 'deliveries-refresh' }, 'Refresh');
  const form = h('form', { class: 'filters delivery-filters', 'data-testid': 'deliveries-filter' }, status,
    h('div', { class: 'filter-actions' }, refresh));
  const area = h('div', { 'data-testid': 'delivery-log' });
  const pagerArea = h('div', {});
  const query = () => ({ status: state.status, offset: state.offset || '', limit: state.limit === 25 ? '' : state.limit });
  let shownKey = null;
  let watchUntil = 0;
  let retryDue = false;
  let loads = 0; // only the latest load draws: a poll must not undo a new filter

  async function load({ quiet = false } = {}) {
    const seq = ++loads;
    if (!quiet) {
      shownKey = null;
      replace(area, loading());
    }
    let res;
    try {
      res = await api.get(`${hookPath(hook.id)}deliveries/`, { status: state.status, limit: state.limit, offset: state.offset }, ctx.signal);
    } catch (err) {
      if (err.name === 'AbortError') return;
      if (!quiet && seq === loads) replace(area, failure(err, () => load()));
      return;
    }
    if (!ctx.isCurrent() || seq !== loads) return;
    const { data, total } = res;
    const soon = Date.now() + WATCH_MS;
    retryDue = data.some((d) => d.status === 'retrying' && d.next_attempt_at && new Date(d.next_attempt_at).getTime() < soon);
    const key = JSON.stringify([data, total]);
    if (key !== shownKey) {
      shownKey = key;
      await keepFocus(pagerArea, () => replace(pagerArea, data.length || state.offset
        ? pager({ offset: state.offset, limit: state.limit, total, count: data.length, go }) : ''));
      redraw(data);
    }
  }
  const fresh = keepFresh(ctx, () => load({ quiet: true }), { urgent: () => retryDue || Date.now() < watchUntil });

  function redraw(data) {
    const active = document.activeElement;
    const row = active && area.contains(active) ? active.closest('[data-delivery-id]') : null;
    const where = row ? [row.dataset.deliveryId, active.getAttribute('data-testid')] : null;
    if (!data.length) {
      replace(area, empty(state.offset ? 'Nothing on this page: there are fewer deliveries.'
        : state.status ? 'No deliveries with this status.' : 'Nothing sent yet. Send test to try the endpoint.'));
    } else {
      replace(area, deliveryTable(hook, data, watch));
    }
    if (where) {
      const same = area.querySelector(`[data-delivery-id="${CSS.escape(where[0])}"] [data-testid="${CSS.escape(where[1] || '')}"]`);
      focusFirst(same, area.querySelector('[data-testid="delivery-redeliver"]'), refresh);
    }
  }

  function go(offset, limit) {
    state.offset = offset;
    state.limit = limit;
    setQuery(query());
    load();
  }

  liveFilters(form, () => {
    state.status = status.control.value;
    state.offset = 0;
    setQuery(query());
    load();
  });
  refresh.addEventListener('click', () => load({ quiet: true }));
  load();

  // watch looks closely for the attempt an action has just queued.
  function watch() {
    watchUntil = Date.now() + WATCH_MS;
    fresh.soon();
  }

  const section = h('section', { class: 'card', 'data-testid': 'deliveries', 'aria-labelledby': 'deliveries-title' },
    h('h2', { id: 'deliveries-title' }, 'Deliveries'),
    h('p', { class: 'hint' }, 'Each attempt, newest first. A failed one is retried with growing pauses (about 5 s, 30 s, 2 min, … up to 6 h) before it is marked failed.'),
    form, area, pagerArea);
  return { section, watch };
}

const DELIVERY_LABELS = { delivered: 'Delivered', retrying: 'Retrying', failed: 'Failed' };

function deliveryTable(hook, deliveries, watch) {
  function row(d) {
    const message = h('span', { class: 'hint', role: 'status', 'data-testid': 'delivery-message' });
    const error = h('span', { class: 'field-error', role: 'alert', 'data-testid': 'delivery-redeliver-error' });
    const redeliver = actionButton('Redeliver', {
      class: 'small', 'data-testid': 'delivery-redeliver', 'aria-label': `Redeliver ${d.event_type} event, attempt ${d.attempt}`,
    }, async () => {
      message.textContent = '';
      error.textContent = '';
      try {
        await api.post(`${hookPath(hook.id)}deliveries/${encodeURIComponent(d.id)}/redeliver/`);
        message.textContent = 'Queued again.';
        watch();
      } catch (err) {
        error.textContent = errorText(err);
      }
    });
    return h('tr', { 'data-testid': 'delivery-row', 'data-delivery-id': d.id, 'data-status': d.status, 'data-event-id': d.event_id },
      h('td', { 'data-label': 'Time' }, agoTime(d.created_at, 'delivery-time')),
      h('td', { 'data-label': 'Event', class: 'details' },
        h('code', { 'data-testid': 'delivery-event' }, d.event_type),
        h('span', { class: 'hint webhook-event-id', title: 'webhook-id, the same on every attempt' }, d.event_id)),
      h('td', { 'data-label': 'Status' },
        h('span', { class: `badge delivery-${d.status}`, 'data-testid': 'delivery-status' }, DELIVERY_LABELS[d.status] || d.status)),
      h('td', { 'data-label': 'Attempt', 'data-testid': 'delivery-attempt' }, String(d.attempt)),
      h('td', { 'data-label': 'Response', 'data-testid': 'delivery-response' }, d.response_status === null || d.response_status === undefined ? '—' : String(d.response_status)),
      h('td', { 'data-label': 'Took', 'data-testid': 'delivery-duration' }, d.duration_ms === null || d.duration_ms === undefined ? '—' : `${d.duration_ms} ms`),
      h('td', { 'data-label': 'Error', class: 'details', 'data-testid': 'delivery-error' }, d.error || ''),
      h('td', { 'data-label': 'Next attempt', 'data-testid': 'delivery-next' }, d.next_attempt_at ? agoTime(d.next_attempt_at, 'delivery-next-at') : '—'),
      h('td', { 'data-label': 'Actions' }, h('div', { class: 'row-actions' }, redeliver, message, error)));
  }
  return h('table', { class: 'data', 'data-testid': 'delivery-table' },
    h('thead', {}, h('tr', {}, ['Time', 'Event', 'Status', 'Attempt', 'Response', 'Took', 'Error', 'Next attempt', 'Actions'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, deliveries.map(row)));
}
