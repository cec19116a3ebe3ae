// Tokens: the person's personal access tokens (make one, see its secret
// once, list them with their last use, revoke), the "Subscribe in your
// calendar" panel, and the list of a user's tokens that admins see on the
// user's page.

import * as api from '../api.js';
import {
  h, replace, field, errorBox, showErrors, clearErrors, errorText, loading, empty, failure,
  pageHeader, confirmDialog, agoTime, exact, actionButton, loadInto, copyField, showSecret,
} from '../dom.js';

const SCOPES = [
  { value: 'read', label: 'Read', hint: 'see what your role lets you see' },
  { value: 'write', label: 'Write', hint: 'change what your role lets you change; needs Read' },
  { value: 'calendar', label: 'Calendar', hint: 'fetch and rotate your calendar URL, nothing else' },
];

const DAY = 86_400_000;
const EXPIRIES = [
  { value: '30', label: '30 days' },
  { value: '90', label: '90 days' },
  { value: '365', label: '1 year' },
  { value: 'never', label: 'Never' },
  { value: 'custom', label: 'On a date…' },
];

function scopeBadges(scopes) {
  return h('span', { 'data-testid': 'token-scopes' }, (scopes || []).map((s) => [h('span', { class: 'badge' }, s), ' ']));
}

function expiryCell(t) {
  if (!t.expires_at) return h('span', { class: 'muted' }, 'never');
  if (new Date(t.expires_at).getTime() <= Date.now()) {
    return h('span', {}, h('span', { class: 'badge inactive', 'data-testid': 'token-expired' }, 'Expired'), ' ', agoTime(t.expires_at, 'token-expires'));
  }
  return agoTime(t.expires_at, 'token-expires');
}

// tokenTable lists tokens with a Revoke button each; revokePath(t) is the
// DELETE that revokes t, onRevoked runs after.
function tokenTable(tokens, revokePath, onRevoked) {
  function row(t) {
    const error = h('span', { class: 'field-error', role: 'alert', 'data-testid': 'token-error' });
    const revoke = actionButton('Revoke', { class: 'small danger', 'data-testid': 'token-revoke' }, async () => {
      error.textContent = '';
      const yes = await confirmDialog({
        title: `Revoke “${t.name}”?`,
        message: 'Anything still using this token stops working at once. This cannot be undone.',
        confirmLabel: 'Revoke',
      });
      if (!yes) return;
      try {
        await api.del(revokePath(t));
        onRevoked(t);
      } catch (err) {
        error.textContent = errorText(err);
      }
    });
    return h('tr', { 'data-testid': 'token-row', 'data-token-id': t.id },
      h('td', { 'data-label': 'Name', 'data-testid': 'token-name', class: 'details' }, t.name),
      h('td', { 'data-label': 'Scopes' }, scopeBadges(t.scopes)),
      h('td', { 'data-label': 'Made', title: exact(t.created_at) }, agoTime(t.created_at, 'token-created')),
      h('td', { 'data-label': 'Expires' }, expiryCell(t)),
      h('td', { 'data-label': 'Last used', 'data-testid': 'token-last-used' },
        t.last_used_at ? agoTime(t.last_used_at, 'token-last-used-at') : h('span', { class: 'muted' }, 'never')),
      h('td', { 'data-label': 'Actions' }, revoke, error));
  }
  return h('table', { class: 'data', 'data-testid': 'token-table' },
    h('thead', {}, h('tr', {}, ['Name', 'Scopes', 'Made', 'Expires', 'Last used', 'Actions'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, tokens.map(row)));
}

// ---- the person's own tokens ---------------------------------------------------------------

export function tokens(ctx) {
  const listArea = h('div', { 'data-testid': 'token-list' });
  const shown = h('div', { 'aria-live': 'polite' });

  const loadList = () => loadInto(listArea, () => api.fetchAll('/api/user/me/tokens/', {}, ctx.signal),
    (data) => (data.length
      ? tokenTable(data, (t) => `/api/user/me/tokens/${encodeURIComponent(t.id)}/`, () => loadList())
      : empty('You have no tokens.')),
    ctx.isCurrent);

  replace(ctx.main, h('section', { 'data-testid': 'tokens' },
    pageHeader('Tokens'),
    h('p', {}, 'A personal access token lets a script, a CI job or a dashboard use the API as you, without your password. ',
      'Send it as ', h('code', {}, 'Authorization: Bearer tt_pat_…'), '. It can do what your role allows, within its scopes, ',
      'and stops working when you revoke it, when it expires, or if your account is deactivated.'),
    createForm(shown, loadList),
    shown,
    h('h2', {}, 'Your tokens'),
    listArea,
    calendarPanel()));
  loadList();
}

function createForm(shown, reload) {
  const name = field({ label: 'Name', name: 'name', required: true, maxlength: 100, autocomplete: 'off', testid: 'token-name-input', hint: 'What it is for, such as “nightly report”.' });
  const scopes = h('fieldset', { class: 'scopes', 'data-testid': 'token-scopes-input' }, h('legend', {}, 'Scopes'));
  for (const s of SCOPES) {
    const id = `token-scope-${s.value}`;
    const input = h('input', { type: 'checkbox', id, name: 'scopes', value: s.value, checked: s.value === 'read', 'data-testid': `token-scope-${s.value}` });
    scopes.appendChild(h('span', { class: 'check' }, input, h('label', { for: id }, h('strong', {}, s.label), ` — ${s.hint}`)));
  }
  // Write needs read: ticking write ticks read, and unticking read unticks write.
  const box = (v) => scopes.querySelector(`input[value="${v}"]`);
  box('write').addEventListener('change', () => { if (box('write').checked) box('read').checked = true; });
  box('read').addEventListener('change', () => { if (!box('read').checked) box('write').checked = false; });
  const scopesError = h('span', { class: 'field-error', 'data-error-for': 'scopes', 'data-testid': 'error-scopes', 'aria-live': 'polite' });

  const expiry = field({ label: 'Expires', name: 'expiry', type: 'select', value: '90', testid: 'token-expiry-input', options: EXPIRIES });
  const date = field({ label: 'Expiry date', name: 'expires_at', type: 'date', testid: 'token-expiry-date' });
  date.hidden = true;
  expiry.control.addEventListener('change', () => { date.hidden = expiry.control.value !== 'custom'; });

  const errors = errorBox();
  const submit = h('button', { type: 'submit', class: 'primary', 'data-testid': 'token-create' }, 'Make token');
  const form = h('form', { class: 'card', 'data-testid': 'token-form' },
    h('h2', {}, 'New token'), name, scopes, scopesError, expiry, date, errors, h('div', { class: 'actions' }, submit));

  function expiresAt() {
    const v = expiry.control.value;
    if (v === 'never') return null;
    if (v === 'custom') {
      // The end of the chosen day, in the person's time zone.
      const d = date.control.value ? new Date(`${date.control.value}T23:59:59`) : null;
      return d && !Number.isNaN(d.getTime()) ? d.toISOString() : '';
    }
    return new Date(Date.now() + Number(v) * DAY).toISOString();
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    const body = {
      name: name.control.value.trim(),
      scopes: [...scopes.querySelectorAll('input:checked')].map((i) => i.value),
      expires_at: expiresAt(),
    };
    if (body.expires_at === '') {
      showErrors(form, { status: 400, body: { expires_at: ['Choose a date.'] } });
      return;
    }
    submit.disabled = true;
    try {
      const { data } = await api.post('/api/user/me/tokens/', body);
      name.control.value = '';
      showSecret(shown, {
        testid: 'token-secret',
        title: `Your new token “${data.name}”`,
        lead: 'Only a hash of it is kept, so it cannot be shown again; if you lose it, revoke it and make another.',
        label: 'The new token',
        value: data.token,
        done: () => replace(shown),
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

// ---- the calendar feed ---------------------------------------------------------------

function calendarPanel() {
  const area = h('div', {}, loading());
  const panel = h('section', { class: 'card calendar-panel', 'data-testid': 'calendar-panel' },
    h('h2', {}, 'Subscribe in your calendar'),
    h('p', {}, 'Your open tasks, and those done or missed in the last 30 days, as events at their deadlines, with reminders. ',
      'Subscribe to this address in Google Calendar (Other calendars → From URL), Outlook (Add calendar → Subscribe from web) ',
      'or Apple Calendar (File → New Calendar Subscription).'),
    area);

  function show(url, note) {
    const error = h('span', { class: 'field-error', role: 'alert', 'data-testid': 'calendar-error' });
    const rotate = actionButton('Rotate', { class: 'danger', 'data-testid': 'calendar-rotate' }, async () => {
      error.textContent = '';
      const yes = await confirmDialog({
        title: 'Replace your calendar address?',
        message: 'The current address stops working at once: calendars subscribed to it must subscribe to the new one.',
        confirmLabel: 'Rotate',
      });
      if (!yes) return;
      try {
        const { data } = await api.post('/api/calendar/rotate/');
        show(data.url, 'A new address: the old one no longer works.');
      } catch (err) {
        error.textContent = errorText(err);
      }
    });
    replace(area,
      note ? h('p', { class: 'success', role: 'status', 'data-testid': 'calendar-rotated' }, note) : null,
      copyField({ label: 'Your calendar address', value: url, testid: 'calendar-url' }),
      h('p', { class: 'hint' }, 'Anyone with this address sees your tasks: keep it to yourself. If it leaks, rotate it.'),
      h('div', { class: 'actions' }, rotate, error));
  }

  (async function load() {
    try {
      const { data } = await api.get('/api/calendar/');
      show(data.url);
    } catch (err) {
      replace(area, failure(err, load));
    }
  })();
  return panel;
}

// ---- a user's tokens, for admins ---------------------------------------------------------------

export function userTokens(user) {
  const area = h('div', {}, loading());
  const section = h('div', { class: 'card', 'data-testid': 'user-tokens' },
    h('h2', {}, 'Personal access tokens'),
    h('p', { class: 'hint' }, `Tokens ${user.username} made for scripts and integrations. Revoking one stops it at once.`),
    area);
  const load = () => loadInto(area, () => api.fetchAll(`/api/user/users/${user.id}/tokens/`),
    (data) => (data.length
      ? tokenTable(data, (t) => `/api/user/users/${user.id}/tokens/${encodeURIComponent(t.id)}/`, () => load())
      : empty(`${user.username} has no tokens.`)));
  load();
  return section;
}
