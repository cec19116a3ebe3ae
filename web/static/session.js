// Who is signed in, and the live alert feed shared by the nav badge and the
// alerts screen.

import { get, openAlertStream } from './api.js';
import * as notices from './notices.js';

let me = null;

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
  alerts.stop();
  notices.stop();
}

export function homePath() {
  return hasRole('admin', 'manager') ? '/dashboard' : '/my-tasks';
}

// ---- live alerts ---------------------------------------------------------------

// The alert feed of admins and managers: recounted when an alert comes in
// or the stream (re)opens, the badge's only source.
const alerts = notices.liveFeed({
  open: ({ onItem, onState }) => openAlertStream({ onAlert: onItem, onState }),
  count: () => get('/api/alerts/', { acknowledged: 'false', limit: 1 }),
  recountMs: 300,
});

// startAlerts also starts everyone's own notifications (notices.js).
export function startAlerts() {
  notices.start();
  if (hasRole('admin', 'manager')) alerts.start();
}

export const { recountSoon, onUnread } = alerts;
export const onAlert = alerts.onItem;
export const onStreamState = alerts.onState;
