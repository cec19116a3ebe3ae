// Preferences: what tasktrack emails the signed-in person, how managers
// and admins hear of alerts, and the timezone of their emails.

import * as api from '../api.js';
import { h, replace, field, loading, failure, pageHeader, errorBox, clearErrors, showErrors } from '../dom.js';
import * as session from '../session.js';

const KINDS = [
  ['task_assigned', 'A task is assigned to me'],
  ['task_changed', 'Someone changes a task of mine'],
  ['task_reminder', 'A deadline of mine is near'],
  ['task_missed', 'I miss a deadline'],
  ['at_risk', 'One more miss would pause my account'],
  ['reactivated', 'My account is reactivated'],
];

// timezones lists the IANA names this browser knows, with the current
// choice and UTC always among them.
function timezones(current) {
  const names = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  return [...new Set(['UTC', current, ...names])].sort((a, b) => (a === 'UTC' ? -1 : b === 'UTC' ? 1 : a.localeCompare(b)));
}

export async function preferences(ctx) {
  replace(ctx.main, h('section', { 'data-testid': 'preferences' }, pageHeader('Preferences'), loading()));
  let prefs;
  try {
    ({ data: prefs } = await api.get('/api/user/me/preferences/', null, ctx.signal));
  } catch (err) {
    if (err.name !== 'AbortError') replace(ctx.main, h('section', { 'data-testid': 'preferences' }, pageHeader('Preferences'), failure(err, () => preferences(ctx))));
    return;
  }
  if (!ctx.isCurrent()) return;
  const me = session.currentUser();
  const staff = session.hasRole('admin', 'manager');
  const boxes = KINDS.map(([kind, label]) => field({ label, name: kind, type: 'checkbox', value: prefs.email[kind], testid: `pref-${kind}` }));
  const alerts = staff ? field({
    label: 'Alerts', name: 'alerts', type: 'select', value: prefs.email.alerts, testid: 'pref-alerts',
    options: [
      { value: 'each', label: 'An email for each alert' },
      { value: 'daily', label: 'One digest a day, at 08:00 in my timezone' },
      { value: 'off', label: 'No alert emails' },
    ],
  }) : null;
  const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const zone = field({
    label: 'Timezone', name: 'timezone', type: 'select', value: prefs.timezone, testid: 'pref-timezone',
    options: timezones(prefs.timezone).map((z) => ({ value: z, label: z })),
    hint: `Times in your emails are shown in it${browserZone ? `; this browser's is ${browserZone}` : ''}.`,
  });
  const box = errorBox();
  const saved = h('span', { class: 'muted', role: 'status', 'data-testid': 'pref-saved' });
  const form = h('form', { class: 'card narrow prefs', 'data-testid': 'preferences-form', novalidate: true },
    box,
    h('fieldset', {},
      h('legend', {}, 'Email me when'),
      h('p', { class: 'hint' }, me && me.email ? `Emails go to ${me.email}.` : 'You have no email address: ask an admin to add one.'),
      boxes),
    alerts, zone,
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'primary', 'data-testid': 'pref-save' }, 'Save'), saved));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    saved.textContent = '';
    const email = {};
    KINDS.forEach(([kind], i) => { email[kind] = boxes[i].control.checked; });
    if (alerts) email.alerts = alerts.control.value;
    const button = form.querySelector('[data-testid="pref-save"]');
    button.disabled = true;
    try {
      await api.patch('/api/user/me/preferences/', { email, timezone: zone.control.value });
      saved.textContent = 'Saved.';
    } catch (err) {
      showErrors(form, err, box);
    } finally {
      button.disabled = false;
    }
  });
  replace(ctx.main, h('section', { 'data-testid': 'preferences' }, pageHeader('Preferences'), form));
}
