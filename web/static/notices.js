// The signed-in person's own notifications, live: the stream shared by the
// bell, the inbox and the reminders shown in My tasks, and the unread count.

import { get, openNotificationStream } from './api.js';

let stream = null;
let unread = null;
let recountTimer = null;
const noteListeners = new Set();
const unreadListeners = new Set();

// start opens the stream (once) and counts what is unread.
export function start() {
  if (stream) return;
  stream = openNotificationStream({
    onNotification(n) {
      for (const fn of noteListeners) fn(n);
      recountSoon();
    },
    onState(state) {
      if (state === 'open') recountSoon();
    },
  });
  recount();
}

export function stop() {
  if (stream) stream.close();
  stream = null;
  unread = null;
  clearTimeout(recountTimer);
  for (const fn of unreadListeners) fn(unread);
}

// Each listener function returns a function that removes it.
export function onNotification(fn) {
  noteListeners.add(fn);
  return () => noteListeners.delete(fn);
}

export function onUnread(fn) {
  unreadListeners.add(fn);
  fn(unread);
  return () => unreadListeners.delete(fn);
}

// recount asks the server how many are unread: the bell's only source, so
// it never drifts from the inbox.
async function recount() {
  if (!stream) return;
  try {
    const { data, total } = await get('/api/notifications/', { unread: 'true', limit: 1 });
    unread = total ?? data.length;
  } catch {
    return; // the bell keeps its last value; the inbox shows errors
  }
  for (const fn of unreadListeners) fn(unread);
}

export function recountSoon() {
  clearTimeout(recountTimer);
  recountTimer = setTimeout(recount, 200);
}
