// Lists that stay live: rows keyed by id that are rebuilt when their item
// changes (an action in the row, a fresh copy of the list, an event from a
// stream) or when a task's deadline passes, with the focus kept where the
// person was working; and the polling that keeps a list on screen fresh.

import { isOpen } from './dom.js';

// A list on screen asks the server again this often while it is visible,
// and more often while it shows a task whose deadline has passed: the
// sweep (every minute by default) is about to mark it missed, and nothing
// else tells a user's page when it does.
const POLL_MS = 30_000;
const URGENT_POLL_MS = 5_000;
const MAX_TIMER_MS = 2 ** 31 - 1;

const FOCUSABLE = 'a[href], button, input, select, textarea, [tabindex]:not([tabindex="-1"])';

function focusables(el) {
  return [...el.querySelectorAll(FOCUSABLE)].filter((c) => !c.disabled && !c.closest('[hidden]'));
}

// LiveRows keeps the rows of parent, one per item, built by build(item);
// key(item) tells when an item has changed. onEmpty() answers where focus
// goes when the last row goes; onPass(item) hears when a task's deadline
// passes on screen.
export class LiveRows {
  constructor(parent, { build, key, onEmpty = () => null, onPass = () => {}, idOf = (item) => item.id }) {
    Object.assign(this, { parent, build, key, onEmpty, onPass, idOf });
    this.rows = new Map(); // id -> {item, el, key, timer}
    this.kept = new Set(); // ids shown although a fresh list left them out
  }

  // withVanished answers a fresh copy of the list with the items on screen
  // that it left out but that lookup(item) still finds (a task just
  // completed or missed, which the filter no longer selects), each after
  // the item it followed: the person sees what became of it rather than a
  // row that vanishes. lookup answers null for an item that is gone. Such
  // rows stay until the list is loaded anew (see reset).
  async withVanished(fresh, lookup) {
    const ids = new Set(fresh.map(this.idOf));
    const shown = [...this.parent.children].map((el) => this.rows.get(el.dataset.rowId)).filter(Boolean);
    const vanished = shown.filter((row) => !ids.has(this.idOf(row.item)));
    const found = await Promise.all(vanished.map((row) => (this.kept.has(this.idOf(row.item)) ? row.item : lookup(row.item))));
    const now = new Map(vanished.map((row, i) => [this.idOf(row.item), found[i]]));
    const out = [...fresh];
    let prev = null;
    for (const row of shown) {
      const id = this.idOf(row.item);
      if (!now.has(id)) {
        prev = id;
        continue;
      }
      const item = now.get(id);
      if (!item) continue;
      this.kept.add(id);
      out.splice(prev === null ? 0 : out.findIndex((x) => this.idOf(x) === prev) + 1, 0, item);
      prev = id;
    }
    return out;
  }

  // reset forgets the rows kept by withVanished, for a list loaded anew.
  reset() {
    this.kept.clear();
  }

  items() {
    return [...this.rows.values()].map((r) => r.item);
  }

  has(id) {
    return this.rows.has(id);
  }

  // urgent reports whether a row shows an open task whose deadline has
  // passed.
  urgent() {
    const now = Date.now();
    return this.items().some((t) => t.deadline && isOpen(t.status) && new Date(t.deadline).getTime() <= now);
  }

  #make(item) {
    const row = { item, el: this.build(item), key: this.key(item), timer: null };
    row.el.dataset.rowId = this.idOf(item);
    // A task's row is rebuilt the moment its deadline passes.
    if (item.deadline && isOpen(item.status)) {
      const ms = new Date(item.deadline).getTime() - Date.now();
      if (ms > 0 && ms < MAX_TIMER_MS) {
        row.timer = setTimeout(() => {
          this.update(item);
          this.onPass(item);
        }, ms + 20);
      }
    }
    return row;
  }

  #drop(id) {
    const row = this.rows.get(id);
    if (row) clearTimeout(row.timer);
    this.rows.delete(id);
    this.kept.delete(id);
  }

  // set shows items in their order, rebuilding only the rows whose item
  // changed. Focus stays on the control it was on; if that row went, it
  // moves to the same control of the row that took its place.
  set(items) {
    const before = this.#focus();
    const ids = new Set(items.map(this.idOf));
    for (const id of [...this.rows.keys()]) if (!ids.has(id)) this.#drop(id);
    const els = items.map((item) => {
      const id = this.idOf(item);
      const old = this.rows.get(id);
      if (old && old.key === this.key(item)) {
        old.item = item;
        return old.el;
      }
      if (old) clearTimeout(old.timer);
      const row = this.#make(item);
      this.rows.set(id, row);
      return row.el;
    });
    els.forEach((el, i) => {
      if (this.parent.children[i] !== el) this.parent.insertBefore(el, this.parent.children[i] || null);
    });
    while (this.parent.children.length > els.length) this.parent.lastElementChild.remove();
    this.#restore(before);
  }

  // update rebuilds one item's row. focusFrom, the data-testid of the
  // control that acted, moves focus to the row's next action after it.
  update(item, { focusFrom } = {}) {
    const id = this.idOf(item);
    const old = this.rows.get(id);
    if (!old) return;
    const before = this.#focus();
    clearTimeout(old.timer);
    const row = this.#make(item);
    this.rows.set(id, row);
    old.el.replaceWith(row.el);
    if (focusFrom) this.#focusNextAction(row.el, focusFrom);
    else this.#restore(before);
  }

  // remove takes an item's row away; focus goes to the same control of the
  // next row (or the previous one), never to the page.
  remove(id) {
    const row = this.rows.get(id);
    if (!row) return;
    const before = this.#focus();
    this.#drop(id);
    row.el.remove();
    this.#restore(before);
  }

  #focus() {
    const active = document.activeElement;
    if (!active || !this.parent.contains(active)) return null;
    const rowEl = [...this.parent.children].find((el) => el.contains(active));
    return {
      el: active,
      id: rowEl ? rowEl.dataset.rowId : null,
      index: rowEl ? [...this.parent.children].indexOf(rowEl) : -1,
      testid: active.getAttribute('data-testid'),
    };
  }

  #restore(before) {
    if (!before) return;
    if (before.el.isConnected && !before.el.disabled) {
      if (document.activeElement !== before.el) before.el.focus({ preventScroll: true });
      return;
    }
    const rows = [...this.parent.children];
    const same = rows.find((el) => el.dataset.rowId === before.id);
    const candidates = same ? [same] : [rows[before.index], rows[before.index - 1]].filter(Boolean);
    for (const rowEl of candidates) {
      const control = before.testid && rowEl.querySelector(`[data-testid="${CSS.escape(before.testid)}"]`);
      const target = control && !control.disabled ? control : focusables(rowEl)[0];
      if (target) {
        target.focus({ preventScroll: same === rowEl });
        return;
      }
    }
    const fallback = this.onEmpty();
    if (fallback) fallback.focus();
  }

  #focusNextAction(rowEl, testid) {
    const all = [...rowEl.querySelectorAll(FOCUSABLE)];
    const at = all.findIndex((c) => c.getAttribute('data-testid') === testid);
    const usable = (c) => !c.disabled && !c.closest('[hidden]');
    const after = at < 0 ? [] : all.slice(at + 1).filter(usable);
    const before = at < 0 ? [] : all.slice(0, at).filter(usable);
    const target = after.find((c) => c.tagName === 'BUTTON') || before.find((c) => c.tagName === 'BUTTON') || all.find(usable);
    if (target) target.focus();
    else this.#restore({ el: rowEl, id: rowEl.dataset.rowId, index: [...this.parent.children].indexOf(rowEl), testid });
  }

  destroy() {
    for (const id of [...this.rows.keys()]) this.#drop(id);
  }
}

// keepFresh calls reload() every while the page is visible, at once when
// it becomes visible again, and soon after soon(); urgent() asks for the
// shorter interval. It stops with the view.
export function keepFresh(ctx, reload, { urgent = () => false } = {}) {
  let timer = null;
  let running = false;
  const schedule = (ms) => {
    clearTimeout(timer);
    if (!ctx.signal.aborted) timer = setTimeout(tick, ms ?? (urgent() ? URGENT_POLL_MS : POLL_MS));
  };
  const tick = async () => {
    if (ctx.signal.aborted) return;
    if (document.visibilityState === 'visible' && !running) {
      running = true;
      try {
        await reload();
      } catch {
        // the next round tries again; the list shows what it had
      } finally {
        running = false;
      }
    }
    schedule();
  };
  const onVisible = () => {
    if (document.visibilityState === 'visible') schedule(0);
  };
  document.addEventListener('visibilitychange', onVisible);
  ctx.onCleanup(() => {
    clearTimeout(timer);
    document.removeEventListener('visibilitychange', onVisible);
  });
  schedule();
  return {
    soon: () => schedule(300),
    // hurry shortens the wait when urgent() has just become true.
    hurry: () => {
      if (urgent()) schedule(URGENT_POLL_MS);
    },
  };
}
