// Charts as inline SVG, built with DOM calls (no markup is parsed, no style
// attribute is set, so the page's Content-Security-Policy holds). Colours
// come from classes in dashboard.css, which follow the light and dark
// schemes. Each chart is a <figure>: the SVG is an image whose <title> and
// <desc> say what it shows, and a table below it holds every number, for
// screen readers and for anyone who wants them exact. A chart is drawn at
// the width of its figure, one SVG unit to a CSS pixel, so its text keeps
// the page's size on a phone; it draws again when that width changes.

import { h } from './dom.js';

const SVG = 'http://www.w3.org/2000/svg';
let uid = 0;

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== null && v !== undefined && v !== false) el.setAttribute(k, String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
  return el;
}

// niceScale rounds a maximum up to 1, 2 or 5 times a power of ten, and
// returns it with the step between gridlines.
function niceScale(max, lines = 4) {
  if (max <= 0) return { top: lines, step: 1 };
  const raw = max / lines;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * pow).find((v) => v >= raw && Number.isInteger(v)) || Math.ceil(raw);
  return { top: step * Math.ceil(max / step), step };
}

const number = new Intl.NumberFormat();

// figure wraps a chart: the SVG, drawn by draw(width) whenever the
// figure's width changes, a caption, and the table of its numbers.
function figure({ testid, caption, table, draw }) {
  const host = h('div', { class: 'chart-canvas' });
  const fig = h('figure', { class: 'chart', 'data-testid': testid },
    h('figcaption', { class: 'chart-caption' }, caption), host,
    h('details', { class: 'chart-data' }, h('summary', { 'data-testid': `${testid}-table-toggle` }, 'Show as a table'), table));
  let drawn = -1;
  const redraw = () => {
    const width = Math.floor(host.clientWidth);
    if (!width || width === drawn) return;
    drawn = width;
    host.replaceChildren(draw(width));
  };
  new ResizeObserver(redraw).observe(host);
  return fig;
}

function dataTable(testid, head, rows) {
  return h('table', { class: 'chart-table', 'data-testid': `${testid}-table` },
    h('thead', {}, h('tr', {}, head.map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, rows.map((cells) => h('tr', {}, cells.map((c, i) => (i === 0 ? h('th', { scope: 'row' }, c) : h('td', {}, c)))))));
}

// barChart draws one horizontal bar per item: {key, label, value, cls}.
export function barChart({ testid, title, items }) {
  const total = items.reduce((n, it) => n + it.value, 0);
  const summary = `${items.map((it) => `${it.label}: ${number.format(it.value)}`).join(', ')}. ${number.format(total)} in all.`;
  const draw = (width) => {
    const id = `chart${++uid}`;
    const row = 34;
    const labelW = Math.min(120, Math.max(90, width * 0.28));
    const valueW = 64;
    const barW = Math.max(40, width - labelW - valueW);
    const max = Math.max(1, ...items.map((it) => it.value));
    const height = items.length * row + 8;
    return s('svg', { width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-labelledby': `${id}-t ${id}-d`, class: 'chart-svg' },
      s('title', { id: `${id}-t` }, title),
      s('desc', { id: `${id}-d` }, summary),
      ...items.map((it, i) => {
        const y = 4 + i * row;
        const w = Math.max(it.value ? 2 : 0, Math.round((it.value / max) * barW));
        return s('g', { 'data-key': it.key, 'data-value': it.value, class: 'bar-row' },
          s('text', { x: labelW - 8, y: y + row / 2, class: 'chart-label', 'text-anchor': 'end', 'dominant-baseline': 'middle' }, it.label),
          s('rect', { x: labelW, y: y + 5, width: barW, height: row - 10, rx: 3, class: 'bar-track' }),
          s('rect', { x: labelW, y: y + 5, width: w, height: row - 10, rx: 3, class: `bar ${it.cls}`, 'data-key': it.key, 'data-value': it.value }),
          s('text', { x: labelW + w + 6, y: y + row / 2, class: 'chart-value', 'dominant-baseline': 'middle' }, number.format(it.value)));
      }));
  };
  return figure({
    testid, caption: title, draw,
    table: dataTable(testid, ['Status', 'Tasks'], items.map((it) => [it.label, number.format(it.value)])),
  });
}

// stackedBars draws one column per category, its series stacked from the
// bottom in order: categories [{key, label, long}], series [{key, label,
// cls, values}] with one value per category.
export function stackedBars({ testid, title, summary, categories, series }) {
  const totals = categories.map((_, i) => series.reduce((n, se) => n + se.values[i], 0));
  const draw = (width) => {
    const id = `chart${++uid}`;
    const left = 36;
    const right = 8;
    const top = 10;
    const plotH = 180;
    const axisH = 40;
    const legendH = 28;
    const height = top + plotH + axisH + legendH;
    const plotW = Math.max(60, width - left - right);
    const slot = plotW / categories.length;
    const barW = Math.max(6, Math.min(40, slot * 0.62));
    const { top: ymax, step } = niceScale(Math.max(...totals));
    const y = (v) => top + plotH - (v / ymax) * plotH;
    // Every label when there is room, else every other one (the last kept).
    const every = slot >= 46 ? 1 : slot >= 24 ? 2 : 3;
    const grid = [];
    for (let v = 0; v <= ymax; v += step) {
      grid.push(s('line', { x1: left, x2: left + plotW, y1: y(v), y2: y(v), class: v ? 'grid' : 'axis' }),
        s('text', { x: left - 6, y: y(v), class: 'chart-tick', 'text-anchor': 'end', 'dominant-baseline': 'middle' }, number.format(v)));
    }
    const columns = categories.map((c, i) => {
      const x = left + i * slot + (slot - barW) / 2;
      let base = 0;
      const parts = series.map((se) => {
        const v = se.values[i];
        const rect = s('rect', {
          x, y: y(base + v), width: barW, height: y(base) - y(base + v),
          class: `bar ${se.cls}`, 'data-series': se.key, 'data-value': v,
        }, s('title', {}, `${c.long}: ${se.label} ${number.format(v)}`));
        base += v;
        return rect;
      });
      const label = (categories.length - 1 - i) % every === 0
        ? s('text', { x: x + barW / 2, y: top + plotH + 16, class: 'chart-tick', 'text-anchor': 'middle' }, c.label)
        : null;
      return s('g', { 'data-category': c.key, 'data-total': totals[i] }, ...parts, label);
    });
    let lx = left;
    const legend = series.map((se) => {
      const g = s('g', {}, s('rect', { x: lx, y: top + plotH + axisH, width: 12, height: 12, rx: 2, class: `bar ${se.cls}` }),
        s('text', { x: lx + 17, y: top + plotH + axisH + 6, class: 'chart-label', 'dominant-baseline': 'middle' }, se.label));
      lx += 24 + se.label.length * 7.5;
      return g;
    });
    return s('svg', { width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-labelledby': `${id}-t ${id}-d`, class: 'chart-svg' },
      s('title', { id: `${id}-t` }, title),
      s('desc', { id: `${id}-d` }, summary),
      ...grid, ...columns, ...legend);
  };
  return figure({
    testid, caption: title, draw,
    table: dataTable(testid, ['Week', ...series.map((se) => se.label), 'Total'],
      categories.map((c, i) => [c.long, ...series.map((se) => number.format(se.values[i])), number.format(totals[i])])),
  });
}

// meter is a small bar of value against max, with marks at each step so
// that "3 of 5" reads at a glance; the text beside it says the same.
export function meter({ value, max, label, cls = '' }) {
  const width = 100;
  const height = 12;
  const filled = Math.min(value, max);
  const marks = [];
  for (let i = 1; i < max && max <= 20; i++) {
    const x = (i / max) * width;
    marks.push(s('line', { x1: x, x2: x, y1: 0, y2: height, class: 'meter-mark' }));
  }
  return s('svg', {
    width, height, viewBox: `0 0 ${width} ${height}`, class: `meter ${cls}`, role: 'img', 'aria-label': label,
    'data-value': value, 'data-max': max,
  },
  s('rect', { x: 0, y: 0, width, height, rx: 3, class: 'meter-track' }),
  s('rect', { x: 0, y: 0, width: max > 0 ? (filled / max) * width : 0, height, rx: 3, class: 'meter-fill' }),
  ...marks);
}
