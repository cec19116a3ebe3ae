// History API router: paths like /tasks/:id map to views; same-origin link
// clicks are handled without a page load, and the back button re-renders.

const routes = [];
let renderHandler = () => {};

// route registers a path pattern ("/users/:id") with what to show.
export function route(pattern, spec) {
  const names = [];
  const source = pattern.replace(/:([a-z]+)/g, (_, name) => {
    names.push(name);
    return '([^/]+)';
  });
  routes.push({ re: new RegExp(`^${source}/?$`), names, ...spec });
}

export function match(pathname) {
  for (const r of routes) {
    const m = r.re.exec(pathname);
    if (!m) continue;
    const params = {};
    r.names.forEach((name, i) => {
      params[name] = decodeURIComponent(m[i + 1]);
    });
    return { route: r, params };
  }
  return null;
}

export function current() {
  return location.pathname + location.search;
}

export function navigate(to, { replace = false } = {}) {
  if (to === current()) {
    if (!replace) renderHandler();
    return;
  }
  if (replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  renderHandler();
}

// withQuery returns the current path with its query replaced.
export function withQuery(query) {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === '' || (Array.isArray(v) && !v.length)) continue;
    params.set(k, Array.isArray(v) ? v.join(',') : String(v));
  }
  const qs = params.toString();
  return qs ? `${location.pathname}?${qs}` : location.pathname;
}

// setQuery puts a new query on the current path without rendering again: a
// view that changes its own filters or page keeps its controls (and the
// focus and caret in them) and reloads only its list. Typing in a search
// box replaces the entry rather than filling the history.
export function setQuery(query, { replace = false } = {}) {
  const to = withQuery(query);
  if (to === current()) return;
  if (replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
}

export function start(onRender) {
  renderHandler = onRender;
  window.addEventListener('popstate', () => renderHandler());
  document.addEventListener('click', (e) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const a = e.target.closest('a[href]');
    if (!a || a.target || a.hasAttribute('download')) return;
    const href = new URL(a.href, location.href);
    if (href.origin !== location.origin || href.pathname.startsWith('/api/')) return;
    if (href.pathname === location.pathname && href.search === location.search && href.hash) return;
    e.preventDefault();
    navigate(href.pathname + href.search);
  });
  renderHandler();
}
