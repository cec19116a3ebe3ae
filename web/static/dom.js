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
// A deadline as people say it, in the viewer's zone: "Fri, Dec 4, 5:00 PM";
// the year only when it is not this one.
const dueFormat = new Intl.DateTimeFormat(undefined, { weekday: 'short', month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit' });
const dueYearFormat = new Intl.DateTimeFormat(undefined, { weekday: 'short', year: 'numeric', month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit' });
const zonedFormat = new Intl.DateTimeFormat(undefined, {
  weekday: 'short', year: 'numeric', month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit', timeZoneName: 'short',
});

export function exact(iso) {
  return iso ? exactFormat.format(new Date(iso)) : '';
}

export function short(iso) {
  return iso ? shortFormat.format(new Date(iso)) : '';
}

// zoned is a time with its zone named, for sentences people may forward.
export function zoned(iso) {
  return iso ? zonedFormat.format(new Date(iso)) : '';
}

export function dueDate(iso) {
  const d = new Date(iso);
  return (d.getFullYear() === new Date().getFullYear() ? dueFormat : dueYearFormat).format(d);
}

// span(ms) -> "45 s", "3 min", "5 h", "2 d".
export function span(ms) {
  const s = Math.abs(ms) / 1000;
  if (s < 60) return `${Math.max(1, Math.round(s))} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 48 * 3600) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} d`;
}

export function isOpen(status) {
  return status === 'pending' || status === 'in_progress';
}

// deadlinePassed: an open task whose deadline is behind us, which the
// sweep has not yet marked missed.
export function deadlinePassed(task, now = Date.now()) {
  return isOpen(task.status) && new Date(task.deadline).getTime() <= now;
}

// deadlineText says how much time is left or how late a task is.
function deadlineText(deadline, status, now = Date.now()) {
  const diff = new Date(deadline).getTime() - now;
  if (diff > 0) return `due in ${span(diff)}`;
  if (status === 'missed') return `missed ${span(diff)} ago`;
  if (status === 'completed') return `was due ${span(diff)} ago`;
  return `overdue by ${span(diff)}`;
}

function agoText(iso, now = Date.now()) {
  const diff = new Date(iso).getTime() - now;
  return diff > 0 ? `in ${span(diff)}` : `${span(diff)} ago`;
}

// Relative times are <time> elements refreshed by tickTimes(). A deadline
// also shows its date and hour, so that nobody has to hover (or cannot, on
// a touch screen) to learn it: "due in 6 d · Fri, Dec 4, 5:00 PM".
export function deadlineTime(deadline, status, testid = 'task-due') {
  const el = h('time', { datetime: deadline, title: exact(deadline), 'data-testid': testid, 'data-rel': 'deadline', 'data-status': status });
  el.textContent = `${deadlineText(deadline, status)} · ${dueDate(deadline)}`;
  return el;
}

// overdueBadge marks an open task whose deadline has passed; the sweep
// will mark it missed.
export function overdueBadge(task) {
  return deadlinePassed(task) ? h('span', { class: 'badge overdue', 'data-testid': 'task-overdue' }, 'Deadline passed') : null;
}

export function agoTime(iso, testid) {
  const el = h('time', { datetime: iso, title: exact(iso), 'data-testid': testid, 'data-rel': 'ago' });
  el.textContent = agoText(iso);
  return el;
}

export function tickTimes(root = document) {
  for (const el of root.querySelectorAll('time[data-rel]')) {
    const iso = el.getAttribute('datetime');
    el.textContent = el.dataset.rel === 'deadline' ? `${deadlineText(iso, el.dataset.status)} · ${dueDate(iso)}` : agoText(iso);
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

// linkify shows text with its http and https addresses as links, built as
// DOM nodes (never parsed as markup); anything else stays text. Trailing
// punctuation is left out of an address, as people end sentences with it.
export function linkify(text) {
  const out = [];
  const re = /\bhttps?:\/\/[^\s<>"]+/gi;
  let last = 0;
  for (const m of text.matchAll(re)) {
    let raw = m[0];
    for (;;) {
      const end = raw.at(-1);
      const open = { ')': '(', ']': '[', '}': '{' }[end];
      if (".,;:!?'".includes(end)) raw = raw.slice(0, -1);
      else if (open && raw.split(open).length < raw.split(end).length) raw = raw.slice(0, -1); // an address in brackets
      else break;
    }
    let href = null;
    try {
      const u = new URL(raw);
      if (u.protocol === 'http:' || u.protocol === 'https:') href = u.href;
    } catch {
      href = null;
    }
    if (!href) continue;
    if (m.index > last) out.push(text.slice(last, m.index));
    out.push(h('a', { href, rel: 'noopener noreferrer', 'data-testid': 'description-link' }, raw));
    last = m.index + raw.length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
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

export function empty(text, ...more) {
  return h('p', { class: 'empty', 'data-testid': 'empty' }, text, ...more);
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

// Page sizes a list offers; the URL's limit picks one.
const PAGE_SIZES = [25, 50, 100];

export function pageSize(query, fallback = 50) {
  const n = Number(query.get('limit'));
  return PAGE_SIZES.includes(n) ? n : fallback;
}

export function pageOffset(query) {
  const n = Number(query.get('offset'));
  return Number.isInteger(n) && n > 0 ? n : 0;
}

const numberFormat = new Intl.NumberFormat();

// pager: previous and next, the first, nearby and last page numbers, a box
// to jump to any page, the page size, and "51–100 of 1,500". It shows on an
// empty page too (a page past the end, or one emptied by deletions), so
// there is always a way back. go(offset, limit) moves.
export function pager({ offset, limit, total, count, go }) {
  if (total === null || total === undefined) total = offset + count;
  const pages = Math.max(1, Math.ceil(total / limit));
  const page = Math.floor(offset / limit) + 1;
  const last = Math.max(pages, page);
  const toPage = (n) => go((Math.min(Math.max(1, n), last) - 1) * limit, limit);
  const numbers = [...new Set([1, page - 1, page, page + 1, pages])].filter((n) => n >= 1 && n <= last).sort((a, b) => a - b);
  const items = [];
  numbers.forEach((n, i) => {
    if (i > 0 && n > numbers[i - 1] + 1) items.push(h('li', { class: 'gap', 'aria-hidden': 'true' }, '…'));
    items.push(h('li', {}, h('button', {
      type: 'button', class: n === page ? 'small current' : 'small', 'data-testid': `pager-page-${n}`,
      'aria-label': `Page ${n}`, 'aria-current': n === page ? 'page' : null, onclick: () => toPage(n),
    }, numberFormat.format(n))));
  });
  const jumpInput = h('input', { type: 'number', min: 1, max: last, value: page, inputmode: 'numeric', id: `pager-jump-${++uid}`, 'data-testid': 'pager-jump-input' });
  const jump = h('form', { class: 'pager-jump', 'data-testid': 'pager-jump' },
    h('label', { for: jumpInput.id }, 'Page'), jumpInput, h('span', {}, ` of ${numberFormat.format(pages)}`),
    h('button', { type: 'submit', class: 'small', 'data-testid': 'pager-jump-go' }, 'Go'));
  jump.addEventListener('submit', (e) => {
    e.preventDefault();
    const n = Number(jumpInput.value);
    if (Number.isInteger(n) && n >= 1) toPage(n);
  });
  const sizeId = `pager-size-${++uid}`;
  const size = h('select', { id: sizeId, 'data-testid': 'pager-size' }, PAGE_SIZES.map((n) => h('option', { value: String(n), selected: n === limit }, String(n))));
  size.addEventListener('change', () => {
    const n = Number(size.value);
    go(Math.floor(offset / n) * n, n);
  });
  const info = count
    ? `${numberFormat.format(offset + 1)}–${numberFormat.format(offset + count)} of ${numberFormat.format(total)}`
    : `Nothing on page ${numberFormat.format(page)}; ${numberFormat.format(total)} in all`;
  return h('nav', { class: 'pager', 'aria-label': 'Pages', 'data-testid': 'pager' },
    h('span', { 'data-testid': 'pager-info', 'aria-live': 'polite' }, info),
    h('div', { class: 'pager-pages' },
      h('button', { type: 'button', class: 'small', 'data-testid': 'pager-prev', disabled: offset <= 0, onclick: () => go(Math.max(0, Math.min(offset - limit, (pages - 1) * limit)), limit) }, '‹ Previous'),
      h('ul', {}, items),
      h('button', { type: 'button', class: 'small', 'data-testid': 'pager-next', disabled: offset + limit >= total, onclick: () => go(offset + limit, limit) }, 'Next ›')),
    jump,
    h('span', { class: 'pager-size' }, h('label', { for: sizeId }, 'Per page'), size));
}

// keepFocus runs rebuild (which replaces what area holds) and, if focus was
// on one of its controls, puts it on the same control of the new
// content, so that paging with the keyboard never drops focus to the page.
export async function keepFocus(area, rebuild) {
  const active = document.activeElement;
  const testid = active && area.contains(active) ? active.getAttribute('data-testid') : null;
  await rebuild();
  if (!testid || area.contains(document.activeElement)) return;
  const again = area.querySelector(`[data-testid="${CSS.escape(testid)}"]:not(:disabled)`);
  if (again) again.focus();
}

// focusFirst focuses the first candidate that is on the page and can take
// focus, and answers whether one did.
export function focusFirst(...candidates) {
  for (const el of candidates.flat()) {
    if (!el || !el.isConnected || el.disabled || el.closest('[hidden]')) continue;
    el.focus();
    if (document.activeElement === el) return true;
  }
  return false;
}

// liveFilters applies a filter form at once: selects, checkboxes and dates
// on change, text as the person types (after a pause), or, for a text box
// marked data-apply="change" (one whose value must be looked up), when
// they leave it or press Enter. apply(typing) hears whether the change was
// typing, which should not fill the history.
export function liveFilters(form, apply) {
  let timer = null;
  const typed = (el) => el.matches('input[type="search"], input[type="text"]') && el.dataset.apply !== 'change';
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    clearTimeout(timer);
    apply(false);
  });
  form.addEventListener('change', (e) => {
    if (typed(e.target)) return;
    clearTimeout(timer);
    apply(false);
  });
  form.addEventListener('input', (e) => {
    if (!typed(e.target)) return;
    clearTimeout(timer);
    timer = setTimeout(() => apply(true), 350);
  });
}

// confirmDialog asks before something that cannot be undone (tone
// "danger"), or that matters (tone "primary").
export function confirmDialog({ title, message, details = [], confirmLabel = 'Delete', tone = 'danger' }) {
  return new Promise((resolve) => {
    const ok = h('button', { type: 'button', class: tone, 'data-testid': 'confirm-ok' }, confirmLabel);
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

// loadInto shows that area is loading, then what show(data) builds from
// what load() answers, or why it failed with a way to try again. An
// answer the page no longer wants (isCurrent() false) is dropped.
export async function loadInto(area, load, show, isCurrent = () => true) {
  replace(area, loading());
  let data;
  try {
    data = await load();
  } catch (err) {
    if (err.name !== 'AbortError') replace(area, failure(err, () => loadInto(area, load, show, isCurrent)));
    return;
  }
  if (isCurrent()) replace(area, show(data));
}

// copyField shows a value to copy, read-only, with a Copy button. The
// clipboard may be refused (an insecure origin, a browser setting): the
// text is then selected for the person to copy by hand.
export function copyField({ label, value, testid }) {
  const input = h('input', { type: 'text', readOnly: true, value, class: 'secret', 'data-testid': testid, 'aria-label': label, spellcheck: 'false' });
  const status = h('span', { class: 'hint', role: 'status', 'data-testid': `${testid}-copied` });
  const button = h('button', { type: 'button', 'data-testid': `${testid}-copy` }, 'Copy');
  button.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(input.value);
      status.textContent = 'Copied.';
    } catch {
      input.focus();
      input.select();
      status.textContent = 'Selected: press Ctrl+C (⌘C) to copy.';
    }
  });
  input.addEventListener('focus', () => input.select());
  return h('div', { class: 'copy-field' }, input, button, status);
}

// showSecret puts a secret the server shows only once (a new token, a
// signing secret) in area, to copy, and focuses its Copy button. testid
// names the copy field; its panel and Done button are testid-panel and
// testid-done. note, if any, goes under the field; done runs on Done.
export function showSecret(area, { testid, title, lead, label, value, note = null, done }) {
  replace(area, h('div', { class: 'card new-token', role: 'status', 'data-testid': `${testid}-panel` },
    h('h2', {}, title),
    h('p', {}, h('strong', {}, 'Copy it now: it is shown this once.'), ' ', lead),
    copyField({ label, value, testid }),
    note,
    h('div', { class: 'actions' }, h('button', { type: 'button', 'data-testid': `${testid}-done`, onclick: done }, 'Done'))));
  area.querySelector(`[data-testid="${CSS.escape(testid)}-copy"]`).focus();
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
