// DOM building and formatting helpers. Text is only ever set through text
// nodes / textContent, never parsed as markup, so data shows as characters.

const PROPS = new Set(['value', 'checked', 'disabled', 'selected', 'hidden', 'required', 'multiple', 'readOnly']);

// h(tag, attrs, ...children) builds an element. attrs: "class", "on<event>"
// functions, DOM properties in PROPS, anything else as an attribute (null,
// undefined and false leave it out). Children: nodes, strings, numbers,
// arrays; null/false are skipped.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (PROPS.has(key)) el[key] = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else {
      const t = document.createTextNode('');
      t.textContent = String(child);
      el.appendChild(t);
    }
  }
}

function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function replace(el, ...children) {
  clear(el);
  append(el, children);
  return el;
}

// ---- time -----------------------------------------------------------------

const exactFormat = new Intl.DateTimeFormat(undefined, {
  weekday: 'short', year: 'numeric', month: 'short', day: 'numeric',
  hour: '2-digit', minute: '2-digit', second: '2-digit', timeZoneName: 'short',
});
const shortFormat = new Intl.DateTimeFormat(undefined, {
  year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit',
});

export function exact(iso) {
  return iso ? exactFormat.format(new Date(iso)) : '';
}

export function short(iso) {
  return iso ? shortFormat.format(new Date(iso)) : '';
}

// span(ms) -> "45 s", "3 min", "5 h", "2 d".
export function span(ms) {
  const s = Math.abs(ms) / 1000;
  if (s < 60) return `${Math.max(1, Math.round(s))} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 48 * 3600) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} d`;
}

// deadlineText says how much time is left or how late a task is.
function deadlineText(deadline, status, now = Date.now()) {
  const diff = new Date(deadline).getTime() - now;
  if (diff >= 0) return `due in ${span(diff)}`;
  if (status === 'missed') return `missed ${span(diff)} ago`;
  if (status === 'completed') return `was due ${span(diff)} ago`;
  return `overdue by ${span(diff)}`;
}

function agoText(iso, now = Date.now()) {
  const diff = new Date(iso).getTime() - now;
  return diff > 0 ? `in ${span(diff)}` : `${span(diff)} ago`;
}

// Relative times are <time> elements refreshed by tickTimes().
export function deadlineTime(deadline, status, testid = 'task-due') {
  const el = h('time', { datetime: deadline, title: exact(deadline), 'data-testid': testid, 'data-rel': 'deadline', 'data-status': status });
  el.textContent = deadlineText(deadline, status);
  return el;
}

export function agoTime(iso, testid) {
  const el = h('time', { datetime: iso, title: exact(iso), 'data-testid': testid, 'data-rel': 'ago' });
  el.textContent = agoText(iso);
  return el;
}

export function tickTimes(root = document) {
  for (const el of root.querySelectorAll('time[data-rel]')) {
    const iso = el.getAttribute('datetime');
    el.textContent = el.dataset.rel === 'deadline' ? deadlineText(iso, el.dataset.status) : agoText(iso);
  }
}

function pad(n) {
  return String(n).padStart(2, '0');
}

// toLocalInput turns an RFC 3339 time into a datetime-local value in the
// viewer's time zone; fromLocalInput does the reverse, to UTC with a Z.
export function toLocalInput(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function fromLocalInput(value) {
  if (!value) return '';
  const d = new Date(value); // a date-time without offset is local time
  return Number.isNaN(d.getTime()) ? '' : d.toISOString();
}

// ---- words ----------------------------------------------------------------

export const STATUS_LABELS = {
  pending: 'Pending', in_progress: 'In progress', completed: 'Completed', missed: 'Missed',
};

export function statusBadge(status) {
  return h('span', { class: `badge status-${status}`, 'data-testid': 'task-status' }, STATUS_LABELS[status] || status);
}

// ---- forms ----------------------------------------------------------------

let uid = 0;

// field builds a labelled control with an error slot that showErrors fills.
// opts: label, name, type ("text", "textarea", "select", ...), value,
// options ([{value, label}]) for selects, testid, hint, and any other
// attribute for the control.
export function field(opts) {
  const { label, name, type = 'text', value, options, testid, hint, ...rest } = opts;
  const id = `f${++uid}-${name}`;
  const errId = `${id}-error`;
  const hintId = hint ? `${id}-hint` : null;
  const common = { id, name, 'data-testid': testid, 'aria-describedby': [hintId, errId].filter(Boolean).join(' '), ...rest };
  let control;
  if (type === 'textarea') {
    control = h('textarea', common);
    control.value = value ?? '';
  } else if (type === 'select') {
    control = h('select', common, (options || []).map((o) => h('option', { value: o.value, disabled: o.disabled }, o.label)));
    if (value !== undefined) control.value = String(value);
  } else if (type === 'checkbox') {
    control = h('input', { type, ...common, checked: !!value });
  } else {
    control = h('input', { type, ...common, value: value ?? '' });
  }
  const wrap = h('div', { class: type === 'checkbox' ? 'field field-check' : 'field' },
    type === 'checkbox' ? [control, h('label', { for: id }, label)] : [h('label', { for: id }, label), control],
    hint ? h('small', { id: hintId, class: 'hint' }, hint) : null,
    h('span', { id: errId, class: 'field-error', 'data-error-for': name, 'data-testid': `error-${name}`, 'aria-live': 'polite' }));
  wrap.control = control;
  return wrap;
}

// errorBox is the place for errors that belong to no single field.
export function errorBox(testid = 'form-error') {
  return h('div', { class: 'error-box', role: 'alert', 'data-testid': testid, hidden: true });
}

export function setError(box, message) {
  if (!box) return;
  box.textContent = message || '';
  box.hidden = !message;
}

export function clearErrors(form) {
  for (const el of form.querySelectorAll('[data-error-for]')) el.textContent = '';
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  for (const el of form.querySelectorAll('.error-box')) setError(el, '');
}

// showErrors puts an API error next to the fields it names; the rest goes in
// the form's error box. Returns nothing; every message lands somewhere.
export function showErrors(form, err, box = form.querySelector('.error-box')) {
  clearErrors(form);
  const body = err && err.body;
  const general = [];
  if (err && err.status === 400 && body && typeof body === 'object' && !Array.isArray(body) && !('detail' in body)) {
    for (const [key, value] of Object.entries(body)) {
      const messages = Array.isArray(value) ? value.map(String) : [typeof value === 'string' ? value : JSON.stringify(value)];
      const slot = key === 'non_field_errors' ? null : form.querySelector(`[data-error-for="${CSS.escape(key)}"]`);
      if (slot) {
        slot.textContent = messages.join(' ');
        const control = form.querySelector(`[name="${CSS.escape(key)}"]`);
        if (control) control.setAttribute('aria-invalid', 'true');
      } else if (key === 'non_field_errors') {
        general.push(...messages);
      } else {
        general.push(`${key}: ${messages.join(' ')}`);
      }
    }
  } else {
    general.push(errorText(err));
  }
  setError(box, general.join(' '));
  const first = form.querySelector('[aria-invalid="true"]');
  if (first) first.focus();
}

// errorText turns any error into one sentence for the person.
export function errorText(err) {
  if (!err) return 'Something went wrong.';
  if (err.body && typeof err.body === 'object') {
    if (typeof err.body.detail === 'string') return err.body.detail;
    if (typeof err.body.status === 'string') return err.body.status;
    const parts = [];
    for (const [key, value] of Object.entries(err.body)) {
      const msg = Array.isArray(value) ? value.join(' ') : String(value);
      parts.push(key === 'non_field_errors' ? msg : `${key}: ${msg}`);
    }
    if (parts.length) return parts.join(' ');
  }
  return err.message || 'Something went wrong.';
}

// ---- small pieces ---------------------------------------------------------

export function loading(text = 'Loading…') {
  return h('p', { class: 'loading', role: 'status', 'data-testid': 'loading' }, text);
}

export function empty(text) {
  return h('p', { class: 'empty', 'data-testid': 'empty' }, text);
}

export function pageHeader(title, ...actions) {
  return h('div', { class: 'page-header' },
    h('h1', { tabindex: '-1', 'data-testid': 'page-title' }, title),
    actions.length ? h('div', { class: 'page-actions' }, actions) : null);
}

// button with a busy state: while fn runs the button is disabled.
export function actionButton(label, attrs, fn) {
  const btn = h('button', { type: 'button', ...attrs }, label);
  btn.addEventListener('click', async () => {
    if (btn.disabled) return;
    btn.disabled = true;
    btn.setAttribute('aria-busy', 'true');
    try {
      await fn(btn);
    } finally {
      btn.disabled = false;
      btn.removeAttribute('aria-busy');
    }
  });
  return btn;
}

// pager shows "1–50 of 234" with previous/next buttons.
export function pager(offset, limit, total, count, go) {
  if (total === null || total === undefined) total = offset + count;
  const from = total === 0 ? 0 : offset + 1;
  const to = offset + count;
  return h('nav', { class: 'pager', 'aria-label': 'Pages' },
    h('button', { type: 'button', 'data-testid': 'pager-prev', disabled: offset <= 0, onclick: () => go(Math.max(0, offset - limit)) }, '‹ Previous'),
    h('span', { 'data-testid': 'pager-info', 'aria-live': 'polite' }, `${from}–${to} of ${total}`),
    h('button', { type: 'button', 'data-testid': 'pager-next', disabled: to >= total, onclick: () => go(offset + limit) }, 'Next ›'));
}

// confirmDialog asks before something that cannot be undone.
export function confirmDialog({ title, message, details = [], confirmLabel = 'Delete' }) {
  return new Promise((resolve) => {
    const ok = h('button', { type: 'button', class: 'danger', 'data-testid': 'confirm-ok' }, confirmLabel);
    const cancel = h('button', { type: 'button', 'data-testid': 'confirm-cancel' }, 'Cancel');
    const dlg = h('dialog', { class: 'confirm', 'data-testid': 'confirm-dialog', 'aria-labelledby': 'confirm-title' },
      h('h2', { id: 'confirm-title' }, title),
      h('p', {}, message),
      details.length ? h('ul', {}, details.map((d) => h('li', {}, d))) : null,
      h('div', { class: 'actions' }, cancel, ok));
    const done = (answer) => {
      dlg.close();
      dlg.remove();
      resolve(answer);
    };
    ok.addEventListener('click', () => done(true));
    cancel.addEventListener('click', () => done(false));
    dlg.addEventListener('cancel', (e) => {
      e.preventDefault();
      done(false);
    });
    document.body.appendChild(dlg);
    dlg.showModal();
    cancel.focus();
  });
}

// failure shows why a load failed, with a way to try again.
export function failure(err, retry) {
  return h('div', { class: 'error-box', role: 'alert', 'data-testid': 'load-error' },
    h('span', {}, errorText(err)), ' ',
    retry ? h('button', { type: 'button', 'data-testid': 'retry', onclick: retry }, 'Try again') : null);
}

// flash carries one message across a navigation ("Task deleted.").
let flashMessage = null;

export function setFlash(message) {
  flashMessage = message;
}

export function takeFlash() {
  const m = flashMessage;
  flashMessage = null;
  return m ? h('p', { class: 'success', role: 'status', 'data-testid': 'flash' }, m) : null;
}

// filterBox folds a filter form away on narrow screens unless a filter is in
// use, so the list comes first on a phone.
export function filterBox(form, active) {
  const wide = window.matchMedia('(min-width: 40rem)').matches;
  return h('details', { class: 'filter-box', open: active || wide, 'data-testid': 'filters' },
    h('summary', {}, active ? 'Filters (in use)' : 'Filters'), form);
}
