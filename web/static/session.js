// Who is signed in, and the live alert feed shared by the nav badge and the
// alerts screen.

import { get, openAlertStream } from './api.js';
import * as notices from './notices.js';

let me = null;
let stream = null;
let streamState = 'closed';
let unread = null;
let recountTimer = null;
const alertListeners = new Set();
const unreadListeners = new Set();
const stateListeners = new Set();

export function currentUser() {
  return me;
}

export function role() {
  return me && me.role ? me.role.name : null;
}

export function hasRole(...names) {
  return names.includes(role());
}

export async function loadMe() {
  const { data } = await get('/api/user/me/');
  me = data;
  return me;
}

export function forgetMe() {
  me = null;
  stopAlerts();
  notices.stop();
}

export function homePath() {
  return hasRole('admin', 'manager') ? '/dashboard' : '/my-tasks';
}

// ---- live alerts ---------------------------------------------------------------

// startAlerts also starts everyone's own notifications (notices.js).
export function startAlerts() {
  notices.start();
  if (stream || !hasRole('admin', 'manager')) return;
  stream = openAlertStream({
    onAlert(alert) {
      for (const fn of alertListeners) fn(alert);
      recountSoon();
    },
    onState(state) {
      streamState = state;
      if (state === 'open') recountSoon();
      for (const fn of stateListeners) fn(state);
    },
  });
  recount();
}

function stopAlerts() {
  if (stream) stream.close();
  stream = null;
  streamState = 'closed';
  unread = null;
  clearTimeout(recountTimer);
  for (const fn of unreadListeners) fn(unread);
}

// Each listener function returns a function that removes it.
export function onAlert(fn) {
  alertListeners.add(fn);
  return () => alertListeners.delete(fn);
}

export function onStreamState(fn) {
  stateListeners.add(fn);
  fn(streamState);
  return () => stateListeners.delete(fn);
}

export function onUnread(fn) {
  unreadListeners.add(fn);
  fn(unread);
  return () => unreadListeners.delete(fn);
}

// recount asks the server for the number of unacknowledged alerts; it is
// the badge's only source, so it never drifts from the list.
async function recount() {
  if (!hasRole('admin', 'manager')) return;
  try {
    const { data, total } = await get('/api/alerts/', { acknowledged: 'false', limit: 1 });
    unread = total ?? data.length;
  } catch {
    return; // the badge keeps its last value; the alerts screen shows errors
  }
  for (const fn of unreadListeners) fn(unread);
}

export function recountSoon() {
  clearTimeout(recountTimer);
  recountTimer = setTimeout(recount, 300);
}
