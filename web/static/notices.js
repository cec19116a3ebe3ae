// The signed-in person's own notifications, live: the stream shared by the
// bell, the inbox and the reminders shown in My tasks, and the unread count.
// liveFeed is the machinery, which the alert feed (session.js) shares.

import { get, openNotificationStream } from './api.js';

// liveFeed keeps a stream open (open(handlers) opens it) and a count of
// what is unread, asked of the server (count()) when the feed starts, when
// the stream (re)opens and recountMs after each item, so that it never
// drifts from the list. Each on* function returns a function that removes
// the listener.
export function liveFeed({ open, count, recountMs }) {
  let stream = null;
  let state = 'closed';
  let unread = null;
  let recountTimer = null;
  const itemListeners = new Set();
  const unreadListeners = new Set();
  const stateListeners = new Set();
  const tell = (listeners, value) => {
    for (const fn of listeners) fn(value);
  };
  const listen = (listeners, fn) => {
    listeners.add(fn);
    return () => listeners.delete(fn);
  };

  async function recount() {
    if (!stream) return;
    try {
      const { data, total } = await count();
      unread = total ?? data.length;
    } catch {
      return; // the count keeps its last value; the list shows errors
    }
    tell(unreadListeners, unread);
  }

  function recountSoon() {
    clearTimeout(recountTimer);
    recountTimer = setTimeout(recount, recountMs);
  }

  return {
    // start opens the stream (once) and counts what is unread.
    start() {
      if (stream) return;
      stream = open({
        onItem(item) {
          tell(itemListeners, item);
          recountSoon();
        },
        onState(s) {
          state = s;
          if (s === 'open') recountSoon();
          tell(stateListeners, s);
        },
      });
      recount();
    },
    stop() {
      if (stream) stream.close();
      stream = null;
      state = 'closed';
      unread = null;
      clearTimeout(recountTimer);
      tell(unreadListeners, unread);
    },
    recountSoon,
    onItem: (fn) => listen(itemListeners, fn),
    onUnread(fn) {
      const remove = listen(unreadListeners, fn);
      fn(unread);
      return remove;
    },
    onState(fn) {
      const remove = listen(stateListeners, fn);
      fn(state);
      return remove;
    },
  };
}

const notes = liveFeed({
  open: ({ onItem, onState }) => openNotificationStream({ onNotification: onItem, onState }),
  count: () => get('/api/notifications/', { unread: 'true', limit: 1 }),
  recountMs: 200,
});

export const { start, stop, recountSoon, onUnread } = notes;
export const onNotification = notes.onItem;
