// API client: JSON over fetch, JWT handling with silent refresh, and the
// authenticated alert event stream.
//
// Token storage: the access token lives only in this module's memory (never
// in Web Storage, so a script injected elsewhere cannot lift it from there
// and it dies with the page). The refresh token is kept in sessionStorage so
// a reload in the same tab keeps the session while closing the tab ends it.
// Tokens are only ever sent in request bodies and the Authorization header,
// never in URLs.

const REFRESH_KEY = 'tasktrack.refresh';
const EARLY_MS = 30_000; // refresh this long before the access token expires

const SESSION_ENDED = 'Your session has ended — your account may have been deactivated or your password changed. Sign in again.';
const SESSION_EXPIRED = 'Your session has expired. Sign in again.';

let access = null;
let accessExpiresAt = 0; // local clock, ms
let refreshing = null; // the refresh in flight, shared by every caller
let refreshTimer = null;
const sessionEndHandlers = [];

export class ApiError extends Error {
  constructor(status, body, headers) {
    super(describe(status, body, headers));
    this.status = status;
    this.body = body;
    this.headers = headers;
  }
}

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

function storedRefresh() {
  try {
    return sessionStorage.getItem(REFRESH_KEY);
  } catch {
    return null;
  }
}

function storeTokens(pair) {
  access = pair.access;
  accessExpiresAt = lifetimeEnd(pair.access);
  try {
    sessionStorage.setItem(REFRESH_KEY, pair.refresh);
    sessionStorage.setItem(REFRESH_KEY + '.end', String(lifetimeEnd(pair.refresh)));
  } catch {
    // storage disabled: the session lasts as long as the page
  }
  scheduleRefresh();
}

function forget() {
  access = null;
  accessExpiresAt = 0;
  clearTimeout(refreshTimer);
  refreshTimer = null;
  try {
    sessionStorage.removeItem(REFRESH_KEY);
    sessionStorage.removeItem(REFRESH_KEY + '.end');
  } catch {
    // nothing stored
  }
}

function scheduleRefresh() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(proactiveRefresh, Math.max(5_000, accessExpiresAt - Date.now() - EARLY_MS));
}

function proactiveRefresh() {
  refresh().catch((err) => {
    // A refused refresh has ended the session through endSession; after a
    // network failure, try again a little later.
    if (err.status !== 401 && storedRefresh()) refreshTimer = setTimeout(proactiveRefresh, 15_000);
  });
}

export function hasSession() {
  return !!(access || storedRefresh());
}

export function onSessionEnd(fn) {
  sessionEndHandlers.push(fn);
}

function endSession(message) {
  const had = hasSession();
  forget();
  if (had) for (const fn of sessionEndHandlers) fn(message);
}

function refreshExpired() {
  try {
    const end = Number(sessionStorage.getItem(REFRESH_KEY + '.end'));
    return end > 0 && Date.now() >= end;
  } catch {
    return false;
  }
}

// refresh swaps the refresh token for a new pair; concurrent callers share
// one request, since the old token is spent once it rotates.
function refresh() {
  if (!refreshing) {
    refreshing = doRefresh().finally(() => {
      refreshing = null;
    });
  }
  return refreshing;
}

async function doRefresh() {
  const token = storedRefresh();
  if (!token) {
    endSession(SESSION_EXPIRED);
    throw new ApiError(401, { detail: SESSION_EXPIRED });
  }
  let res;
  try {
    res = await fetch('/api/token/refresh/', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ refresh: token }),
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, null);
  }
  const body = await readBody(res);
  if (res.ok && body && body.access) {
    storeTokens(body);
    return;
  }
  if (res.status === 401) {
    const message = refreshExpired() ? SESSION_EXPIRED : SESSION_ENDED;
    endSession(message);
    throw new ApiError(401, { detail: message });
  }
  throw new ApiError(res.status, body, res.headers);
}

async function freshAccess() {
  if (!access || Date.now() >= accessExpiresAt - 5_000) await refresh();
  return access;
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

// request performs an authenticated call. It answers {data, total} (total
// from X-Total-Count, or null) or throws ApiError. An access token the server
// refuses is refreshed once and the call retried; if the refresh is refused
// too, the session has ended and every session-end handler hears why.
export async function request(method, path, { body, query, signal } = {}) {
  for (let attempt = 0; ; attempt++) {
    const token = await freshAccess();
    const headers = { Accept: 'application/json', Authorization: `Bearer ${token}` };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let res;
    try {
      res = await fetch(url(path, query), {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
        cache: 'no-store',
      });
    } catch (err) {
      if (err && err.name === 'AbortError') throw err;
      throw new ApiError(0, null);
    }
    const data = await readBody(res);
    if (res.status === 401) {
      if (attempt === 0) {
        access = null; // make freshAccess refresh before the retry
        continue;
      }
      endSession(SESSION_ENDED);
      throw new ApiError(401, { detail: SESSION_ENDED });
    }
    if (!res.ok) throw new ApiError(res.status, data, res.headers);
    const total = res.headers.get('X-Total-Count');
    return { data, total: total === null ? null : Number(total) };
  }
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

export async function login(username, password) {
  let res;
  try {
    res = await fetch('/api/token/', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ username, password }),
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, null);
  }
  const body = await readBody(res);
  if (!res.ok || !body || !body.access) throw new ApiError(res.status, body, res.headers);
  storeTokens(body);
}

// logout revokes the refresh token's family on the server; the local session
// is forgotten whatever the server says.
export async function logout() {
  const token = storedRefresh();
  forget();
  if (!token) return;
  try {
    await fetch('/api/token/logout/', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ refresh: token }),
      cache: 'no-store',
      keepalive: true,
    });
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
    const token = await freshAccess();
    controller = new AbortController();
    const headers = { Accept: 'text/event-stream', Authorization: `Bearer ${token}` };
    if (lastEventId) headers['Last-Event-ID'] = lastEventId;
    const res = await fetch(path, { headers, signal: controller.signal, cache: 'no-store' });
    if (res.status === 401) {
      access = null;
      await freshAccess(); // throws and ends the session if the refresh is refused
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
