// API client: JSON over fetch, JWT handling with silent refresh, and the
// authenticated alert event stream.
//
// Token storage: the access token lives only in this module's memory (never
// in Web Storage, so a script injected elsewhere cannot lift it from there
// and it dies with the page). The refresh token lives in an HttpOnly cookie
// that the server sets at sign-in and that only the token endpoints
// receive: no script, ours included, can read it, and every tab of the
// browser shares it, so a link opened in a new tab is signed in. All that
// the page keeps is a non-secret hint in local storage that a session
// exists. Tokens are only ever sent in the Authorization header (and the
// cookie), never in URLs.

const HINT_KEY = 'tasktrack.session';
const EARLY_MS = 30_000; // refresh this long before the access token expires

const SESSION_ENDED = 'Your session has ended — it expired, or your account was deactivated or its password changed. Sign in again.';
const SIGNED_OUT_ELSEWHERE = 'You signed out in another tab.';

let access = null;
let accessExpiresAt = 0; // local clock, ms
let refreshing = null; // the refresh in flight, shared by every caller
let refreshTimer = null;
let reauth = null; // asks the person to sign in again in place; see setReauth
let recovering = null; // the sign-in-again in progress, shared by every caller
const sessionEndHandlers = [];

export class ApiError extends Error {
  constructor(status, body, headers) {
    super(describe(status, body, headers));
    this.status = status;
    this.body = body;
    this.headers = headers;
  }
}

// SessionLost is a refresh the server refused: the session is over unless
// the person signs in again.
class SessionLost extends ApiError {}

function describe(status, body, headers) {
  if (body && typeof body.detail === 'string') {
    if (status === 429) return `${body.detail} ${retryText(headers)}`.trim();
    return body.detail;
  }
  switch (status) {
    case 0: return 'The server could not be reached. Check your connection and try again.';
    case 401: return 'You are not signed in.';
    case 403: return 'You are not allowed to do this.';
    case 404: return 'Not found.';
    case 409: return 'This cannot be done in the current state.';
    case 413: return 'The request is too large.';
    case 429: return `Too many attempts. ${retryText(headers)}`.trim();
    case 503: return 'The service is unavailable right now. Try again shortly.';
    default: return status >= 500 ? `Server error (${status}). Try again later.` : `Request failed (${status}).`;
  }
}

export function retryText(headers) {
  const after = headers && headers.get('Retry-After');
  if (!after) return 'Try again later.';
  const secs = Number(after);
  return Number.isFinite(secs) ? `Try again in ${Math.ceil(secs)} s.` : 'Try again later.';
}

// ---- tokens ---------------------------------------------------------------

function claims(token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), '=')));
  } catch {
    return {};
  }
}

// lifetimeEnd measures a token's life from its own iat/exp and adds it to the
// local clock, so a skewed client clock does not matter.
function lifetimeEnd(token) {
  const c = claims(token);
  if (typeof c.exp !== 'number') return Date.now() + 60_000;
  const life = typeof c.iat === 'number' ? (c.exp - c.iat) * 1000 : c.exp * 1000 - Date.now();
  return Date.now() + life;
}

function hinted() {
  try {
    return localStorage.getItem(HINT_KEY) === '1';
  } catch {
    return false;
  }
}

function setHint(on) {
  try {
    if (on) localStorage.setItem(HINT_KEY, '1');
    else localStorage.removeItem(HINT_KEY);
  } catch {
    // storage disabled: a new tab asks the person to sign in
  }
}

function storeAccess(token) {
  access = token;
  accessExpiresAt = lifetimeEnd(token);
  setHint(true);
  scheduleRefresh();
}

function forget() {
  access = null;
  accessExpiresAt = 0;
  clearTimeout(refreshTimer);
  refreshTimer = null;
}

function scheduleRefresh() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(proactiveRefresh, Math.max(5_000, accessExpiresAt - Date.now() - EARLY_MS));
}

function proactiveRefresh() {
  ensureAccess(true).catch((err) => {
    // After a network failure, try again a little later; a lost session
    // has been dealt with by ensureAccess.
    if (err.status !== 401 && hasSession()) refreshTimer = setTimeout(proactiveRefresh, 15_000);
  });
}

export function hasSession() {
  return !!(access || hinted());
}

export function onSessionEnd(fn) {
  sessionEndHandlers.push(fn);
}

// setReauth installs fn(message) -> Promise<boolean>, which asks the person
// to sign in again without leaving the page (what they typed stays); it
// answers whether they did. Requests waiting on the lost session carry on
// once it answers true.
export function setReauth(fn) {
  reauth = fn;
}

function endSession(message) {
  const had = hasSession();
  forget();
  setHint(false);
  if (had) for (const fn of sessionEndHandlers) fn(message);
}

// Tabs tell each other when the person signs out, so that none of them
// keeps showing data after it.
const tabs = typeof BroadcastChannel === 'function' ? new BroadcastChannel('tasktrack') : null;
if (tabs) {
  tabs.onmessage = (e) => {
    if (e.data === 'signed-out') endSession(SIGNED_OUT_ELSEWHERE);
  };
}

// refresh swaps the refresh cookie for a new access token. Concurrent
// callers in this tab share one request, and tabs take turns (a Web Lock),
// since the cookie's token is spent once it rotates: two tabs spending the
// same one would look like theft and sign everyone out.
function refresh() {
  if (!refreshing) {
    const run = () => doRefresh();
    const locked = navigator.locks ? navigator.locks.request('tasktrack-refresh', run) : run();
    refreshing = locked.finally(() => {
      refreshing = null;
    });
  }
  return refreshing;
}

async function doRefresh() {
  let res;
  try {
    res = await fetch('/api/token/refresh/', {
      method: 'POST',
      headers: { Accept: 'application/json' },
      cache: 'no-store',
      credentials: 'same-origin',
    });
  } catch {
    throw new ApiError(0, null);
  }
  const body = await readBody(res);
  if (res.ok && body && body.access) {
    storeAccess(body.access);
    return;
  }
  // 401: the cookie's token was refused; 400: there is no cookie (it
  // expired, or the person signed out in another tab).
  if (res.status === 401 || res.status === 400) throw new SessionLost(401, { detail: SESSION_ENDED });
  throw new ApiError(res.status, body, res.headers);
}

async function freshAccess() {
  if (!access || Date.now() >= accessExpiresAt - 5_000) await refresh();
  return access;
}

// ensureAccess answers a usable access token. When the session is lost it
// asks the person to sign in again in place, if the page can, and ends the
// session otherwise (or when they decline). force refreshes even a token
// that is still good.
async function ensureAccess(force = false) {
  for (;;) {
    try {
      if (force) {
        force = false;
        await refresh();
      }
      return await freshAccess();
    } catch (err) {
      if (!(err instanceof SessionLost)) throw err;
      if (!(await recover(err.message))) throw new ApiError(401, { detail: err.message });
    }
  }
}

async function recover(message) {
  if (!recovering) {
    forget();
    const ask = reauth ? Promise.resolve(reauth(message)).catch(() => false) : Promise.resolve(false);
    recovering = ask.then((ok) => {
      if (!ok) endSession(message);
      return !!ok && !!access;
    }).finally(() => {
      recovering = null;
    });
  }
  return recovering;
}

// ---- requests ---------------------------------------------------------------

async function readBody(res) {
  if (res.status === 204) return null;
  const type = res.headers.get('Content-Type') || '';
  try {
    if (type.includes('json')) return await res.json();
    const text = await res.text();
    return text ? { detail: text.trim().slice(0, 300) } : null;
  } catch {
    return null;
  }
}

function url(path, query) {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === '') continue;
    params.set(k, Array.isArray(v) ? v.join(',') : String(v));
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

// authorized fetches with the session's access token. An access token the
// server refuses is refreshed and the call retried; if the session is lost,
// the person is asked to sign in again in place and the call then carries
// on (so a form's draft is sent as typed); if they do not, every
// session-end handler hears why.
async function authorized(target, init) {
  for (let attempt = 0; ; attempt++) {
    const token = await ensureAccess();
    let res;
    try {
      res = await fetch(target, { ...init, headers: { ...init.headers, Authorization: `Bearer ${token}` }, cache: 'no-store' });
    } catch (err) {
      if (err && err.name === 'AbortError') throw err;
      throw new ApiError(0, null);
    }
    if (res.status !== 401) return res;
    await readBody(res);
    if (attempt < 2) {
      if (access === token) access = null; // make ensureAccess refresh before the retry
      continue;
    }
    endSession(SESSION_ENDED);
    throw new ApiError(401, { detail: SESSION_ENDED });
  }
}

// request performs an authenticated call. It answers {data, total} (total
// from X-Total-Count, or null) or throws ApiError.
export async function request(method, path, { body, query, signal } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await authorized(url(path, query), {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal,
  });
  const data = await readBody(res);
  if (!res.ok) throw new ApiError(res.status, data, res.headers);
  const total = res.headers.get('X-Total-Count');
  return { data, total: total === null ? null : Number(total) };
}

// download fetches a list as CSV and hands it to the browser as a file,
// named as the server names it. The token goes in the Authorization
// header, never in a link; the file passes through the page's memory.
export async function download(path, query, signal) {
  const res = await authorized(url(path, { ...query, format: 'csv' }), { headers: { Accept: 'text/csv' }, signal });
  if (!res.ok) throw new ApiError(res.status, await readBody(res), res.headers);
  const blob = await res.blob();
  const m = /filename="([^"]+)"/.exec(res.headers.get('Content-Disposition') || '');
  const name = m ? m[1] : 'export.csv';
  const href = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = href;
  a.download = name;
  a.hidden = true;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 60_000);
  return name;
}

export const get = (path, query, signal) => request('GET', path, { query, signal });
export const post = (path, body) => request('POST', path, { body: body ?? {} });
export const patch = (path, body) => request('PATCH', path, { body });
export const del = (path) => request('DELETE', path);

// fetchAll walks every page of a list.
export async function fetchAll(path, query = {}, signal) {
  const limit = 1000;
  const out = [];
  for (let offset = 0; ; offset += limit) {
    const { data, total } = await get(path, { ...query, limit, offset }, signal);
    out.push(...data);
    if (data.length < limit || (total !== null && out.length >= total)) return out;
  }
}

// ---- sign in and out -----------------------------------------------------------

// login signs in; the server sets the refresh cookie and answers the
// access token alone.
export async function login(username, password) {
  let res;
  try {
    res = await fetch('/api/token/', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-Refresh-Cookie': '1' },
      body: JSON.stringify({ username, password }),
      cache: 'no-store',
      credentials: 'same-origin',
    });
  } catch {
    throw new ApiError(0, null);
  }
  const body = await readBody(res);
  if (!res.ok || !body || !body.access) throw new ApiError(res.status, body, res.headers);
  storeAccess(body.access);
}

// logout revokes the session's token family on the server, which also
// clears the cookie, and tells the other tabs; the local session is
// forgotten whatever the server says.
export async function logout() {
  const had = hasSession();
  forget();
  setHint(false);
  if (!had) return;
  if (tabs) tabs.postMessage('signed-out');
  try {
    await fetch('/api/token/logout/', { method: 'POST', cache: 'no-store', credentials: 'same-origin', keepalive: true });
  } catch {
    // offline: the token expires on its own
  }
}

// ---- alert stream ----------------------------------------------------------------

// openAlertStream reads /api/alerts/stream/ with fetch so it can send the
// Authorization header (EventSource cannot), parses text/event-stream itself,
// and reconnects with Last-Event-ID after errors, backing off up to 30 s.
// onState hears "connecting", "open", "retrying" or "closed". path and
// event name another stream of the same kind, and its events.
export function openAlertStream({ onAlert, onState = () => {}, path = '/api/alerts/stream/', event = 'alert' }) {
  let closed = false;
  let controller = null;
  let lastEventId = '';
  let retryBase = 1000;
  let failures = 0;
  let sleepTimer = null;
  let wakeUp = null;

  const sleep = (ms) => new Promise((resolve) => {
    wakeUp = resolve;
    sleepTimer = setTimeout(resolve, ms);
  });

  async function connectOnce() {
    const token = await ensureAccess();
    controller = new AbortController();
    const headers = { Accept: 'text/event-stream', Authorization: `Bearer ${token}` };
    if (lastEventId) headers['Last-Event-ID'] = lastEventId;
    const res = await fetch(path, { headers, signal: controller.signal, cache: 'no-store' });
    if (res.status === 401) {
      if (access === token) access = null;
      await ensureAccess(); // throws if the session is over
      return;
    }
    if (res.status === 403) {
      closed = true;
      return;
    }
    if (!res.ok || !res.body) throw new ApiError(res.status, await readBody(res), res.headers);
    failures = 0;
    onState('open');
    await readEvents(res.body, controller);
  }

  // readEvents follows the WHATWG event-stream parsing rules. A watchdog
  // drops a connection that has been silent for three heartbeats.
  async function readEvents(stream, ctl) {
    const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    let data = [];
    let type = '';
    let watchdog = null;
    const pet = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => ctl.abort(), 45_000);
    };
    const line = (text) => {
      if (text === '') {
        if (data.length) {
          const ev = { type: type || 'message', data: data.join('\n'), id: lastEventId };
          if (ev.type === event) {
            try {
              onAlert(JSON.parse(ev.data));
            } catch {
              // a malformed event is skipped, the stream goes on
            }
          }
        }
        data = [];
        type = '';
        return;
      }
      if (text.startsWith(':')) return;
      const colon = text.indexOf(':');
      const name = colon < 0 ? text : text.slice(0, colon);
      let value = colon < 0 ? '' : text.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (name === 'data') data.push(value);
      else if (name === 'event') type = value;
      else if (name === 'id' && !value.includes('\0')) lastEventId = value;
      else if (name === 'retry' && /^\d+$/.test(value)) retryBase = Math.max(500, Number(value));
    };
    pet();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        pet();
        buf += value;
        for (;;) {
          const m = /\r\n|\r|\n/.exec(buf);
          if (!m) break;
          if (m[0] === '\r' && m.index === buf.length - 1) break; // may be half of \r\n
          line(buf.slice(0, m.index));
          buf = buf.slice(m.index + m[0].length);
        }
      }
    } finally {
      clearTimeout(watchdog);
      reader.cancel().catch(() => {});
    }
  }

  (async () => {
    while (!closed) {
      onState('connecting');
      try {
        await connectOnce();
      } catch (err) {
        if (err && err.status === 401) {
          closed = true; // the session ended; its handlers take over
          break;
        }
      }
      if (closed) break;
      failures++;
      onState('retrying');
      const delay = Math.min(30_000, retryBase * 2 ** Math.min(failures - 1, 5));
      await sleep(delay / 2 + Math.random() * (delay / 2));
    }
    onState('closed');
  })();

  return {
    close() {
      closed = true;
      clearTimeout(sleepTimer);
      if (wakeUp) wakeUp();
      if (controller) controller.abort();
    },
  };
}

// openNotificationStream reads the caller's own notifications, live, the
// way openAlertStream reads alerts.
export function openNotificationStream({ onNotification, onState }) {
  return openAlertStream({ onAlert: onNotification, onState, path: '/api/notifications/stream/', event: 'notification' });
}
